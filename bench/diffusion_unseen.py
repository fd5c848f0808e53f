"""The shipped diffusion probe, as it is, on image sets it was not trained on.

    python bench/diffusion_unseen.py --sets fairface            # the shipped probe
    python bench/diffusion_unseen.py --sets fairface --probe OLD.json

No retraining and no cross-fitting: the probe's own weights and thresholds score the cached
features (bench/diffusion_embed.py, both passes) of every image of the named sets, as the
detector would at run time (the face square and the wider square, both heads). Prints markdown
for docs/benchmarks.md: per set and version (as is, re-encoded), the images with a face, how many
are flagged (either head at its threshold) and how many fall in the unsure band, and the highest
score. Use it on sets the probe never saw: a new real-photo set is the check that matters, since
a false flag on a real person is the worst failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_embed import cache_path, rows_to_embed  # noqa: E402
from diffusion_set import REPO_SETS, _git, local_path, read_manifest  # noqa: E402
from diffusion_train import PROBE_OUT  # noqa: E402

FAIRFACE_AGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")
BORDER = 0.03  # a FairFace crop "has a black border" where over 3% of its pixels are black


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -50, 50)))


def probe_scores(probe: dict, face: np.ndarray, mirror: np.ndarray,
                 wide: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Text-to-image and StyleGAN probabilities for rows of features (as the detector)."""
    mode = probe.get("features", "face")
    if "face_stats" in probe:
        sys.exit("this probe reads face_stats features: not supported here")
    x = (face + mirror) / 2 if mode.startswith("face+mirror") else face
    if mode.endswith(",wide"):
        x = np.hstack([x, wide])
    p = _sigmoid(x @ np.asarray(probe["weights"]) + probe["bias"])
    sg = probe.get("stylegan_head")
    p_sg = (_sigmoid(face @ np.asarray(sg["weights"]) + sg["bias"]) if sg
            else np.zeros(len(face)))
    return p, p_sg


def collect(sets: set[str]) -> dict[str, list]:
    """Per image version with a face: set, variant, path and the three crops' features."""
    out: dict[str, list] = {k: [] for k in ("set", "variant", "path", "face", "mirror", "wide")}
    missing = 0
    for r in rows_to_embed(sets):
        base, extra = cache_path(r["sha256"]), cache_path(r["sha256"], extra=True)
        if not (base.exists() and extra.exists()):
            missing += 1
            continue
        c, e = np.load(base), np.load(extra)
        for v in range(len(c["face_emb"])):
            if not c["has_face"][v]:
                continue
            for k, val in (("set", r["set"]), ("variant", v), ("path", r["path"]),
                           ("face", c["face_emb"][v]), ("mirror", e["mirror_emb"][v]),
                           ("wide", e["wide_emb"][v])):
                out[k].append(val)
    if missing:
        print(f"({missing} images of these sets lack features: run bench/diffusion_embed.py "
              "and its --extra pass)\n")
    return out


def fairface_kinds(paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per FairFace row: its age group (the set's ground_truth.json) and whether the file has a
    black border (FairFace's aligned crops of small or tilted photos are padded with black)."""
    rs = next(r for r in REPO_SETS if r.name == "fairface")
    truth = json.loads(_git(rs.repo, "show", f"{rs.commit}:{rs.folder}/ground_truth.json"))
    age = {t["filename"]: t["age"] for t in truth}
    rows = {r["path"]: r for r in read_manifest() if r["set"] == "fairface"}
    black = {}
    for path in set(paths):
        a = np.asarray(Image.open(local_path(rows[path])).convert("L"))
        black[path] = float((a < 8).mean()) > BORDER
    return (np.array([age[Path(x).name] for x in paths]),
            np.array([black[x] for x in paths]))


def fairface_table(paths: np.ndarray, hit: np.ndarray, band: np.ndarray) -> None:
    ages, border = fairface_kinds(paths)
    adult = ~np.isin(ages, FAIRFACE_AGES[:3])
    print("\nFairFace by age group and border (both versions):\n\n"
          "| FairFace rows | images | flagged | share | unsure |\n|---|---|---|---|---|")
    groups = [(f"age {a}", ages == a) for a in FAIRFACE_AGES]
    groups += [("adults (20+)", adult), ("under 20", ~adult),
               ("black border (aligned crop padded)", border), ("no black border", ~border),
               ("**adults, no black border**", adult & ~border)]
    for name, m in groups:
        print(f"| {name} | {m.sum()} | {hit[m].sum()} | {hit[m].mean():.1%} | {band[m].sum()} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", required=True, help="comma-separated set names")
    ap.add_argument("--probe", default=str(PROBE_OUT), help="probe JSON (default: shipped)")
    ap.add_argument("--list", action="store_true", help="list every flagged image")
    args = ap.parse_args()
    probe = json.loads(Path(args.probe).read_text())
    sets = set(filter(None, args.sets.split(",")))
    d = collect(sets)
    if not d["set"]:
        sys.exit("no features for these sets")
    p, p_sg = probe_scores(probe, *(np.array(d[k]) for k in ("face", "mirror", "wide")))
    flag, unsure = probe["thresholds"]["flag"], probe["thresholds"]["unsure"]
    sg_flag = probe.get("stylegan_head", {}).get("flag", np.inf)
    hit = (p >= flag) | (p_sg >= sg_flag)
    band = ~hit & (p >= unsure)
    s, v = np.array(d["set"]), np.array(d["variant"])
    print(f"Probe v{probe['version']} (flag {flag}, unsure {unsure}, StyleGAN head flag "
          f"{sg_flag}), never trained on these sets:\n")
    print("| set | version | images with a face | flagged | unsure | highest score |\n"
          "|---|---|---|---|---|---|")
    for name in sorted(sets):
        for var, vname in ((0, "as is"), (1, "re-encoded"), (None, "both")):
            m = (s == name) & ((v == var) if var is not None else True)
            if m.any():
                print(f"| {name} | {vname} | {m.sum()} | {hit[m].sum()} | {band[m].sum()} | "
                      f"{max(p[m].max(), p_sg[m].max()):.3f} |")
    heads = (f"\nFlagged by the text-to-image head {int((p >= flag).sum())}, by the StyleGAN "
             f"head alone {int((hit & (p < flag)).sum())}.")
    print(heads)
    if "fairface" in sets:
        m = s == "fairface"
        fairface_table(np.array(d["path"])[m], hit[m], band[m])
    if args.list:
        for i in np.flatnonzero(hit):
            print(f"flagged: {s[i]} {d['path'][i]} (version {v[i]}): text-to-image {p[i]:.3f}, "
                  f"StyleGAN {p_sg[i]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
