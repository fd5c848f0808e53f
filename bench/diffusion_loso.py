"""Real photos of a kind the probe never saw: leave one real set out.

    python bench/diffusion_loso.py            # at the shipped thresholds
    python bench/diffusion_loso.py --grid     # and at stricter ones, against out-of-fold recall
    python bench/diffusion_loso.py --views    # flag only where a re-encoded copy flags too?

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
    fit_heads,
    flags_at,
    guard_oof,
    load,
    oof_scores,
    recipe_probe_path,
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
    ap.add_argument("--views", action="store_true",
                    help="also a photo flagged only where its re-encoded copy is flagged too")
    args = ap.parse_args()
    probe = json.loads(recipe_probe_path().read_text())
    guard = probe.get("guard")
    if guard is None:
        sys.exit(f"{recipe_probe_path()} has no guard: this script measures the guarded recipe")
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
    if not args.grid and not args.views:
        return 0
    oof = np.stack([oof_scores(d), stylegan_oof(d), *guard_oof(d)])
    if args.views:
        views(d, kind, left_out, oof)
    if not args.grid:
        return 0
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


def by_photo(flagged: np.ndarray, path: np.ndarray, variant: np.ndarray, both: bool
             ) -> np.ndarray:
    """Per photo with a face found as it is: flagged as it is (and, with ``both``, flagged in
    its re-encoded copy too; a copy without a face counts as not flagged)."""
    seen: dict[str, dict[int, bool]] = {}
    for p, v, f in zip(path, variant, flagged, strict=True):
        seen.setdefault(p, {})[int(v)] = bool(f)
    return np.array([v[0] and (not both or v.get(1, False)) for v in seen.values() if 0 in v])


def views(d, kind: np.ndarray, left_out: dict[str, np.ndarray], oof: np.ndarray) -> None:
    """A second look at a copy re-encoded as training's (random rescale, JPEG, mirror) would
    cost two more encoder passes, only for photos about to be flagged; it helps only if real
    photos' flags are less stable under re-encoding than AI faces' at a lower threshold."""
    t2i, sg = (d.y == 1) & (d.gen != "stylegan"), d.gen == "stylegan"
    print("\n| rule | heads at (both heads; the guard's the same) | " + " | ".join(left_out) +
          " | worst set | text-to-image found | StyleGAN found |")
    print("|---|---|" + "---|" * (len(left_out) + 3))
    for both in (False, True):
        for a in (0.995, 0.998, 0.999, 0.9995):
            for b in (0.99, 0.999):
                ts = (a, b, a, b)
                shares = [by_photo(flags_at(sc, ts), d.path[kind == k], d.variant[kind == k],
                                   both).mean() for k, sc in left_out.items()]
                found = [by_photo(flags_at(oof[:, m], ts), d.path[m], d.variant[m], both).mean()
                         for m in (t2i, sg)]
                print(f"| {'as is and re-encoded' if both else 'as is'} | {a}, {b} | " +
                      " | ".join(f"{x:.2%}" for x in shares) +
                      f" | {max(shares):.2%} | {found[0]:.3f} | {found[1]:.3f} |")
    print("\nper photo (a face found as it is): share of each real set flagged when left out of "
          "training; found: out-of-fold share of the AI photos flagged")


if __name__ == "__main__":
    sys.exit(main())
