"""Hamming-distance index over stored hashes: proposes candidates; verification decides.

Exact range search by a popcount scan over packed codes, with faiss's ``IndexBinaryFlat``: over a
million photos about 0.5 ms for a 64-bit query and 1.2 ms for a 256-bit PDQ query on one core,
where numpy's ``bitwise_count`` took about 1.3 ms and 26 ms (bench/server_bench.py measures both).
No approximation: the results are exactly those of a brute-force scan. One index per hash kind;
64-bit hashes are one word, PDQ four. Safe to share between threads.
"""

from __future__ import annotations

import threading
from itertools import islice

import faiss
import numpy as np

from .hashkinds import IMAGE_KINDS, KINDS

_omp = threading.local()


def _single_threaded() -> None:
    """One OpenMP thread for faiss in the calling thread. A query is one short scan: fork and
    join around it made it 15-40x slower on two cores (measured). OpenMP keeps this setting per
    thread, so every thread that queries (a server's worker, say) must set it for itself."""
    if not getattr(_omp, "done", False):
        faiss.omp_set_num_threads(1)
        _omp.done = True

WORDS = {k.name: k.words for k in KINDS}  # 64-bit words a code, per hash kind
LOAD_CHUNK = 200_000  # rows read from SQLite at a time, so start-up at 10M photos stays small


def hex_words(h: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(h), dtype=">u8").astype(np.uint64)


def _hexes_to_words(hexes: list[str], words: int) -> np.ndarray:
    """Many hex hashes at once (one parse, no per-row arrays)."""
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").astype(
        np.uint64).reshape(-1, words)


class HammingIndex:
    """Codes of ``words`` 64-bit words with an int64 id each; exact range queries."""

    def __init__(self, words: int = 1) -> None:
        self.words = words
        self._codes = faiss.IndexBinaryFlat(64 * words)
        self._id_parts: list[np.ndarray] = []  # ids of codes added since the last query
        self._ids = np.zeros(0, np.int64)
        self._lock = threading.Lock()

    def add(self, ids: np.ndarray | list[int], codes: np.ndarray) -> None:
        codes = np.ascontiguousarray(np.asarray(codes, dtype=np.uint64).reshape(-1, self.words))
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) != len(codes):
            raise ValueError("ids and codes differ in length")
        if not len(ids):
            return
        with self._lock:
            # Popcount ignores byte order, so the words' native bytes are the faiss code as is.
            self._codes.add(codes.view(np.uint8).reshape(len(codes), 8 * self.words))
            self._id_parts.append(ids)

    def _all_ids(self) -> np.ndarray:
        """The id of every code in insertion order (call with the lock held)."""
        if self._id_parts:
            self._ids = np.concatenate([self._ids, *self._id_parts])
            self._id_parts = []
        return self._ids

    def _compact(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of (ids, codes as uint64 words), in insertion order."""
        with self._lock:
            ids = self._all_ids().copy()
            raw = faiss.vector_to_array(self._codes.xb) if len(ids) else np.zeros(0, np.uint8)
        return ids, raw.view(np.uint64).reshape(-1, self.words)

    def __len__(self) -> int:
        return int(self._codes.ntotal)

    def query(self, code: np.ndarray, radius: int) -> list[tuple[int, int]]:
        """(id, distance) of every stored code within ``radius`` bits, nearest first."""
        return self.query_many(np.asarray(code).reshape(1, self.words), radius)[0]

    def query_many(self, codes: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
        """``query`` for several codes in one scan of the stored codes (a hash and its mirror
        cost little more than one: the scan is bound by reading the codes)."""
        q = np.ascontiguousarray(np.asarray(codes, dtype=np.uint64).reshape(-1, self.words))
        if radius < 0 or not len(q):
            return [[] for _ in range(len(q))]
        _single_threaded()
        with self._lock:
            if not self._codes.ntotal:
                return [[] for _ in range(len(q))]
            ids = self._all_ids()
            # faiss keeps distances strictly below its radius
            lims, dist, pos = self._codes.range_search(q.view(np.uint8), radius + 1)
        out = []
        for i in range(len(q)):
            d, p = dist[lims[i]:lims[i + 1]], pos[lims[i]:lims[i + 1]]
            order = np.lexsort((p, d))  # nearest first, then in insertion order
            out.append(list(zip(ids[p[order]].tolist(), d[order].tolist(), strict=True)))
        return out

    def nbytes(self) -> int:
        with self._lock:
            ids = self._all_ids()
            return ids.nbytes + int(self._codes.ntotal) * self._codes.code_size


class RegionIndex:
    """All hash kinds of all stored photos; built from the store, then kept current with add."""

    KINDS = tuple(k.name for k in KINDS)

    def __init__(self) -> None:
        self.indexes = {k: HammingIndex(WORDS[k]) for k in self.KINDS}
        self.last_photo_id = 0
        self._refreshing = threading.Lock()

    @classmethod
    def from_store(cls, store) -> RegionIndex:  # noqa: ANN001 - Store, kept import-free
        idx = cls()
        idx.refresh(store)
        return idx

    def refresh(self, store) -> int:  # noqa: ANN001
        """Add what the store gained since the last refresh; returns how many photos. Region
        hashes come in whatever kinds the store holds; whole-image ones from their columns."""
        with self._refreshing:
            since, upto = self.last_photo_id, store.max_photo_id()
            if upto <= since:
                return 0
            rows = store.iter_hashes(since, upto)
            while batch := list(islice(rows, LOAD_CHUNK)):
                pids = np.fromiter((r[0] for r in batch), np.int64, len(batch))
                regions = np.array([r[1] for r in batch])
                bits = np.fromiter((r[2] for r in batch), np.int64, len(batch)).view(np.uint64)
                for region in np.unique(regions):
                    sel = regions == region
                    self.indexes[str(region)].add(pids[sel], bits[sel])
            n = 0
            images = store.iter_image_hashes(since, upto)  # (id, PDQ quality, *IMAGE_KINDS)
            while batch := list(islice(images, LOAD_CHUNK)):
                n += len(batch)
                for column, kind in enumerate(IMAGE_KINDS, start=2):
                    good = batch if kind.index_any_quality else [
                        r for r in batch if r[1] is not None and r[1] >= kind.min_quality]
                    if good:
                        self.indexes[kind.name].add(
                            [r[0] for r in good],
                            _hexes_to_words([r[column] for r in good], kind.words))
            self.last_photo_id = upto
            return n

    def __len__(self) -> int:
        return len(self.indexes["image"])

    def query(self, kind: str, hex_hash: str, radius: int) -> list[tuple[int, int]]:
        return self.indexes[kind].query(hex_words(hex_hash), radius)

    def query_many(self, kind: str, hex_hashes: list[str], radius: int
                   ) -> list[list[tuple[int, int]]]:
        words = self.indexes[kind].words
        return self.indexes[kind].query_many(_hexes_to_words(hex_hashes, words), radius)

    def nbytes(self) -> int:
        return sum(i.nbytes() for i in self.indexes.values())
