"""Pixel-level verification of a hash candidate: do two photos share the same pixels?

Descriptors are matched (mutual nearest neighbours under a ratio test), then a similarity
transform is fitted with RANSAC. Both feature sets live in face-frame units, so a true match is
close to the identity (the frame drift measured between a composite and its template is a few per
cent of scale and about 0.1 eye distances); a transform far from it is a coincidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

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
_matcher = cv2.BFMatcher(cv2.NORM_HAMMING)


def verify(a: Features, b: Features, frame_bound: bool = True) -> Verification:
    """Geometric agreement of ``a`` and ``b``; ``frame_bound`` demands a near-identity map."""
    if len(a) < 4 or len(b) < 4:
        return NONE
    pairs = _mutual_ratio_matches(a.desc, b.desc)
    if len(pairs) < 4:
        return Verification(0, 0, len(pairs), 1.0, 0.0, 0.0)
    ia, ib = np.array(pairs).T
    src, dst = a.uv[ia], b.uv[ib]
    m, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                          ransacReprojThreshold=RANSAC_THRESHOLD,
                                          maxIters=2000, confidence=0.995)
    if m is None or mask is None:
        return Verification(0, 0, len(pairs), 1.0, 0.0, 0.0)
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    angle = float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))
    shift = float(np.hypot(m[0, 2], m[1, 2]))
    if frame_bound and (abs(scale - 1) > MAX_SCALE_DRIFT or abs(angle) > MAX_ANGLE_DEG
                        or shift > MAX_SHIFT):
        return Verification(0, 0, len(pairs), scale, angle, shift)
    ok = mask.ravel().astype(bool)
    zone = a.kp["face"][ia]
    return Verification(int((ok & (zone == ZONE_CONTEXT)).sum()),
                        int((ok & (zone == ZONE_FACE_CORE)).sum()), len(pairs),
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


def _mutual_ratio_matches(da: np.ndarray, db: np.ndarray) -> list[tuple[int, int]]:
    fwd = _matcher.knnMatch(da, db, k=2)
    back = {m[0].queryIdx: m[0].trainIdx for m in _matcher.knnMatch(db, da, k=1) if m}
    out = []
    for m in fwd:
        if not m:
            continue
        best = m[0]
        if len(m) == 2 and best.distance > RATIO * m[1].distance:
            continue
        if back.get(best.trainIdx) == best.queryIdx:
            out.append((best.queryIdx, best.trainIdx))
    return out
