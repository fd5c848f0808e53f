"""Keypoint verification's descriptor matching: the compiled pass against OpenCV's matchers.

    python bench/verify_bench.py [--folder data/faces/portraits/images] [--repeat 3]

The 438 studio portraits (one backdrop, different people: the store where verification works
hardest, docs/benchmarks.md) are indexed once by the shipped engine with the detectors off, and
every keypoint verification it runs is recorded (query features, stored features, frame bound).
Those verifications are then run again with each way of matching descriptors, in this process:

- ``knnMatch`` (the baseline; what verification used until 2026-12-03): OpenCV's brute-force
  matcher twice (two nearest one way, the nearest the other way), a Python object per match;
- ``batchDistance``: OpenCV's distance kernel twice, arrays out (the fallback where
  headcheck/_hamming.c is not built);
- ``compiled``: headcheck/_hamming.c's hk_match32, every pair once, both directions.

Every way must give every verification exactly the baseline's result (inliers, matches, the
fitted transform); the script exits non-zero otherwise. Printed: time per verification and the
ratio to the baseline, and the whole store's indexing time with the baseline and the shipped
matcher.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from headcheck import match, native, verify  # noqa: E402
from headcheck.analyze import Analyzer  # noqa: E402
from headcheck.engine import Headcheck  # noqa: E402
from headcheck.features import Features  # noqa: E402
from headcheck.store import Sighting  # noqa: E402

FOLDER = ROOT / "data" / "faces" / "portraits" / "images"
Matcher = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
SHIPPED: Matcher = verify.mutual_ratio_matches


def knn_reference(da: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mutual nearest neighbours under the ratio test with OpenCV's brute-force knnMatch."""
    m = cv2.BFMatcher(cv2.NORM_HAMMING)
    back = {x[0].queryIdx: x[0].trainIdx for x in m.knnMatch(db, da, k=1) if x}
    out = []
    for x in m.knnMatch(da, db, k=2):
        if not x or (len(x) == 2 and x[0].distance > verify.RATIO * x[1].distance):
            continue
        if back.get(x[0].trainIdx) == x[0].queryIdx:
            out.append((x[0].queryIdx, x[0].trainIdx))
    ia, ib = (np.array(v, np.int64) for v in zip(*out, strict=True)) if out else (
        np.zeros(0, np.int64), np.zeros(0, np.int64))
    return ia, ib


def with_nearest(nearest: Callable | None) -> Matcher:
    """verify.mutual_ratio_matches with ``nearest`` as its distance pass."""
    def run(da: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        saved, verify._native = verify._native, nearest
        try:
            return SHIPPED(da, db)
        finally:
            verify._native = saved
    return run


def index_all(files: list[Path], matcher: Matcher, record: list | None = None) -> float:
    """Seconds to index every file into a fresh in-memory store with ``matcher``; with
    ``record``, every keypoint verification's arguments appended to it."""
    def recording(a: Features, b: Features, frame_bound: bool = True) -> verify.Verification:
        record.append((a, b, frame_bound))
        return verify.verify(a, b, frame_bound)

    verify.mutual_ratio_matches = matcher
    if record is not None:
        match.verify = recording  # the matcher calls verification through its own name
    hc = Headcheck(analyzer=Analyzer(detectors=[]))
    try:
        t = time.perf_counter()
        for f in files:
            hc.add(f.read_bytes(), Sighting(f"https://portraits.example/{f.stem}", f.name,
                                            profile_name=f"Member {f.stem}"))
        return time.perf_counter() - t
    finally:
        hc.close()
        verify.mutual_ratio_matches, match.verify = SHIPPED, verify.verify


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=FOLDER)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    files = sorted(args.folder.glob("*.jpg"))
    compiled = native.function("hk_match32")
    ways: dict[str, Matcher] = {"knnMatch": knn_reference,
                                "batchDistance": with_nearest(None)}
    if compiled is not None:
        ways["compiled"] = with_nearest(verify._NativeNearest(compiled))
    pairs: list = []
    shipped = SHIPPED
    t_shipped = index_all(files, shipped, pairs)
    t_base = index_all(files, knn_reference)
    results, times = {}, {}
    for name, matcher in ways.items():
        verify.mutual_ratio_matches = matcher
        try:
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                results[name] = [verify.verify(a, b, fb) for a, b, fb in pairs]
                best = min(best, time.perf_counter() - t)
            times[name] = best
        finally:
            verify.mutual_ratio_matches = shipped
    base = times["knnMatch"]
    print(f"{len(files)} portraits, {len(pairs)} keypoint verifications; best of {args.repeat}; "
          f"shipped matcher here: {'compiled' if verify._native is not None else 'batchDistance'}"
          f"\n\n| matching | ms per verification | against knnMatch | same results |\n"
          f"|---|---|---|---|")
    bad = 0
    for name, t in times.items():
        same = results[name] == results["knnMatch"]
        bad += not same
        print(f"| {name} | {1000 * t / len(pairs):.3f} | {base / t:.2f}x | "
              f"{'yes' if same else 'NO'} |")
    print(f"\nIndexing all {len(files)} portraits: {t_base:.1f} s with knnMatch, "
          f"{t_shipped:.1f} s with the shipped matcher ({t_base / t_shipped:.2f}x).")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
