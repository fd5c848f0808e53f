"""Peak memory and time per hostile input (tests/hostile_cases.py), and what the limits buy.

    python bench/hostile_inputs.py [--out bench/out/hostile_inputs.json]

Each case is analysed (``Analyzer.analyze_bytes``, lookup mode, as the server and the crawler do)
in a child forked from a process that has loaded the models and analysed one photo, so every case
starts from the same warm baseline. The child resets its peak RSS (``/proc/self/clear_refs``),
analyses, and reports its peak RSS (``VmHWM``) and the time taken. Asserts the bar: no case
peaks above 256 MB more than the baseline, and every case ends in a result or an ImageError.

Baseline in the same run: the two cases the issue reported (a 7000x7000 PNG of zeros and a JPEG
header claiming 7000x7000) analysed with the old 50 MP limit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from headcheck.analyze import Analyzer  # noqa: E402
from headcheck.errors import ImageError  # noqa: E402
from headcheck.load import Limits  # noqa: E402
from tests.hostile_cases import PHOTO, _encode, _jpeg_claiming, image_cases  # noqa: E402

BAR_MB = 256


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024  # kB -> MB
    return 0


def run_case(analyzer: Analyzer, data: bytes) -> dict:
    """Fork; the child analyses ``data`` and writes its figures to a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        base = _vm("VmRSS")
        t = time.perf_counter()
        try:
            analyzer.analyze_bytes(data, lookup=True)
            outcome = "result"
        except ImageError as exc:
            outcome = f"error: {exc}"[:120]
        except BaseException as exc:  # noqa: BLE001 - a crash is what we count
            outcome = f"CRASH {type(exc).__name__}: {exc}"[:120]
        out = {"seconds": round(time.perf_counter() - t, 3), "base_mb": base,
               "peak_mb": _vm("VmHWM"), "outcome": outcome}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as fh:
        raw = fh.read()
    _, status = os.waitpid(pid, 0)
    if not raw:
        return {"outcome": f"CRASH (child status {status})", "seconds": None, "base_mb": None,
                "peak_mb": None}
    return json.loads(raw)


def upload_load(db: Path, max_inflight: int, uploads: int = 30, size: int = 11 * 2**20) -> dict:
    """``uploads`` bodies of ``size`` bytes sent at once to a `headcheck serve` child process;
    its peak RSS and the statuses it answered."""
    import subprocess

    from child_server import child_server  # bench/ is on sys.path when run as a script

    env = {**os.environ, "HEADCHECK_MAX_INFLIGHT_BYTES": str(max_inflight),
           "HEADCHECK_RATE_BURST": "1000"}
    with child_server([sys.executable, "-c", "from headcheck.cli import main; main()", "serve",
                       "--db", str(db), "--port", "0"], cwd=ROOT, env=env,
                      stdout=subprocess.DEVNULL) as (proc, url):
        return _load(proc.pid, url, uploads, size) | {"max_inflight_bytes": max_inflight}


def _load(pid: int, url: str, uploads: int, size: int) -> dict:
    """Send the uploads at once; the server's peak RSS and the statuses it answered."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    status = Path(f"/proc/{pid}/status")

    def hwm() -> int:
        return next(int(x.split()[1]) // 1024 for x in status.read_text().splitlines()
                    if x.startswith("VmHWM:"))

    before = hwm()
    body = b"\xff\xd8\xff\xe0" + os.urandom(size - 4)  # a JPEG's start, then noise

    def post(_: int) -> int:
        with httpx.Client(timeout=300) as c:
            return c.post(url + "/v1/lookup", content=body,
                          headers={"Content-Type": "image/jpeg"}).status_code

    with ThreadPoolExecutor(uploads) as pool:
        codes = list(pool.map(post, range(uploads)))
    peak = hwm()
    return {"uploads": uploads, "upload_bytes": size,
            "rss_before_mb": before, "peak_rss_mb": peak,
            "statuses": {str(k): codes.count(k) for k in sorted(set(codes))}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "hostile_inputs.json")
    args = ap.parse_args()

    analyzer = Analyzer()
    analyzer.analyze_bytes(PHOTO.read_bytes(), lookup=True)  # warm: models and first-call setup
    from PIL import Image

    # Bench only (too slow for the suite): the largest lie that is still decoded, 20 MP of zeros
    # in 20 KB, shows what one decode at the limit costs.
    at_limit = ("png-zeros-4472x4472", _encode(Image.new("L", (4472, 4472)), "PNG",
                                               optimize=True))
    rows = []
    for name, data in [*image_cases(), at_limit]:
        res = run_case(analyzer, data)
        res.update(case=name, bytes=len(data), extra_mb=(res["peak_mb"] - res["base_mb"])
                   if res["peak_mb"] is not None else None)
        rows.append(res)
        print(f"{name:32s} {res['extra_mb']!s:>5} MB {res['seconds']!s:>7} s  {res['outcome']}",
              flush=True)

    old = Analyzer(limits=Limits(max_pixels=50_000_000))
    old.analyze_bytes(PHOTO.read_bytes(), lookup=True)
    baseline = {}
    for name, data in (("png-zeros-7000x7000", _encode(Image.new("L", (7000, 7000)), "PNG",
                                                       optimize=True)),
                       ("jpeg-claims-7000x7000", _jpeg_claiming(7000, 7000))):
        res = run_case(old, data)
        res["extra_mb"] = res["peak_mb"] - res["base_mb"] if res["peak_mb"] else None
        baseline[name] = {"old_50mp_limit": res, "now": run_case(analyzer, data)}
        print(f"baseline {name}: 50 MP limit {res}; now {baseline[name]['now']}")

    import tempfile

    from headcheck.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "h.db"
        Store(db).close()
        load = {"unbounded": upload_load(db, 2**40), "bounded": upload_load(db, 48 * 2**20)}
    print(json.dumps(load, indent=1))

    crashes = [r for r in rows if r["outcome"].startswith("CRASH")]
    errors = [r for r in rows if r["outcome"].startswith("error")]
    worst = max(rows, key=lambda r: r["extra_mb"] or 0)
    slowest = max(rows, key=lambda r: r["seconds"] or 0)
    summary = {"cases": len(rows), "clear_errors": len(errors), "results": len(rows) - len(
        errors) - len(crashes), "crashes": len(crashes), "worst_extra_mb": worst["extra_mb"],
        "worst_case": worst["case"], "slowest_seconds": slowest["seconds"],
        "slowest_case": slowest["case"], "bar_mb": BAR_MB, "load_average": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "baseline": baseline,
                                    "uploads": load, "cases": rows},
                                   indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    assert not crashes, crashes
    assert (worst["extra_mb"] or 0) <= BAR_MB, worst


if __name__ == "__main__":
    main()
