"""Hamming index layouts at scale, in one run: the current flat scan (``HammingIndex``: faiss
``IndexBinaryFlat``), the same split into shards scanned by two threads, and faiss
``IndexBinaryMultiHash`` (multi-index hashing); plus saving and loading a built index.

    python bench/index_bench.py [--photos 1000000] [--queries 300] [--kinds context pdq]
        [--multihash-queries 40] [--whole 10000000] [--scan 1000000] [--old-kernel SO]

Per kind at the radius lookups use (``match.RADIUS``): a 64-bit kind (``context``, 18 bits, the
widest 64-bit radius) and PDQ (256 bits, 70). Stored codes are uniform random; each query is a
stored code with ``radius - 2`` bits flipped (so every query has a true neighbour) or a fresh
random code, alternately. Every layout's results are checked against the flat scan: a layout
that misses a code within the radius reports its recall below 1 and is not exact.
Memory is the index's own bytes; load time is ``faiss.read_index_binary`` of the saved index
(read, then memory-mapped) against rebuilding it from the codes (``add``), which is what a
restart does today after reading the hashes from SQLite (timed separately by server_bench).
``--whole N`` also builds a whole ``RegionIndex`` of N generated photos (every kind): resident
memory, the candidate stage of real lookups, saving and loading its codes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path

import faiss
import numpy as np
from throughput import publish  # bench/ is on sys.path when run as a script

from headcheck import match as M
from headcheck.analyze import Analyzer
from headcheck.hashkinds import KIND
from headcheck.index import HammingIndex, RegionIndex
from headcheck.match import RADIUS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "index_bench.json"
KINDS = {"context": 1, "pdq": 4}  # kind -> 64-bit words


def codes(rng: np.random.Generator, n: int, words: int) -> np.ndarray:
    return rng.integers(0, 2**63, size=(n, words), dtype=np.int64).view(np.uint64) ^ (
        rng.integers(0, 2, size=(n, words), dtype=np.int64).view(np.uint64) << np.uint64(63))


def queries(rng: np.random.Generator, stored: np.ndarray, n: int, flips: int) -> np.ndarray:
    words = stored.shape[1]
    out = codes(rng, n, words)
    for i in range(0, n, 2):  # every other query: a stored code, ``flips`` bits changed
        q = stored[rng.integers(len(stored))].copy()
        bits = np.unpackbits(q.view(np.uint8))
        bits[rng.choice(len(bits), flips, replace=False)] ^= 1
        out[i] = np.packbits(bits).view(np.uint64)
    return out


def timed(fn: Callable[[np.ndarray], object], qs: np.ndarray) -> dict:
    ms = []
    for q in qs:
        t = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {"p50_ms": round(statistics.median(ms), 3),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 3)}


def hits(lims: np.ndarray, pos: np.ndarray) -> set[int]:
    return set(pos[lims[0]:lims[1]].tolist())


class Sharded:
    """The flat scan split into ``n`` shards, scanned concurrently (faiss releases the GIL)."""

    def __init__(self, data: np.ndarray, n: int) -> None:
        self.bits = data.shape[1] * 64
        self.offsets, self.shards = [], []
        for part in np.array_split(np.arange(len(data)), n):
            idx = faiss.IndexBinaryFlat(self.bits)
            idx.add(np.ascontiguousarray(data[part]).view(np.uint8))
            self.offsets.append(int(part[0]))
            self.shards.append(idx)
        self.pool = ThreadPoolExecutor(n)
        self.pool.map(_one_thread, range(n))  # each pool thread sets faiss to one thread

    def query(self, q: np.ndarray, radius: int) -> set[int]:
        def one(k: int) -> set[int]:
            lims, _, pos = self.shards[k].range_search(q.view(np.uint8).reshape(1, -1),
                                                       radius + 1)
            return {p + self.offsets[k] for p in hits(lims, pos)}
        return set().union(*self.pool.map(one, range(len(self.shards))))


_omp = threading.local()


def _one_thread(_: int = 0) -> None:
    if not getattr(_omp, "done", False):
        faiss.omp_set_num_threads(1)
        _omp.done = True
        time.sleep(0.05)  # keep this thread busy so the next task lands on another


def multihash(data: np.ndarray, nhash: int, nflip: int) -> faiss.IndexBinaryMultiHash:
    bits = data.shape[1] * 64
    idx = faiss.IndexBinaryMultiHash(bits, nhash, bits // nhash)
    idx.nflip = nflip
    idx.add(np.ascontiguousarray(data).view(np.uint8))
    return idx


def bench_kind(kind: str, words: int, n: int, nq: int, rng: np.random.Generator,
               mh_queries: int) -> dict:
    radius = RADIUS[kind]
    data = codes(rng, n, words)
    qs = queries(rng, data, nq, radius - 2)
    _one_thread()
    flat = HammingIndex(words)
    t = time.perf_counter()
    flat.add(np.arange(n), data)
    build_s = time.perf_counter() - t
    truth = [{i for i, _ in flat.query(q, radius)} for q in qs]
    out: dict = {"radius": radius, "photos": n, "index_bytes": flat.nbytes(),
                 "build_seconds": round(build_s, 2),
                 "mean_hits": round(float(np.mean([len(h) for h in truth])), 1)}
    out["flat"] = timed(lambda q: flat.query(q, radius), qs)
    sharded = Sharded(data, 2)
    got = [sharded.query(q, radius) for q in qs]
    out["sharded_2_threads"] = {**timed(lambda q: sharded.query(q, radius), qs),
                                "recall": _recall(truth, got)}
    bits = words * 64
    for nhash, nflip in ((bits // 16, 1), (bits // 16, 2), (bits // 8, 2)):
        if nhash < 1:
            continue
        mh = multihash(data, nhash, nflip)
        mh_hits = []
        mq = qs[:mh_queries]  # the exact settings take seconds a query at 1M
        for q in mq:
            lims, _, pos = mh.range_search(q.view(np.uint8).reshape(1, -1), radius + 1)
            mh_hits.append(hits(lims, pos))
        out[f"multihash_{nhash}x{bits // nhash}bit_flip{nflip}"] = {
            **timed(lambda q, mh=mh: mh.range_search(q.view(np.uint8).reshape(1, -1),
                                                     radius + 1), mq),
            "recall": _recall(truth[:len(mq)], mh_hits), "queries": len(mq)}
        del mh
    out["persist"] = persist(flat, data)
    return out


def _recall(truth: list[set[int]], got: list[set[int]]) -> float:
    want = sum(len(t) for t in truth)
    return round(sum(len(t & g) for t, g in zip(truth, got, strict=True)) / want, 4) if want else 1


def persist(flat: HammingIndex, data: np.ndarray) -> dict:
    """Save the built codes with faiss, then: read back, memory-map, or rebuild with add."""
    index = flat._codes  # the faiss index HammingIndex scans
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "out") as tmp:
        path = os.path.join(tmp, "codes.faissindex")
        t = time.perf_counter()
        faiss.write_index_binary(index, path)
        write_s = time.perf_counter() - t
        t = time.perf_counter()
        faiss.read_index_binary(path)
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        mapped = faiss.read_index_binary(path, faiss.IO_FLAG_MMAP)
        mmap_s = time.perf_counter() - t
        t = time.perf_counter()
        rebuilt = faiss.IndexBinaryFlat(index.d)
        rebuilt.add(np.ascontiguousarray(data).view(np.uint8))
        add_s = time.perf_counter() - t
        size = os.path.getsize(path)
        del mapped
    return {"file_bytes": size, "write_seconds": round(write_s, 3),
            "read_seconds": round(read_s, 3), "mmap_seconds": round(mmap_s, 4),
            "rebuild_add_seconds": round(add_s, 3)}


def bench_whole(n: int, lookups_timed: int) -> dict:
    """A real ``RegionIndex`` of ``n`` generated photos (all six kinds, server_bench's ``fill``):
    memory (resident-set growth), the candidate stage of real lookups (server_bench's figure),
    and saving / loading every kind's codes with faiss."""
    import gc
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from server_bench import fill, jpegs_512, percentiles, rss_bytes, timed  # noqa: PLC0415

    analyzer = Analyzer(detectors=[])
    lookups = [analyzer.analyze_bytes(b, lookup=True) for b in jpegs_512(20)]
    gc.collect()
    before = rss_bytes()
    index = RegionIndex()
    t = time.perf_counter()
    fill(index, n)
    build_s = time.perf_counter() - t
    gc.collect()
    grown = rss_bytes() - before
    cycle = iter(range(10**9))

    def one() -> object:
        return M.candidates(lookups[next(cycle) % len(lookups)], index, set())

    wall = timed(one, lookups_timed)
    cpu = timed(one, lookups_timed, time.thread_time)
    saved: dict = {}
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "out") as tmp:
        t = time.perf_counter()
        for kind, h in index.indexes.items():
            faiss.write_index_binary(h._codes, os.path.join(tmp, kind))
        saved["write_seconds"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        for kind in index.indexes:
            faiss.read_index_binary(os.path.join(tmp, kind))
        saved["read_seconds"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        for kind in index.indexes:
            faiss.read_index_binary(os.path.join(tmp, kind), faiss.IO_FLAG_MMAP)
        saved["mmap_seconds"] = round(time.perf_counter() - t, 3)
        saved["file_bytes"] = sum(os.path.getsize(os.path.join(tmp, k)) for k in index.indexes)
    return {"photos": n, "rss_growth_bytes": grown, "index_nbytes": index.nbytes(),
            "fill_seconds": round(build_s, 1), "candidates_wall": percentiles(wall),
            "candidates_cpu": percentiles(cpu), "saved_codes": saved}


def rng_codes(n: int, words: int, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64 - 1, size=(n, words), dtype=np.uint64,
                                                endpoint=True)


def candidates_before(q: object, index: RegionIndex, exclude: set[int]
                      ) -> dict[int, tuple[str, int]]:
    """``match.candidates`` as it was at 9a7877c: each query's hits as a list of (id, distance)
    tuples (``query_many``), then the same merge."""
    return M.merge([(kind, chain.from_iterable(index.query_many(kind, hashes, RADIUS[kind])))
                    for kind, hashes in M.probes(q)], exclude)


def array_merge(hits: list[tuple[str, np.ndarray, np.ndarray]], exclude: set[int]
                ) -> dict[int, tuple[str, int]]:
    """``match.merge`` in array operations (a stable sort by photo, ratio and order met, the
    first of each photo, one dict at the end): the same dict, order included
    (``same_candidates``), measured against the loop and not shipped (slower: the sorts and
    building the dict cost more than the loop at every hit count seen)."""
    if not hits:
        return {}
    ids = np.concatenate([i for _, i, _ in hits]).astype(np.int64, copy=False)
    dist = np.concatenate([d for _, _, d in hits]).astype(np.int64, copy=False)
    which = np.repeat(np.arange(len(hits)), [len(i) for _, i, _ in hits])
    if exclude and len(ids):
        keep = ~np.isin(ids, np.fromiter(exclude, np.int64, len(exclude)))
        ids, dist, which = ids[keep], dist[keep], which[keep]
    if not len(ids):
        return {}
    # the loop's float division, so equal ratios tie exactly as they do there
    norm = dist / np.array([RADIUS[k] for k, _, _ in hits], np.float64)[which]
    seq = np.arange(len(ids))  # the loop's order
    by_id = np.argsort(ids, kind="stable")  # each photo's hits in the loop's order
    best = np.lexsort((seq, norm, ids))  # each photo's nearest first, the first met of ties
    start = np.ones(len(ids), bool)
    start[1:] = ids[by_id[1:]] != ids[by_id[:-1]]
    first_seen, win = by_id[start], best[start]
    win = win[np.argsort(first_seen)]  # in the order the loop first met each photo
    kinds = [k for k, _, _ in hits]
    return dict(zip(ids[win].tolist(),
                    zip([kinds[w] for w in which[win].tolist()], dist[win].tolist(), strict=True),
                    strict=True))


def candidates_array_merge(q: object, index: RegionIndex, exclude: set[int]
                           ) -> dict[int, tuple[str, int]]:
    return array_merge([(kind, *index.hits(kind, hashes, RADIUS[kind])[1:])
                        for kind, hashes in M.probes(q)], exclude)


def bench_scan(n: int, lookups_timed: int, old_kernel: Path | None = None) -> dict:
    """The candidate stage of real lookups (``match.candidates``: hash and mirror of every
    usable kind) over ``n`` generated photos, in alternating blocks of 25 lookups so every way
    sees the same load: as shipped (the compiled scan, headcheck/_hamming.c); the same scan
    with the merge as it was (``candidates_before``) or in array operations (``array_merge``,
    measured, not shipped); faiss's scan; and, given ``old_kernel`` (a build of an earlier
    _hamming.c, e.g. from git show), the stage as it was (that scan, the merge as it was).
    Every lookup's candidates, dict order included, compared between the ways; then where one
    lookup's time goes (scan, merge, the rest)."""
    import ctypes
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from server_bench import fill, jpegs_512, percentiles  # noqa: PLC0415

    from headcheck import index as index_module  # noqa: PLC0415

    kernel = index_module._kernel
    if kernel is None:
        return {"error": "the compiled scan is not built or this CPU lacks AVX-512 VPOPCNTDQ"}
    ways: dict[str, tuple[object, Callable]] = {
        "compiled": (kernel, M.candidates), "compiled_old_merge": (kernel, candidates_before),
        "compiled_array_merge": (kernel, candidates_array_merge), "faiss": (None, M.candidates)}
    if old_kernel is not None:
        ways["before"] = (index_module._Kernel(ctypes.CDLL(str(old_kernel.resolve()))),
                          candidates_before)
    analyzer = Analyzer(detectors=[])
    lookups = [analyzer.analyze_bytes(b, lookup=True) for b in jpegs_512(40)]
    index = RegionIndex()
    fill(index, n)

    def run(way: str, a: object) -> dict:
        index_module._kernel, fn = ways[way]
        try:
            return fn(a, index, set())
        finally:
            index_module._kernel = kernel

    same = all(len({tuple(run(w, a).items()) for w in ways}) == 1 for a in lookups)
    times: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ways}
    per_lookup: dict[int, list[float]] = {}  # compiled, on-CPU ms, by lookup
    i = 0
    while len(times["faiss"]["wall"]) < lookups_timed:
        for name in ways:
            for _ in range(25):
                a = lookups[i % len(lookups)]
                i += 1
                t, c = time.perf_counter(), time.thread_time()
                run(name, a)
                times[name]["cpu"].append(1000 * (time.thread_time() - c))
                times[name]["wall"].append(1000 * (time.perf_counter() - t))
                if name == "compiled":
                    per_lookup.setdefault(i % len(lookups), []).append(times[name]["cpu"][-1])
    probes: dict[str, dict[str, float]] = {}  # one kind, hash and mirror: on-CPU p50 ms
    for kind, radius in RADIUS.items():
        h = index.indexes[kind]
        q = rng_codes(2, h.words)
        for name, (k, _) in ways.items():
            if name.startswith("compiled_"):
                continue
            index_module._kernel = k
            ms = []
            for _ in range(100):
                c = time.thread_time()
                h.hits(q, radius)
                ms.append(1000 * (time.thread_time() - c))
            probes.setdefault(kind, {})[name] = round(statistics.median(ms), 3)
    index_module._kernel = kernel
    by_kinds: dict[int, list[float]] = {}  # median on-CPU ms of each lookup, by kinds probed
    for j, ms in per_lookup.items():
        a = lookups[j]
        kinds = sum(1 for k in RADIUS if k in a.regions and a.regions[k].usable) + 2 * (
            a.image.pdq_quality >= KIND["pdq"].min_quality)
        by_kinds.setdefault(kinds, []).append(round(statistics.median(ms), 2))
    out = {"photos": n, "same_candidates": same, "one_kind_cpu_p50_ms": probes,
           "compiled_cpu_median_by_kinds_probed": {k: sorted(v) for k, v in by_kinds.items()},
           "compiled_stages_cpu": stages(index, lookups, 5),
           **{f"{name}_{clock}": percentiles(v) for name, t in times.items()
              for clock, v in t.items()}}
    for way in ways:
        if way != "compiled":
            out[f"compiled_faster_than_{way}_cpu"] = {
                p: round(out[f"{way}_cpu"][p] / out["compiled_cpu"][p], 2)
                for p in ("p50_ms", "p99_ms")}
    return out


def stages(index: RegionIndex, lookups: list, reps: int) -> dict:
    """Where a lookup's on-CPU time goes: the scans (``RegionIndex.hits`` of every kind probed),
    the merge, and the rest of ``candidates``; percentiles over every lookup ``reps`` times, and
    the split of the slowest 1%."""
    spent = {"scan": 0.0, "merge": 0.0}
    hits, merge = index.hits, M.merge

    def timed(name: str, fn: Callable) -> Callable:
        def call(*args: object) -> object:
            c = time.thread_time()
            try:
                return fn(*args)
            finally:
                spent[name] += 1000 * (time.thread_time() - c)
        return call

    index.hits, M.merge = timed("scan", hits), timed("merge", merge)
    rows = []
    try:
        for _ in range(reps):
            for a in lookups:
                spent["scan"] = spent["merge"] = 0.0
                c = time.thread_time()
                M.candidates(a, index, set())
                total = 1000 * (time.thread_time() - c)
                rows.append((total, spent["scan"], spent["merge"]))
    finally:
        del index.hits
        M.merge = merge
    a = np.array(rows)
    a = np.column_stack([a, a[:, 0] - a[:, 1] - a[:, 2]])
    slow = a[a[:, 0] >= np.quantile(a[:, 0], 0.99)].mean(axis=0)
    names = ("total", "scan", "merge", "rest")
    return {"lookups": len(a),
            **{k: {"p50_ms": round(float(np.median(a[:, j])), 3),
                   "p99_ms": round(float(np.quantile(a[:, j], 0.99)), 3)}
               for j, k in enumerate(names)},
            "slowest_1pct_mean_ms": {k: round(float(slow[j]), 3) for j, k in enumerate(names)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--kinds", nargs="*", default=list(KINDS))
    ap.add_argument("--multihash-queries", type=int, default=40)
    ap.add_argument("--whole", type=int, nargs="*", default=[],
                    help="also build a whole RegionIndex of these many photos (e.g. 10000000)")
    ap.add_argument("--scan", type=int, nargs="*", default=[],
                    help="compare the compiled scan with faiss's on a RegionIndex of these many "
                         "photos (e.g. 1000000); with --kinds (none) alone")
    ap.add_argument("--old-kernel", type=Path, default=None,
                    help="with --scan: also time this build of an earlier headcheck/_hamming.c "
                         "with the loop merge (the candidate stage as it was)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rng = np.random.default_rng(13)
    result = {"load_average_start": os.getloadavg()[0], "cpus": os.cpu_count()}
    for n in args.scan:
        result[f"scan_{n}"] = bench_scan(n, args.queries, args.old_kernel)
        print(n, json.dumps(result[f"scan_{n}"]), flush=True)
    for kind in args.kinds:
        result[kind] = bench_kind(kind, KINDS[kind], args.photos, args.queries, rng,
                                  args.multihash_queries)
        print(kind, json.dumps(result[kind]), flush=True)
    for n in args.whole:
        result[f"whole_{n}"] = bench_whole(n, args.queries)
        print(n, json.dumps(result[f"whole_{n}"]), flush=True)
    result["load_average_end"] = os.getloadavg()[0]
    return publish(args.out, result)


if __name__ == "__main__":
    raise SystemExit(main())
