"""Crawl cluster: throughput of 1 and 2 (or more) worker processes with one writer, the writer
alone, and Redis memory per fingerprint, per queued request and per result, in one run.

    python bench/cluster_bench.py [--profiles 1000] [--photos 200] [--workers 1 2]
                                  [--fingerprints 200000]

A real redis-server (Debian's) on a free loopback port; the generated site of
bench/crawl_bench.py on 127.0.0.1; every worker a ``headcheck crawl --redis`` process with one
analysis process, the writer a ``headcheck crawl-writer`` process. Phases:
- workers alone: N workers crawl and analyse into the stream, no writer (what N workers produce);
- writer alone: the writer stores the stream the largest N left (what one writer absorbs);
- cluster: N workers and the writer together, from seeding to the writer's exit.
Politeness is off for loopback (no delays, 8 requests at a time per worker). Each rate counts
from the first result (or stored photo) to the last, leaving out process start-up (model loading)
and the idle wait before exit. Ratios are against one worker measured in the same run.
Writes bench/out/cluster_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crawl_bench import make_site, source_photos  # noqa: E402
from scrapy import Request  # noqa: E402

from crawler.cluster.keys import Keys  # noqa: E402
from crawler.cluster.spider import ClusterSpider  # noqa: E402
from crawler.fingerprint import AcceptAwareFingerprinter  # noqa: E402
from crawler.site_server import SiteServer  # noqa: E402
from tests.redis_support import redis_server  # noqa: E402

KEYS = Keys()
LOOPBACK = ["-s", "AUTOTHROTTLE_ENABLED=false", "-s", "DOWNLOAD_DELAY=0",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "CONCURRENT_REQUESTS=8",
            "--log-level", "WARNING", "--depth", "2", "--workers", "1", "--idle-exit", "1"]
ENV = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "no_proxy")}


def headcheck(*args: str) -> list[str]:
    return [sys.executable, "-c", "from headcheck.cli import main; main()", *args]


def seed(url: str, site: str) -> None:
    subprocess.run([sys.executable, "-m", "crawler", "--redis", url, "--seed-only", "--fresh",
                    site], cwd=ROOT, env=ENV, check=True, capture_output=True)


def workers(url: str, n: int, work: Path) -> list[subprocess.Popen]:
    """N worker processes, each with its own new image folder (nothing cached from a phase
    before)."""
    tag = time.monotonic_ns()
    return [subprocess.Popen([sys.executable, "-m", "crawler", "--redis", url, "--files-dir",
                              str(work / f"files-{tag}-{i}"), *LOOPBACK], cwd=ROOT, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i in range(n)]


def writer(url: str, db: Path) -> subprocess.Popen:
    return subprocess.Popen(headcheck("crawl-writer", "--redis", url, "--db", str(db),
                                      "--exit-when-idle"), cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"{p.args} failed with {p.returncode}")


def counters(r: redis.Redis) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in r.hgetall(KEYS.stats).items()}


def timed(r: redis.Redis, procs: list[subprocess.Popen], counter: str) -> float:
    """Wait for the processes; return the seconds from the first to the last change of
    ``counter`` (the work itself, without process start-up, model loading and idle exit)."""
    first = last = None
    value = 0
    while any(p.poll() is None for p in procs):
        now, v = time.perf_counter(), counters(r).get(counter, 0)
        if v and first is None:
            first = now
        if v != value:
            value, last = v, now
        time.sleep(0.1)
    wait(procs)
    if first is None or last is None or last <= first:
        raise SystemExit(f"no progress seen on {counter}")
    return last - first


def phase_workers(url: str, site: str, n: int, work: Path) -> dict:
    """N workers, no writer: results pile up in the stream."""
    r = redis.Redis.from_url(url)
    r.delete(KEYS.results)
    seed(url, site)
    seconds = timed(r, workers(url, n, work), "profiles")
    c = counters(r)
    stream_bytes = int(r.memory_usage(KEYS.results, samples=0) or 0)
    entries = int(r.xlen(KEYS.results))
    return {"workers": n, "seconds": round(seconds, 2), "pages": c.get("pages", 0),
            "results": c.get("profiles", 0),
            "pages_per_s": round(c.get("pages", 0) / seconds, 2),
            "results_per_s": round(c.get("profiles", 0) / seconds, 2),
            "stream_bytes_per_result": round(stream_bytes / max(entries, 1))}


def phase_writer(url: str, db: Path) -> dict:
    r = redis.Redis.from_url(url)
    entries = int(r.xlen(KEYS.results))
    r.hdel(KEYS.stats, "stored")
    seconds = timed(r, [writer(url, db)], "stored")
    return {"results": entries, "seconds": round(seconds, 2),
            "results_per_s": round(entries / seconds, 2)}


def phase_cluster(url: str, site: str, n: int, work: Path, db: Path) -> dict:
    r = redis.Redis.from_url(url)
    r.delete(KEYS.results)
    seed(url, site)
    seconds = timed(r, [*workers(url, n, work), writer(url, db)], "stored")
    c = counters(r)
    return {"workers": n, "seconds": round(seconds, 2), "pages": c.get("pages", 0),
            "stored": c.get("stored", 0),
            "pages_per_s": round(c.get("pages", 0) / seconds, 2),
            "photos_per_s": round(c.get("stored", 0) / seconds, 2)}


def memory(url: str, n: int) -> dict:
    """Bytes per entry: fingerprints as stored here (20 raw bytes) and upstream (40 hex chars),
    queued requests (a profile page request, pickled as scrapy-redis does)."""
    r = redis.Redis.from_url(url)
    r.flushdb()
    fp = AcceptAwareFingerprinter()
    spider = ClusterSpider()

    def grow(fill) -> float:  # noqa: ANN001
        before = int(r.info("memory")["used_memory"])
        pipe = r.pipeline(transaction=False)
        for i in range(n):
            fill(pipe, i)
            if i % 10_000 == 9_999:
                pipe.execute()
        pipe.execute()
        return (int(r.info("memory")["used_memory"]) - before) / n

    def req(i: int) -> Request:
        return Request(f"https://social.example/users/person{i}", callback=spider.parse,
                       errback=spider.failed, meta={"depth": 2})

    raw = grow(lambda p, i: p.sadd("m:raw", fp.fingerprint(req(i))))
    hexed = grow(lambda p, i: p.sadd("m:hex", fp.fingerprint(req(i)).hex()))
    queued = grow(lambda p, i: p.zadd("m:queue", {
        pickle.dumps(req(i).to_dict(spider=spider), protocol=-1): 2}))
    r.flushdb()
    return {"entries": n, "fingerprint_bytes": round(raw, 1),
            "fingerprint_hex_bytes_upstream": round(hexed, 1),
            "queued_request_bytes": round(queued, 1),
            "at_10M_urls_GB": {"fingerprints": round(raw * 1e7 / 1e9, 2),
                               "fingerprints_upstream": round(hexed * 1e7 / 1e9, 2)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", type=int, default=1000)
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--fingerprints", type=int, default=200_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "cluster_bench.json")
    args = ap.parse_args()
    result: dict = {"profiles": args.profiles, "cpus": os.cpu_count(),
                    "load_average_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        work = Path(tmp)
        make_site(work / "site", args.profiles, source_photos(args.photos))
        with redis_server(work / "redis") as url, SiteServer(work / "site") as server:
            result["memory"] = memory(url, args.fingerprints)
            site = server.url("/")
            result["workers_alone"] = [phase_workers(url, site, n, work) for n in args.workers]
            result["writer_alone"] = phase_writer(url, work / "writer-alone.db")
            result["cluster"] = [phase_cluster(url, site, n, work, work / f"cluster{n}.db")
                                 for n in args.workers]
    base_w, base_c = result["workers_alone"][0], result["cluster"][0]
    result["ratios"] = {
        f"{w['workers']} workers / {base_w['workers']}, workers alone":
            round(w["results_per_s"] / base_w["results_per_s"], 2)
        for w in result["workers_alone"][1:]} | {
        f"{c['workers']} workers / {base_c['workers']}, with the writer":
            round(c["photos_per_s"] / base_c["photos_per_s"], 2)
        for c in result["cluster"][1:]}
    for c in result["cluster"]:
        if c["stored"] != args.profiles:
            raise SystemExit(f"the cluster stored {c['stored']} of {args.profiles}: {c}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
