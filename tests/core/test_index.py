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
