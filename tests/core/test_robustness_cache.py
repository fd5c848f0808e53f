"""The robustness bench's feature cache (bench/diffusion_robustness.py): a run over fewer
transformations (``--transform``) adds to an image's cache file and never drops what a wider
run computed, which would cost a rerun of the slowest pass."""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np
import pytest

from tests.conftest import bench_script


@pytest.fixture(scope="module")
def robustness() -> ModuleType:
    return bench_script("diffusion_robustness")


def test_a_narrower_run_keeps_what_the_cache_file_held(robustness, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(robustness, "CACHE", tmp_path)
    path = tmp_path / "abc.tokens.npz"
    wide = {"as is|emb": np.ones((2, 3), np.float32), "JPEG q30|emb": np.zeros((2, 3))}
    robustness._store(path, wide)
    robustness._store(path, {"JPEG q30|emb": np.full((2, 3), 7.0)})  # recomputed: replaced
    got = robustness._cached(path, ["as is|emb", "JPEG q30|emb", "grayscale|emb"])
    assert set(got) == {"as is|emb", "JPEG q30|emb"}  # nothing invented, nothing lost
    assert np.array_equal(got["as is|emb"], wide["as is|emb"])
    assert (got["JPEG q30|emb"] == 7.0).all()
    assert not list(tmp_path.glob("*.tmp.npz"))  # written atomically


def test_an_unknown_transformation_is_refused_by_name(robustness, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["x", "--v6", "--transform", "sepia"])
    monkeypatch.setattr(robustness, "require_training_kernels", lambda *a, **k: "fast")
    with pytest.raises(SystemExit) as e:
        robustness.main()
    assert "unknown transformations ['sepia']" in str(e.value)
    assert "double JPEG, shifted grid" in str(e.value)  # the known ones are listed
