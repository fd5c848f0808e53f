"""Hamming-distance index over stored hashes: proposes candidates; verification decides.

Exact range search with numpy's ``bitwise_count`` over packed uint64 words: about 2 ms per query
over a million 64-bit hashes on this machine, no approximation, no extra dependency. One index per
hash kind; 64-bit region hashes use one word, PDQ uses four.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WORDS = {"pdq": 4}  # every other kind is a single 64-bit word


def hex_words(h: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(h), dtype=">u8").astype(np.uint64)


@dataclass
class HammingIndex:
    words: int = 1
    _ids: list[np.ndarray] = field(default_factory=list)
    _codes: list[np.ndarray] = field(default_factory=list)

    def add(self, ids: np.ndarray | list[int], codes: np.ndarray) -> None:
        codes = np.asarray(codes, dtype=np.uint64).reshape(-1, self.words)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) != len(codes):
            raise ValueError("ids and codes differ in length")
        if len(ids):
            self._ids.append(ids)
            self._codes.append(codes)

    def _compact(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._ids) != 1:
            ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int64)
            codes = (np.concatenate(self._codes) if self._codes
                     else np.zeros((0, self.words), np.uint64))
            self._ids, self._codes = [ids], [codes]
        return self._ids[0], self._codes[0]

    def __len__(self) -> int:
        return sum(len(i) for i in self._ids)

    def query(self, code: np.ndarray, radius: int) -> list[tuple[int, int]]:
        """(id, distance) of every stored code within ``radius`` bits, nearest first."""
        ids, codes = self._compact()
        if not len(ids):
            return []
        q = np.asarray(code, dtype=np.uint64).reshape(1, self.words)
        dist = np.bitwise_count(codes ^ q).sum(axis=1, dtype=np.int32)
        hit = np.flatnonzero(dist <= radius)
        order = hit[np.argsort(dist[hit], kind="stable")]
        return [(int(ids[i]), int(dist[i])) for i in order]

    def nbytes(self) -> int:
        ids, codes = self._compact()
        return ids.nbytes + codes.nbytes


class RegionIndex:
    """All hash kinds of all stored photos; built from the store, then kept current with add."""

    KINDS = ("image", "pdq", "face", "context", "body", "background")

    def __init__(self) -> None:
        self.indexes = {k: HammingIndex(WORDS.get(k, 1)) for k in self.KINDS}
        self.last_photo_id = 0

    @classmethod
    def from_store(cls, store) -> RegionIndex:  # noqa: ANN001 - Store, kept import-free
        idx = cls()
        idx.refresh(store)
        return idx

    def refresh(self, store, pdq_min_quality: int = 50) -> int:  # noqa: ANN001
        """Add what the store gained since the last refresh; returns how many photos."""
        since, upto = self.last_photo_id, store.max_photo_id()
        if upto <= since:
            return 0
        by_region: dict[str, tuple[list[int], list[int]]] = {}
        for pid, region, bits in store.iter_hashes(since, upto):
            ids, codes = by_region.setdefault(region, ([], []))
            ids.append(pid)
            codes.append(bits)
        for region, (ids, codes) in by_region.items():
            arr = np.array(codes, dtype=np.int64).view(np.uint64)
            self.indexes[region].add(ids, arr)
        n = 0
        img_ids, img_codes, pdq_ids, pdq_codes = [], [], [], []
        for pid, phash, pdq, quality in store.iter_image_hashes(since, upto):
            n += 1
            img_ids.append(pid)
            img_codes.append(hex_words(phash))
            if quality is not None and quality >= pdq_min_quality:
                pdq_ids.append(pid)
                pdq_codes.append(hex_words(pdq))
        self.last_photo_id = upto
        if img_ids:
            self.indexes["image"].add(img_ids, np.stack(img_codes))
        if pdq_ids:
            self.indexes["pdq"].add(pdq_ids, np.stack(pdq_codes))
        return n

    def __len__(self) -> int:
        return len(self.indexes["image"])

    def query(self, kind: str, hex_hash: str, radius: int) -> list[tuple[int, int]]:
        return self.indexes[kind].query(hex_words(hex_hash), radius)

    def nbytes(self) -> int:
        return sum(i.nbytes() for i in self.indexes.values())
