"""Descriptor matching for verification (headcheck.verify): the compiled pass and OpenCV's
batchDistance give exactly the matches OpenCV's knnMatch gives (the matcher verification used
before), ties and one-row sets included, so no verdict moves with the faster path."""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headcheck import native, verify
from tests.conftest import bench_script


@lru_cache(maxsize=1)
def _bench() -> ModuleType:
    return bench_script("verify_bench")


def knn_reference(da: np.ndarray, db: np.ndarray) -> list[tuple[int, int]]:
    """OpenCV's brute-force knnMatch, as bench/verify_bench.py's baseline runs it."""
    return pairs(*_bench().knn_reference(da, db))


def descriptors(rng: np.random.Generator, n: int, levels: int) -> np.ndarray:
    """``levels`` 2 or 4 makes many equal distances (ties); 256 is ORB-like."""
    return rng.integers(0, levels, (n, 32), dtype=np.uint8)


def pairs(ia: np.ndarray, ib: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(ia.tolist(), ib.tolist(), strict=True))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 300), st.integers(1, 300),
       st.sampled_from([2, 4, 256]), st.booleans())
def test_every_matcher_finds_what_knn_match_finds(seed: int, na: int, nb: int, levels: int,
                                                  shared: bool) -> None:
    rng = np.random.default_rng(seed)
    da, db = descriptors(rng, na, levels), descriptors(rng, nb, levels)
    if shared:  # some keypoints in common, as two copies of one photo have
        k = min(na, nb) // 2
        db[:k] = da[rng.permutation(na)[:k]]
    want = knn_reference(da, db)
    assert pairs(*verify.mutual_ratio_matches(da, db)) == want
    near = verify.nearest_opencv(da, db)
    compiled = native.function("hk_match32")
    if compiled is not None:
        got = verify._NativeNearest(compiled)(da, db)
        for x, y in zip(got, near, strict=True):
            assert np.array_equal(x, y)


def test_the_compiled_matcher_is_used_where_it_was_built(monkeypatch) -> None:
    """Loaded wherever setup.py built it (any x86-64 CPU), unless HEADCHECK_MATCHER=opencv."""
    built = native.function("hk_match32") is not None
    assert (verify._load_native() is not None) == built
    monkeypatch.setenv("HEADCHECK_MATCHER", "opencv")
    assert verify._load_native() is None


@pytest.mark.parametrize("n", [4, 300])
def test_a_photo_against_itself_matches_every_distinct_keypoint(n: int) -> None:
    rng = np.random.default_rng(n)
    d = descriptors(rng, n, 256)
    ia, ib = verify.mutual_ratio_matches(d, d)
    assert np.array_equal(ia, np.arange(n)) and np.array_equal(ib, np.arange(n))


def test_an_empty_side_matches_nothing() -> None:
    d = descriptors(np.random.default_rng(0), 5, 256)
    empty = d[:0]
    for da, db in ((d, empty), (empty, d), (empty, empty)):
        ia, ib = verify.mutual_ratio_matches(da, db)
        assert len(ia) == len(ib) == 0
