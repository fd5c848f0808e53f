"""The Hamming index answers exactly what a brute-force scan answers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from headcheck.index import HammingIndex, hex_words


def brute(codes: np.ndarray, q: np.ndarray, radius: int) -> set[int]:
    out = set()
    for i, c in enumerate(codes):
        d = sum(bin(int(a) ^ int(b)).count("1") for a, b in zip(c, q, strict=True))
        if d <= radius:
            out.add(i)
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 40), st.sampled_from([1, 4]))
def test_range_query_matches_brute_force(seed: int, radius: int, words: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, size=words, dtype=np.uint64)
    # codes near the query (a few flipped bits) and far from it
    codes = np.repeat(base[None, :], 200, axis=0)
    for row in codes[:100]:
        for _ in range(rng.integers(0, 30)):
            w, b = rng.integers(0, words), rng.integers(0, 64)
            row[w] ^= np.uint64(1) << np.uint64(b)
    codes[100:] = rng.integers(0, 2**63, size=(100, words), dtype=np.uint64)
    idx = HammingIndex(words)
    idx.add(np.arange(100), codes[:100])
    idx.add(np.arange(100, 200), codes[100:])  # added in two steps, as a crawl does
    got = idx.query(base, radius)
    assert {i for i, _ in got} == brute(codes, base, radius)
    dists = [d for _, d in got]
    assert dists == sorted(dists)


def test_radius_is_inclusive_and_hex_round_trip() -> None:
    idx = HammingIndex()
    idx.add([7], hex_words("00000000000000ff")[None, :])
    assert idx.query(hex_words("0000000000000000"), 8) == [(7, 8)]
    assert idx.query(hex_words("0000000000000000"), 7) == []
    assert len(idx) == 1


def test_empty_index_answers_nothing() -> None:
    assert HammingIndex().query(hex_words("ffffffffffffffff"), 64) == []


def test_query_many_equals_single_queries() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 2**63, size=(500, 4), dtype=np.uint64)
    idx = HammingIndex(4)
    idx.add(np.arange(500), codes)
    queries = np.concatenate([codes[:3], rng.integers(0, 2**63, size=(2, 4), dtype=np.uint64)])
    many = idx.query_many(queries, 120)
    assert many == [idx.query(q, 120) for q in queries]
    assert many[0][0] == (0, 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 90), st.sampled_from([1, 4]), st.integers(1, 8),
       st.integers(0, 150))
def test_the_compiled_scan_answers_exactly_as_faiss(seed: int, radius: int, words: int,
                                                    queries: int, n: int) -> None:
    """headcheck/_hamming.c where it is built and the CPU takes it (faiss elsewhere): the same
    hits, distances and order as faiss's scan, for every count of codes (its 32- and 8-code
    steps and the tail), one to eight queries at once (one and two have their own loops), and
    more hits than its first buffer holds."""
    from headcheck import index as index_module

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**64 - 1, size=(queries, words), dtype=np.uint64, endpoint=True)
    codes = rng.integers(0, 2**64 - 1, size=(n, words), dtype=np.uint64, endpoint=True)
    for row in codes[: n // 2]:  # half of them near a query
        row[:] = base[rng.integers(queries)]
        for _ in range(rng.integers(0, 40)):
            w, b = rng.integers(0, words), rng.integers(0, 64)
            row[w] ^= np.uint64(1) << np.uint64(b)
    idx = HammingIndex(words)
    idx.add(np.arange(n) + 10, codes)
    idx._cap = 1  # every scan with a hit needs a second pass with room for all
    got = idx.query_many(base, radius)
    kernel, index_module._kernel = index_module._kernel, None
    try:
        want = idx.query_many(base, radius)
    finally:
        index_module._kernel = kernel
    assert got == want
    for q, hits in zip(base, want, strict=True):
        assert {i - 10 for i, _ in hits} == brute(codes, q, radius)


def test_the_compiled_scan_is_used_where_it_was_built() -> None:
    """Built in place (setup.py) on a CPU with AVX-512 VPOPCNTDQ, it is loaded unless
    ``HEADCHECK_HAMMING=faiss``; elsewhere faiss."""
    import os
    from pathlib import Path

    from headcheck import index as index_module

    built = list(Path(index_module.__file__).parent.glob("_hamming*.so"))
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    takes_it = "avx512f" in flags and "avx512_vpopcntdq" in flags
    wanted = os.environ.get("HEADCHECK_HAMMING", "").lower() != "faiss"
    assert (index_module._kernel is not None) == bool(built and takes_it and wanted)
