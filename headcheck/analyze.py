"""One photo in, everything headcheck needs to know about it out (no database involved)."""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from .dense import dense_patch
from .detectors.base import Detector, DetectorInput, applies, why_off
from .detectors.registry import registered
from .errors import ImageError
from .face import Face, FaceModels, encode_chip
from .features import Features, context_features
from .fingerprint import ImageHashes, RegionHash, image_hashes, region_hashes
from .hashkinds import REGION_KINDS
from .load import WORK_SIDE, Limits, LoadedImage, load_image
from .regions import Frame
from .signals import Signal
from .stale import off_version

log = logging.getLogger(__name__)

ANALYSIS_VERSION = 3  # 2: dense patches for verification; 3: BlazeFace second look


@dataclass
class Analysis:
    sha256: str
    width: int
    height: int
    format: str
    face: Face | None
    image: ImageHashes
    regions: dict[str, RegionHash]
    signals: list[Signal]
    features: Features  # context keypoints, for verification
    chip: bytes | None  # aligned face crop (JPEG), for the identity embedding
    # Keypoints of the mirror image: only the query side of a lookup needs them.
    mirror_features: Features | None = field(default=None, repr=False)
    thumb: bytes | None = field(default=None, repr=False)  # small JPEG, when asked for
    # Detectors that raised on this photo: {detector, error}; their signals are missing.
    detector_errors: list[dict[str, str]] = field(default_factory=list)
    # Grey context window for dense verification (headcheck.dense), serialised.
    dense: bytes | None = field(default=None, repr=False)
    # The detectors that ran on this photo, name -> version (not those that did not apply or
    # failed), and those that would have but are off on this machine, as ``off:<version>``:
    # the store keeps them, so a photo analysed by an older version of a detector, or where it
    # could not run, is known as such (headcheck.stale) and analysed again where it can.
    detectors: dict[str, str] = field(default_factory=dict)
    # Every detector installed where the photo was analysed, name -> version, whether or not it
    # applied: a detector installed later is then known never to have looked at the photo.
    installed: dict[str, str] = field(default_factory=dict, repr=False)
    # Which detector made each signal: signal name -> detector name (``c2pa.ai_generated`` is
    # the ``provenance`` detector's); a ``<detector>.not_checked`` note names its detector too.
    sources: dict[str, str] = field(default_factory=dict, repr=False)

    def hashes(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {"image": self.image.phash, "pdq": self.image.pdq}
        for k in REGION_KINDS:
            out[k.name] = self.regions[k.name].hash if k.name in self.regions else None
        return out

    def quality(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pdq": self.image.pdq_quality}
        for r, h in self.regions.items():
            out[r] = {"texture": h.quality, "inside": h.inside, "usable": h.usable}
        return out

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        return {
            "file": file,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "face": self.face.to_dict() if self.face else None,
            "hashes": self.hashes(),
            "quality": self.quality(),
            "signals": [s.to_dict() for s in self.signals],
            "detector_errors": self.detector_errors,
            "detectors": self.detectors,
            "error": None,
        }


def error_json(file: str | None, message: str, sha256: str | None = None) -> dict[str, Any]:
    return {"file": file, "sha256": sha256, "width": None, "height": None, "face": None,
            "hashes": None, "quality": None, "signals": [], "detector_errors": [],
            "detectors": {}, "error": message}


THUMB_SIDE = 128


def _chip(models: FaceModels, rgb: np.ndarray, face: Face | None) -> bytes | None:
    chip = models.chip(rgb, face) if face is not None else None
    return None if chip is None else encode_chip(chip)


def thumbnail(im: Image.Image) -> bytes:
    small = im.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


# Set (to 1) by the test suite: a detector that raises fails the analysis instead of being
# logged and left out, so detector bugs cannot hide behind the isolation below.
STRICT_ENV = "HEADCHECK_STRICT_DETECTORS"
# How ``detector_errors`` names a detector that cannot run on this machine at all.
OFF_HERE = "off on this machine"


class Analyzer:
    """Holds the loaded models and detectors; create one per process (or worker) and reuse it."""

    def __init__(self, limits: Limits | None = None, thumbnails: bool = False,
                 detectors: list[Detector] | None = None, strict: bool | None = None,
                 work_side: int | None = WORK_SIDE) -> None:
        self.models = FaceModels()
        self.limits = limits or Limits()
        self.work_side = work_side  # large JPEGs are decoded reduced (load.WORK_SIDE)
        self.thumbnails = thumbnails
        self.strict = os.environ.get(STRICT_ENV) == "1" if strict is None else strict
        self.detectors = registered(self.strict) if detectors is None else detectors
        # Detector name -> why it cannot run here (None: it can); asked once, on first use.
        self._off: dict[str, str | None] = {}

    def off(self) -> dict[str, str]:
        """Detectors found unable to run on this machine so far, and why: the photos they
        applied to were not checked by them (each such analysis lists them in its
        ``detector_errors``)."""
        return {name: why for name, why in self._off.items() if why}

    def _why_off(self, det: Detector) -> str | None:
        if det.name not in self._off:
            why = self._off[det.name] = why_off(det)
            if why:
                log.warning("detector %s is off on this machine: %s", det.name, why)
        return self._off[det.name]

    def warm(self) -> None:
        """Load the detectors' models now rather than on the first photo that needs them (a
        long-running server calls this at start; one-shot commands stay lazy)."""
        for det in self.detectors:
            warm = getattr(det, "warm", None)
            if callable(warm):
                warm()
            self._why_off(det)  # said once, now, rather than at the first photo

    def analyze_bytes(self, data: bytes, lookup: bool = False) -> Analysis:
        """Analyse image bytes; raises ImageError (with a readable message) for bad input.

        ``lookup`` also computes what matching this photo against a store needs (mirrored
        keypoints). The result holds no pixels and pickles small, for worker processes.
        """
        return self.analyze_loaded(load_image(data, self.limits, self.work_side), lookup)

    def analyze_loaded(self, img: LoadedImage, lookup: bool = False) -> Analysis:
        rgb = img.array()
        try:
            face = self.models.find_face(rgb)
        except RuntimeError as exc:  # dlib refuses odd inputs (e.g. 1-pixel images)
            raise ImageError(f"face detection failed: {exc}") from None
        frame = Frame.from_face(face) if face else Frame.whole_image(img.width, img.height)
        found = self.detect(DetectorInput(img, rgb, face))
        width, height = img.full_size
        return Analysis(
            sha256=img.sha256,
            width=width,
            height=height,
            format=img.format,
            # Stages work on the (possibly reduced) decode; callers get the original's pixels.
            face=face.scaled(img.scale) if face else None,
            image=image_hashes(img.image),
            regions=region_hashes(rgb, frame if face else None),
            signals=found.signals,
            features=context_features(rgb, frame, has_face=face is not None),
            chip=_chip(self.models, rgb, face),
            mirror_features=(context_features(rgb, frame, mirror=True, has_face=face is not None)
                             if lookup else None),
            thumb=thumbnail(img.image) if self.thumbnails else None,
            detector_errors=found.errors,
            dense=dense_patch(rgb, frame).to_bytes(),
            detectors=found.ran,
            installed={det.name: str(det.version) for det in self.detectors},
            sources=found.sources,
        )

    def versions(self) -> dict[str, str]:
        """The version of each detector this analyser runs, by name; ``off:<version>`` for one
        that is off on this machine (as an analysis made here records it)."""
        return {det.name: off_version(str(det.version)) if self._why_off(det) else str(det.version)
                for det in self.detectors}

    def detect(self, inp: DetectorInput) -> Detected:
        """Every registered detector that applies; one that raises is logged and reported,
        and the others still run (unless strict)."""
        out = Detected()
        for det in self.detectors:
            if not applies(det, inp):
                continue
            why = self._why_off(det)
            if why:  # not an error of this photo's, but its signals are missing all the same
                out.errors.append({"detector": det.name, "error": f"{OFF_HERE}: {why}"})
                out.add(det, [not_checked(det, f"{OFF_HERE}: {why}")])
                out.ran[det.name] = off_version(str(det.version))
                continue
            try:
                found = det.detect(inp)
            except Exception as exc:
                if self.strict:
                    raise
                log.exception("detector %s failed on %s", det.name, inp.image.sha256)
                out.errors.append({"detector": det.name,
                                   "error": f"{type(exc).__name__}: {exc}"})
                out.add(det, [not_checked(det,
                                          f"it failed on this photo ({type(exc).__name__})")])
                continue
            out.add(det, found)
            out.ran[det.name] = str(det.version)
        return out


@dataclass
class Detected:
    """What the detectors said about one photo: their signals, which detector made each, the
    detectors that ran (name -> version) and those that raised or are off here."""

    signals: list[Signal] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    ran: dict[str, str] = field(default_factory=dict)  # and those off here: off:<version>
    sources: dict[str, str] = field(default_factory=dict)

    def add(self, det: Detector, signals: list[Signal]) -> None:
        self.signals += signals
        self.sources.update((s.name, det.name) for s in signals)


# What a person is told a check that did not run would have looked for.
_LOOKS_FOR = {"synthetic": "signs of an AI-made face", "composited": "signs of a composite",
              "reused": "signs of reuse"}


def not_checked(det: Detector, why: str) -> Signal:
    """A note (score 0: never a flag) that ``det`` did not check this photo. Without it a
    verdict of "nothing flagged" would read, to the person and to the API, as checked."""
    looks_for = _LOOKS_FOR.get(det.kind, f"{det.kind} signs")
    return Signal(f"{det.name}.not_checked", det.kind, 0.0,
                  f"the {det.name} detector did not check this photo ({why}): what it would "
                  "flag is not flagged here",
                  {"detector": det.name, "why": why},
                  headline=f"Not checked for {looks_for}: that check could not run")
