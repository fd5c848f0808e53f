"""Build the StyleGAN eye-geometry reference shipped in headcheck/data/stylegan_eyes.json.

The reference is fitted on one half of the StyleGAN faces (a fixed split: every other file in name
order); the other half is kept for bench/geometry_eval.py. The threshold is the TARGET_RECALL
quantile of leave-one-out distances on the fitting half (each face measured against a reference
fitted without it, which is what an unseen face meets), then checked on the held-out half and
on real photos and square crops of them.

    python bench/build_geometry_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from headcheck.face import FaceModels
from headcheck.geometry import build_reference, eye_vector
from headcheck.load import load_image

ROOT = Path(__file__).resolve().parent.parent
STYLEGAN = ROOT / "data" / "faces" / "stylegan2" / "images"
OUT = ROOT / "headcheck" / "data" / "stylegan_eyes.json"
TARGET_RECALL = 0.95


def split(files: list[Path]) -> tuple[list[Path], list[Path]]:
    files = sorted(files)
    return files[0::2], files[1::2]


def eye_vectors(models: FaceModels, files: list[Path]) -> np.ndarray:
    out = []
    for f in files:
        img = load_image(f.read_bytes())
        face = models.find_face(img.array())
        if face is not None:
            out.append(eye_vector(face, img.width, img.height))
    return np.array(out)


def loo_distances(vecs: np.ndarray) -> np.ndarray:
    out = []
    for i in range(len(vecs)):
        rest = np.delete(vecs, i, axis=0)
        ref = build_reference(rest, threshold=0.0)
        diff = vecs[i] - np.array(ref["mean"])
        out.append(float(np.sqrt(diff @ np.linalg.inv(np.array(ref["cov"])) @ diff)))
    return np.array(out)


def main() -> int:
    fit, _held_out = split(list(STYLEGAN.glob("*.jpg")))
    vecs = eye_vectors(FaceModels(), fit)
    ref = build_reference(vecs, threshold=0.0)
    ref["threshold"] = round(float(np.quantile(loo_distances(vecs), TARGET_RECALL)), 3)
    ref["fitted_on"] = f"{len(vecs)} of {len(fit)} StyleGAN2 faces (even-numbered files)"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"reference from {len(vecs)} faces; threshold {ref['threshold']} -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
