"""What a detector is: a named, versioned object that turns one decoded photo into signals.

A detector says what it needs (``metadata``, ``pixels``, ``face``, ``landmarks``) so the analyser
can skip it when a photo cannot give that (no face found), and returns a list of ``Signal``s,
each with a one-sentence ``headline`` for people and JSON-serialisable ``evidence`` for tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..face import Face
from ..load import LoadedImage
from ..signals import Signal

NEEDS = frozenset({"metadata", "pixels", "face", "landmarks"})
# Needs that a photo without a detected face cannot meet.
FACE_NEEDS = frozenset({"face", "landmarks"})


@dataclass(frozen=True)
class DetectorInput:
    image: LoadedImage  # headcheck.load.LoadedImage: bytes, format, metadata, PIL image
    rgb: np.ndarray  # H x W x 3 uint8
    face: Face | None  # the most prominent face (box, eyes, 5 landmarks), or None


@runtime_checkable
class Detector(Protocol):
    name: str  # stable id, e.g. "geometry.stylegan"; signals carry their own finer names
    kind: str  # the verdict kind its signals support: synthetic, composited or reused
    version: str  # bump when its output changes for the same input
    needs: frozenset[str]  # subset of NEEDS

    def detect(self, inp: DetectorInput) -> list[Signal]: ...

    # Optional: ``unavailable() -> str | None``, why the detector cannot run on this machine
    # (a model missing, or computing other numbers than it was trained on), or None.
    # Optional: ``keeps: frozenset[str]``, earlier versions whose every signal this version makes
    # too (it only adds findings): their stored flags keep counting (``headcheck.stale``).


def why_off(detector: Detector) -> str | None:
    """Why ``detector`` cannot run here (its optional ``unavailable()``), or None when it can."""
    check = getattr(detector, "unavailable", None)
    return check() if callable(check) else None


def applies(detector: Detector, inp: DetectorInput) -> bool:
    """Whether the photo gives the detector what it needs (a face, when it needs one)."""
    if "landmarks" in detector.needs and (inp.face is None or not inp.face.landmarks):
        return False  # a face framed on BlazeFace's eyes alone has no landmarks
    return inp.face is not None or not (detector.needs & FACE_NEEDS)
