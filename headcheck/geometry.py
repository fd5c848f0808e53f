"""StyleGAN geometry: FFHQ-aligned generators put the eyes at nearly fixed image coordinates.

The reference (mean and covariance of both eye centres in image-relative coordinates) is built
from StyleGAN faces by ``bench/build_geometry_reference.py`` and shipped as package data. A photo
is flagged when it is square and its eyes lie within a Mahalanobis distance of the reference
chosen from labelled data (see docs/benchmarks.md), as Ricker et al. did for Twitter profiles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .face import Face
from .signals import SYNTHETIC, Signal

MAX_ASPECT_DEVIATION = 0.03  # FFHQ-style renders are square; crops are not aligned anyway


@dataclass(frozen=True)
class Reference:
    mean: np.ndarray
    inv_cov: np.ndarray
    threshold: float
    samples: int


def eye_vector(face: Face, width: int, height: int) -> np.ndarray:
    (lx, ly), (rx, ry) = face.eyes
    return np.array([lx / width, ly / height, rx / width, ry / height])


def build_reference(vectors: np.ndarray, threshold: float) -> dict:
    mean = vectors.mean(axis=0)
    cov = np.cov(vectors, rowvar=False) + np.eye(vectors.shape[1]) * 1e-6
    return {"mean": mean.tolist(), "cov": cov.tolist(), "threshold": threshold,
            "samples": len(vectors)}


@lru_cache(maxsize=1)
def reference() -> Reference:
    raw = json.loads(resources.files("headcheck").joinpath("data/stylegan_eyes.json").read_text())
    return Reference(np.array(raw["mean"]), np.linalg.inv(np.array(raw["cov"])),
                     float(raw["threshold"]), int(raw["samples"]))


def mahalanobis(vec: np.ndarray, ref: Reference) -> float:
    d = vec - ref.mean
    return float(np.sqrt(d @ ref.inv_cov @ d))


def geometry_distance(face: Face | None, width: int, height: int,
                      ref: Reference | None = None) -> float | None:
    """Distance of the eyes from the StyleGAN reference, or None when it does not apply."""
    if face is None or abs(width / height - 1) > MAX_ASPECT_DEVIATION:
        return None
    return mahalanobis(eye_vector(face, width, height), ref or reference())


def stylegan_signal(face: Face | None, width: int, height: int) -> Signal | None:
    ref = reference()
    dist = geometry_distance(face, width, height, ref)
    if dist is None or dist > ref.threshold:
        return None
    score = round(0.55 + 0.3 * (1 - dist / ref.threshold), 3)
    return Signal(
        "geometry.stylegan_eyes", SYNTHETIC, score,
        f"the eyes sit where StyleGAN-style generators put them (distance {dist:.2f}, "
        f"threshold {ref.threshold:.2f})",
        {"distance": round(dist, 3), "threshold": ref.threshold,
         "eyes": [[round(x, 1), round(y, 1)] for x, y in face.eyes] if face else None},
        "The eyes sit exactly where a common face generator (StyleGAN) places them, "
        "which real photos rarely match.",
    )
