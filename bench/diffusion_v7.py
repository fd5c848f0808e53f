"""Probe v7: probe v6's recipe, trained on Gemini and ChatGPT faces too.

    python bench/diffusion_v7.py            # the evaluation (docs/benchmarks.md, "Probe v7")
    python bench/diffusion_v7.py --write    # ... then write headcheck/data/diffusion_probe.json

v6 (bench/diffusion_v6.py) scored none of 44 headshots made by Gemini 3 Pro Image and ChatGPT
(sets ``openpeople`` and ``id_photos``, data/diffusion/SOURCES.md) above 0.07: it had learned
FLUX.1 and SDXL, not "made by a generator". v7 is the same head on the same features, with the
same thresholds rule (each real kind left out in turn), trained on those sets as well. Its
tables are v6's, with the two new generator families as rows of their own (out of fold, and
left out of training as the other generators are), plus what matters most for generators we
have no images of: each new family scored by a probe trained without it, and without both
(v6's data: what v6 would have found).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import diffusion_train as T  # noqa: E402
import diffusion_v6 as V6  # noqa: E402
from diffusion_eval import GENS  # noqa: E402

VERSION = "7"
NEW_GENS = ("gemini", "gpt-image")


def new_families(d: T.Data, flag: float) -> None:
    """Each new family (and both) left out of training: its images scored, per source, at v7's
    flag and at the flag the same protocol sets without it."""
    plain = d.take(d.variant < 2)
    print("\nThe new generator families left out of training (every other image and copy in "
          "it; scored: their images as they are and re-encoded):\n")
    print("| left out | source | images | found at v7's flag | at the flag set without them "
          "| unsure or found | highest log-odds |\n|---|---|---|---|---|---|---|")
    for name, fams in (*((g, (g,)) for g in NEW_GENS), ("both (v6's data)", NEW_GENS)):
        seen = ~np.isin(d.gen, fams)
        m = V6.fit(d.take(seen))
        own = V6.threshold(V6.left_out(d, seen, sg=False), V6.FLAG_FPR)
        unsure = V6.threshold(V6.left_out(d, seen, sg=False), V6.UNSURE_FPR)
        for src in sorted(set(plain.set[np.isin(plain.gen, fams)])):
            rows = plain.take(np.isin(plain.gen, fams) & (plain.set == src))
            z = T.logit(rows, m)
            print(f"| {name} | {src} | {len(z)} | {(z >= flag).mean():.3f} | "
                  f"{(z >= own).mean():.3f} (log-odds {own:.2f}) | {(z >= unsure).mean():.3f} "
                  f"| {z.max():.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="write the probe after the evaluation")
    args = ap.parse_args()
    d = V6.load(without=frozenset())
    flag, unsure = V6.evaluate(d, GENS + NEW_GENS)
    new_families(d, flag)
    if args.write:
        V6.write(d, flag, unsure, VERSION, "bench/diffusion_v7.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
