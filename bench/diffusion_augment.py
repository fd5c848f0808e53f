"""Does training on augmented copies make the diffusion detector better where it matters?

    python bench/diffusion_embed.py --aug      # first: two augmented copies of every image
    python bench/diffusion_augment.py          # prints markdown for docs/benchmarks.md

Three recipes, the same folds and data: the shipped one (no augmented copies), the probe's two
heads trained on the copies too (the guard as shipped), and every head, the guard's too, trained
on them. For each, at a grid of thresholds (text-to-image head, StyleGAN head; the guard's two the
same): out-of-fold recall on the images as they are (variants 0-1) and on the augmented copies,
real photos of part B flagged, and the worst share of a real set flagged when the recipe is
trained without that set (bench/diffusion_loso.py: the photos of a kind never trained on, which
is what a false flag on a real person comes from). Then the twelve transformations of
bench/diffusion_robustness.py (part B, out of fold; four of them, blur, upscaling, tight crops and
tinted contrast, are in no augmented copy).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import diffusion_robustness as R  # noqa: E402
import diffusion_train as T  # noqa: E402
from diffusion_loso import KINDS  # noqa: E402

RECIPES = {"shipped (no copies)": (False, False),
           "probe on copies, guard as shipped": (True, False),
           "every head on copies": (True, True)}
GRID = ((0.999, 0.999), (0.9995, 0.999), (0.9999, 0.9999), (0.99999, 0.9999))
ROBUST_AT = (0.9995, 0.999)  # the shipped floors


def four(t: tuple[float, float]) -> tuple[float, float, float, float]:
    return (t[0], t[1], t[0], t[1])


def main() -> int:
    d = T.load(aug=True)
    if not (d.variant >= 2).any():
        sys.exit("no augmented copies: run bench/diffusion_embed.py --aug first")
    f, kind = T.folds(d), np.array([KINDS.get(s, s) for s in d.set])
    plain, real_b = d.variant < 2, (d.y == 0) & ~T.part_a(d)
    t2i, sg = (d.y == 1) & (d.gen != "stylegan"), d.gen == "stylegan"
    rows = R.sample(30, 30)
    feats = [R.features(r, None) for r in rows]
    rfold = np.array([T._hash(r["group"], T.FOLDS) for r in rows])
    rreal = np.array([R.kind(r).startswith("real") for r in rows])
    print(f"{int(plain.sum())} images as they are and re-encoded, {int((~plain).sum())} "
          "augmented copies (a face found)\n")
    print("| recipe | thresholds | text-to-image found (as is / copies) | StyleGAN found | "
          "real part B flagged | worst real set left out |")
    print("|---|---|---|---|---|---|")
    robust: dict[str, list[str]] = {}
    for name, (aug, guard_aug) in RECIPES.items():
        folds = [T.fit_heads(d, f != k, aug, guard_aug) for k in range(T.FOLDS)]
        oof = np.full((4, len(d.y)), np.nan)
        for k, heads in enumerate(folds):
            oof[:, f == k] = T.score_heads(heads, d.take(f == k))
        left = {k: T.score_heads(T.fit_heads(d, kind != k, aug, guard_aug), d.take(kind == k))
                for k in sorted(set(kind[d.y == 0]))}
        for t in GRID:
            hit = T.flags_at(oof, four(t))
            worst = max((T.flags_at(sc, four(t)).mean(), k) for k, sc in left.items())
            print(f"| {name} | {t[0]}, {t[1]} | {hit[t2i & plain].mean():.3f} / "
                  f"{hit[t2i & ~plain].mean():.3f} | {hit[sg & plain].mean():.3f} | "
                  f"{int(hit[real_b].sum())} of {int(real_b.sum())} | "
                  f"{worst[0]:.2%} ({worst[1]}) |")
        cells = []
        for tn in R.TRANSFORMS:
            sc, face = R.transformed_scores(feats, rfold, folds, tn)
            hit = T.flags_at(sc, four(ROBUST_AT))
            cells.append(f"{int((hit & rreal).sum())} / {hit[~rreal & face].mean():.2f}")
        robust[name] = cells
    print(f"\nTransformations (part B, out of fold, at {ROBUST_AT}): real photos flagged / share "
          f"of AI faces found, of {int(rreal.sum())} real and {int((~rreal).sum())} AI images\n")
    print("| transformation | " + " | ".join(robust) + " |")
    print("|---|" + "---|" * len(robust))
    for j, tn in enumerate(R.TRANSFORMS):
        print(f"| {tn} | " + " | ".join(c[j] for c in robust.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
