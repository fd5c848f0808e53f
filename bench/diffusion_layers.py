"""Intermediate CLIP blocks against real photos of a kind never trained on (issue #16).

    python bench/diffusion_embed.py --layers --shard 0/2   # and 1/2: the per-block CLS tokens
    python bench/diffusion_layers.py --select              # choose candidates on part A only
    python bench/diffusion_layers.py                       # the comparison
    python bench/diffusion_layers.py --cost                # time of a pass, with and without

Hypothesis (RINE, Koutlis & Papadopoulos, ECCV 2024; Cozzolino et al., CVPRW 2024): the CLS
tokens of intermediate transformer blocks carry low-level generation traces that generalise
better than the last layer's semantics. One probe (logistic regression, real photos against
every AI image, ``diffusion_train.fit``) per feature set, on the face square only.

``--select`` sees part A's identities only: each real kind left out in turn within part A, the
threshold where the worst kind left out has 1% flagged, and part A's AI images found at it
(out of fold). The comparison then runs the protocol of bench/diffusion_loso.py on every image:
each real kind left out of training in turn and its images scored; the AI images scored out of
fold (every kind in training); the threshold where the worst kind left out has 1% (0.5%)
flagged; also on part B's images alone (which ``--select`` never saw), part B's real photos
flagged out of fold, and leave-one-generator-out at 1% of part A (bench/diffusion_eval.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_eval import GENS, at_part_a, logo_scores  # noqa: E402
from diffusion_loso import KINDS  # noqa: E402
from diffusion_train import (  # noqa: E402
    BLOCKS,
    FOLDS,
    Data,
    fit,
    load,
    logit,
    oof_scores,
    part_a,
    threshold_at,
)

SELECT_C = (0.01, 0.1, 1.0)  # L2 strength on standardised features, chosen per feature set
# Chosen by --select (part A only) before any figure of the comparison was seen; see
# docs/benchmarks.md. (name, features, C)
CANDIDATES: tuple[tuple[str, str, float], ...] = ()


P99 = float(np.log(0.99 / 0.01))  # probability 0.99 as log-odds (the scores here are log-odds)


def kinds(d: Data) -> np.ndarray:
    return np.array([KINDS.get(s, s) for s in d.set])


def left_out(d: Data, c: float, mode: str) -> dict[str, np.ndarray]:
    """Per real kind: its rows scored (log-odds) by a probe trained on every other row of ``d``
    (the re-encodings too; never its own kind)."""
    k = kinds(d)
    return {kind: logit(d.take(k == kind), fit(d.take(k != kind), c, False, mode))
            for kind in sorted(set(k[d.y == 0]))}


def worst_threshold(lo: dict[str, np.ndarray], fpr: float) -> float:
    """The lowest threshold at which no kind left out has more than ``fpr`` flagged."""
    return max(threshold_at(s, fpr) for s in lo.values() if len(s))


def select(d: Data, shard: str = "0/1") -> None:
    a = d.take(part_a(d))
    print(f"part A: {int((a.y == 0).sum())} real images, {int(a.y.sum())} AI images\n")
    print("| features | C | log-odds where the worst kind left out has 1% flagged | AI found "
          "there (part A, out of fold) | worst kind at 0.99 |\n|---|---|---|---|---|")
    modes = ["face"] + [f"cls:{i}" for i in range(BLOCKS)] + ["cls:all", "face,cls:all"]
    i, n = map(int, shard.split("/"))
    for mode, c in [(m, c) for m in modes for c in SELECT_C][i::n]:
        lo = left_out(a, c, mode)
        t = worst_threshold(lo, 0.01)
        oof = oof_scores(a, c, False, mode, logit)
        worst = max((s >= P99).mean() for s in lo.values() if len(s))
        print(f"| {mode} | {c} | {t:.2f} | {(oof[a.y == 1] >= t).mean():.3f} | {worst:.2%} |",
              flush=True)


def compare(d: Data) -> None:
    b, gen, k = ~part_a(d), d.gen, kinds(d)
    t2i, sg = (d.y == 1) & (gen != "stylegan"), gen == "stylegan"
    rows = []
    for name, mode, c in CANDIDATES:
        lo = left_out(d, c, mode)
        lo_b = {kind: s[~part_a(d.take(k == kind))] for kind, s in lo.items()}
        oof = oof_scores(d, c, False, mode, logit)
        rows.append((name, mode, c, lo, lo_b, oof))
    print("| features | C | worst kind <= 1%: text-to-image / StyleGAN / all AI found | "
          "worst <= 0.5%: found (all AI) | part B real flagged at the 1% threshold | "
          "part B images only, worst <= 1%: all AI found |\n|---|---|---|---|---|---|")
    for name, _, c, lo, lo_b, oof in rows:
        t1, t05, tb = (worst_threshold(lo, 0.01), worst_threshold(lo, 0.005),
                       worst_threshold(lo_b, 0.01))
        fb = oof[b & (d.y == 0)] >= t1
        print(f"| {name} | {c} | {(oof[t2i] >= t1).mean():.3f} / {(oof[sg] >= t1).mean():.3f} / "
              f"**{(oof[d.y == 1] >= t1).mean():.3f}** (log-odds {t1:.2f}) | "
              f"{(oof[d.y == 1] >= t05).mean():.3f} (log-odds {t05:.2f}) | "
              f"{fb.sum()} of {len(fb)} | "
              f"{(oof[d.y == 1] >= tb).mean():.3f} |")
    kinds_ = list(rows[0][3])
    print("\nEach real kind left out, share flagged at the threshold where the probe finds 80% "
          "of the AI images out of fold:\n")
    print("| features | " + " | ".join(kinds_) + " |\n|---|" + "---|" * len(kinds_))
    for name, _, _, lo, _, oof in rows:
        t = float(np.quantile(oof[d.y == 1], 0.2))
        print(f"| {name} (log-odds {t:.2f}) | " + " | ".join(f"{(lo[q] >= t).mean():.1%}"
                                                      for q in kinds_) + " |")
    print("\nLeave one generator out (threshold at 1% of part A's real images, out of fold):\n")
    print("| features | " + " | ".join(f"{g} TPR / FPR part B" for g in GENS) +
          " | StyleGAN TPR (held out of every run) |\n|---|" + "---|" * (len(GENS) + 1))
    for name, mode, c, *_ in rows:
        cells, sg_tpr = [], []
        for g in GENS:
            s = logo_scores(d, g, c, False, mode, logit)
            tpr, fpr = at_part_a(d, s, gen == g, 0.01)
            cells.append(f"{tpr:.3f} / {fpr:.2%}")
            sg_tpr.append(at_part_a(d, s, sg, 0.01)[0])
        print(f"| {name} | " + " | ".join(cells) + f" | {np.mean(sg_tpr):.3f} |", flush=True)


def cost(n: int = 40) -> None:
    """Seconds per encoder pass, the run-time graph against the one with the CLS outputs,
    alternating (one warm-up each), on the reference input; and whether their final
    embeddings are bit-identical."""
    from diffusion_embed import embed_layers

    from headcheck.detectors import clip_encoder

    crop = clip_encoder.reference_input()
    same = np.array_equal(clip_encoder.embed([crop])[0], embed_layers(crop)[0])
    t = {"run-time graph": [], "with the 12 CLS outputs": []}
    for _ in range(n):
        for name, f in (("run-time graph", lambda: clip_encoder.embed([crop])),
                        ("with the 12 CLS outputs", lambda: embed_layers(crop))):
            t0 = time.perf_counter()
            f()
            t[name].append(time.perf_counter() - t0)
    print(f"final embedding bit-identical: {same}")
    for name, v in t.items():
        print(f"{name}: median {np.median(v) * 1000:.1f} ms, mean {np.mean(v) * 1000:.1f} ms "
              f"over {n} passes")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--select", action="store_true", help="the candidates, on part A only")
    ap.add_argument("--shard", default="0/1", help="--select: i/n, every n-th candidate from i")
    ap.add_argument("--cost", action="store_true", help="time a pass with and without")
    args = ap.parse_args()
    if args.cost:
        cost()
        return 0
    d = load(layers=True)
    missing = np.isnan(d.L).any(axis=1)
    if missing.any():
        sys.exit(f"{missing.sum()} images lack the CLS tokens: run bench/diffusion_embed.py "
                 "--layers")
    print(f"{len(d.y)} images ({int((d.y == 0).sum())} real), {FOLDS} folds by identity\n")
    if args.select or not CANDIDATES:
        select(d, args.shard)
    else:
        compare(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
