"""Hamming-distance index over stored hashes: proposes candidates; verification decides.

Exact range search by a popcount scan over packed codes, with faiss's ``IndexBinaryFlat``: over a
million photos about 0.5 ms for a 64-bit query and 1.2 ms for a 256-bit PDQ query on one core,
where numpy's ``bitwise_count`` took about 1.3 ms and 26 ms (bench/server_bench.py measures both).
No approximation: the results are exactly those of a brute-force scan. One index per hash kind;
64-bit hashes are one word, PDQ four. Safe to share between threads. Where setup.py built
headcheck/_hamming.c and the CPU has AVX-512 VPOPCNTDQ, a lookup's hash and mirror are scanned in
one pass by that code instead (``_Kernel``; 3x faster for each kind and 4x for the whole
candidate stage at 1M photos, docs/benchmarks.md), with the same answers.

A ``RegionIndex`` can be saved beside its store (``save``; ``Headcheck`` does it on close) and
loaded on the next start (``from_store(store, path)``), then brought level with the store: the
photos added since its last photo id, and those deleted (``headcheck forget``) or re-analysed
since, which the store logs by trigger (``index_changes``). A file that is missing, truncated,
corrupt, made by another analysis version or hash-kind table, or for another store, is set
aside with one log line and the index is built from the store as before: never a crash, never
an answer the store would not give. A save trims that log up to the file's position
(``trim_change_log``); an index or file behind what was trimmed is built again from the store.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import zlib
from itertools import islice, pairwise
from pathlib import Path

import faiss
import numpy as np

from . import native
from .hashkinds import IMAGE_KINDS, KINDS

log = logging.getLogger(__name__)

_omp = threading.local()


def _single_threaded() -> None:
    """One OpenMP thread for faiss in the calling thread. A query is one short scan: fork and
    join around it made it 15-40x slower on two cores (measured). OpenMP keeps this setting per
    thread, so every thread that queries (a server's worker, say) must set it for itself."""
    if not getattr(_omp, "done", False):
        faiss.omp_set_num_threads(1)
        _omp.done = True


class _Kernel:
    """headcheck/_hamming.c (built by setup.py where a C compiler is), loaded with ctypes when the
    CPU has AVX-512 VPOPCNTDQ: one pass over the codes for a hash and its mirror, 32 codes a step
    (8 for PDQ). ``HEADCHECK_HAMMING=faiss`` turns it off. Exactly faiss's answers (tests compare
    them)."""

    MAX_QUERIES = 8

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.scan = lib.hk_scan
        self.scan.restype = ctypes.c_int64
        p, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
        self.scan.argtypes = [p, i64, i32, p, i32, i32, p, p, p, i64]

    @staticmethod
    def load() -> _Kernel | None:
        if os.environ.get("HEADCHECK_HAMMING", "").lower() == "faiss":
            return None
        lib = native.library()
        return _Kernel(lib) if lib is not None and lib.hk_available() else None

    def __call__(self, codes: np.ndarray, n: int, words: int, q: np.ndarray, radius: int,
                 cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(position, query, distance) of every code within ``radius`` of a query; None when the
        kernel does not take this shape."""
        while True:
            pos, qi, d = np.empty(cap, np.int64), np.empty(cap, np.int32), np.empty(cap, np.int32)
            hits = self.scan(codes.ctypes.data, n, words, q.ctypes.data, len(q), radius,
                             pos.ctypes.data, qi.ctypes.data, d.ctypes.data, cap)
            if hits < 0:
                return None
            if hits <= cap:
                return pos[:hits], qi[:hits], d[:hits]
            cap = int(hits)  # more hits than room: scan again with room for all


_kernel = _Kernel.load()

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
        self._cap = 4096  # room for hits of one kernel scan (grows with what scans found)

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
        q = np.asarray(codes, dtype=np.uint64).reshape(-1, self.words)
        qi, found, d = self.hits(q, radius)
        lims = np.searchsorted(qi, np.arange(len(q) + 1)).tolist()
        found, d = found.tolist(), d.tolist()
        return [list(zip(found[a:b], d[a:b], strict=True)) for a, b in pairwise(lims)]

    def hits(self, codes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``query_many`` as arrays: (query, id, distance) of every stored code within
        ``radius`` bits of each query, ordered by query, then distance, then id."""
        q = np.ascontiguousarray(np.asarray(codes, dtype=np.uint64).reshape(-1, self.words))
        none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        if radius < 0 or not len(q):
            return none
        _single_threaded()
        with self._lock:
            if not self._codes.ntotal:
                return none
            ids = self._all_ids()
            scanned = None
            if _kernel is not None and len(q) <= _kernel.MAX_QUERIES:
                scanned = _kernel(self._raw()[1], len(ids), self.words, q, radius, self._cap)
            if scanned is None:
                # faiss keeps distances strictly below its radius
                lims, dist, pos = self._codes.range_search(q.view(np.uint8), radius + 1)
        if scanned is not None:
            pos, qi, dist = scanned
            self._cap = min(max(self._cap, 2 * len(pos)), 1 << 16)
        else:
            qi = np.repeat(np.arange(len(q)), np.diff(lims.astype(np.int64)))
        found = ids[pos]
        order = np.lexsort((found, dist, qi))  # by query, nearest first, then by photo id
        return (qi[order].astype(np.int64), found[order],
                np.asarray(dist)[order].astype(np.int64))

    def remove(self, photo_ids: np.ndarray | list[int] | set[int]) -> int:
        """Drop every code of these photos; returns how many codes."""
        gone = np.sort(np.fromiter(photo_ids, np.int64) if isinstance(photo_ids, set) else
                       np.asarray(photo_ids, np.int64).reshape(-1))
        if not len(gone):
            return 0
        with self._lock:
            ids = self._all_ids()
            # one binary search a stored code (np.isin sorted all 10M ids: seconds at 10M)
            at = np.minimum(np.searchsorted(gone, ids), len(gone) - 1)
            pos = np.flatnonzero(gone[at] == ids).astype(np.int64)
            if not len(pos):
                return 0
            removed = self._codes.remove_ids(faiss.IDSelectorBatch(len(pos), faiss.swig_ptr(pos)))
            if removed != len(pos):  # faiss keeps the order of the rest, so the ids follow suit
                raise RuntimeError(f"faiss removed {removed} codes of {len(pos)}")
            keep = np.ones(len(ids), bool)
            keep[pos] = False
            self._ids = ids[keep]
            return len(pos)

    def _raw(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, codes as bytes) without copying the codes (call with the lock held)."""
        ids = self._all_ids()
        n = int(self._codes.ntotal) * self._codes.code_size
        raw = faiss.rev_swig_ptr(self._codes.xb.data(), n) if n else np.zeros(0, np.uint8)
        return ids, raw

    def nbytes(self) -> int:
        with self._lock:
            ids = self._all_ids()
            return ids.nbytes + int(self._codes.ntotal) * self._codes.code_size


MAGIC = b"HCINDEX\x01"  # a saved RegionIndex, format 1
END = b"HCINDEND"
SAVE_MIN_PHOTOS = 20_000  # below this a build from the store takes well under a second
SAVE_EVERY = 5_000  # photos gained since the file before closing writes it again
INDEX_FILE_ENV = "HEADCHECK_INDEX_FILE"  # a path for the saved index, or "off"
# Entries of the store's change log left below a saved file's seq when it is trimmed: a running
# index (a server refreshing every 2 s) just behind that seq still catches up from the log
# instead of being built again (2 minutes at 10M photos). Ids only: about 2 MB.
TRIM_KEEP = 100_000


class IndexFileError(Exception):
    """A saved index that cannot be used; the message says why, in words."""

    def __init__(self, why: str, missing: bool = False) -> None:
        super().__init__(why)
        self.missing = missing


def _kinds_key() -> str:
    """What decides which hashes an index holds: the hash-kind table and the analysis version."""
    from .analyze import ANALYSIS_VERSION

    return hashlib.sha256(repr((ANALYSIS_VERSION, KINDS)).encode()).hexdigest()[:16]


def index_path(store) -> Path | None:  # noqa: ANN001 - Store
    """Where the index of ``store`` is saved: ``$HEADCHECK_INDEX_FILE`` ("off": nowhere), else
    beside the database as ``<db>.index``; None for a store in memory."""
    env = os.environ.get(INDEX_FILE_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "no") else Path(env)
    db = store.path()
    return None if db is None else db.with_name(db.name + ".index")


class RegionIndex:
    """All hash kinds of all stored photos; built from the store (or loaded from a saved copy),
    then kept current with ``refresh``."""

    KINDS = tuple(k.name for k in KINDS)

    def __init__(self) -> None:
        self.indexes = {k: HammingIndex(WORDS[k]) for k in self.KINDS}
        self.last_photo_id = 0
        self.change_seq = 0  # the store's log of deleted/re-analysed photos, applied up to here
        self.store_id: str | None = None
        self.saved: tuple[int, int] | None = None  # (last photo id, change seq) of the file
        self.version = 0  # grows whenever photos are added or dropped (a cached answer is stale)
        self._refreshing = threading.Lock()

    @classmethod
    def from_store(cls, store, path: Path | None = None) -> RegionIndex:  # noqa: ANN001 - Store
        """The index of ``store``: loaded from ``path`` and brought level with the store when
        that file is usable, else built from the store (with a log line saying why)."""
        if path is not None:
            t = time.perf_counter()
            try:
                idx = cls.load(path, store)
            except IndexFileError as exc:
                (log.info if exc.missing else log.warning)(
                    "saved index %s not used (%s); building the index from the store", path, exc)
            else:
                log.info("loaded the saved index %s: %d photos up to id %d, level with the "
                         "store in %.2f s", path, len(idx), idx.last_photo_id,
                         time.perf_counter() - t)
                return idx
        idx = cls()
        idx.refresh(store)
        return idx

    def refresh(self, store) -> int:  # noqa: ANN001
        """Bring the index level with the store; returns how many new photos it added. Photos
        deleted or re-analysed since the last refresh (the store's change log) are dropped and
        read again; then the photos above the last id held are added. One read snapshot, so a
        concurrent writer's change is either seen whole or left for the next refresh. When that
        log was trimmed past the changes this index applied (``Store.trim_index_changes``), what
        changed is unknown: the index is built again from the store (and swapped in whole)."""
        with self._refreshing, store.snapshot():
            if self.store_id is None:
                self.store_id = store.store_id()
            seq = store.index_change_seq()
            since, upto = self.last_photo_id, store.max_photo_id()
            trimmed = store.index_changes_trimmed()
            if since and self.change_seq < trimmed:
                log.warning("the store's change log was trimmed up to %d, past the %d this index "
                            "applied; building the index again from the store", trimmed,
                            self.change_seq)
                fresh = {k: HammingIndex(WORDS[k]) for k in self.KINDS}
                n = self._add(store.iter_hashes(0, upto), store.iter_image_hashes(0, upto),
                              into=fresh)
                self.indexes = fresh  # queries meanwhile used the old one, whole
                self.change_seq, self.last_photo_id = seq, upto
                self.version += 1
                return n
            if seq > self.change_seq and since:
                # Photos above ``since`` were never added; ids may be reused after a delete.
                changed = sorted(i for i in store.changed_photos(self.change_seq, seq)
                                 if i <= since)
                if changed:
                    for h in self.indexes.values():
                        h.remove(changed)
                    self._add(store.iter_hashes_of(changed), store.iter_image_hashes_of(changed))
                    self.version += 1
            self.change_seq = seq
            n = self._add(store.iter_hashes(since, upto), store.iter_image_hashes(since, upto)) \
                if upto > since else 0
            # Below ``since`` a missing id was deleted (and dropped above); a new photo can take
            # the freed top id again, so it must count as new.
            self.version += upto != since
            self.last_photo_id = upto
            return n

    def _add(self, rows, images,  # noqa: ANN001 - iterators from the store
             into: dict[str, HammingIndex] | None = None) -> int:
        """Add region rows (photo id, kind, bits) and whole-image rows (id, PDQ quality, hashes)
        to this index's kinds (or to ``into``); returns how many photos (whole-image rows)."""
        indexes = self.indexes if into is None else into
        while batch := list(islice(rows, LOAD_CHUNK)):
            pids = np.fromiter((r[0] for r in batch), np.int64, len(batch))
            regions = np.array([r[1] for r in batch])
            bits = np.fromiter((r[2] for r in batch), np.int64, len(batch)).view(np.uint64)
            for region in np.unique(regions):
                sel = regions == region
                indexes[str(region)].add(pids[sel], bits[sel])
        n = 0
        while batch := list(islice(images, LOAD_CHUNK)):
            n += len(batch)
            for column, kind in enumerate(IMAGE_KINDS, start=2):
                good = batch if kind.index_any_quality else [
                    r for r in batch if r[1] is not None and r[1] >= kind.min_quality]
                if good:
                    indexes[kind.name].add(
                        [r[0] for r in good],
                        _hexes_to_words([r[column] for r in good], kind.words))
        return n

    # -- saved copy ----------------------------------------------------------------------------
    def behind_file(self) -> bool:
        """Whether closing should write the index (again): no usable file and big enough to be
        worth one, or the file lacks photos deleted or re-analysed since (it must not keep
        them), or it lacks ``SAVE_EVERY`` new photos."""
        if self.saved is None:
            return len(self) >= SAVE_MIN_PHOTOS
        last, seq = self.saved
        return self.change_seq != seq or self.last_photo_id - last >= SAVE_EVERY

    def save(self, path: Path, scrub: bool = False) -> None:
        """Write the index to ``path`` at once (a new file, then renamed over the old one, so a
        reader or a kill never sees half a file). ``scrub`` first overwrites the old file's bytes
        (it may hold hashes of forgotten photos)."""
        path = Path(path)
        _remove_leftovers(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._refreshing:
            locks = [h._lock for h in self.indexes.values()]
            for lock in locks:
                lock.acquire()
            try:
                parts = {k: h._raw() for k, h in self.indexes.items()}
                header = json.dumps({
                    "format": 1, "kinds_key": _kinds_key(), "store_id": self.store_id,
                    "last_photo_id": self.last_photo_id, "change_seq": self.change_seq,
                    "kinds": [{"kind": k, "words": self.indexes[k].words, "count": len(ids)}
                              for k, (ids, _) in parts.items()]}).encode()
                try:
                    with tmp.open("wb") as f:
                        f.write(MAGIC + len(header).to_bytes(8, "little") + header)
                        crc = zlib.crc32(header)
                        for ids, raw in parts.values():
                            for a in (ids, raw):
                                f.write(memoryview(a).cast("B"))
                                crc = zlib.crc32(a, crc)
                        f.write(crc.to_bytes(8, "little") + END)
                        f.flush()
                        os.fsync(f.fileno())
                    if scrub:
                        _scrub(path)
                    os.replace(tmp, path)
                except BaseException:
                    tmp.unlink(missing_ok=True)
                    raise
                self.saved = (self.last_photo_id, self.change_seq)
            finally:
                for lock in locks:
                    lock.release()

    @classmethod
    def load(cls, path: Path, store) -> RegionIndex:  # noqa: ANN001 - Store
        """A saved index, brought level with ``store``; raises ``IndexFileError`` saying why it
        cannot be used (missing, truncated, corrupt, stale, another store's)."""
        idx = cls()
        try:
            last, seq = idx._read(Path(path), store.store_id())
        except FileNotFoundError:
            raise IndexFileError("no such file", missing=True) from None
        except OSError as exc:
            raise IndexFileError(f"cannot read it: {exc.strerror or exc}") from None
        except (ValueError, RuntimeError, MemoryError) as exc:
            raise IndexFileError(f"corrupt ({exc})") from None
        with store.snapshot():
            if seq > store.index_change_seq():
                raise IndexFileError("it is newer than the store (a store restored from a copy?)")
            trimmed = store.index_changes_trimmed()
            if seq < trimmed:
                raise IndexFileError(f"it is older than the store's change log, trimmed up to "
                                     f"{trimmed} (the file applied changes up to {seq})")
            idx.last_photo_id, idx.change_seq, idx.saved = last, seq, (last, seq)
            idx.refresh(store)
            idx._check(store)
        return idx

    def _read(self, path: Path, store_id: str) -> tuple[int, int]:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(len(MAGIC) + 8)
            if len(head) < len(MAGIC) + 8 or head[:len(MAGIC)] != MAGIC:
                raise IndexFileError("not a saved headcheck index, or of another format")
            n = int.from_bytes(head[len(MAGIC):], "little")
            raw = f.read(n) if n <= 1 << 20 else b""
            try:
                header = json.loads(raw)
                kinds = [(k["kind"], int(k["words"]), int(k["count"])) for k in header["kinds"]]
                last, seq = int(header["last_photo_id"]), int(header["change_seq"])
            except (ValueError, KeyError, TypeError):
                raise IndexFileError("its header is unreadable (truncated or corrupt)") from None
            if header.get("kinds_key") != _kinds_key():
                raise IndexFileError("made by another analysis version or hash-kind table")
            if header.get("store_id") != store_id:
                raise IndexFileError("made for another store")
            if [(k, w) for k, w, _ in kinds] != [(k, WORDS[k]) for k in self.KINDS]:
                raise IndexFileError("its hash kinds differ from this version's")
            want = len(head) + n + sum(c * 8 * (1 + w) for _, w, c in kinds) + 8 + len(END)
            if size != want:
                raise IndexFileError(f"{size:,} bytes where its header says {want:,} "
                                     "(truncated or corrupt)")
            crc = zlib.crc32(raw)
            for kind, words, count in kinds:
                ids = np.empty(count, np.int64)
                codes = np.empty((count, words), np.uint64)
                for a in (ids, codes):
                    if f.readinto(memoryview(a).cast("B")) != a.nbytes:
                        raise IndexFileError("truncated")
                    crc = zlib.crc32(a, crc)
                self.indexes[kind].add(ids, codes)
            tail = f.read(8 + len(END))
            if tail[8:] != END or int.from_bytes(tail[:8], "little") != crc:
                raise IndexFileError("its checksum does not match (corrupt)")
        self.store_id = store_id
        return last, seq

    def _check(self, store) -> None:  # noqa: ANN001
        """After loading and refreshing: the photos every photo is indexed under (pHash) are the
        store's, by count and by the hashes of the 16 newest and 48 others."""
        for kind in IMAGE_KINDS:
            if not kind.index_any_quality:
                continue
            h = self.indexes[kind.name]
            stored = store.photos_upto(self.last_photo_id)
            if len(h) != stored:
                raise IndexFileError(f"it holds {len(h):,} photos for {kind.name}, the store "
                                     f"{stored:,}")
            ids, codes = h._compact()
            # the newest photos (a store restored from a copy differs there first), and others
            newest = np.argpartition(ids, len(ids) - 16)[-16:] if len(ids) > 16 else \
                np.arange(len(ids))
            pick = np.unique(np.concatenate([newest, np.random.default_rng().choice(
                len(ids), min(48, len(ids)), replace=False)]))
            want = store.image_hashes_by_id(kind.column, ids[pick].tolist())
            if len(want) != len(pick):
                raise IndexFileError("it holds photos the store does not")
            if any(not np.array_equal(hex_words(want[int(ids[i])]), codes[i]) for i in pick):
                raise IndexFileError("its hashes differ from the store's")

    def __len__(self) -> int:
        return len(self.indexes["image"])

    def query(self, kind: str, hex_hash: str, radius: int) -> list[tuple[int, int]]:
        return self.indexes[kind].query(hex_words(hex_hash), radius)

    def query_many(self, kind: str, hex_hashes: list[str], radius: int
                   ) -> list[list[tuple[int, int]]]:
        words = self.indexes[kind].words
        return self.indexes[kind].query_many(_hexes_to_words(hex_hashes, words), radius)

    def hits(self, kind: str, hex_hashes: list[str], radius: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``query_many`` as arrays (``HammingIndex.hits``)."""
        words = self.indexes[kind].words
        return self.indexes[kind].hits(_hexes_to_words(hex_hashes, words), radius)

    def nbytes(self) -> int:
        return sum(i.nbytes() for i in self.indexes.values())


def _remove_leftovers(path: Path) -> None:
    """Half-written copies left by a process killed while saving (``.<name>.<pid>.<thread>.tmp``,
    as big as the index): removed once their process is gone."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            pid = int(tmp.name[len(path.name) + 2:].split(".")[0])
            os.kill(pid, 0)
        except ValueError:
            continue
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:  # another user's live process
            continue


def _scrub(path: Path) -> None:
    """Overwrite a file's bytes with zeros in place (before it is replaced)."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as f:
            zeros = bytes(1 << 20)
            for start in range(0, size, len(zeros)):
                f.write(zeros[:min(len(zeros), size - start)])
            f.flush()
            os.fsync(f.fileno())
    except FileNotFoundError:
        return


def save_if_behind(index: RegionIndex, path: Path | None, store) -> None:  # noqa: ANN001
    """``Headcheck.close``: bring the index level with ``store``, then write it when
    ``behind_file`` says so; a failure is logged (the next start builds from the store), never
    raised."""
    if path is None:
        return
    t = time.perf_counter()
    try:
        index.refresh(store)  # a file that says "level up to id N" must be
        if not index.behind_file():
            return
        # The file it replaces may hold hashes of photos deleted since (or unknown ones).
        index.save(path, scrub=index.saved is None or index.change_seq != index.saved[1])
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not save the index to %s (%s); the next start builds it from the "
                    "store", path, getattr(exc, "strerror", None) or exc)
        return
    log.info("saved the index (%d photos) to %s in %.2f s", len(index), path,
             time.perf_counter() - t)
    trim_change_log(index, store)


def trim_change_log(index: RegionIndex, store) -> int:  # noqa: ANN001 - Store
    """Right after ``index`` was saved: the store's change log (``index_changes``) is deleted up
    to the seq the file holds (less the last ``TRIM_KEEP`` entries), never further, so the log
    stays bounded. An index behind what was trimmed (another process's, an older file) is
    built again from the store by ``refresh`` / ``load``, never left with a change it missed.
    A failure (a read-only store) is logged, never raised; returns how many entries went."""
    if index.saved is None:
        return 0
    upto = index.saved[1] - TRIM_KEEP
    try:
        if upto <= store.index_changes_trimmed():
            return 0
        gone = store.trim_index_changes(upto)
    except sqlite3.Error as exc:
        log.warning("could not trim the store's change log (%s); it is trimmed at a later "
                    "save", exc)
        return 0
    log.info("trimmed %d entries of the store's change log (up to %d)", gone, upto)
    return gone


def rewrite_without_forgotten(store, path: Path | None) -> bool:  # noqa: ANN001 - Store
    """After ``Store.forget``: the saved index at ``path`` brought level with the store (so
    without the forgotten photos) and written over its old bytes; a file that cannot be used is
    overwritten and removed instead. Returns whether there was a file."""
    if path is None or not path.exists():
        return False
    try:
        idx = RegionIndex.load(path, store)
        idx.save(path, scrub=True)
    except (IndexFileError, OSError, sqlite3.Error) as exc:
        log.warning("saved index %s removed (%s); the next start builds it from the store",
                    path, exc)
        _scrub(path)
        path.unlink(missing_ok=True)
        return True
    trim_change_log(idx, store)
    return True
