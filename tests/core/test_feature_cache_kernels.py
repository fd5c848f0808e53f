"""Which encoder kernels fill a feature cache (bench/diffusion_embed.py): a probe is trained on
one machine's features, so a cache folder records its kernels and a run that would add another
kernels' features to it is refused, as is a run where no kernels reproduce the shipped probe's
features unless it asks for a cache of this machine's own (--exact-kernels)."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from tests.conftest import bench_script


@pytest.fixture(scope="module")
def embed() -> ModuleType:
    return bench_script("diffusion_embed")


def test_a_cache_keeps_the_kernels_that_filled_it(embed: ModuleType, tmp_path) -> None:
    embed.stamp_kernels(tmp_path, "exact")
    assert embed.cache_kernels(tmp_path) == "exact"
    embed.stamp_kernels(tmp_path, "exact")  # the same kernels again: fine
    with pytest.raises(SystemExit) as e:
        embed.stamp_kernels(tmp_path, "fast")
    assert "holds features of the exact encoder kernels" in str(e.value)
    assert (tmp_path / "KERNELS").read_text().strip() == "exact"  # the record is not changed


def test_features_without_a_record_were_made_by_the_fast_kernels(embed: ModuleType,
                                                                 tmp_path) -> None:
    np.savez(tmp_path / "abc.npz", x=np.zeros(2))  # a cache from before the record existed
    assert embed.cache_kernels(tmp_path) == "fast"
    with pytest.raises(SystemExit):
        embed.stamp_kernels(tmp_path, "exact")
    with pytest.raises(SystemExit) as e:
        embed.cache_kernels(tmp_path / "empty")
    assert "no features yet" in str(e.value)


def test_kernels_are_chosen_by_what_reproduces_the_probe(embed: ModuleType, tmp_path,
                                                         monkeypatch) -> None:
    from headcheck.detectors import diffusion

    monkeypatch.setattr(embed, "KERNELS_IN_USE", "fast")  # restored after the test
    cosines = {"fast": 0.505, "exact": 0.9941}  # a CPU without VNNI against v6's record
    monkeypatch.setattr(diffusion, "kernels_cosine", cosines.__getitem__)
    with pytest.raises(SystemExit) as e:
        embed.require_training_kernels(cache=tmp_path / "a")
    assert "--exact-kernels" in str(e.value)
    assert not (tmp_path / "a").exists()  # refused before anything is recorded
    assert embed.require_training_kernels(exact=True, cache=tmp_path / "b") == "exact"
    assert embed.KERNELS_IN_USE == "exact"
    cosines["exact"] = 1.0  # a probe trained on this machine's exact-kernel features
    assert embed.require_training_kernels(cache=tmp_path / "b") == "exact"
    cosines.update(fast=1.0)  # the training machine itself: its fast kernels
    assert embed.require_training_kernels(cache=tmp_path / "c") == "fast"
    with pytest.raises(SystemExit):  # ... but not into the exact kernels' cache
        embed.require_training_kernels(cache=tmp_path / "b")
