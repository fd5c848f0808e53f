"""Analysis throughput against Pillow decode-only of the same 512 px JPEGs, in one run.

    python bench/throughput.py [--rounds 3]

The baseline is what any image tool pays: decoding the bytes to RGB pixels. The ratio
analysis/decode is the figure we hold ourselves to (aim: at most 5x). Stage costs are timed
separately so the gap can be attributed. Analysis is also timed with the diffusion detector's
gate off (HEADCHECK_DIFFUSION_GATE=0: its wide pass on every face), rounds interleaved with the
gated ones so both see the same load; and with the detector's two encoder passes one after the
other (HEADCHECK_PARALLEL_PASSES=0) against side by side on the second core (the default in
a lone process), interleaved the same way. Wall time per image is what the ratio uses; the CPU
time of every thread is printed beside it, since side by side one photo takes two cores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from headcheck.analyze import Analyzer
from headcheck.features import context_features
from headcheck.fingerprint import image_hashes, region_hashes
from headcheck.load import load_image
from headcheck.provenance import provenance_signals
from headcheck.regions import Frame

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "data" / "faces"


def as_jpeg_512(files: list[Path]) -> list[bytes]:
    """Each file re-encoded as a JPEG whose longer side is 512 px (the benchmarks' unit)."""
    out = []
    for f in files:
        im = Image.open(f).convert("RGB")
        im.thumbnail((512, 512), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def corpus_512() -> list[bytes]:
    return as_jpeg_512(sorted((FACES / "real" / "images").glob("large_*@2x.jpg"))
                       + sorted((FACES / "diffusion" / "images").glob("*.jpg"))[:40]
                       + sorted((FACES / "stylegan2" / "images").glob("*.jpg"))[:40])


def per_image_ms(fn: Callable[[bytes], object], items: list, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for x in items:
            fn(x)
        times.append((time.perf_counter() - t) / len(items) * 1000)
    return statistics.median(times)


def env_ab_ms(fn: Callable[[bytes], object], items: list, rounds: int, var: str
              ) -> tuple[float, float]:
    """ms per item with the switch ``var`` on ("1") and off ("0"), alternating round by round:
    medians of each."""
    on, off = [], []
    before = os.environ.get(var)
    try:
        for _ in range(rounds):
            for flag, times in (("1", on), ("0", off)):
                os.environ[var] = flag
                times.append(per_image_ms(fn, items, 1))
    finally:
        if before is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = before
    return statistics.median(on), statistics.median(off)


def publish(out: Path, result: dict) -> int:
    """Write a benchmark's figures to ``out`` (bench/out/, not committed) and print them."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "throughput.json")
    args = ap.parse_args()
    data = corpus_512()
    analyzer = Analyzer()
    analyzer.analyze_bytes(data[0])  # warm caches (ORB, pdq tables)

    decode = per_image_ms(lambda b: Image.open(io.BytesIO(b)).convert("RGB"), data, args.rounds)
    load0 = os.getloadavg()[0]
    analyze, gate_off = env_ab_ms(analyzer.analyze_bytes, data, args.rounds,
                                  "HEADCHECK_DIFFUSION_GATE")
    _, serial = env_ab_ms(analyzer.analyze_bytes, data, args.rounds, "HEADCHECK_PARALLEL_PASSES")
    cpu0 = time.process_time()
    per_image_ms(analyzer.analyze_bytes, data, 1)
    analyze_cpu = (time.process_time() - cpu0) / len(data) * 1000  # every thread's CPU time
    loaded = [load_image(b) for b in data]
    arrays = [(img, img.array()) for img in loaded]
    faces = [(img, rgb, analyzer.models.find_face(rgb)) for img, rgb in arrays]
    framed = [(rgb, Frame.from_face(f)) for _, rgb, f in faces if f is not None]
    stages = {
        "safe load (decode, EXIF, limits, sha256)": per_image_ms(load_image, data, args.rounds),
        "face and eyes": per_image_ms(lambda x: analyzer.models.find_face(x[1]), arrays,
                                      args.rounds),
        "region hashes": per_image_ms(lambda x: region_hashes(*x), framed, args.rounds),
        "whole-image pHash + PDQ": per_image_ms(lambda x: image_hashes(x.image), loaded,
                                                args.rounds),
        "context keypoints (ORB)": per_image_ms(lambda x: context_features(*x), framed,
                                                args.rounds),
        "face chip": per_image_ms(lambda x: analyzer.models.chip(x[1], x[2]),
                                  [x for x in faces if x[2] is not None], args.rounds),
        "provenance": per_image_ms(provenance_signals, loaded, args.rounds),
    }
    res = {"images": len(data), "rounds": args.rounds, "decode_ms": decode,
           "analyze_ms": analyze, "ratio": analyze / decode,
           "analyze_gate_off_ms": gate_off, "ratio_gate_off": gate_off / decode,
           "analyze_passes_serial_ms": serial, "analyze_cpu_ms": analyze_cpu,
           "load_average": [load0, os.getloadavg()[0]],
           "analyze_per_second": 1000 / analyze, "decode_per_second": 1000 / decode,
           "stages_ms": stages, "faces_found": sum(1 for x in faces if x[2] is not None)}
    print(f"{len(data)} JPEGs at 512 px, median of {args.rounds} rounds, one process:")
    print(f"  Pillow decode-only : {decode:6.2f} ms/image ({1000 / decode:6.0f}/s)")
    print(f"  headcheck analyze  : {analyze:6.2f} ms/image ({1000 / analyze:6.0f}/s)")
    print(f"  ratio              : {analyze / decode:.1f}x decode-only (aim: <= 5x)")
    print(f"  analyze, gate off  : {gate_off:6.2f} ms/image ({gate_off / decode:.1f}x decode; "
          f"gated {analyze / gate_off:.3f}x of it)")
    print(f"  passes one by one  : {serial:6.2f} ms/image ({serial / decode:.1f}x decode; "
          f"side by side {analyze / serial:.3f}x of it)")
    print(f"  analyze, CPU time  : {analyze_cpu:6.2f} ms/image, every thread "
          f"({analyze_cpu / decode:.1f}x decode)")
    print(f"  load average       : {load0:.2f} at the start, {os.getloadavg()[0]:.2f} after")
    for k, v in stages.items():
        print(f"    {k:<42} {v:6.2f} ms ({v / decode:4.1f}x decode)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
