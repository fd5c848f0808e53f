"""Probe v7: probe v6's recipe, trained on Gemini and ChatGPT faces too.

    python bench/diffusion_v7.py            # the evaluation (docs/benchmarks.md, "Gemini and
                                            # ChatGPT faces")
    python bench/diffusion_v7.py --write    # ... then write headcheck/data/diffusion_probe.json
    python bench/diffusion_v7.py --specs face,wide:2.0 cls:3-5:0.001  # other heads, families out
    python bench/diffusion_v7.py --aug2 --specs cls:7-9,wcls:6-8:0.001  # v6.1's copies too

v6 (bench/diffusion_v6.py) scored none of 44 headshots made by Gemini 3 Pro Image and ChatGPT
(sets ``openpeople`` and ``id_photos``, data/diffusion/SOURCES.md) above 0.07: it had learned
FLUX.1 and SDXL, not "made by a generator". v7 is the same head on the same features, with the
same thresholds rule (each real kind left out in turn), trained on those sets as well. Its
tables are v6's, with the two new generator families as rows of their own (out of fold, and
left out of training as the other generators are), plus what matters most for generators we
have no images of: each new family scored by a probe trained without it, and without both
(v6's data: what v6 would have found).

Measured 2026-12-01 and not shipped: v7 finds fewer AI images out of fold than v6 (74% against
82%), flags one held-out real photo where v6 flags none, finds 6% of the 32 Gemini faces and 42%
of the 12 ChatGPT ones out of fold, and neither family when it is left out of training. 44 images
from two sources are too few to teach the head a new family; v6 stays.
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


def new_families(d: T.Data, flag: float | None, features: str = V6.FEATURES, c: float = V6.C
                 ) -> None:
    """Each new family (and both) left out of training: its images scored, per source, at v7's
    flag (None: not known, other features) and at the flag the same protocol sets without it,
    the head reading ``features`` (with ``c``)."""
    plain = d.take(d.variant < 2)
    print(f"\nThe new generator families left out of training, head on {features} (C {c}; every "
          "other image and copy in it; scored: their images as they are and re-encoded):\n")
    print("| left out | source | images | found at v7's flag | at the flag set without them "
          "| unsure or found | highest log-odds |\n|---|---|---|---|---|---|---|")
    for name, fams in (*((g, (g,)) for g in NEW_GENS), ("both (v6's data)", NEW_GENS)):
        seen = ~np.isin(d.gen, fams)
        m = V6.fit(d.take(seen), features, c)
        lo = V6.left_out(d, seen, sg=False, features=features, c=c)
        own, unsure = V6.threshold(lo, V6.FLAG_FPR), V6.threshold(lo, V6.UNSURE_FPR)
        for src in sorted(set(plain.set[np.isin(plain.gen, fams)])):
            rows = plain.take(np.isin(plain.gen, fams) & (plain.set == src))
            z = T.logit(rows, m)
            at_flag = "-" if flag is None else f"{(z >= flag).mean():.3f}"
            print(f"| {name} | {src} | {len(z)} | {at_flag} | "
                  f"{(z >= own).mean():.3f} (log-odds {own:.2f}) | {(z >= unsure).mean():.3f} "
                  f"| {z.max():.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="write the probe after the evaluation")
    ap.add_argument("--specs", nargs="+", metavar="FEATURES:C",
                    help="only the new families left out, for heads on these features (e.g. "
                         "face,wide:2.0 cls:3-5:0.001): does any head find a family it never saw?")
    ap.add_argument("--aug2", action="store_true",
                    help="with the --aug2 copies too (probe v6.1's recipe)")
    args = ap.parse_args()
    d = V6.load(without=V6.SETS_SINCE_V7, aug2=args.aug2)
    if args.specs:
        for spec in args.specs:
            features, c = spec.rsplit(":", 1)
            new_families(d, None, features, float(c))
        return 0
    flag, unsure = V6.evaluate(d, GENS + NEW_GENS)
    new_families(d, flag)
    if args.write:
        V6.write(d, flag, unsure, VERSION, "bench/diffusion_v7.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
