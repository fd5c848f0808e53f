"""Hard negatives: official studio portraits, every one a different person, in one store.

    python bench/portraits_eval.py [--folder data/faces/portraits/images] [--out FILE]
                                   [--faceless]

Each portrait is indexed by the shipped engine (analysis, candidates, keypoints, dense pixels,
identity) on its own page under its own name, as a crawl of a parliament's site would store
them. Any photo labelled composited or reused is a false accusation. Printed: photos flagged,
distinct pairs verified, pairs past the keypoint gate (where the dense check decides) with the
95% upper bound of the per-pair false-match rate, and the dense agreement of those pairs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from headcheck import match as M
from headcheck.confidence import wilson_lower
from headcheck.dense import DensePatch
from headcheck.engine import Headcheck
from headcheck.store import Sighting

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "faces" / "portraits" / "images"


def run(folder: Path, faceless: bool = False) -> dict:
    hc = Headcheck()  # an in-memory store
    if faceless:  # as if the face detector missed every face: whole-image windows only
        hc.analyzer.models.find_face = lambda rgb: None  # type: ignore[method-assign]
    examined: list[M.Evidence] = []
    keep = hc.matcher.examine

    def recording(q, wants):  # the shipped examine, with its evidence kept for the figures
        ev = keep(q, wants)
        # and the dense score of every candidate, gated or not: the margin to the thresholds
        qd = DensePatch.from_bytes(q.dense)
        examined.extend(replace(e, dense=M.dense_score(
            qd, DensePatch.from_bytes(hc.store.dense(e.photo_id)), e.verification, e.mirrored,
            q.face is not None)) for e in ev)
        return ev

    hc.matcher.examine = recording  # type: ignore[method-assign]
    files = sorted(folder.glob("*.jpg"))
    t = time.perf_counter()
    analyses = []
    for f in files:
        seen = Sighting(f"https://portraits.example/{f.stem}", f.name,
                        profile_name=f"Member {f.stem}")
        analyses.append(hc.add(f.read_bytes(), seen).analysis)
    seconds = time.perf_counter() - t
    labels = {pid: hc.stored_verdict(pid) for pid in hc.store.photo_ids()}
    flagged = {pid: v for pid, v in labels.items() if v.label in ("composited", "reused")}
    # every portrait is a real photo: a synthetic label is a false flag too (per-image detectors)
    synthetic = {pid: v for pid, v in labels.items() if v.label == "synthetic"}
    gated = [e for e in examined if e.verification.inliers + e.verification.face_inliers
             >= M.THRESHOLDS.min_keypoints]
    n_gated = len(gated)
    ctx = np.array([e.dense.context_corr for e in examined if e.dense.context_area
                    >= M.THRESHOLDS.context_area] or [0.0])
    core = np.array([e.dense.core_corr for e in examined if e.dense.core_area
                     >= M.THRESHOLDS.core_area] or [0.0])
    hc.close()
    return {
        "photos": len(files), "seconds": round(seconds, 1),
        "flagged": len(flagged),
        "flagged_examples": {str(pid): v.reasons[0].detail for pid, v in
                             list(flagged.items())[:10]},
        "flagged_synthetic": len(synthetic),
        "flagged_synthetic_examples": {str(pid): v.reasons[0].detail for pid, v in
                                       list(synthetic.items())[:10]},
        "faces_by_detector": dict(Counter(
            "none" if a.face is None else a.face.detector + ("" if a.face.landmarks else
                                                             " (eyes only)")
            for a in analyses)),
        "pairs_verified": len(examined), "pairs_past_keypoint_gate": n_gated,
        "false_match_rate_upper_95_gated": 3 / n_gated if n_gated else None,
        # the dense check alone (as if every verified pair had passed the keypoint gate)
        "dense_alone_false_pairs": sum(M.context_shared(e.dense) or M.face_pixels_shared(e.dense)
                                       or M.locally_shared(e.dense) for e in examined),
        "dense_alone_rate_upper_95": 3 / len(examined) if examined else None,
        "lower_bound_precision_if_clean": wilson_lower(n_gated, n_gated),
        # Dense scores of every verified pair (gate or not): the margin to the thresholds.
        "dense_of_all_verified": {
            "context_corr_max": round(float(ctx.max()), 3),
            "context_corr_p99": round(float(np.quantile(ctx, 0.99)), 3),
            "core_corr_max": round(float(core.max()), 3),
            "core_corr_p99": round(float(np.quantile(core, 0.99)), 3),
            "agree_share_max": round(max((e.dense.agree_share for e in examined), default=0), 3),
            "agree_share_p99": round(float(np.quantile(
                [e.dense.agree_share for e in examined] or [0.0], 0.99)), 3),
            "agree_area_max": max((e.dense.agree_area for e in examined), default=0),
            # the pairs closest to the local-agreement rule: (share, area)
            "agree_closest": sorted(((round(e.dense.agree_share, 3), e.dense.agree_area)
                                     for e in examined), key=lambda x: -min(
                x[0] / M.THRESHOLDS.agree_share, x[1] / M.THRESHOLDS.agree_area))[:5],
            "thresholds": {"context_corr": M.THRESHOLDS.context_corr,
                           "core_corr": M.THRESHOLDS.core_corr,
                           "agree_share": M.THRESHOLDS.agree_share,
                           "agree_area": M.THRESHOLDS.agree_area}},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=FOLDER)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--faceless", action="store_true",
                    help="as if no face were found: a detector miss must not accuse either")
    args = ap.parse_args()
    args.out = args.out or ROOT / "bench" / "out" / (
        "portraits-faceless.json" if args.faceless else "portraits.json")
    res = run(args.folder, args.faceless)
    labels = args.folder.parent / "labels.csv"
    if labels.exists():
        with labels.open(newline="") as fh:
            res["people"] = len({r["bioguide_id"] for r in csv.DictReader(fh)})
    print(json.dumps(res, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    return 0 if res["flagged"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
