"""The seed's tells (headcheck.detectors.face_stats) where the CLIP probe fails: real photos of a
kind it never trained on.

    python bench/diffusion_stats.py --shard 0/2 & python bench/diffusion_stats.py --shard 1/2
    python bench/diffusion_tells.py --auc [--full]   # each tell alone: AUC per AI source, real set
    python bench/diffusion_tells.py [--fresh] [--bootstrap 500] [--tells plastic|light|halo]
                                                     # added to CLIP, and as a veto

The protocol of bench/diffusion_loso.py: each real set is left out of training in turn and all
its images (as they are and re-encoded) scored; AI images are scored out of fold (5 folds by
identity, every set in training). Three recipes on the same folds: the shipped one (CLIP only),
the tells added to the probe's text-to-image head (what the probe file and detector accept), and
to the guard's too. Then, as a veto: a logistic regression on the tells alone, trained without
the real set left out (and without the AI image's fold), vetoes a flag where it scores under the
share of training AI flags it may lose (``VETO_LOSS``, fixed before the run). Each recipe is read
at the grid point (T2I, SG) with the most AI found where the worst real set left out stays
within a budget (a curve reading, the same for every recipe), then nested (thresholds chosen
with the set they are checked on left out of the choice), then with identities resampled.
Scores are cached in bench/out/diffusion/tells_loso[_<tell>].npz (~5 minutes each to make).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_eval import auc, tells  # noqa: E402
from diffusion_loso import KINDS  # noqa: E402
from diffusion_train import (  # noqa: E402
    EMB_DIR,
    FOLDS,
    Data,
    fit_heads,
    flags_at,
    folds,
    guard_oof,
    load,
    oof_scores,
    score_heads,
    stylegan_oof,
    weights,
)

from headcheck.detectors.face_stats import NAMES  # noqa: E402

CACHE = EMB_DIR / "tells_loso.npz"
# The seed's three tells, as columns of face_stats.NAMES (--tells: only one of them is added).
FAMILIES = {"plastic": NAMES[:7], "light": NAMES[7:12], "halo": NAMES[12:]}
RECIPES = {"clip": "CLIP only (shipped recipe)", "probe": "tells in the probe's head",
           "both": "tells in the probe's and the guard's heads"}
T2I = tuple(round(1 - 10 ** (-x / 10), 7) for x in range(20, 51))  # 0.99 to 0.99999
SG = (0.9, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999)
POINTS = ((0.99, 0.9), (0.995, 0.99), (0.999, 0.999), (0.9995, 0.999))  # veto: where CLIP flags
VETO_LOSS = (0.05, 0.10)  # share of the training AI flags a veto may drop
BUDGETS = (0.01, 0.0075, 0.005)  # the share of the worst real set left out that may be flagged


def kinds(d: Data) -> np.ndarray:
    return np.array([KINDS.get(s, s) for s in d.set])


def compute(d: Data) -> dict[str, np.ndarray]:
    """Per recipe: (4, n) scores; real rows scored with their set left out, AI rows out of fold."""
    n, kind = len(d.y), kinds(d)
    lo = {r: np.full((4, n), np.nan) for r in RECIPES}
    for k in sorted(set(kind[d.y == 0])):
        out = kind == k
        print(f"leaving out {k}", flush=True)
        clip = score_heads(fit_heads(d, ~out), d.take(out))
        tl = score_heads(fit_heads(d, ~out, stats=True, guard_stats=True), d.take(out))
        lo["clip"][:, out] = clip
        lo["probe"][:, out] = np.stack([tl[0], *clip[1:]])
        lo["both"][:, out] = np.stack([tl[0], clip[1], tl[2], clip[3]])
    print("out of fold", flush=True)
    clip = np.stack([oof_scores(d), stylegan_oof(d), *guard_oof(d)])
    p, g = oof_scores(d, stats=True), guard_oof(d, stats=True)[0]
    ai = d.y == 1
    for r, sc in (("clip", clip), ("probe", np.stack([p, *clip[1:]])),
                  ("both", np.stack([p, clip[1], g, clip[3]]))):
        lo[r][:, ai] = sc[:, ai]
    return lo


def worst(sc: np.ndarray, d: Data, t: tuple) -> tuple[float, str]:
    """The highest share of a real set flagged (left out) at thresholds ``t``, and that set."""
    kind, hit = kinds(d), flags_at(sc, t)
    shares = {k: hit[kind == k].mean() for k in sorted(set(kind[d.y == 0]))}
    k = max(shares, key=shares.get)
    return shares[k], k


def head_auc(lo: dict, d: Data) -> None:
    """Each text-to-image head with and without the tells: AUC (ties averaged: the probe's head
    saturates at 1.0) of the text-to-image faces (out of fold) against each real set left out."""
    kind, t2i = kinds(d), (d.y == 1) & (d.gen != "stylegan")
    ks = sorted(set(kind[d.y == 0]))
    print("\n| head | " + " | ".join(ks) + " |\n|" + "---|" * (len(ks) + 1))
    for head, i, r in (("probe's, CLIP", 0, "clip"), ("probe's, CLIP + tells", 0, "probe"),
                       ("guard's, CLIP", 2, "clip"), ("guard's, CLIP + tells", 2, "both")):
        s = lo[r][i]
        cells = [roc_auc_score(np.r_[np.zeros((kind == k).sum()), np.ones(t2i.sum())],
                               np.r_[s[kind == k], s[t2i]]) for k in ks]
        print(f"| {head} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")


def curve(sc: np.ndarray, d: Data, vs: np.ndarray | None = None, loss: float = 0.0) -> list:
    """Per grid point (thresholds t2i, StyleGAN; the guard's the same): the share of each real
    set flagged (left out) and of the AI images found (out of fold); with the tells model's
    scores ``vs``, a flag is vetoed under the ``loss`` quantile of the training AI flags'."""
    kind, f, ai = kinds(d), folds(d), d.y == 1
    ks = sorted(set(kind[d.y == 0]))
    parts = [(kind == k, ai) for k in ks] + [(ai & (f == j), ai & (f != j)) for j in range(FOLDS)]
    out = []
    for a in T2I:
        for b in SG:
            hit = flags_at(sc, (a, b, a, b))
            if vs is not None:
                for test, train in parts if (ai & hit).any() else ():
                    hit[test] &= vs[test] >= np.quantile(vs[train & hit], loss)
            out.append(((a, b), {k: hit[kind == k].mean() for k in ks}, hit))
    return out


def best(points: list, d: Data, budget: float, skip: str = "") -> tuple:
    """The grid point with the most AI found where no real set (but ``skip``) passes
    ``budget``."""
    ok = [p for p in points if max(v for k, v in p[1].items() if k != skip) <= budget]
    return max(ok, key=lambda p: p[2][d.y == 1].mean())


def bootstrap(runs: dict, d: Data, n: int) -> None:
    """How sure the gain over CLIP alone is: identities resampled within each real set and AI
    source ``n`` times; per recipe and budget, the best grid point's AI found minus CLIP's."""
    ai, kind = d.y == 1, kinds(d)
    ks = sorted(set(kind[d.y == 0]))
    strata = np.where(ai, d.gen, kind)
    gid = np.unique(d.group, return_inverse=True)[1]
    hits = {name: np.array([p[2] for p in pts], float) for name, pts in runs.items()}
    rng = np.random.default_rng(0)
    gain: dict = {(name, b): [] for name in runs for b in BUDGETS}
    for _ in range(n):
        counts = np.zeros(gid.max() + 1)
        for s in np.unique(strata):
            g = np.unique(gid[strata == s])
            np.add.at(counts, rng.choice(g, len(g)), 1)
        w = counts[gid]
        best = {}
        for name, h in hits.items():
            found = h[:, ai] @ w[ai] / w[ai].sum()
            worst = np.max([h[:, kind == k] @ w[kind == k] / w[kind == k].sum() for k in ks], 0)
            for b in BUDGETS:
                best[name, b] = found[worst <= b].max()
        for name, b in gain:
            gain[name, b].append(best[name, b] - best[RECIPES["clip"], b])
    print(f"\n| recipe | worst real set at most | AI found minus CLIP's ({n} resamplings of "
          "identities): mean [5%, 95%] | resamplings with a gain / a loss |\n|---|---|---|---|")
    for (name, b), g in gain.items():
        if name != RECIPES["clip"]:
            print(f"| {name} | {b:.2%} | {np.mean(g):+.3f} [{np.quantile(g, 0.05):+.3f}, "
                  f"{np.quantile(g, 0.95):+.3f}] | {np.mean(np.array(g) > 0):.0%} / "
                  f"{np.mean(np.array(g) < 0):.0%} |")


def recipes(lo: dict, d: Data, vs: np.ndarray, n_boot: int = 0) -> None:
    """Each recipe at the grid's best thresholds under each budget; then the thresholds chosen
    without the set they are checked on (nested: the budget held on every other set)."""
    ai, t2i, sg = d.y == 1, (d.y == 1) & (d.gen != "stylegan"), d.gen == "stylegan"
    kind = kinds(d)
    ks = sorted(set(kind[d.y == 0]))
    runs = {RECIPES[r]: curve(lo[r], d) for r in RECIPES}
    for loss in VETO_LOSS:
        runs[f"CLIP, tells model vetoes (drops {loss:.0%} of training AI flags)"] = \
            curve(lo["clip"], d, vs, loss)
    print("\n| recipe | worst real set left out at most | thresholds (text-to-image, StyleGAN) | "
          "worst set | AI found | text-to-image found | StyleGAN found |\n|" + "---|" * 7)
    for name, pts in runs.items():
        for budget in BUDGETS:
            t, shares, hit = best(pts, d, budget)
            k = max(shares, key=shares.get)
            print(f"| {name} | {budget:.2%} | {t[0]}, {t[1]} | {shares[k]:.2%} ({k}) | "
                  f"{hit[ai].mean():.3f} | {hit[t2i].mean():.3f} | {hit[sg].mean():.3f} |")
    print("\nNested: for each real set, the thresholds are the best where every OTHER set left out "
          "stays within the budget; the set is then checked at them.\n")
    print("| recipe | budget | " + " | ".join(ks) + " | worst | AI found (mean) |\n|"
          + "---|" * (len(ks) + 4))
    for name, pts in runs.items():
        for budget in (0.01, 0.005):
            picks = {k: best(pts, d, budget, skip=k) for k in ks}
            shares = [picks[k][1][k] for k in ks]
            found = np.mean([p[2][ai].mean() for p in picks.values()])
            print(f"| {name} | {budget:.1%} | " + " | ".join(f"{x:.2%}" for x in shares) +
                  f" | {max(shares):.2%} | {found:.3f} |")
    if n_boot:
        bootstrap(runs, d, n_boot)


def _tells_x(d: Data, fill: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return (np.where(np.isnan(d.S), fill, d.S) - mu) / sd


def veto_scores(d: Data) -> np.ndarray:
    """P(AI) from the tells alone: a real row by a model trained without its set, an AI row by
    one trained without its fold (weighted as the probe is)."""
    kind, f = kinds(d), folds(d)
    out = np.full(len(d.y), np.nan)
    parts = [(kind == k, kind != k) for k in set(kind[d.y == 0])]
    parts += [((d.y == 1) & (f == j), (d.y == 0) | (f != j)) for j in range(FOLDS)]
    for test, train in parts:
        tr = d.take(train & (d.variant < 2))
        fill = np.nanmedian(tr.S, axis=0)
        x = np.where(np.isnan(tr.S), fill, tr.S)
        mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
        lr = LogisticRegression(C=1.0, max_iter=2000)
        lr.fit((x - mu) / sd, tr.y, sample_weight=weights(tr))
        out[test] = lr.predict_proba(_tells_x(d.take(test), fill, mu, sd))[:, 1]
    return out


def veto(lo: dict, d: Data, names: tuple[str, ...] = NAMES) -> np.ndarray:
    """Among what the CLIP recipe flags (real: set left out; AI: out of fold), each tell's AUC
    of AI against real; returns the tells model's scores (``veto_scores``)."""
    sc = lo["clip"]
    real, ai = d.y == 0, d.y == 1
    hits = {p: flags_at(sc, (*p, *p)) for p in POINTS}
    vs = veto_scores(d)
    print("\nWhat the CLIP recipe flags: AUC of the flagged AI images against the flagged real "
          "ones (real: their set left out; AI: out of fold)\n")
    print("| tell | " + " | ".join(f"at {a}, {b}: {(h & ai).sum()} AI, {(h & real).sum()} real"
                                  for (a, b), h in hits.items()) + " |")
    print("|" + "---|" * (len(hits) + 1))
    for j, name in enumerate([*names, "tells model (veto)"]):
        v = d.S[:, j] if j < len(names) else vs
        cells = []
        for h in hits.values():
            ok = h & ~np.isnan(v)
            cells.append(f"{auc(v[ok & real], v[ok & ai]):.2f}" if (ok & real).any() else "-")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return vs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--auc", action="store_true", help="only each tell alone")
    ap.add_argument("--full", action="store_true", help="with --auc: each source against each set")
    ap.add_argument("--fresh", action="store_true", help="recompute the cached scores")
    ap.add_argument("--bootstrap", type=int, default=200, metavar="N",
                    help="resamplings of identities for the gains' intervals (0: none)")
    ap.add_argument("--tells", choices=[*sorted(FAMILIES), "placebo"],
                    help="add only this tell's features; placebo: as many columns of noise")
    args = ap.parse_args()
    d, cache = load(), CACHE
    if args.tells == "placebo":  # a control: what any 14 more columns do to the fits
        d = replace(d, S=np.random.default_rng(0).standard_normal(d.S.shape).astype(np.float32))
    elif args.tells:
        d = replace(d, S=d.S[:, [NAMES.index(n) for n in FAMILIES[args.tells]]])
    if args.tells:
        cache = CACHE.with_name(f"{CACHE.stem}_{args.tells}.npz")
    if np.isnan(d.S).all():
        sys.exit("no tells: run bench/diffusion_stats.py first")
    if args.auc:
        tells(d, args.full)
        return 0
    if args.fresh or not cache.exists():
        np.savez(cache, **compute(d), n=len(d.y))
    z = np.load(cache)
    if int(z["n"]) != len(d.y):
        sys.exit(f"{cache} was made for other data: rerun with --fresh")
    lo = {r: z[r] for r in RECIPES}
    head_auc(lo, d)
    names = FAMILIES.get(args.tells, NAMES) if args.tells != "placebo" else \
        tuple(f"noise_{j}" for j in range(len(NAMES)))
    recipes(lo, d, veto(lo, d, names), args.bootstrap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
