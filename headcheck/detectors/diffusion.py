"""Diffusion-made faces: a logistic probe on frozen CLIP ViT-B/16 features of the face square.

The probe (512 weights and a bias) is trained by ``bench/diffusion_train.py`` on the images listed
in ``data/diffusion/manifest.csv`` and shipped as ``headcheck/data/diffusion_probe.json`` with its
two thresholds, both chosen on real photos the probe never saw:

- ``flag``: at most 0.5% of real photos (and their re-encodings) score above it. Only then does the
  detector emit a ``synthetic`` signal whose score is the probe's probability.
- ``unsure``: between ``unsure`` and ``flag`` the detector emits a score-0 signal with
  ``evidence.band == "unsure"``: a reason a person can read, which never changes the label
  (the judge ignores score-0 signals).

What it can see: about half of the faces made by the text-to-image models it was trained on
(FLUX.1, SDXL) and of one it was not (docs/benchmarks.md); few StyleGAN faces (the eye-geometry
detector covers those). What it cannot: other generators it was not trained on may pass, heavy
edits, and photos of real people that were retouched by AI. "No signal" is never proof of a real
photo, and the synthetic counts it yields are a lower bound.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image

from ..face import Face
from ..signals import SYNTHETIC, Signal
from . import clip_encoder, face_stats
from .base import DetectorInput
from .face_crop import model_crop

log = logging.getLogger(__name__)

PROBE_FILE = "data/diffusion_probe.json"
MIN_SIDE = 32  # below this there is too little of a face to judge


@dataclass(frozen=True)
class Head:
    """One logistic head on the shared features, with the threshold it flags from."""

    weights: np.ndarray
    bias: float
    flag: float

    def probability(self, x: np.ndarray) -> float:
        z = float(x @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


@dataclass(frozen=True)
class Probe:
    weights: np.ndarray  # (512,) on CLIP, then len(stats_fill) on face_stats when those are used
    bias: float
    flag: float  # probability thresholds
    unsure: float
    version: str
    meta: dict[str, Any]
    stats_fill: np.ndarray | None = None  # stand-ins for face_stats NaNs; None: CLIP only
    stylegan: Head | None = None  # a second head on the CLIP features alone

    def features(self, emb: np.ndarray, stats: np.ndarray | None) -> np.ndarray:
        if self.stats_fill is None or stats is None:
            return emb
        return np.concatenate([emb, np.where(np.isnan(stats), self.stats_fill, stats)])

    def probability(self, emb: np.ndarray, stats: np.ndarray | None = None) -> float:
        z = float(self.features(emb, stats) @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


@lru_cache(maxsize=1)
def probe() -> Probe:
    raw = json.loads(resources.files("headcheck").joinpath(PROBE_FILE).read_text())
    weights = list(raw["weights"])
    fill = None
    if "face_stats" in raw:
        if tuple(raw["face_stats"]["names"]) != face_stats.NAMES:
            raise ValueError(f"{PROBE_FILE} was trained on other face_stats features")
        weights += raw["face_stats"]["weights"]
        fill = np.asarray(raw["face_stats"]["fill"], dtype=np.float32)
    sg = raw.get("stylegan_head")
    head = (Head(np.asarray(sg["weights"], dtype=np.float32), float(sg["bias"]),
                 float(sg["flag"])) if sg else None)
    return Probe(np.asarray(weights, dtype=np.float32), float(raw["bias"]),
                 float(raw["thresholds"]["flag"]), float(raw["thresholds"]["unsure"]),
                 str(raw["version"]),
                 {k: v for k, v in raw.items() if k not in ("weights", "face_stats",
                                                            "stylegan_head")},
                 fill, head)


def scores(image: Image.Image, box: tuple[int, int, int, int] | None) -> tuple[float, float]:
    """The probe's probabilities that the face of ``image`` (PIL) was made by a text-to-image
    model and (0.0 without that head) by StyleGAN."""
    pr = probe()
    emb = clip_encoder.embed([model_crop(image, box)])[0]
    stats = face_stats.face_stats(image, box) if pr.stats_fill is not None and box else None
    return (pr.probability(emb, stats),
            pr.stylegan.probability(emb) if pr.stylegan is not None else 0.0)


def score_image(image: Image.Image, box: tuple[int, int, int, int] | None) -> float:
    """The probe's probability that the face square of ``image`` (PIL) was generated."""
    return scores(image, box)[0]


class DiffusionDetector:
    name = "diffusion.clip_probe"
    kind = SYNTHETIC
    version = "1"
    # Trained on face squares only: without a face the crop would be out of distribution.
    needs = frozenset({"pixels", "face"})

    def detect(self, inp: DetectorInput) -> list[Signal]:
        return diffusion_signals(inp.image.image, inp.face)

    def warm(self) -> None:
        """Load the encoder and the probe now (otherwise: on the first face)."""
        try:
            clip_encoder.load()
            probe()
        except clip_encoder.EncoderUnavailable as exc:
            log.warning("diffusion detector unavailable: %s", exc)


def diffusion_signals(image: Image.Image, face: Face | None) -> list[Signal]:
    """The detector on a decoded photo and the face the analyser found (none without one)."""
    if face is None or min(image.width, image.height) < MIN_SIDE:
        return []
    box = face.box
    try:
        p, p_sg = scores(image, box)
    except clip_encoder.EncoderUnavailable as exc:
        log.warning("diffusion detector skipped: %s", exc)
        return []
    return signals_for(p, p_sg)


def signals_for(p: float, p_stylegan: float = 0.0) -> list[Signal]:
    """The signal for probabilities ``p`` (text-to-image head) and ``p_stylegan`` (StyleGAN
    head): flagging, unsure (score 0) or none."""
    pr = probe()
    evidence = {"probability": round(p, 4), "flag_threshold": pr.flag,
                "unsure_threshold": pr.unsure, "model": clip_encoder.MODEL_NAME,
                "probe_version": pr.version}
    if pr.stylegan is not None:
        evidence |= {"stylegan_probability": round(p_stylegan, 4),
                     "stylegan_flag_threshold": pr.stylegan.flag}
    if p >= pr.flag:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, round(p, 3),
            f"the face looks AI-generated to a CLIP probe (probability {p:.3f}; it flags from "
            f"{pr.flag:.3f}, which under 0.5% of the real photos it was checked on reach)",
            {**evidence, "band": "flag", "head": "text-to-image"},
            "The face looks AI-generated: it resembles faces made by text-to-image models.")]
    if pr.stylegan is not None and p_stylegan >= pr.stylegan.flag:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, round(p_stylegan, 3),
            f"the face looks StyleGAN-made to a CLIP probe (probability {p_stylegan:.3f}; it "
            f"flags from {pr.stylegan.flag:.3f}, which under 0.5% of the real photos it was "
            "checked on reach)",
            {**evidence, "band": "flag", "head": "stylegan"},
            "The face looks AI-generated: it resembles faces made by StyleGAN-style generators.")]
    if p >= pr.unsure:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, 0.0,
            f"unsure: the CLIP probe scores the face {p:.3f}, between its unsure "
            f"({pr.unsure:.3f}) and flag ({pr.flag:.3f}) thresholds; the label is unchanged",
            {**evidence, "band": "unsure"},
            "Unsure: the face has some traits of AI-generated faces, not enough to flag it.")]
    return []
