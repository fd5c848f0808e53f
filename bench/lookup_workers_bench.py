"""Uncached lookups/s as the server's analysis processes grow (``lookup_workers``), in one run.

    python bench/lookup_workers_bench.py [--photos 100000] [--seconds 40] [--workers 0 1 2]
        [--diffusion-gate on|off|both] [--parallel-passes on|off|both]

`headcheck serve` in its own process (bench/server_bench.py's ``served``: the sample store plus
N generated photos in the index, cache off) answers POST /v1/lookup of distinct 512 px face
JPEGs from 4 concurrent clients for a bounded time; each setting of ``lookup_workers`` is one
server. The baseline is 1 worker (0 is the engine thread analysing, as before workers existed).
Latency p50/p90 are those of the same 4-client run; ``one_client`` p50 is one lookup at a time.
``--diffusion-gate both`` runs each setting with the diffusion detector's gate off
(HEADCHECK_DIFFUSION_GATE=0: its wide pass on every face) and then on, one server each;
``--parallel-passes both`` likewise with the detector's two encoder passes one after the other
(HEADCHECK_PARALLEL_PASSES=0) and side by side where a core is idle (headcheck.cores).
The baseline is 1 worker with every varied setting off.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_bench import (  # noqa: E402 - bench/ is on sys.path when run as a script
    ROOT,
    jpegs_512,
    percentiles,
    post,
    sample_store,
    served,
)
from throughput import publish  # noqa: E402

OUT = ROOT / "bench" / "out" / "lookup_workers_bench.json"


def run_clients(base: str, bodies: list[bytes], clients: int, seconds: float) -> dict:
    """Lookups from ``clients`` threads for ``seconds``: rate and latencies."""
    ms: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        with httpx.Client(base_url=base, timeout=300) as c:
            i = k
            while time.monotonic() < stop:
                t = post(c, bodies[i % len(bodies)])
                with lock:
                    ms.append(t)
                i += clients

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.perf_counter() - t0
    return {"clients": clients, "lookups": len(ms), "seconds": round(elapsed, 1),
            "per_second": round(len(ms) / elapsed, 2), **percentiles(ms)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--diffusion-gate", choices=("on", "off", "both"), default="on")
    ap.add_argument("--parallel-passes", choices=("on", "off", "both"), default="on")
    args = ap.parse_args()
    choice = {"on": ["1"], "off": ["0"], "both": ["0", "1"]}
    varied = {"gate": ("HEADCHECK_DIFFUSION_GATE", choice[args.diffusion_gate]),
              "parallel": ("HEADCHECK_PARALLEL_PASSES", choice[args.parallel_passes])}
    bodies = jpegs_512(40)
    db = ROOT / "bench" / "out" / "lookup_workers_bench.db"
    hc = sample_store(db)
    hc.close()
    rows: dict[str, dict] = {}
    baseline = None
    for n, gate, par in ((n, g, p) for n in args.workers for g in varied["gate"][1]
                         for p in varied["parallel"][1]):
        os.environ["HEADCHECK_LOOKUP_WORKERS"] = str(n)
        os.environ["HEADCHECK_DIFFUSION_GATE"] = gate
        os.environ["HEADCHECK_PARALLEL_PASSES"] = par
        key = " ".join([str(n)] + [f"{name} {'on' if v == '1' else 'off'}"
                                   for name, v in (("gate", gate), ("parallel", par))
                                   if len(varied[name][1]) > 1])
        if n == 1 and baseline is None:
            baseline = key
        load0 = os.getloadavg()[0]
        with served(db, args.photos, cache=0) as base, \
                httpx.Client(base_url=base, timeout=300) as c:
            for b in bodies[:4]:  # the workers' first photos pay one-off setup
                post(c, b)
            one = [post(c, b) for b in bodies[:20]]
            rows[key] = {"load_average_start": load0,
                         "one_client_p50_ms": round(statistics.median(one), 1),
                         "one_client": percentiles(one),
                         "four_clients": run_clients(base, bodies, 4, args.seconds),
                         "load_average_end": os.getloadavg()[0]}
        print(key, json.dumps(rows[key]), flush=True)
    base_rate = rows[baseline]["four_clients"]["per_second"] if baseline else None
    result = {"photos": args.photos, "cpus": os.cpu_count(), "by_workers": rows,
              "baseline": baseline,
              "rate_x_one_worker": {n: round(r["four_clients"]["per_second"] / base_rate, 2)
                                    for n, r in rows.items()} if base_rate else None}
    return publish(args.out, result)


if __name__ == "__main__":
    raise SystemExit(main())
