"""Lookup API at scale: index query and lookup latency with 1M photos indexed, memory per indexed
photo, sustained lookups/s from a concurrent client on loopback. One run, with its baselines.

    python bench/server_bench.py [--photos 1000000] [--seconds 20]

- Index query: the candidate stage of one lookup (``match.candidates``: hash and mirror of every
  usable region, pHash and PDQ, ~10 probes) over N generated random hashes per kind, against the
  previous numpy ``bitwise_count`` index on the same data (baseline; results must be identical).
- Lookup by upload: POST /v1/lookup of 512 px JPEGs (face photos from data/faces, cache off) to
  `headcheck serve` in its own process on 127.0.0.1, whose index holds the sample store plus N
  generated photos; baseline: ``Headcheck.check`` in process on the same index (no HTTP).
- Memory: resident-set growth of a fresh process that indexes 1M and 2M generated photos (all six
  hash kinds); 10M extrapolated linearly from those two.
- Throughput: lookups/s from 4 concurrent client threads for a bounded time, distinct images
  (cache off), and the same image repeated (cache on); baseline: one client.

Generated hashes are uniform random, so they share no candidates' pixels: verification of the
candidates they propose finds no keypoints in the store and costs little. Real distractors are
more alike (bench/scale.py), so real verification costs more than it does here.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the server package, however headcheck was installed

from child_server import child_server  # noqa: E402 - bench/ is on sys.path when run as a script
from throughput import as_jpeg_512  # noqa: E402

# The generated photos live only in memory: no index of them is saved beside a store.
os.environ["HEADCHECK_INDEX_FILE"] = "off"
from headcheck import match as M  # noqa: E402
from headcheck.analyze import Analyzer  # noqa: E402
from headcheck.cli import read_pages_csv  # noqa: E402
from headcheck.engine import Headcheck  # noqa: E402
from headcheck.index import WORDS, RegionIndex, hex_words  # noqa: E402
from headcheck.store import Sighting  # noqa: E402

OUT = ROOT / "bench" / "out" / "server_bench.json"
SYNTHETIC_BASE = 1_000_000_000  # ids of generated photos, far above any stored one
FACES = ROOT / "data" / "faces"


# -- generated index ------------------------------------------------------------------------------
def fill(index: RegionIndex, n: int, seed: int = 1, chunk: int = 250_000) -> None:
    """Add ``n`` generated photos (every hash kind) to ``index``."""
    rng = np.random.default_rng(seed)
    for kind, h in index.indexes.items():
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            h.add(SYNTHETIC_BASE + start + np.arange(m),
                  rng.integers(0, 2**64 - 1, size=(m, WORDS.get(kind, 1)), dtype=np.uint64,
                               endpoint=True))
        h.query(np.zeros(h.words, np.uint64), 0)  # settle (ids joined) before timing


class NumpyIndex:
    """The previous index (numpy ``bitwise_count`` over packed words): the baseline."""

    def __init__(self, index: RegionIndex) -> None:
        self.data = {k: h._compact() for k, h in index.indexes.items()}

    def query(self, kind: str, hex_hash: str, radius: int) -> list[tuple[int, int]]:
        ids, codes = self.data[kind]
        q = hex_words(hex_hash).reshape(1, -1)
        dist = np.bitwise_count(codes ^ q).sum(axis=1, dtype=np.int32)
        hit = np.flatnonzero(dist <= radius)
        order = hit[np.argsort(dist[hit], kind="stable")]
        return [(int(ids[i]), int(dist[i])) for i in order]

    def query_many(self, kind: str, hex_hashes: list[str], radius: int
                   ) -> list[list[tuple[int, int]]]:
        return [self.query(kind, h, radius) for h in hex_hashes]

    def hits(self, kind: str, hex_hashes: list[str], radius: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ordered as ``RegionIndex.hits``: by query, distance, then id."""
        rows = sorted((i, d, pid) for i, h in enumerate(hex_hashes)
                      for pid, d in self.query(kind, h, radius))
        qi, d, pid = (np.array([r[j] for r in rows], np.int64) for j in range(3))
        return qi, pid, d


# -- timing ---------------------------------------------------------------------------------------
def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": round(float(np.median(a)), 3),
            "p99_ms": round(float(np.quantile(a, 0.99)), 3), "n": len(ms)}


def timed(fn: Callable[[], object], n: int, clock: Callable[[], float] = time.perf_counter
          ) -> list[float]:
    fn()
    out = []
    for _ in range(n):
        t = clock()
        fn()
        out.append(1000 * (clock() - t))
    return out


def jpegs_512(count: int = 40) -> list[bytes]:
    return as_jpeg_512(sorted((FACES / "real" / "images").glob("large_*@2x.jpg"))[:count // 2]
                       + sorted((FACES / "stylegan2" / "images").glob("*.jpg"))[:count // 2])


def load_average() -> float:
    return os.getloadavg()[0]


# -- index query ----------------------------------------------------------------------------------
def bench_index(photos: int, queries: list) -> dict:  # noqa: ANN001 - Analysis list
    index = RegionIndex()
    t = time.perf_counter()
    fill(index, photos)
    fill_s = time.perf_counter() - t
    base = NumpyIndex(index)
    for a in queries:  # exact: the same candidates as the brute-force baseline
        assert M.candidates(a, index, set()) == M.candidates(a, base, set())
    gc.collect()
    gc.freeze()
    cycle = iter(range(10**9))

    def run(idx: object) -> Callable[[], object]:
        return lambda: M.candidates(queries[next(cycle) % len(queries)], idx, set())

    new = timed(run(index), 300)
    # CPU time of this thread: the same work without the time a busy machine took the core away
    new_cpu = timed(run(index), 300, time.thread_time)
    old = timed(run(base), 30)
    probes = {}
    for kind, radius in M.RADIUS.items():
        h = index.indexes[kind]
        q = np.zeros(h.words, np.uint64)
        probes[kind] = percentiles(timed(lambda h=h, q=q, r=radius: h.query(q, r), 200))
    cands = [len(M.candidates(a, index, set())) for a in queries]
    probes_seen: list[str] = []
    counting = type("Counting", (), {
        "query_many": lambda _, kind, hs, r: probes_seen.extend([kind] * len(hs))
        or index.query_many(kind, hs, r)})()
    for a in queries:
        M.candidates(a, counting, set())
    res = {"photos": photos, "fill_seconds": round(fill_s, 2),
           "candidates_per_lookup_mean": round(float(np.mean(cands)), 1),
           "probes_per_lookup_mean": round(len(probes_seen) / len(queries), 1),
           "lookup_index_query": percentiles(new), "lookup_index_query_cpu": percentiles(new_cpu),
           "baseline_numpy": percentiles(old),
           "speedup_p50": round(statistics.median(old) / statistics.median(new), 1),
           "single_probe": probes}
    gc.unfreeze()
    return res


# -- memory ---------------------------------------------------------------------------------------
def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(r"VmRSS:\s+(\d+) kB", fh.read()).group(1)) * 1024


def memory_child(n: int) -> None:
    gc.collect()
    before = rss_bytes()
    index = RegionIndex()
    fill(index, n)
    gc.collect()
    print(json.dumps({"photos": n, "rss_growth": rss_bytes() - before,
                      "nbytes": index.nbytes()}))


def bench_memory(sizes: tuple[int, ...]) -> dict:
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(n)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    (a, b) = rows[0], rows[-1]
    per_photo = (b["rss_growth"] - a["rss_growth"]) / (b["photos"] - a["photos"])
    at_10m = b["rss_growth"] + per_photo * (10_000_000 - b["photos"])
    return {"measured": rows, "bytes_per_photo_marginal": round(per_photo, 1),
            "bytes_per_photo_data": round(b["nbytes"] / b["photos"], 1),
            "extrapolated_10m_gib": round(at_10m / 2**30, 2)}


# -- served lookups -------------------------------------------------------------------------------
def serve_child(db: str, photos: int) -> None:
    """`headcheck serve`'s app with ``photos`` generated photos added to the index it builds."""
    import uvicorn

    import headcheck.engine as engine
    from server.app import create_app
    from server.settings import Settings

    class Grown(RegionIndex):
        @classmethod
        def from_store(cls, store, path=None) -> RegionIndex:  # noqa: ANN001, ARG003
            idx = super().from_store(store)  # built from the store: never a saved index
            fill(idx, photos)
            return idx

    engine.RegionIndex = Grown  # the one Headcheck the server builds gets the generated photos
    cache = int(os.environ.get("BENCH_CACHE", "0"))
    settings = Settings(db=db, port=0, cache_entries=cache, rate_per_minute=1e9,
                        rate_burst=10**9, max_pending=64)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=0, log_level="info",
                access_log=False)


@contextmanager
def served(db: Path, photos: int, cache: int) -> Iterator[str]:
    env = {**os.environ, "BENCH_CACHE": str(cache)}
    with child_server([sys.executable, __file__, "--serve-child", str(db), str(photos)],
                      env=env) as (_, url):
        yield url


def post(c: httpx.Client, data: bytes) -> float:
    t = time.perf_counter()
    r = c.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"})
    r.raise_for_status()
    return 1000 * (time.perf_counter() - t)


def sustained(base: str, bodies: list[bytes], clients: int, seconds: float, cap: int) -> dict:
    """Lookups/s from ``clients`` threads, stopping at ``seconds`` or ``cap`` lookups."""
    done, lock = [0], threading.Lock()
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as c:
            i = k
            while time.monotonic() < stop:
                with lock:
                    if done[0] >= cap:
                        return
                    done[0] += 1
                post(c, bodies[i % len(bodies)])
                i += clients

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.perf_counter() - t
    return {"clients": clients, "lookups": done[0], "seconds": round(elapsed, 2),
            "per_second": round(done[0] / elapsed, 2)}


def sample_store(db: Path) -> Headcheck:
    """The sample profiles (data/sample/pages.csv) in a new store, as `make run` indexes them."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    hc = Headcheck(db)
    for f, page, name in read_pages_csv(ROOT / "data" / "sample" / "pages.csv"):
        hc.add(f.read_bytes(), Sighting(page_url=page, profile_name=name))
    return hc


def bench_served(photos: int, bodies: list[bytes], seconds: float) -> dict:
    db = ROOT / "bench" / "out" / "server_bench.db"
    hc = sample_store(db)
    fill(hc.index, photos)
    direct = [1000 * t for t in (_time_check(hc, b) for b in bodies * 2)]
    hc.close()
    out: dict = {"in_process_check": percentiles(direct)}
    with served(db, photos, cache=0) as base, httpx.Client(base_url=base, timeout=120) as c:
        post(c, bodies[0])
        latency = [post(c, b) for b in bodies * 2]
        out["http_lookup"] = percentiles(latency)
        out["http_overhead_p50"] = round(statistics.median(latency) / statistics.median(direct), 2)
        out["one_client"] = sustained(base, bodies, 1, seconds / 2, 10_000)
        out["four_clients"] = sustained(base, bodies, 4, seconds, 10_000)
    with served(db, photos, cache=256) as base:
        out["four_clients_cached"] = sustained(base, bodies[:1], 4, seconds / 2, 20_000)
    return out


def _time_check(hc: Headcheck, data: bytes) -> float:
    t = time.perf_counter()
    hc.check(data)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=20.0,
                    help="bound on each sustained-throughput run")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    if args.serve_child:
        serve_child(args.serve_child[0], int(args.serve_child[1]))
        return 0

    bodies = jpegs_512()
    analyzer = Analyzer()
    queries = [analyzer.analyze_bytes(b, lookup=True) for b in bodies]
    results = {"load_average_at_start": load_average(), "cores": os.cpu_count()}
    print(f"index query, {args.photos:,} generated photos ...", flush=True)
    results["index"] = bench_index(args.photos, queries)
    print(json.dumps(results["index"], indent=1), flush=True)
    print("memory per indexed photo (1M, 2M) ...", flush=True)
    results["memory"] = bench_memory((1_000_000, 2_000_000))
    print(json.dumps(results["memory"], indent=1), flush=True)
    print("served lookups ...", flush=True)
    results["served"] = bench_served(args.photos, bodies, args.seconds)
    print(json.dumps(results["served"], indent=1), flush=True)
    results["load_average_at_end"] = load_average()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(f"written {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
