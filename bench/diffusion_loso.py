"""Real photos of a kind the probe never saw: leave one real set out.

    python bench/diffusion_loso.py            # at the shipped thresholds
    python bench/diffusion_loso.py --grid     # and at stricter ones, against out-of-fold recall

For each real set (the London set's two halves count as one, so do the CC0 snapshots), the
shipped recipe is trained again without any photo of it: the probe's two heads and its guard's
(v4's recipe, which never saw FairFace), at the shipped thresholds. Then every image of the set
left out (as it is and re-encoded, a face found) is scored. The flagged share is what a new kind
of real photo would meet, which part B (whose kinds were all seen in training) cannot show; a
false flag on a real person is the worst failure. Prints markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_train import (  # noqa: E402
    PROBE_OUT,
    fit_heads,
    flags_at,
    guard_oof,
    load,
    oof_scores,
    score_heads,
    shipped_thresholds,
    stylegan_oof,
)

KINDS = {"london_neutral": "london", "london_smiling": "london", "lisa": "snapshots",
         "zoom": "snapshots"}


# (text-to-image head, StyleGAN head, the guard's two)
GRID = ((0.99, 0.9, 0.99, 0.9), (0.99, 0.99, 0.99, 0.99), (0.995, 0.99, 0.995, 0.99),
        (0.995, 0.999, 0.995, 0.999), (0.999, 0.99, 0.999, 0.99), (0.999, 0.999, 0.99, 0.9),
        (0.999, 0.999, 0.999, 0.999), (0.9995, 0.999, 0.99, 0.9), (0.9995, 0.999, 0.995, 0.99),
        (0.9995, 0.999, 0.9995, 0.999), (0.9995, 0.9999, 0.9995, 0.9999),
        (0.9999, 0.9999, 0.9999, 0.9999))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", action="store_true",
                    help="also at the thresholds of GRID, with out-of-fold recall")
    args = ap.parse_args()
    probe = json.loads(PROBE_OUT.read_text())
    guard = probe.get("guard")
    if guard is None:
        sys.exit(f"{PROBE_OUT} has no guard: this script measures the guarded recipe (v5 on)")
    shipped = shipped_thresholds()
    unsure = probe["thresholds"]["unsure"]
    d = load()
    kind = np.array([KINDS.get(s, s) for s in d.set])
    print(f"probe v{probe['version']} recipe, trained without the set; thresholds (head, "
          f"StyleGAN head, guard v{guard['version']}'s two): {shipped}\n")
    print("| real set left out | images | flagged (shipped rule) | by the probe alone | "
          "by the guard alone | unsure band | highest score |")
    print("|---|---|---|---|---|---|---|")
    left_out: dict[str, np.ndarray] = {}
    for k in sorted(set(kind[d.y == 0])):
        out = kind == k
        sc = score_heads(fit_heads(d, ~out), d.take(out))
        left_out[k] = sc
        hit = flags_at(sc, shipped)
        own = flags_at(np.stack([sc[0], sc[1], np.ones_like(sc[0]), sc[3]]), shipped)
        grd = flags_at(np.stack([np.ones_like(sc[0]), sc[1], sc[2], sc[3]]), shipped)
        print(f"| {k} | {len(hit)} | **{hit.sum()} ({hit.mean():.1%})** | {own.sum()} "
              f"({own.mean():.1%}) | {grd.sum()} ({grd.mean():.1%}) | "
              f"{int(((sc[0] >= unsure) & ~hit).sum())} | {np.nanmax(sc[:2]):.3f} |")
    print("\nimages: as they are and re-encoded, where the analyser finds a face")
    if not args.grid:
        return 0
    oof = np.stack([oof_scores(d), stylegan_oof(d), *guard_oof(d)])
    ai = d.y == 1
    t2i = ai & (d.gen != "stylegan")
    print("\n| heads at (text-to-image, StyleGAN; guard's two) | " + " | ".join(left_out) +
          " | worst set | text-to-image found | StyleGAN found |")
    print("|---|" + "---|" * (len(left_out) + 3))
    for ts in GRID:
        shares = [flags_at(sc, ts).mean() for sc in left_out.values()]
        print(f"| {ts[0]}, {ts[1]}; {ts[2]}, {ts[3]} | " + " | ".join(f"{x:.1%}" for x in shares) +
              f" | {max(shares):.1%} | {flags_at(oof[:, t2i], ts).mean():.3f} | "
              f"{flags_at(oof[:, d.gen == 'stylegan'], ts).mean():.3f} |")
    print("\nreal sets: share flagged when left out of training; found: out-of-fold share of "
          "the AI images flagged (all sets in training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
