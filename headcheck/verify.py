"""Pixel-level verification of a hash candidate: do two photos share the same pixels?

Descriptors are matched (mutual nearest neighbours under a ratio test), then a similarity
transform is fitted with RANSAC. Both feature sets live in face-frame units, so a true match is
close to the identity (the frame drift measured between a composite and its template is a few per
cent of scale and about 0.1 eye distances); a transform far from it is a coincidence.

Matching compares every pair of descriptors once, in headcheck/_hamming.c where it was built
(both directions in one pass, where OpenCV's matcher needs two and makes a Python object per
match), else with OpenCV's batchDistance: the same matches, ties included
(tests/core/test_verify.py), so the same verdicts.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

import cv2
import numpy as np

from . import native
from .features import Features
from .regions import ZONE_CONTEXT, ZONE_FACE_CORE, ZONE_FACE_MARGIN

RATIO = 0.8
RANSAC_THRESHOLD = 0.06  # frame units (eye distances): ~2.4 px at 40 px per unit
MAX_SCALE_DRIFT = 0.25
MAX_ANGLE_DEG = 12.0
MAX_SHIFT = 0.6  # eye distances


@dataclass(frozen=True)
class Verification:
    inliers: int  # matched keypoints on body and backdrop that agree with one transform
    face_inliers: int  # the same, on the face core (eyes, nose, mouth)
    matches: int  # descriptor matches before the geometric check
    scale: float
    angle: float
    shift: float
    margin_inliers: int = 0  # hairline, ears and jaw: kept from the template by most pastes
    # The fitted map from the first photo's frame to the second's (2x3, frame units), for the
    # dense comparison; None when no transform was found.
    matrix: tuple[float, ...] | None = None

    def to_dict(self) -> dict:
        return {
            "inliers": self.inliers, "face_inliers": self.face_inliers,
            "margin_inliers": self.margin_inliers, "matches": self.matches,
            "scale": round(self.scale, 3), "angle": round(self.angle, 2),
            "shift": round(self.shift, 3),
        }


NONE = Verification(0, 0, 0, 1.0, 0.0, 0.0)


def verify(a: Features, b: Features, frame_bound: bool = True) -> Verification:
    """Geometric agreement of ``a`` and ``b``; ``frame_bound`` demands a near-identity map."""
    if len(a) < 4 or len(b) < 4:
        return NONE
    ia, ib = mutual_ratio_matches(a.desc, b.desc)
    if len(ia) < 4:
        return Verification(0, 0, len(ia), 1.0, 0.0, 0.0)
    src, dst = a.uv[ia], b.uv[ib]
    m, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                          ransacReprojThreshold=RANSAC_THRESHOLD,
                                          maxIters=2000, confidence=0.995)
    if m is None or mask is None:
        return Verification(0, 0, len(ia), 1.0, 0.0, 0.0)
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    angle = float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))
    shift = float(np.hypot(m[0, 2], m[1, 2]))
    if frame_bound and (abs(scale - 1) > MAX_SCALE_DRIFT or abs(angle) > MAX_ANGLE_DEG
                        or shift > MAX_SHIFT):
        return Verification(0, 0, len(ia), scale, angle, shift)
    ok = mask.ravel().astype(bool)
    zone = a.kp["face"][ia]
    return Verification(int((ok & (zone == ZONE_CONTEXT)).sum()),
                        int((ok & (zone == ZONE_FACE_CORE)).sum()), len(ia),
                        scale, angle, shift, int((ok & (zone == ZONE_FACE_MARGIN)).sum()),
                        tuple(float(x) for x in _affine(src[ok], dst[ok], m).ravel()))


# The dense comparison is aligned by a full affine map fitted to the inliers (least squares):
# profile sites sometimes resize to a fixed box and stretch a photo a few per cent, which a
# similarity cannot follow far from the eyes. It may differ from the similarity only this much
# (per entry of the 2x2 part); otherwise the similarity is kept.
MAX_AFFINE_DEPARTURE = 0.12


def _affine(src: np.ndarray, dst: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    if len(src) < 6:
        return similarity
    x = np.hstack([src, np.ones((len(src), 1), np.float32)])
    sol, *_ = np.linalg.lstsq(x, dst, rcond=None)
    full = sol.T
    if np.abs(full[:, :2] - similarity[:, :2]).max() > MAX_AFFINE_DEPARTURE:
        return similarity
    return full


def mutual_ratio_matches(da: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``da`` and ``db`` (ORB descriptors) that are each other's nearest neighbour, the
    nearest clearly nearer than the second nearest (RATIO), in row order of ``da``."""
    q = np.arange(len(da))
    if not len(da) or not len(db):
        return q[:0], q[:0]
    near_a, d1, d2, near_b = (_native if _native is not None else nearest_opencv)(da, db)
    keep = (near_b[near_a] == q) & ~(d1 > RATIO * d2)
    return q[keep], near_a[keep]


Nearest = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
NO_SECOND = np.iinfo(np.int32).max  # d2 where ``db`` has one row: no ratio test


def nearest_opencv(da: np.ndarray, db: np.ndarray) -> Nearest:
    """For each row of ``da``: its nearest row of ``db``, that distance and the second smallest;
    for each row of ``db``: its nearest row of ``da``. Ties keep the lowest index."""
    k = min(2, len(db))
    d, i = cv2.batchDistance(da, db, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=k)
    _, back = cv2.batchDistance(db, da, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=1)
    d2 = d[:, 1] if k == 2 else np.full(len(da), NO_SECOND, np.int32)
    return i[:, 0], d[:, 0], d2, back[:, 0]


class _NativeNearest:
    """``nearest_opencv``'s answers from headcheck/_hamming.c (hk_match32): one pass."""

    def __init__(self, fn: ctypes._CFuncPtr) -> None:  # type: ignore[name-defined]
        p, n = ctypes.c_void_p, ctypes.c_int
        fn.restype = None
        fn.argtypes = [p, n, p, n, p, p, p, p, p]
        self.fn = fn

    def __call__(self, da: np.ndarray, db: np.ndarray) -> Nearest:
        da, db = np.ascontiguousarray(da, np.uint8), np.ascontiguousarray(db, np.uint8)
        if da.shape[1:] != (32,) or db.shape[1:] != (32,):
            return nearest_opencv(da, db)
        na, nb = len(da), len(db)
        near_a, d1, d2 = (np.empty(na, np.int32) for _ in range(3))
        near_b, scratch = np.empty(nb, np.int32), np.empty(nb, np.int32)
        self.fn(da.ctypes.data, na, db.ctypes.data, nb, near_a.ctypes.data, d1.ctypes.data,
                d2.ctypes.data, near_b.ctypes.data, scratch.ctypes.data)
        return near_a, d1, d2, near_b


def _load_native() -> _NativeNearest | None:
    if os.environ.get("HEADCHECK_MATCHER", "").lower() == "opencv":
        return None
    fn = native.function("hk_match32")
    return None if fn is None else _NativeNearest(fn)


_native = _load_native()
