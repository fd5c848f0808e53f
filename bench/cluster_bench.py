"""Crawl cluster: pages/s and photos/s of 1, 2 and 4 worker processes on a generated 20,000-profile
site, the writer alone, and Redis memory per fingerprint and per queued request, in one run.

    make bench-cluster     # = python bench/cluster_bench.py
    python bench/cluster_bench.py [--profiles 20000] [--photos 200] [--workers 1 2 4]
                                  [--window 60] [--warmup 15] [--fingerprints 10000000]

A real redis-server (Debian's) on a free loopback port; the generated site of
bench/crawl_bench.py on 127.0.0.1 (listing pages of 50 profiles, every image new bytes); every
worker a ``headcheck crawl --redis`` process with one analysis process, the writer a
``headcheck crawl-writer`` process. Phases, each a fresh job on the same site:

- workers alone: N workers crawl and analyse into the results stream, no writer (what N workers
  produce: photos/s is results sent);
- writer alone: the writer stores the stream the largest N left (what one writer absorbs);
- cluster: N workers and the writer together (photos/s is photos stored).

A crawl of 20,000 profiles takes longer than a benchmark may, so each phase measures a window:
once every worker has registered and results flow, ``--warmup`` seconds pass (model loading, the
listing pages), then the counters in Redis are read ``--window`` seconds apart; the workers are
then killed (the next phase starts from an empty Redis). The writer alone runs until the stream
is empty (first to last stored photo). Politeness is off for loopback (no delays, 8 requests at a
time per worker). Ratios are against one worker measured in the same run; the load average is
recorded around every phase (the machine may be shared).

Memory: fingerprints at ``--fingerprints`` entries, as the cluster stores them (20 raw bytes) and
as upstream scrapy-redis does (40 hex characters), so the 10M-URL figure is measured, not scaled;
queued requests as the crawl left them in the queue (pickled ``Request.to_dict()``, real URLs).
Writes bench/out/cluster_bench.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crawl_bench import make_site, source_photos  # noqa: E402
from scrapy import Request  # noqa: E402

from crawler.cluster.keys import Keys  # noqa: E402
from crawler.fingerprint import AcceptAwareFingerprinter  # noqa: E402
from crawler.site_server import SiteServer  # noqa: E402
from tests.redis_support import redis_server  # noqa: E402

KEYS = Keys()
LOOPBACK = ["-s", "AUTOTHROTTLE_ENABLED=false", "-s", "DOWNLOAD_DELAY=0",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "CONCURRENT_REQUESTS=8",
            "--log-level", "WARNING", "--depth", "2", "--workers", "1", "--idle-exit", "1",
            "--allow-network", "127.0.0.1/32"]  # the local site: refused unless allowed
ENV = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "no_proxy")}


def headcheck(*args: str) -> list[str]:
    return [sys.executable, "-c", "from headcheck.cli import main; main()", *args]


def seed(url: str, site: str) -> None:
    """A fresh job: an empty Redis (the workers killed after the phase before left their
    registrations and leases), then the seed."""
    redis.Redis.from_url(url).flushdb()
    subprocess.run([sys.executable, "-m", "crawler", "--redis", url, "--seed-only", "--fresh",
                    site], cwd=ROOT, env=ENV, check=True, capture_output=True)


def workers(url: str, n: int, work: Path) -> list[subprocess.Popen]:
    """N worker processes, each with its own new image folder (nothing cached from a phase
    before)."""
    tag = time.monotonic_ns()
    return [spawn([sys.executable, "-m", "crawler", "--redis", url, "--files-dir",
                   str(work / f"files-{tag}-{i}"), *LOOPBACK], work / f"worker-{tag}-{i}.log")
            for i in range(n)]


def spawn(cmd: list[str], log: Path) -> subprocess.Popen:
    """Start a process, its stderr kept in ``log`` for the message if it fails."""
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)  # its own process group, for stop()
    proc.log = log  # type: ignore[attr-defined]
    return proc


def writer(url: str, db: Path, *, exit_when_idle: bool = False) -> subprocess.Popen:
    idle = ["--exit-when-idle"] if exit_when_idle else []
    return spawn(headcheck("crawl-writer", "--redis", url, "--db", str(db), *idle),
                 db.with_suffix(".log"))


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGKILL each process and its analysis processes, once measured: a graceful stop would
    first analyse every page the worker holds (hundreds when analysis is the bottleneck)."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def counters(r: redis.Redis) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in r.hgetall(KEYS.stats).items()}


def wait_until(check: Callable[[], bool], procs: list[subprocess.Popen], what: str,
               timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while not check():
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > end:
            stop(procs)
            why = (f"{dead[0].args} exited {dead[0].returncode}:\n"
                   + dead[0].log.read_text()[-3000:]) if dead else "timed out"
            raise SystemExit(f"{what}: {why}")
        time.sleep(0.2)


def window(r: redis.Redis, procs: list[subprocess.Popen], n: int, counter: str,
           args: argparse.Namespace) -> dict:
    """Rates over ``args.window`` seconds once N workers are registered and ``counter`` moves,
    after ``args.warmup`` seconds; the processes are stopped after."""
    wait_until(lambda: r.scard(KEYS.workers) >= n and counters(r).get(counter, 0) > 0, procs,
               f"{n} workers starting")
    time.sleep(args.warmup)
    load0, c0, t0 = os.getloadavg()[0], counters(r), time.perf_counter()
    time.sleep(args.window)
    c1, t1, load1 = counters(r), time.perf_counter(), os.getloadavg()[0]
    if any(p.poll() is not None for p in procs):
        raise SystemExit("a process stopped inside the window (crawl finished or failed)")
    stop(procs)
    seconds = t1 - t0

    def rate(key: str) -> float:
        return round((c1.get(key, 0) - c0.get(key, 0)) / seconds, 2)

    return {"workers": n, "seconds": round(seconds, 1), "pages_per_s": rate("pages"),
            "results_per_s": rate("profiles"), "stored_per_s": rate("stored"),
            "load_average": [round(load0, 1), round(load1, 1)]}


def queue_memory(r: redis.Redis) -> dict:
    """What the crawl left in Redis: bytes per queued request and per fingerprint."""
    queued, fps = int(r.zcard(KEYS.queue)), int(r.scard(KEYS.dupefilter))
    return {"queued": queued,
            "bytes_per_queued_request": round(int(r.memory_usage(KEYS.queue, samples=0) or 0)
                                              / max(queued, 1), 1),
            "fingerprints": fps,
            "bytes_per_fingerprint": round(int(r.memory_usage(KEYS.dupefilter, samples=0) or 0)
                                           / max(fps, 1), 1)}


def phase_workers(url: str, site: str, n: int, work: Path, args: argparse.Namespace) -> dict:
    """N workers, no writer: results pile up in the stream."""
    r = redis.Redis.from_url(url)
    seed(url, site)
    out = window(r, workers(url, n, work), n, "profiles", args)
    del out["stored_per_s"]
    out["photos_per_s"] = out.pop("results_per_s")
    entries = int(r.xlen(KEYS.results))
    out["stream_bytes_per_result"] = round(int(r.memory_usage(KEYS.results, samples=0) or 0)
                                           / max(entries, 1))
    out["redis_left"] = queue_memory(r)
    progress(f"workers alone: {out}")
    return out


def phase_writer(url: str, db: Path) -> dict:
    """The writer alone over the stream left by the phase before (no worker running)."""
    r = redis.Redis.from_url(url)
    entries = int(r.xlen(KEYS.results))
    r.hdel(KEYS.stats, "stored")
    # --exit-when-idle: the job is over once the stream is stored (the killed workers' queue,
    # registrations and leases go).
    r.delete(KEYS.queue, KEYS.workers, *r.keys(KEYS.inflight("*")))
    load0 = os.getloadavg()[0]
    proc = writer(url, db, exit_when_idle=True)
    first = last = None
    value = 0
    while proc.poll() is None:
        now, v = time.perf_counter(), counters(r).get("stored", 0)
        if v and first is None:
            first = now
        if v != value:
            value, last = v, now
        time.sleep(0.1)
    if proc.returncode != 0 or first is None or last is None or value != entries:
        raise SystemExit(f"writer alone: exit {proc.returncode}, stored {value} of {entries}")
    # From the first stored batch to the last: one batch (50) is stored before the clock starts.
    return {"results": entries, "seconds": round(last - first, 2),
            "photos_per_s": round((entries - 50) / (last - first), 2),
            "load_average": [round(load0, 1), round(os.getloadavg()[0], 1)]}


def phase_cluster(url: str, site: str, n: int, work: Path, db: Path,
                  args: argparse.Namespace) -> dict:
    r = redis.Redis.from_url(url)
    seed(url, site)
    procs = [*workers(url, n, work), writer(url, db)]
    out = window(r, procs, n, "stored", args)
    out["photos_per_s"] = out.pop("stored_per_s")
    out["sent_per_s"] = out.pop("results_per_s")
    progress(f"cluster: {out}")
    return out


def fingerprint_memory(r: redis.Redis, n: int) -> dict:
    """Bytes per fingerprint in a set of ``n``: 20 raw bytes (here) and 40 hex characters
    (upstream). The values are SHA-1 digests of counters: the same length as the crawler's
    fingerprints (checked), and a set's cost depends on the length only."""
    fp = AcceptAwareFingerprinter().fingerprint(Request("https://social.example/users/x"))
    assert len(fp) == 20, len(fp)

    def fill(key: str, member: Callable[[int], bytes | str]) -> float:
        before = int(r.info("memory")["used_memory"])
        for start in range(0, n, 10_000):
            r.sadd(key, *(member(i) for i in range(start, min(start + 10_000, n))))
        grown = int(r.info("memory")["used_memory"]) - before
        r.unlink(key)  # freed in the background
        while int(r.info("memory")["used_memory"]) > before + 1_000_000:
            time.sleep(0.5)
        return grown / n

    raw = fill("m:raw", lambda i: hashlib.sha1(i.to_bytes(8, "little")).digest())
    hexed = fill("m:hex", lambda i: hashlib.sha1(i.to_bytes(8, "little")).hexdigest())
    return {"entries": n, "bytes_per_fingerprint": round(raw, 1),
            "bytes_per_fingerprint_hex_upstream": round(hexed, 1),
            "GB": {"raw": round(raw * n / 1e9, 2), "hex_upstream": round(hexed * n / 1e9, 2)}}


def progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message} (load {os.getloadavg()[0]:.1f})",
          file=sys.stderr, flush=True)


def ratios(rows: list[dict], key: str) -> dict[str, float]:
    base = rows[0][key] or 1e-9
    return {f"{row['workers']} / {rows[0]['workers']} workers": round(row[key] / base, 2)
            for row in rows[1:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", type=int, default=20_000)
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--window", type=float, default=60.0, help="seconds measured per phase")
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--fingerprints", type=int, default=10_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "cluster_bench.json")
    args = ap.parse_args()
    result: dict = {"profiles": args.profiles, "window_s": args.window, "warmup_s": args.warmup,
                    "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        make_site(work / "site", args.profiles, source_photos(args.photos))
        result["site_seconds"] = round(time.perf_counter() - t, 1)
        progress(f"site of {args.profiles} profiles written")
        with redis_server(work / "memory", aof=False) as url:  # AOF does not change memory
            r = redis.Redis.from_url(url, socket_timeout=300)
            result["fingerprint_memory"] = fingerprint_memory(r, args.fingerprints)
        progress(f"fingerprint memory: {result['fingerprint_memory']}")
        with redis_server(work / "redis") as url, SiteServer(work / "site") as server:
            site = server.url("/")
            result["workers_alone"] = [phase_workers(url, site, n, work, args)
                                       for n in args.workers]
            result["writer_alone"] = phase_writer(url, work / "writer-alone.db")
            progress(f"writer alone: {result['writer_alone']}")
            result["cluster"] = [phase_cluster(url, site, n, work, work / f"cluster{n}.db", args)
                                 for n in args.workers]
    alone, cluster = result["workers_alone"], result["cluster"]
    result["ratios"] = {
        "workers alone, pages/s": ratios(alone, "pages_per_s"),
        "workers alone, photos/s": ratios(alone, "photos_per_s"),
        "cluster, photos stored/s": ratios(cluster, "photos_per_s"),
        "writer alone / 1 worker alone, photos/s":
            round(result["writer_alone"]["photos_per_s"] / (alone[0]["photos_per_s"] or 1e-9), 2)}
    result["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
