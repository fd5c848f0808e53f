"""The diffusion detector's gate: a bound on what the wider square can add to the text-to-image
head's logit, so the detector skips that second encoder pass where it cannot change an output.

    python bench/diffusion_gate.py  # sets "wide_gate" in headcheck/data/diffusion_probe.json
    python bench/diffusion_gate.py --check  # only checks the shipped key against the cache

Rerun it after every retraining: bench/diffusion_train.py writes the probe without the key, and
the detector does not gate without it (nor with a key computed for other weights or thresholds:
``probe_sha256``). It reads the shipped probe and every cached pair of CLIP features of a face
square and its wider square: bench/out/diffusion/features/ (``*.npz`` with ``*.extra.npz``, and
``*.aug.npz`` where present) and the robustness cache bench/out/diffusion/robust/.

The head reads the face square's parts and the wider square's (``face,wide``, or per-block CLS
tokens such as v6's ``cls:7-9,wcls:6-8``, whose pairs come from the token caches of
bench/diffusion_embed.py --layers, --layers --wide and --aug --layers): logit = w_face . x_face +
w_wide . x_wide + b. Probes that read no wider square, or face_stats, get no key. Bounds on the
wide part, from loosest (printed, in ``chosen_on``):
- ||w_wide||: strict for unit-length embeddings only (none for tokens), and useless: 218 logits
  for v5.1;
- the largest wide part of any cached pair (44 for v5.1): skips no photo either;
- what is stored: a ridge fit predicts the wide part from the face square's features (the wide
  square holds the face), and ``residual_bound`` bounds what it misses: the smallest R such
  that no cached pair the gate would skip with it has a residual above R, plus a margin of
  ``MARGIN_SD`` residual standard deviations, or one more than held-out pairs went past such a
  bound (each identity fold left out of the fit in turn; the augmented and transformed copies
  left out of a fit on the plain ones).
By construction no cached pair the gate skips gets another output than without the gate;
``--check`` (and every run) verifies it through the detector's own code
(``headcheck.detectors.diffusion.wide_pass_needed``, whose comment says why the guard's and the
StyleGAN heads' outputs cannot change either) and prints the share of photos skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_set import read_manifest  # noqa: E402

from headcheck.detectors import diffusion  # noqa: E402
from headcheck.detectors.clip_encoder import BLOCKS  # noqa: E402
from headcheck.detectors.probe_features import Features, Passes, parse_features  # noqa: E402

CACHE = ROOT / "bench" / "out" / "diffusion"
PROBE = ROOT / "headcheck" / "data" / "diffusion_probe.json"
ALPHA = 0.1  # ridge strength (among 0.01, 0.1, 1: the smallest held-out residuals)
MARGIN_SD = 3.0  # the stated margin over the largest residual seen
FOLDS = 5


def probe_sha256(raw: dict) -> str:
    """What the gate was computed for: the text-to-image head's weights and bias."""
    return diffusion.wide_gate_sha256(raw)


def cached_pairs(tokens: bool = False) -> dict[str, np.ndarray]:
    """Every cached (face square, wider square) pair: final embeddings ``face``, ``wide`` (N,
    512), source and sha256; with ``tokens`` also the per-block CLS tokens ``cls``, ``wcls`` (N,
    12, 768) of both squares, for pairs whose tokens are cached."""
    cols: dict[str, list] = {k: [] for k in ("face", "wide", "cls", "wcls", "source", "sha")}

    def add(f: np.ndarray, w: np.ndarray, src: str, s: str, cls: np.ndarray | None = None,
            wcls: np.ndarray | None = None) -> None:
        ok = ~(np.isnan(f).any(axis=1) | np.isnan(w).any(axis=1))
        if tokens:
            assert cls is not None and wcls is not None
            ok &= ~(np.isnan(cls).any(axis=(1, 2)) | np.isnan(wcls).any(axis=(1, 2)))
            cols["cls"].extend(cls[ok])
            cols["wcls"].extend(wcls[ok])
        cols["face"].extend(f[ok])
        cols["wide"].extend(w[ok])
        cols["source"].extend([src] * int(ok.sum()))
        cols["sha"].extend([s] * int(ok.sum()))

    if tokens:
        _token_pairs(add)
    else:
        feats = CACHE / "features"
        for extra in sorted(feats.glob("*.extra.npz")):
            s = extra.name.split(".")[0]
            base = feats / f"{s}.npz"
            if base.exists():
                add(np.load(base)["face_emb"], np.load(extra)["wide_emb"], "plain", s)
        for aug in sorted(feats.glob("*.aug.npz")):
            c = np.load(aug)
            add(c["face_emb"], c["wide_emb"], "augmented", aug.name.split(".")[0])
    for rob in sorted((CACHE / "robust").glob("*.npz")):
        if "." in rob.stem:  # the token caches beside it (<sha>.layers[_wide].npz)
            continue
        c = np.load(rob)
        if not tokens:
            for k in c.files:
                add(c[k][:1], c[k][1:], "transformed", rob.stem)
            continue
        lay, lay_w = (CACHE / "robust" / f"{rob.stem}.layers{w}.npz" for w in ("", "_wide"))
        if lay.exists() and lay_w.exists():
            lc, lw = np.load(lay), np.load(lay_w)
            for k in c.files:
                add(c[k][:1], c[k][1:], "transformed", rob.stem, lc[k][None], lw[k][None])
    if not cols["face"]:
        sys.exit(f"no cached features under {CACHE}: run bench/diffusion_embed.py --extra"
                 + (" and --layers, --layers --wide" if tokens else ""))
    return {k: np.asarray(v, np.float32) if k not in ("source", "sha") else np.asarray(v)
            for k, v in cols.items() if v}


def _token_pairs(add: Callable[..., None]) -> None:
    """The cached pairs with both squares' CLS tokens, as the training script loads them
    (``diffusion_train.load``): every image as it is and re-encoded (bench/diffusion_embed.py,
    --extra, --layers, --layers --wide) and its processed copies (--aug, --aug --layers)."""
    import diffusion_train as T

    d = T.load(aug=True, layers=True)
    sha = {(r["set"], r["path"]): r["sha256"] for r in read_manifest()}
    for i in range(len(d.y)):
        add(d.X[i:i + 1], d.W[i:i + 1], "plain" if d.variant[i] < 2 else "augmented",
            sha[(d.set[i], d.path[i])], d.L[i].reshape(1, BLOCKS, -1),
            d.LW[i].reshape(1, BLOCKS, -1))


def head_inputs(spec: Features, pairs: dict[str, np.ndarray], wide: bool
                ) -> np.ndarray:
    """What the head reads of each pair: the face square's parts (``wide`` False) or the wider
    square's, side by side in the spec's order (as ``Features.vector`` builds them)."""
    cols = []
    for p in spec.parts:
        if p.wide != wide:
            continue
        if p.name == "face+mirror":
            sys.exit("the cached pairs hold no mirrored squares: no gate for 'face+mirror'")
        if p.name in ("face", "wide"):
            cols.append(pairs[p.name])
        else:
            cols.append(pairs[p.name][:, list(p.blocks), :].reshape(len(pairs["face"]), -1))
    return np.concatenate(cols, axis=1) if cols else np.zeros((len(pairs["face"]), 0),
                                                                np.float32)


def passes_of(pairs: dict[str, np.ndarray], i: int) -> Passes:
    """Pair ``i`` as the detector holds one photo's encoder outputs."""
    def tok(name: str) -> dict[int, np.ndarray]:
        return dict(enumerate(pairs[name][i])) if name in pairs else {}
    return Passes(pairs["face"][i], tok("cls"), pairs["face"][i], pairs["wide"][i], tok("wcls"))


def _fold(group: str) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % FOLDS


def logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def smallest_bound(s: np.ndarray, resid: np.ndarray, line: float) -> float:
    """The smallest R such that no pair the gate would skip with it (s + R < line) has a
    residual above R: the max of those residuals falls as R grows, so bisect."""
    order = np.argsort(s)
    s_sorted, prefix_max = s[order], np.maximum.accumulate(resid[order])

    def over(r: float) -> bool:  # some skipped pair's residual is above r
        j = int(np.searchsorted(s_sorted, line - r, side="left"))  # pairs with s < line - r
        return j > 0 and prefix_max[j - 1] > r

    lo, hi = float(resid.min()) - 1.0, float(resid.max())
    if not over(lo):
        return lo
    while hi - lo > 1e-4:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if over(mid) else (lo, mid)
    return hi


def choose(raw: dict, pairs: dict[str, np.ndarray]) -> dict:
    """The wide_gate record for this probe and these pairs."""
    spec = parse_features(str(raw.get("features", "face")))
    w = np.asarray(raw["weights"], np.float32)[:spec.width]
    face_idx = np.arange(spec.width)[spec.face_index()]
    wide_idx = np.setdiff1d(np.arange(spec.width), face_idx)
    # The face square's part of each pair's logit, with the bias, and the wide part; the gate
    # predicts the wide part from the face square's final embedding (``WideGate.wide_bound``).
    z_face = head_inputs(spec, pairs, wide=False) @ w[face_idx] + np.float32(raw["bias"])
    zw = head_inputs(spec, pairs, wide=True) @ w[wide_idx]
    x = pairs["face"]
    t = raw["thresholds"]
    line = logit(min(t["unsure"], t["flag"]))  # from here on a p changes an output
    meta = {r["sha256"]: r for r in read_manifest()}
    group = np.array([meta[s]["group"] if s in meta else s for s in pairs["sha"]])
    fold = np.array([_fold(g) for g in group])

    def fit(m: np.ndarray) -> tuple[Ridge, np.ndarray, np.ndarray]:
        """A fit on the pairs ``m``; every pair's face-only logit (s) and residual."""
        rg = Ridge(alpha=ALPHA).fit(x[m], zw[m])
        pred = rg.predict(x)
        return rg, z_face + pred, zw - pred

    # Held out: the bound chosen on the pairs a fit saw, and how far past it the residuals of
    # the pairs it did not see (and would skip) go, in the residual's standard deviations.
    held = {}
    splits = {f"identity fold {k}": fold != k for k in range(FOLDS)}
    plain = pairs["source"] == "plain"
    for src in ("augmented", "transformed"):
        if (pairs["source"] == src).any():
            splits[f"{src} copies, fit on the plain ones"] = plain
    for name, m in splits.items():
        _, s, resid = fit(m)
        r = smallest_bound(s[m], resid[m], line)
        out = ~m & (s + r < line)
        if name.endswith("plain ones"):
            out &= pairs["source"] == name.split()[0]
        held[name] = float((resid[out].max() - r) / resid[m].std()) if out.any() else None
    rg, _, _ = fit(np.ones(len(zw), bool))
    coef = np.round(rg.coef_.astype(np.float64), 6)
    icpt = round(float(rg.intercept_), 6)
    pred = x @ coef.astype(np.float32) + np.float32(icpt)  # as the detector computes it
    s, resid = z_face + pred, zw - pred
    sd = float(resid.std())
    r0 = smallest_bound(s, resid, line)
    worst = max((v for v in held.values() if v is not None), default=0.0)
    margin_sd = max(MARGIN_SD, float(np.ceil(worst)) + 1.0)
    bound = r0 + margin_sd * sd
    skipped = s + bound < line
    real = np.array([meta[h]["label"] == "real" if h in meta else False for h in pairs["sha"]])
    by_margin = {f"{k} sd": round(float((s + r0 + k * sd < line)[real].mean()), 3)
                 for k in range(5)} if real.any() else None
    return {
        "head": f"text-to-image ({spec.spec})",
        "probe_sha256": probe_sha256(raw),
        "rule": "skip the wider square's encoder pass where face_features . head_face_weights "
                "+ bias + (face_features . weights + wide_gate.bias + residual_bound) stays "
                "under the logit of min(unsure, flag), and neither StyleGAN rule can fire "
                "(headcheck.detectors.diffusion.wide_pass_needed)",
        "weights": coef.tolist(),
        "bias": icpt,
        "residual_bound": round(bound, 4),
        "chosen_on": {
            "how": "a ridge fit predicts the wide part (wide weights . wide features) from the "
                   "face square's features; residual_bound is the smallest bound that no "
                   "cached pair the gate would skip exceeds, plus margin_sd residual standard "
                   "deviations (at least one more than held-out pairs went past it)",
            "pairs": {src: int((pairs["source"] == src).sum())
                      for src in ("plain", "augmented", "transformed")},
            "ridge_alpha": ALPHA,
            "smallest_bound": round(r0, 4),
            "residual_sd": round(sd, 4),
            "margin_sd": margin_sd,
            "held_out_past_bound_sd": {k: None if v is None else round(v, 3)
                                       for k, v in held.items()},
            "real_skipped_by_margin": by_margin,
            "residual_max_skipped": round(float(resid[skipped].max()), 4)
            if skipped.any() else None,
            "residual_max_all": round(float(resid.max()), 4),
            "wide_part_max": round(float(zw.max()), 4),
            # ||w_wide|| bounds the wide part of unit-length embeddings only, not of tokens
            "strict_bound": round(float(np.linalg.norm(w[wide_idx])), 4)
            if not spec.token_blocks else None,
        },
    }


def check(pairs: dict[str, np.ndarray]) -> int:
    """Every cached pair through the shipped probe as the detector reads it: how many would skip
    the wide pass, and whether any of those gets an output other than none without the gate."""
    diffusion.probe.cache_clear()
    pr = diffusion.probe()
    if pr.wide_gate is None:
        print("the shipped probe carries no usable wide_gate: the detector does not gate")
        return 1
    meta = {r["sha256"]: r for r in read_manifest()}
    label = np.array([meta[s]["label"] if s in meta else "?" for s in pairs["sha"]])
    skip = np.zeros(len(label), bool)
    wrong = 0
    for i in range(len(label)):
        passes = passes_of(pairs, i)
        p, p_sg, guard, guard_sg = diffusion.scores_from(pr, passes, None)
        skip[i] = not diffusion.wide_pass_needed(pr, passes.face,
                                                 pr.spec.vector(passes, wide=False), None,
                                                 p_sg, guard_sg)
        # A skipped pair reports what signals_for reports for it with the wide pass: none. The
        # near-StyleGAN rule cannot fire where it is skipped (both StyleGAN heads under 0.99).
        if skip[i] and diffusion.signals_for(p, p_sg, guard, None):
            wrong += 1
    print("| pairs | real | skip | AI-made | skip |\n|---|---|---|---|---|")
    for src in ("plain", "augmented", "transformed", "all"):
        m = np.ones(len(label), bool) if src == "all" else pairs["source"] == src
        if not m.any():
            continue  # e.g. no robustness cache: no transformed pairs
        r, a = m & (label == "real"), m & (label == "fake")
        print(f"| {src} | {int(r.sum())} | {skip[r].mean() if r.any() else float('nan'):.3f} "
              f"({int(skip[r].sum())}) | "
              f"{int(a.sum())} | {skip[a].mean() if a.any() else float('nan'):.4f} "
              f"({int(skip[a].sum())}) |")
    for st in sorted({meta[s]["set"] for s in pairs["sha"] if s in meta}):
        m = np.array([s in meta and meta[s]["set"] == st for s in pairs["sha"]])
        print(f"  {st}: {skip[m].mean():.3f} of {int(m.sum())} skip")
    print(f"skipped pairs whose output without the gate is not none: {wrong}")
    return 1 if wrong else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="check the shipped key, write nothing")
    args = ap.parse_args()
    raw = json.loads(PROBE.read_text())
    spec = parse_features(str(raw.get("features", "face")))
    pairs = cached_pairs(tokens=bool(spec.token_blocks))
    if not args.check:
        if not spec.reads_wide or "face_stats" in raw:
            raw.pop("wide_gate", None)
            print(f"the probe reads {spec.spec!r}" + (" and face_stats" if "face_stats" in raw
                  else "") + ": no wider square to skip, or face_stats (not gated); no key")
        else:
            raw["wide_gate"] = choose(raw, pairs)
            print(json.dumps({k: v for k, v in raw["wide_gate"].items() if k != "weights"},
                             indent=1))
        PROBE.write_text(json.dumps(raw, indent=1) + "\n")
        print(f"wrote {PROBE}")
    return check(pairs)


if __name__ == "__main__":
    sys.exit(main())
