"""Hamming index layouts at scale, in one run: the current flat scan (``HammingIndex``: faiss
``IndexBinaryFlat``), the same split into shards scanned by two threads, and faiss
``IndexBinaryMultiHash`` (multi-index hashing); plus saving and loading a built index.

    python bench/index_bench.py [--photos 1000000] [--queries 300] [--kinds context pdq]
        [--multihash-queries 40] [--whole 10000000] [--scan 1000000]

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


def bench_scan(n: int, lookups_timed: int) -> dict:
    """The candidate stage of real lookups (``match.candidates``: hash and mirror of every
    usable kind) over ``n`` generated photos, with the compiled scan (headcheck/_hamming.c) and
    with faiss's, in alternating blocks of 25 lookups so both see the same load; every lookup's
    candidates compared between the two."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from server_bench import fill, jpegs_512, percentiles  # noqa: PLC0415

    from headcheck import index as index_module  # noqa: PLC0415

    kernel = index_module._kernel
    if kernel is None:
        return {"error": "the compiled scan is not built or this CPU lacks AVX-512 VPOPCNTDQ"}
    analyzer = Analyzer(detectors=[])
    lookups = [analyzer.analyze_bytes(b, lookup=True) for b in jpegs_512(40)]
    index = RegionIndex()
    fill(index, n)
    same = True
    for a in lookups:
        index_module._kernel = None
        want = M.candidates(a, index, set())
        index_module._kernel = kernel
        same &= M.candidates(a, index, set()) == want
    times: dict[str, dict[str, list[float]]] = {
        k: {"wall": [], "cpu": []} for k in ("compiled", "faiss")}
    per_lookup: dict[int, list[float]] = {}  # compiled, on-CPU ms, by lookup
    i = 0
    while len(times["faiss"]["wall"]) < lookups_timed:
        for name, k in (("compiled", kernel), ("faiss", None)):
            index_module._kernel = k
            for _ in range(25):
                a = lookups[i % len(lookups)]
                i += 1
                t, c = time.perf_counter(), time.thread_time()
                M.candidates(a, index, set())
                times[name]["cpu"].append(1000 * (time.thread_time() - c))
                times[name]["wall"].append(1000 * (time.perf_counter() - t))
                if k is not None:
                    per_lookup.setdefault(i % len(lookups), []).append(times[name]["cpu"][-1])
    probes: dict[str, dict[str, float]] = {}  # one kind, hash and mirror: on-CPU p50 ms
    for kind, radius in RADIUS.items():
        h = index.indexes[kind]
        q = rng_codes(2, h.words)
        for name, k in (("compiled", kernel), ("faiss", None)):
            index_module._kernel = k
            ms = []
            for _ in range(100):
                c = time.thread_time()
                h.query_many(q, radius)
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
           **{f"{name}_{clock}": percentiles(v) for name, t in times.items()
              for clock, v in t.items()}}
    out["speedup_p50_cpu"] = round(out["faiss_cpu"]["p50_ms"] / out["compiled_cpu"]["p50_ms"], 2)
    out["speedup_p99_cpu"] = round(out["faiss_cpu"]["p99_ms"] / out["compiled_cpu"]["p99_ms"], 2)
    return out


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
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rng = np.random.default_rng(13)
    result = {"load_average_start": os.getloadavg()[0], "cpus": os.cpu_count()}
    for n in args.scan:
        result[f"scan_{n}"] = bench_scan(n, args.queries)
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
