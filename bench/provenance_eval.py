"""Provenance signals on the labelled metadata fixtures: every declaration found, none invented.

    python bench/provenance_eval.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from headcheck.analyze import Analyzer
from headcheck.signals import SYNTHETIC

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "provenance"
# Fixtures that declare AI generation (labels from make_fixtures.py); all others declare none.
DECLARED = {
    "c2pa_ai.jpg", "c2pa_ai.png", "xmp_iptc_ai.jpg", "xmp_iptc_ai.png", "xmp_malformed.jpg",
    "exif_midjourney.jpg", "exif_firefly.webp", "png_a1111.png", "png_comfyui.png",
    "exif_usercomment_a1111.jpg", "xmp_tc260_aigc.jpg", "png_aigc_label.png",
}
SUFFIXES = {".jpg", ".png", ".webp"}


def evaluate_provenance(analyzer: Analyzer) -> dict:
    files = sorted(p for p in FIXTURES.iterdir() if p.suffix in SUFFIXES)
    tp = fp = fn = tn = 0
    rows = []
    for p in files:
        a = analyzer.analyze_bytes(p.read_bytes())
        found = [s.name for s in a.signals if s.kind == SYNTHETIC and s.score >= 0.5
                 and not s.name.startswith("geometry.")]
        declared = p.name in DECLARED
        tp += declared and bool(found)
        fn += declared and not found
        fp += (not declared) and bool(found)
        tn += (not declared) and not found
        rows.append({"file": p.name, "declared": declared, "found": found})
    res = {"fixtures": len(files), "recall": tp / max(1, tp + fn),
           "precision": tp / max(1, tp + fp), "false_positive_rate": fp / max(1, fp + tn),
           "missed": [r["file"] for r in rows if r["declared"] and not r["found"]],
           "invented": [r["file"] for r in rows if not r["declared"] and r["found"]],
           "rows": rows}
    print(f"\nprovenance: {len(files)} fixtures, recall {100 * res['recall']:.0f}%, precision "
          f"{100 * res['precision']:.0f}%, false-positive rate "
          f"{100 * res['false_positive_rate']:.0f}% (bar: all found, none invented)")
    for r in rows:
        print(f"  {r['file']:<28} declared={str(r['declared']):<5} found={r['found']}")
    return res


if __name__ == "__main__":
    evaluate_provenance(Analyzer())
    sys.exit(0)
