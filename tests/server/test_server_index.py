"""The index as the server uses it: queried from worker threads while a refresh adds photos."""

from __future__ import annotations

import threading
from pathlib import Path

import faiss
import numpy as np
import pytest

from headcheck import index as index_module
from headcheck.index import HammingIndex, RegionIndex
from headcheck.store import Store
from tests.server_support import sample_store


def brute(ids: np.ndarray, codes: np.ndarray, q: np.ndarray, radius: int) -> set[tuple[int, int]]:
    dist = np.bitwise_count(codes ^ q).sum(axis=1)
    return {(int(i), int(d)) for i, d in zip(ids, dist, strict=True) if d <= radius}


def test_a_query_from_any_thread_runs_faiss_single_threaded() -> None:
    idx = HammingIndex()
    idx.add([1], np.array([7], np.uint64))
    seen: list[int] = []

    def worker() -> None:
        assert idx.query(np.array([7], np.uint64), 0) == [(1, 0)]
        seen.append(faiss.omp_get_max_threads())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [1]


def test_queries_while_photos_are_added_stay_exact() -> None:
    rng = np.random.default_rng(3)
    q = rng.integers(0, 2**64 - 1, size=4, dtype=np.uint64, endpoint=True)
    near = np.repeat(q[None, :], 4000, axis=0) ^ (
        rng.integers(0, 2, size=(4000, 4), dtype=np.uint64) << np.uint64(5))
    codes = np.concatenate([near, rng.integers(0, 2**64 - 1, size=(4000, 4), dtype=np.uint64,
                                               endpoint=True)])
    ids = np.arange(len(codes)) + 100
    idx = HammingIndex(4)
    errors: list[BaseException] = []

    def add() -> None:
        for start in range(0, len(codes), 500):
            idx.add(ids[start:start + 500], codes[start:start + 500])

    def query() -> None:
        try:
            for _ in range(200):
                got = idx.query(q, 4)
                # whatever has been added so far, answered exactly
                n = len(idx)
                assert set(got) <= brute(ids, codes, q, 4)
                assert n >= len({i for i, _ in got})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=add), *(threading.Thread(target=query) for _ in range(3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(idx.query(q, 4)) == brute(ids, codes, q, 4)


def test_refresh_reads_the_store_in_chunks_without_losing_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(sample_store(tmp_path.parent, "full", tmp_path / "store.db"))
    whole = RegionIndex.from_store(store)
    monkeypatch.setattr(index_module, "LOAD_CHUNK", 4)
    chunked = RegionIndex.from_store(store)
    store.close()
    assert len(chunked) == len(whole) == 15
    for kind in RegionIndex.KINDS:
        a_ids, a_codes = whole.indexes[kind]._compact()
        b_ids, b_codes = chunked.indexes[kind]._compact()
        assert np.array_equal(a_ids, b_ids) and np.array_equal(a_codes, b_codes)
