"""How well the diffusion detector separates AI-made faces from real photos, and what it costs.

    python bench/diffusion_eval.py          # or: make evaluate-diffusion

Prints markdown for docs/benchmarks.md: the data; the shipped thresholds checked on real photos
they were not chosen on (part B of the identities) with precision, recall and FPR; real photos
flagged per set and per version (as is, re-encoded); leave-one-generator-out TPR at 1% and 0.5%
FPR; and the cost per image against Pillow decode-only, measured in the same run.
Needs bench/diffusion_set.py build and bench/diffusion_embed.py first.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_loso import KINDS  # noqa: E402
from diffusion_set import local_path, read_manifest  # noqa: E402
from diffusion_train import (  # noqa: E402
    FEATURES,
    FOLDS,
    MODES,
    STATS,
    C,
    Data,
    fit,
    folds,
    guard_oof,
    load,
    oof_scores,
    part_a,
    prob,
    recipe_probe_path,
    stylegan_oof,
    threshold_at,
)

from headcheck.detectors.face_stats import NAMES  # noqa: E402

GENS = ("flux-dev", "flux-pro", "sdxl")


def tpr_at_fpr(real: np.ndarray, fake: np.ndarray, fpr: float) -> tuple[float, float]:
    """TPR on ``fake`` at the threshold where ``fpr`` of ``real`` scores lie above it."""
    t = float(np.quantile(real, 1 - fpr, method="higher")) if len(real) else 1.0
    return float((fake > t).mean()) if len(fake) else float("nan"), t


def auc(real: np.ndarray, fake: np.ndarray) -> float:
    s = np.concatenate([real, fake])
    r = s.argsort().argsort() + 1
    n1, n0 = len(fake), len(real)
    return float((r[n0:].sum() - n1 * (n1 + 1) / 2) / (n0 * n1))


def data_table(d: Data) -> None:
    lic = {r["set"]: r["licence"] for r in read_manifest()}
    print("| set | label | photos | identities | licence |\n|---|---|---|---|---|")
    for s in dict.fromkeys(d.set):
        m = (d.set == s) & (d.variant == 0)
        print(f"| {s} | {'AI' if d.y[m][0] else 'real'} | {m.sum()} | "
              f"{len(set(d.group[m]))} | {lic[s]} |")
    r = (d.y == 0) & (d.variant == 0)
    print(f"\nReal: {r.sum()} photos of {len(set(d.group[r]))} identities; "
          f"{(d.y == 0).sum()} real images with the re-encoded versions. Faces found by the "
          f"BlazeFace second look: {(d.detector == 'blazeface').sum()} of {len(d.y)} images "
          f"({(d.detector[d.y == 0] == 'blazeface').sum()} real).")


def flickr_kind(path: str) -> str:
    name = Path(path).stem
    return "flickr " + (name.split("_")[0] if "@" not in name else "large@2x")


def flagged(oof: np.ndarray, sg: np.ndarray, guard: np.ndarray | None = None) -> np.ndarray:
    """What the shipped detector flags: either head at its threshold (NaN: head not scored),
    and, for a probe with a guard, only where the guard (``guard``: its out-of-fold flags)
    flags too."""
    p = json.loads(recipe_probe_path().read_text())
    hit = oof >= p["thresholds"]["flag"]
    if "stylegan_head" in p:
        hit |= np.nan_to_num(sg, nan=0.0) >= p["stylegan_head"]["flag"]
    if "guard" in p and guard is not None:
        hit &= guard
    return hit


def guard_flags(d: Data) -> tuple[np.ndarray, np.ndarray]:
    """The guard's recipe (v4's), cross-fitted on the same folds: its flags at its own
    thresholds, and its text-to-image scores."""
    g = json.loads(recipe_probe_path().read_text())["guard"]
    p, p_sg = guard_oof(d)
    hit = (p >= g["flag"]) | (np.nan_to_num(p_sg) >= g["stylegan_head"]["flag"])
    return hit, p


def versus_guard(d: Data, oof: np.ndarray, sg: np.ndarray, ghit: np.ndarray,
                 gp: np.ndarray) -> None:
    """The shipped probe against its guard alone (v4, trained as v4 was: without the casual
    photos), on the same out-of-fold folds: real images flagged per set of part B, recall."""
    p = json.loads(recipe_probe_path().read_text())
    g = p["guard"]
    b = (d.y == 0) & ~part_a(d)
    alone = flagged(oof, sg)
    both = flagged(oof, sg, ghit)
    gu, u = g["unsure"], p["thresholds"]["unsure"]
    print(f"\nv{p['version']} against v{g['version']} (its guard) on the same folds, part B "
          f"(out-of-fold; v{g['version']} trained as it was, without "
          "the sets it never saw):\n")
    print(f"| real set (part B) | images | v{g['version']} flagged | v{p['version']} alone "
          f"flagged | v{p['version']} (shipped: with its guard) flagged | v{g['version']} unsure "
          f"| v{p['version']} unsure |\n|---|---|---|---|---|---|---|")
    for s in dict.fromkeys(d.set[b]):
        m = b & (d.set == s)
        print(f"| {s} | {m.sum()} | {ghit[m].sum()} | {alone[m].sum()} | {both[m].sum()} | "
              f"{((gp[m] >= gu) & ~ghit[m]).sum()} | {((oof[m] >= u) & ~both[m]).sum()} |")
    fake = d.y == 1
    print(f"| **recall** (all {fake.sum()} AI images, out-of-fold) | | {ghit[fake].mean():.3f} | "
          f"{alone[fake].mean():.3f} | {both[fake].mean():.3f} | | |")


def shipped(d: Data, oof: np.ndarray, sg: np.ndarray, ghit: np.ndarray | None = None) -> None:
    p = json.loads(recipe_probe_path().read_text())
    flag, unsure = p["thresholds"]["flag"], p["thresholds"]["unsure"]
    b = ~part_a(d)
    real_b = (d.y == 0) & b
    print(f"\nShipped thresholds: flag {flag}, unsure {unsure} ({p['thresholds']['chosen_on']}).")
    if "stylegan_head" in p:
        print(f"StyleGAN head: flag {p['stylegan_head']['flag']} "
              f"({p['stylegan_head']['chosen_on']}). A photo is flagged if either head flags it.")
    print("Checked on part B (other identities), out-of-fold scores:\n")
    fake = d.y == 1
    hit = flagged(oof, sg, ghit)
    tp = int(hit[fake].sum())
    fp = int(hit[real_b].sum())
    prec = tp / max(tp + fp, 1)
    print(f"- precision {prec:.3f}, recall {tp / fake.sum():.3f} ({tp}/{fake.sum()} AI images), "
          f"FPR {fp / real_b.sum():.4f} ({fp}/{real_b.sum()} real images of part B); "
          f"unsure band holds {((oof[real_b] >= unsure) & ~hit[real_b]).sum()} real "
          f"and {((oof[fake] >= unsure) & ~hit[fake]).sum()} AI images")
    print("\n| real set (part B) | version | images | flagged | unsure |\n|---|---|---|---|---|")
    kinds = np.array([flickr_kind(x) if s == "flickr_real" else s
                      for s, x in zip(d.set, d.path, strict=True)])
    for k in dict.fromkeys(kinds[real_b]):
        for v, vname in ((0, "as is"), (1, "re-encoded")):
            m = real_b & (kinds == k) & (d.variant == v)
            if m.any():
                print(f"| {k} | {vname} | {m.sum()} | {hit[m].sum()} | "
                      f"{((oof[m] >= unsure) & ~hit[m]).sum()} |")
    print("\n| face found by | real images (part B) | flagged | AI images | flagged (recall) "
          "|\n|---|---|---|---|---|")
    for det in ("dlib", "blazeface"):
        m, f = real_b & (d.detector == det), fake & (d.detector == det)
        print(f"| {det} | {m.sum()} | {hit[m].sum()} | {f.sum()} | "
              f"{hit[f].mean() if f.any() else float('nan'):.3f} |")
    print("\n| AI set | generator | images | flagged (recall) |\n|---|---|---|---|")
    for s in ("diffusion", "diffusion_search", "stylegan2"):
        for g in dict.fromkeys(d.gen[fake & (d.set == s)]):
            m = fake & (d.set == s) & (d.gen == g)
            print(f"| {s} | {g} | {m.sum()} | {hit[m].mean():.3f} |")


def logo_scores(d: Data, g: str, c: float = C, stats: bool = STATS,
                mode: str = FEATURES, score=prob) -> np.ndarray:
    """Scores of probes trained on the real photos and the AI images of the two text-to-image
    generators other than ``g`` (never StyleGAN), cross-fitted: each image is scored by the
    probe that left its identity's fold out."""
    f = folds(d)
    out = np.zeros(len(d.y))
    seen = (d.y == 0) | ~np.isin(d.gen, [g, "stylegan"])
    for k in range(FOLDS):
        out[f == k] = score(d.take(f == k), fit(d.take(seen & (f != k)), c, stats, mode))
    return out


def at_part_a(d: Data, s: np.ndarray, fake: np.ndarray, fpr: float) -> tuple[float, float]:
    """TPR on ``fake`` and FPR on real part B at the threshold chosen on real part A."""
    a, real = part_a(d), d.y == 0
    t = threshold_at(s[real & a], fpr)
    return float((s[fake] >= t).mean()), float((s[real & ~a] >= t).mean())


def logo(d: Data) -> dict[str, np.ndarray]:
    """Train on two text-to-image generators (no StyleGAN), test on the third and StyleGAN."""
    a, real = part_a(d), d.y == 0
    print("\nLeave one generator out (train: real photos + two generators, cross-fitted by "
          "identity; test: the third generator and StyleGAN; threshold where 1% / 0.5% of real "
          "part A's scores lie above it, its FPR counted on real part B):\n")
    print("| held out | AUC | TPR @1% | FPR part B | TPR @0.5% | FPR part B | StyleGAN AUC | "
          "StyleGAN TPR @1% |\n|---|---|---|---|---|---|---|---|")
    out = {}
    for g in GENS:
        s = out[g] = logo_scores(d, g)
        rb = s[real & ~a]
        t1, f1 = at_part_a(d, s, d.gen == g, 0.01)
        t05, f05 = at_part_a(d, s, d.gen == g, 0.005)
        sg1, _ = at_part_a(d, s, d.gen == "stylegan", 0.01)
        print(f"| {g} | {auc(rb, s[d.gen == g]):.3f} | {t1:.3f} | {f1:.4f} | {t05:.3f} | "
              f"{f05:.4f} | {auc(rb, s[d.gen == 'stylegan']):.3f} | {sg1:.3f} |")
    return out


CANDIDATES = (  # (name, C, face_stats, features), besides the shipped one
    ("face, C 0.01", 0.01, False, "face"),
    ("face, C 0.2", 0.2, False, "face"),
    ("face+mirror, C 0.05", 0.05, False, "face+mirror"),
    ("face,wide, C 0.05", 0.05, False, "face,wide"),
    ("face,wide, C 0.01", 0.01, False, "face,wide"),
    ("face+mirror,wide, C 0.05", 0.05, False, "face+mirror,wide"),
)


def compare(d: Data, only: str = "") -> None:
    """The model choice, by held-out generators: mean TPR at 1% and 0.5% FPR (thresholds on
    real part A) over the three leave-one-generator-out runs, the real part B FPR they cost,
    and StyleGAN's TPR (never trained on). All candidates on the same images: those with the
    --extra features when any candidate needs them."""
    cands = [(f"shipped: {FEATURES}{' + face_stats' if STATS else ''}, C {C}", C, STATS,
              FEATURES), *(c for c in CANDIDATES if only in c[0])]
    if any(c[3] != "face" for c in cands):
        has = ~np.isnan(d.M).any(axis=1) & ~np.isnan(d.W).any(axis=1)
        if not has.any():
            print("\n(no --extra features yet: run bench/diffusion_embed.py --extra)")
            cands = [c for c in cands if c[3] == "face"]
        d = d.take(has) if has.any() else d
    print(f"\nModel choice ({(d.variant == 0).sum()} images as is, {len(d.y)} with the "
          "re-encodings; leave one generator out, mean over the three held-out generators; "
          "thresholds on real part A, FPR on real part B):\n")
    print("| model | encoder calls | TPR @1% | FPR B @1% | TPR @0.5% | FPR B @0.5% | "
          "StyleGAN TPR @1% | min TPR @1% |\n|---|---|---|---|---|---|---|---|")
    for name, c, st, mode in cands:
        r: dict[str, list[float]] = {k: [] for k in ("t1", "f1", "t05", "f05", "sg")}
        for g in GENS:
            s = logo_scores(d, g, c, st, mode)
            for k, v in zip(("t1", "f1"), at_part_a(d, s, d.gen == g, 0.01), strict=True):
                r[k].append(v)
            for k, v in zip(("t05", "f05"), at_part_a(d, s, d.gen == g, 0.005), strict=True):
                r[k].append(v)
            r["sg"].append(at_part_a(d, s, d.gen == "stylegan", 0.01)[0])
        print(f"| {name} | {MODES[mode]} | {np.mean(r['t1']):.3f} | {np.mean(r['f1']):.4f} | "
              f"{np.mean(r['t05']):.3f} | {np.mean(r['f05']):.4f} | {np.mean(r['sg']):.3f} | "
              f"{min(r['t1']):.3f} |", flush=True)


def tells(d: Data, full: bool = False) -> None:
    """Each face_stats feature alone: AUC of AI images against real ones (0.5 = no information,
    below 0.5 = AI images score lower), each cell "as is / re-encoded": per AI source against
    every real image, then every AI image against each real set (with ``full``: each source
    against each set), and the share of images where the tell is missing; then the low end of
    each ROC: AI found at 1% / 5% of all real images and of the worst real set."""
    kind = np.array([KINDS.get(s, s) for s in d.set])
    kinds = sorted(set(kind[d.y == 0]))
    srcs = [*GENS, "stylegan"]

    def cell(v: np.ndarray, real: np.ndarray, fake: np.ndarray) -> str:
        ok = ~np.isnan(v)
        parts = [(v[real & ok & (d.variant == x)], v[fake & ok & (d.variant == x)]) for x in (0, 1)]
        return " / ".join(f"{auc(r, f):.2f}" if len(r) and len(f) else "-" for r, f in parts)

    def table(title: str, cols: list[tuple[str, np.ndarray, np.ndarray]], missing: bool) -> None:
        print(f"\n{title}\n\n| tell | " + " | ".join(c[0] for c in cols) +
              (" | missing: real / AI |" if missing else " |") + "\n|" +
              "---|" * (len(cols) + 1 + missing))
        for j, name in enumerate(NAMES):
            v = d.S[:, j]
            row = [cell(v, r, f) for _, r, f in cols]
            if missing:
                row.append(" / ".join(f"{np.isnan(v[d.y == c]).mean():.0%}" for c in (0, 1)))
            print(f"| {name} | " + " | ".join(row) + " |")

    real, ai = d.y == 0, d.y == 1
    table("The seed's tells, each AI source against every real image (AUC, as is / re-encoded):",
          [(g, real, d.gen == g) for g in srcs], True)
    table("Every AI image against each real set (AUC, as is / re-encoded):",
          [(k, kind == k, ai) for k in kinds], False)
    for g in srcs if full else ():
        table(f"{g} against each real set (AUC, as is / re-encoded):",
              [(k, kind == k, d.gen == g) for k in kinds], False)
    print("\nThe low end of each ROC (both versions; each tell turned the way its AUC points; a "
          "missing tell flags nothing): AI images found where 1% / 5% of all real images, or of "
          "the worst real set, lie beyond\n\n| tell | AUC | found @ 1% of all real | @ 5% | "
          "found @ 1% of every real set | @ 5% |\n|---|---|---|---|---|---|")
    for j, name in enumerate(NAMES):
        a = auc(d.S[real, j][~np.isnan(d.S[real, j])], d.S[ai, j][~np.isnan(d.S[ai, j])])
        v = np.nan_to_num(d.S[:, j] * (1 if a >= 0.5 else -1), nan=-np.inf)
        cells = [tpr_at_fpr(v[real], v[ai], f)[0] for f in (0.01, 0.05)]
        cells += [float((v[ai] > max(tpr_at_fpr(v[kind == k], v[ai], f)[1] for k in kinds)).mean())
                  for f in (0.01, 0.05)]
        print(f"| {name} | {max(a, 1 - a):.2f}{'' if a >= 0.5 else ' (AI lower)'} | "
              + " | ".join(f"{c:.3f}" for c in cells) + " |")


def stylegan_combined(d: Data, oof: np.ndarray, sg: np.ndarray,
                      ghit: np.ndarray | None = None) -> None:
    """StyleGAN recall of the eye-geometry detector, the probe's two heads, and either."""
    from headcheck.face import FaceModels
    from headcheck.geometry import stylegan_signal

    hit = flagged(oof, sg, ghit)
    models = FaceModels()
    by_path = {r["path"]: r for r in read_manifest() if r["set"] == "stylegan2"}
    # Odd-numbered faces only: the geometry reference was fitted on the even-numbered ones.
    odd = np.array([p.endswith(("1.jpg", "3.jpg", "5.jpg", "7.jpg", "9.jpg")) for p in d.path])
    m = (d.set == "stylegan2") & (d.variant == 0) & odd
    geo = probe = both = 0
    for path, h in zip(d.path[m], hit[m], strict=True):
        img = Image.open(local_path(by_path[path])).convert("RGB")
        face = models.find_face(np.asarray(img))
        g = stylegan_signal(face, img.width, img.height) is not None
        geo, probe, both = geo + g, probe + h, both + (g or h)
    n = int(m.sum())
    print(f"\nStyleGAN ({n} held-out faces, as is): eye geometry {geo / n:.3f}, CLIP probe, "
          f"either head (out-of-fold) {probe / n:.3f}, geometry or probe {both / n:.3f}.")
    r = (d.y == 0) & ~part_a(d)
    print(f"StyleGAN, all {int((d.gen == 'stylegan').sum())} images with the re-encodings: "
          f"probe (either head, out-of-fold) {hit[d.gen == 'stylegan'].mean():.3f}; "
          f"StyleGAN head alone AUC {auc(sg[r], sg[d.gen == 'stylegan']):.3f}, TPR at 1% / 0.5% "
          f"of real part B {tpr_at_fpr(sg[r], sg[d.gen == 'stylegan'], 0.01)[0]:.3f} / "
          f"{tpr_at_fpr(sg[r], sg[d.gen == 'stylegan'], 0.005)[0]:.3f}.")


def cost(n: int = 20) -> None:
    """Per-image time of the detector (crop, CLIP, probe) against Pillow decode-only."""
    from headcheck.detectors.diffusion import score_image
    from headcheck.face import FaceModels

    rows = [r for r in read_manifest() if r["set"] in ("interfaces", "diffusion", "portraits")]
    rows = rows[:: max(1, len(rows) // n)][:n]
    paths = [local_path(r) for r in rows]
    models = FaceModels()
    score_image(Image.open(paths[0]).convert("RGB"), None)  # load the model outside the clock
    t = time.perf_counter()
    for p in paths:
        Image.open(p).convert("RGB").load()
    dec = (time.perf_counter() - t) / len(paths)
    faces = [models.find_face(np.asarray(Image.open(p).convert("RGB"))) for p in paths]
    t = time.perf_counter()
    for p, f in zip(paths, faces, strict=True):
        score_image(Image.open(p).convert("RGB"), f.box if f else None)
    det = (time.perf_counter() - t) / len(paths)
    print(f"\nCost on {len(paths)} images (this machine, same run): Pillow decode-only "
          f"{dec * 1000:.1f} ms; decode + diffusion detector {det * 1000:.0f} ms "
          f"(x{det / dec:.0f} decode); the face box comes from the analyser's face finder, "
          "which runs anyway.")


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--no-cost", action="store_true", help="skip the timing")
    ap.add_argument("--only", default="", help="model choice: candidates whose name has this")
    ap.add_argument("--compare-only", action="store_true", help="only the model choice")
    args = ap.parse_args()
    d = load()
    if args.compare_only:
        compare(d, args.only)
        return 0
    data_table(d)
    oof = oof_scores(d)
    sg = stylegan_oof(d)
    guarded = "guard" in json.loads(recipe_probe_path().read_text())
    ghit, gp = guard_flags(d) if guarded else (None, None)
    shipped(d, oof, sg, ghit)
    if ghit is not None:
        versus_guard(d, oof, sg, ghit, gp)
    logo(d)
    if not np.isnan(d.S).all():
        tells(d)
    compare(d, args.only)
    stylegan_combined(d, oof, sg, ghit)
    if not args.no_cost:
        cost()
    return 0


if __name__ == "__main__":
    sys.exit(main())
