"""Encoder sessions kept on disk (``clip_encoder.cache_dir``): a session loaded from the cache
computes what a freshly built one does, bit for bit; a damaged, foreign or unwritable cache
never changes a feature, it only costs the build again."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from headcheck.detectors import clip_encoder
from headcheck.detectors.clip_encoder import CACHE_ENV, cached_name

BLOCKS = [7, 8, 9]


def forget() -> None:
    """The process's sessions forgotten: the next use builds or loads one."""
    clip_encoder._session.cache_clear()
    clip_encoder._tokens_session.cache_clear()


@pytest.fixture
def fresh() -> Iterator[None]:
    """Sessions forgotten before and after (later tests build theirs again)."""
    forget()
    yield
    forget()


def outputs(kernels: str) -> list[np.ndarray]:
    emb, tokens = clip_encoder.embed_tokens([clip_encoder.reference_input()], BLOCKS, kernels)
    return [emb, tokens]


@pytest.mark.parametrize("kernels", clip_encoder.KERNELS)
def test_a_cached_session_computes_what_a_built_one_does(
        kernels: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    built = outputs(kernels)
    saved = tmp_path / cached_name(kernels, tokens=True)
    assert saved.is_file() and saved.with_suffix(".json").is_file()
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    stamp = saved.stat().st_mtime_ns
    forget()
    assert [np.array_equal(a, b) for a, b in zip(outputs(kernels), built, strict=True)] \
        == [True, True]
    assert saved.stat().st_mtime_ns == stamp  # loaded, not built and written again


def test_the_plain_graph_is_cached_apart_and_agrees(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    crops = [clip_encoder.reference_input()]
    built = clip_encoder.embed(crops)
    assert (tmp_path / cached_name("fast", tokens=False)).is_file()
    forget()
    assert np.array_equal(clip_encoder.embed(crops), built)
    # ... and the token graph's embedding is the plain one's (both from the cache)
    assert np.array_equal(clip_encoder.embed_tokens(crops, BLOCKS)[0], built)


@pytest.mark.parametrize("damage", ["truncated", "garbage with a matching record",
                                    "record missing"])
def test_a_damaged_cache_file_is_set_aside_and_built_again(
        damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    built = outputs("fast")
    saved = tmp_path / cached_name("fast", tokens=True)
    record = saved.with_suffix(".json")
    if damage == "truncated":
        saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    elif damage == "record missing":
        record.unlink()
    else:
        saved.write_bytes(b"\x00not an onnx graph" * 100_000)
        record.write_text(json.dumps(clip_encoder._seal(saved)))
    forget()
    with caplog.at_level(logging.WARNING):
        again = outputs("fast")
    assert "set aside" in caplog.text
    assert all(np.array_equal(a, b) for a, b in zip(again, built, strict=True))
    forget()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        outputs("fast")  # the file written anew loads
    assert "set aside" not in caplog.text


def test_off_or_unwritable_builds_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(CACHE_ENV, "off")
    assert clip_encoder.cache_dir() is None
    crops = [clip_encoder.reference_input()]
    want = clip_encoder.embed(crops)
    assert not (tmp_path / "xdg").exists()
    forget()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))  # cannot be made
    assert np.array_equal(clip_encoder.embed(crops), want)
    monkeypatch.delenv(CACHE_ENV)
    assert clip_encoder.cache_dir() == tmp_path / "xdg" / "headcheck"


def test_the_name_changes_with_what_the_graph_depends_on(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    names = {cached_name(k, t) for k in clip_encoder.KERNELS for t in (False, True)}
    assert len(names) == 4
    here = cached_name("exact", True)
    monkeypatch.setattr(clip_encoder, "cpu_flags", lambda: frozenset({"avx2", "avx512_vnni"}))
    vnni = cached_name("exact", True)
    monkeypatch.setattr(clip_encoder, "cpu_flags", lambda: frozenset({"avx2"}))
    assert len({here, vnni, cached_name("exact", True)}) >= 2  # this CPU is one of the two
    assert vnni != cached_name("exact", True)
