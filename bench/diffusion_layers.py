"""Intermediate CLIP blocks against real photos of a kind never trained on (issue #16).

    python bench/diffusion_embed.py --layers --shard 0/2   # and 1/2: the per-block CLS tokens
    python bench/diffusion_layers.py --select              # choose candidates on part A only
    python bench/diffusion_layers.py                       # the comparison
    python bench/diffusion_layers.py --guarded             # ... behind the shipped guard (v4)
    python bench/diffusion_layers.py --nested              # thresholds set without the kind
    python bench/diffusion_layers.py --nested --pad        # ... trained with the face chips too
    python bench/diffusion_layers.py --cost                # time of a pass, with and without
    python bench/diffusion_layers.py --reference A.npz [--against B.npz]  # across CPUs

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
    FLAG_FLOOR,
    FOLDS,
    PAD_VARIANT,
    SG_FLAG_FLOOR,
    Data,
    design,
    fit,
    fit_heads,
    flags_at,
    guard_oof,
    load,
    logit,
    oof_scores,
    part_a,
    score_heads,
    threshold_at,
)

# What --select tries: the last layer at three L2 strengths (on standardised features), each
# block alone and every block side by side with and without it at strong L2 (9,216 features; a
# weak L2 took minutes a fit, and on the last layer weaker L2 did worse).
SELECT = ([("face", c) for c in (0.01, 0.1, 1.0)] + [(f"cls:{i}", 0.01) for i in range(BLOCKS)]
          + [(m, c) for m in ("cls:all", "face,cls:all") for c in (0.001, 0.01)]
          # Round two, fixed after round one by one rule: the three best blocks alone (7, 8, 9,
          # 0-based), side by side, with and without the last layer; and the best block alone.
          + [(m, c) for m in ("cls:7-9", "face,cls:7-9") for c in (0.001, 0.01, 0.1)]
          + [("cls:8", 0.001), ("cls:8", 0.1), ("face,cls:8", 0.01)]
          # Round three, after the comparison: round two's best C (0.001) was the grid's edge.
          + [(m, c) for m in ("cls:7-9", "face,cls:7-9") for c in (0.0001, 0.0003)]
          # Round four: the wider square's blocks (--layers --wide), each alone.
          + [(f"wcls:{i}", 0.01) for i in range(BLOCKS)]
          # Round five, by round two's rule: the wider square's three best blocks (6-8), with and
          # without the face square's 7-9.
          + [(m, c) for m in ("wcls:6-8", "cls:7-9,wcls:6-8") for c in (0.001, 0.01)])
# Chosen by --select (part A only) before any figure of the comparison was seen, each at the
# L2 strength --select found best for it (docs/benchmarks.md): (a) the last layer, (b) the
# best blocks and all 12, (c) each with the last layer; and v5's features (face and wider
# square) as one head, for reference. (name, features, C)
CANDIDATES = (
    ("(a) last layer (face square)", "face", 0.01),
    ("(b) blocks 7-9", "cls:7-9", 0.001),
    ("(b) all 12 blocks", "cls:all", 0.01),
    ("(c) last layer + blocks 7-9", "face,cls:7-9", 0.001),
    ("(c) last layer + all 12 blocks", "face,cls:all", 0.01),
    ("v5's features (face, wider square), one head", "face,wide", 2.0),
    # Added after rounds four and five (the wider square's CLS tokens, two encoder passes as v5).
    ("(b) wider square, blocks 6-8", "wcls:6-8", 0.01),
    ("(b) face blocks 7-9 + wider square blocks 6-8", "cls:7-9,wcls:6-8", 0.001),
)


# Trained with the --pad pass's face chips too (--nested --pad): the last layer, v5's features
# and the two CLS candidates whose held-out casual photos were flagged least.
PAD_CANDIDATES = tuple(x for x in CANDIDATES
                       if x[1] in ("face", "face,wide", "wcls:6-8", "cls:7-9,wcls:6-8"))

OUT = ROOT / "bench" / "out" / "diffusion" / "layers"  # the comparison's scores
P99 = float(np.log(0.99 / 0.01))  # probability 0.99 as log-odds (the scores here are log-odds)


def kinds(d: Data) -> np.ndarray:
    return np.array([KINDS.get(s, s) for s in d.set])


def left_out(d: Data, c: float, mode: str) -> dict[str, np.ndarray]:
    """Per real kind: its rows scored (log-odds) by a probe trained on every other row of ``d``
    (the re-encodings and any --pad chips too; never its own kind): "<kind>" its images as they
    are and re-encoded, "pad:<kind>" its chips where ``d`` has them."""
    if "wcls:" in mode and np.isnan(d.LW).any():
        sys.exit(f"{mode}: images lack the wider square's CLS tokens: run "
                 "bench/diffusion_embed.py --layers --wide")
    k, chip, copy = kinds(d), d.variant >= PAD_VARIANT, d.variant >= 2
    out = {}
    for kind in sorted(set(k[d.y == 0])):
        s = logit(d.take(k == kind), fit(d.take(k != kind), c, False, mode))
        out[kind] = s[~copy[k == kind]]
        if chip[k == kind].any():
            out[f"pad:{kind}"] = s[chip[k == kind]]
    return out


def worst_threshold(lo: dict[str, np.ndarray], fpr: float) -> float:
    """The lowest threshold at which no kind left out has more than ``fpr`` flagged."""
    return max(threshold_at(s, fpr) for s in lo.values() if len(s))


def select(d: Data, shard: str = "0/1", only: str = "") -> None:
    a = d.take(part_a(d))
    print(f"part A: {int((a.y == 0).sum())} real images, {int(a.y.sum())} AI images\n")
    print("| features | C | log-odds where the worst kind left out has 1% flagged (that kind) | "
          "AI found there (part A, out of fold) | worst kind at 0.99 |\n|---|---|---|---|---|")
    i, n = map(int, shard.split("/"))
    todo = [(m, c) for m, c in SELECT if not only or f"{m}@{c}" in only.split(";")]
    for mode, c in todo[i::n]:
        lo = left_out(a, c, mode)
        t, kind = max((threshold_at(s, 0.01), k) for k, s in lo.items() if len(s))
        oof = oof_scores(a, c, False, mode, logit)
        worst = max((s >= P99).mean() for s in lo.values() if len(s))
        print(f"| {mode} | {c} | {t:.2f} ({kind}) | {(oof[a.y == 1] >= t).mean():.3f} | "
              f"{worst:.2%} |", flush=True)


def scores(d: Data, mode: str, c: float) -> dict[str, np.ndarray]:
    """A candidate's log-odds, cached under OUT: every real kind left out ("lo:<kind>", that
    kind's rows), out of fold ("oof") and each generator left out ("logo:<generator>"). With
    --pad chips in ``d``: every probe trained with them too, the chips scored apart
    ("lo:pad:<kind>", "oofpad"), and no generator left out (not needed by --nested)."""
    path = OUT / f"{mode.replace(':', '_').replace(',', '+')}@{c}.npz"
    if path.exists():
        return dict(np.load(path))
    out = {f"lo:{k}": v for k, v in left_out(d, c, mode).items()}
    chip, copy = d.variant >= PAD_VARIANT, d.variant >= 2
    if copy.any():
        s = oof_scores(d, c, False, mode, logit, copies=True)
        out["oof"], out["oofpad"] = s[~copy], s[chip]
    else:
        out["oof"] = oof_scores(d, c, False, mode, logit)
        for g in GENS:
            out[f"logo:{g}"] = logo_scores(d, g, c, False, mode, logit)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def compare(d: Data, shard: str = "0/1") -> None:
    """The candidates' scores (this shard's share computed), then the tables once all are."""
    i, n = map(int, shard.split("/"))
    width = {m: design(d.take(np.arange(len(d.y)) == 0), None, m).shape[1] for _, m, _ in
             CANDIDATES}
    for _, mode, c in sorted(CANDIDATES, key=lambda x: width[x[1]])[i::n]:  # shards balanced
        scores(d, mode, c)
        print(f"scored {mode} C {c}", flush=True)
    if n > 1 and i != n - 1:
        return
    b, gen, k, ai = ~part_a(d), d.gen, kinds(d), d.y == 1
    t2i, sg = ai & (gen != "stylegan"), gen == "stylegan"
    rows = [(name, c, scores(d, mode, c)) for name, mode, c in CANDIDATES]
    kinds_ = sorted(q[3:] for q in rows[0][2] if q.startswith("lo:"))
    print("\n| features | C | worst kind left out <= 1%: text-to-image / StyleGAN / all AI "
          "found | worst <= 0.5%: all AI found | part B real flagged at the 1% threshold | "
          "part B images only, worst <= 1%: all AI found |\n|---|---|---|---|---|---|")
    for name, c, r in rows:
        lo = {q: r[f"lo:{q}"] for q in kinds_}
        lo_b = {q: s[~part_a(d.take(k == q))] for q, s in lo.items()}
        t1, t05, tb = (worst_threshold(lo, 0.01), worst_threshold(lo, 0.005),
                       worst_threshold(lo_b, 0.01))
        oof = r["oof"]
        fb = oof[b & (d.y == 0)] >= t1
        print(f"| {name} | {c} | {(oof[t2i] >= t1).mean():.3f} / {(oof[sg] >= t1).mean():.3f} / "
              f"**{(oof[ai] >= t1).mean():.3f}** (log-odds {t1:.2f}) | "
              f"{(oof[ai] >= t05).mean():.3f} (log-odds {t05:.2f}) | {fb.sum()} of {len(fb)} | "
              f"{(oof[ai] >= tb).mean():.3f} |")
    for what in ("the worst kind's 1% threshold", "the threshold where 80% of the AI images "
                 "are found out of fold"):
        print(f"\nEach real kind left out, share flagged at {what}:\n")
        print("| features | " + " | ".join(kinds_) + " |\n|---|" + "---|" * len(kinds_))
        for name, _, r in rows:
            lo = {q: r[f"lo:{q}"] for q in kinds_}
            t = (worst_threshold(lo, 0.01) if what.startswith("the worst")
                 else float(np.quantile(r["oof"][ai], 0.2)))
            print(f"| {name} (log-odds {t:.2f}) | " +
                  " | ".join(f"{(lo[q] >= t).mean():.1%}" for q in kinds_) + " |")
    print("\nLeave one generator out (threshold at 1% of part A's real images, out of fold):\n")
    print("| features | " + " | ".join(f"{g}: TPR / FPR part B" for g in GENS) +
          " | StyleGAN TPR (mean) |\n|---|" + "---|" * (len(GENS) + 1))
    for name, _, r in rows:
        cells = [at_part_a(d, r[f"logo:{g}"], gen == g, 0.01) for g in GENS]
        sg_tpr = np.mean([at_part_a(d, r[f"logo:{g}"], sg, 0.01)[0] for g in GENS])
        print(f"| {name} | " + " | ".join(f"{t:.3f} / {f:.2%}" for t, f in cells) +
              f" | {sg_tpr:.3f} |")


def nested(d: Data, candidates=CANDIDATES) -> None:
    """The comparison's thresholds are set on every kind left out, the checked one included. Here
    each kind is checked at the threshold the OTHER kinds left out set (their worst at 1% and
    0.5%): what the next kind of real photo would meet, and what is found there. With --pad
    chips: thresholds from the images as they are and re-encoded; the held-out kind's chips
    are counted apart, and FairFace's photos split by whether its own crop padded them."""
    copy, with_pad = d.variant >= 2, (d.variant >= PAD_VARIANT).any()
    ai = d.y[~copy] == 1
    padded = padded_fairface(d.take(~copy & (kinds(d) == "fairface")))
    print("| features | budget | held-out kind flagged: worst (kind) | every kind above 0 | "
          "FairFace held out: padded / not padded by its crop | "
          + ("held-out kind's chips: worst (kind) | " if with_pad else "") +
          "all AI found at those thresholds (min-max) |\n|---|---|---|---|---|---|"
          + ("---|" if with_pad else ""))
    for name, mode, c in candidates:
        r = scores(d, mode, c)
        lo = {q[3:]: s for q, s in r.items() if q.startswith("lo:") and "pad:" not in q}
        for fpr in (0.01, 0.005):
            share, found, chips, t_ff = {}, [], {}, 0.0
            for k, s in lo.items():
                t = worst_threshold({q: o for q, o in lo.items() if q != k}, fpr)
                share[k] = (s >= t).mean()
                found.append((r["oof"][ai] >= t).mean())
                if f"lo:pad:{k}" in r:
                    chips[k] = (r[f"lo:pad:{k}"] >= t).mean()
                if k == "fairface":
                    t_ff = t
            worst = max(share, key=share.get)
            above = ", ".join(f"{k} {v:.1%}" for k, v in share.items() if v > 0)
            ff = lo["fairface"] >= t_ff
            cell = (f"| {max(chips.values()):.2%} ({max(chips, key=chips.get)}) "
                    if with_pad else "")
            print(f"| {name} | {fpr:.1%} | **{share[worst]:.2%}** ({worst}) | {above} | "
                  f"{ff[padded].mean():.1%} / {ff[~padded].mean():.1%} {cell}| "
                  f"{min(found):.3f}-{max(found):.3f} |")
    if not copy.any():
        nested_and(d, scores(d, "wcls:6-8", 0.01), scores(d, "face,wide", 2.0))


def padded_fairface(ff: Data) -> np.ndarray:
    """Per FairFace row: whether FairFace's own crop padded the photo with black (over 2% of
    its pixels darker than 8 of 255: a small or tilted photo's chip)."""
    from diffusion_set import local_path
    from PIL import Image

    share = {}
    for p in set(ff.path):
        a = np.asarray(Image.open(local_path({"set": "fairface", "path": p})).convert("L"))
        share[p] = float((a < 8).mean())
    return np.array([share[p] > 0.02 for p in ff.path])


def nested_and(d: Data, a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Both heads must flag (``a``: the CLS tokens', ``b``: the last layer's, as a guard): the
    pair of thresholds that finds most AI images with every OTHER kind left out within budget,
    and the held-out kind's share there."""
    ai = d.y == 1
    steps = np.linspace(0, 0.6, 61)  # thresholds at quantiles of the AI images' scores
    grid = [(x, y) for x in np.quantile(a["oof"][ai], steps)
            for y in (-np.inf, *np.quantile(b["oof"][ai], steps))]
    found = {g: ((a["oof"][ai] >= g[0]) & (b["oof"][ai] >= g[1])).mean() for g in grid}
    kinds_ = [q[3:] for q in a if q.startswith("lo:")]
    share = {(k, g): ((a[f"lo:{k}"] >= g[0]) & (b[f"lo:{k}"] >= g[1])).mean()
             for k in kinds_ for g in grid}
    for fpr in (0.01, 0.005):
        held, got = {}, []
        for k in kinds_:
            g = max((g for g in grid if all(share[q, g] <= fpr for q in kinds_ if q != k)),
                    key=found.get)
            held[k] = share[k, g]
            got.append(found[g])
        worst = max(held, key=held.get)
        print(f"| wider square's blocks 6-8 and v5's features, both must flag | {fpr:.1%} | "
              f"**{held[worst]:.2%}** ({worst}) | "
              + ", ".join(f"{k} {v:.1%}" for k, v in held.items() if v > 0) +
              f" | {min(got):.3f}-{max(got):.3f} |")


def guard_flags(d: Data) -> dict[str, np.ndarray]:
    """Where the shipped guard (v4's recipe, either head at the shipped floors) flags: each real
    kind's rows with the guard trained without that kind ("lo:<kind>", as in
    bench/diffusion_loso.py) and every row out of fold ("oof"); cached under OUT."""
    path = OUT / "guard.npz"
    if path.exists():
        return dict(np.load(path))
    t = (0.0, 0.0, FLAG_FLOOR, SG_FLAG_FLOOR)
    k = kinds(d)
    out = {f"lo:{q}": flags_at(score_heads(fit_heads(d, k != q), d.take(k == q)), t)
           for q in sorted(set(k[d.y == 0]))}
    p, p_sg = guard_oof(d)
    out["oof"] = flags_at(np.stack([p, p, p, p_sg]), t)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def guarded(d: Data) -> None:
    """Each candidate behind the shipped guard: flagged only where the guard flags too."""
    g, ai = guard_flags(d), d.y == 1
    print("| features, behind the guard at 0.9995 / 0.999 | worst kind left out <= 1%: all AI "
          "found | worst <= 0.5% | guard alone: all AI found |\n|---|---|---|---|")
    for name, mode, c in CANDIDATES:
        r = scores(d, mode, c)
        lo = {q[3:]: np.where(g[q], r[q], -np.inf) for q in r if q.startswith("lo:")}
        oof = np.where(g["oof"], r["oof"], -np.inf)
        t1, t05 = worst_threshold(lo, 0.01), worst_threshold(lo, 0.005)
        print(f"| {name} | {(oof[ai] >= t1).mean():.3f} | {(oof[ai] >= t05).mean():.3f} | "
              f"{g['oof'][ai].mean():.3f} |")


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


def reference(path: Path, against: Path | None) -> None:
    """The reference input's final embedding and CLS tokens with both kernels, saved to
    ``path``; with ``against`` (another machine's or an emulated CPU's file), their cosines."""
    from diffusion_embed import embed_layers

    from headcheck.detectors import clip_encoder

    crop = clip_encoder.reference_input()
    rec = {}
    for kernels in clip_encoder.KERNELS:
        rec[f"{kernels}:emb"], rec[f"{kernels}:cls"] = embed_layers(crop, kernels)
    np.savez(path, **rec)
    if against is None:
        return
    other = np.load(against)

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    for k in rec:
        if k.endswith(":emb"):
            print(f"{k}: cosine {cos(rec[k], other[k]):.4f}")
        else:
            print(f"{k}: cosine per block " + " ".join(
                f"{i}:{cos(rec[k][i], other[k][i]):.4f}" for i in range(BLOCKS)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--select", action="store_true", help="the candidates, on part A only")
    ap.add_argument("--shard", default="0/1",
                    help="i/n: every n-th candidate from i (the comparison's tables: shard n-1, "
                         "once the others' scores are cached)")
    ap.add_argument("--only", default="", help="--select: these candidates, 'mode@C;mode@C'")
    ap.add_argument("--cost", action="store_true", help="time a pass with and without")
    ap.add_argument("--guarded", action="store_true", help="the candidates behind v4's guard")
    ap.add_argument("--nested", action="store_true",
                    help="each kind at the threshold the other kinds set (after the comparison)")
    ap.add_argument("--pad", action="store_true",
                    help="--nested: every probe trained with the --pad pass's face chips too")
    ap.add_argument("--aug", action="store_true",
                    help="--nested: ... with the --aug pass's copies too (their CLS tokens)")
    ap.add_argument("--reference", type=Path, help="save the reference input's features here")
    ap.add_argument("--against", type=Path, help="--reference: compare with this file's")
    args = ap.parse_args()
    if args.reference:
        reference(args.reference, args.against)
        return 0
    if args.cost:
        cost()
        return 0
    global OUT
    if args.pad or args.aug:
        OUT = OUT / ("pad" if not args.aug else "aug" if not args.pad else "aug+pad")
    d = load(aug=args.aug, layers=True, pad=args.pad)
    missing = np.isnan(d.L).any(axis=1)
    if missing.any():
        sys.exit(f"{missing.sum()} images lack the CLS tokens: run bench/diffusion_embed.py "
                 "--layers")
    print(f"{len(d.y)} images ({int((d.y == 0).sum())} real), {FOLDS} folds by identity\n")
    if args.guarded:
        guarded(d)
    elif args.nested:
        nested(d, PAD_CANDIDATES if args.pad or args.aug else CANDIDATES)
    elif args.select or not CANDIDATES:
        select(d, args.shard, args.only)
    else:
        compare(d, args.shard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
