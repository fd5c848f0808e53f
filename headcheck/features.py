"""Local features of the context window, for verifying hash candidates on the pixels.

ORB keypoints (no model file needed) are found on the whole context window at 40 px per eye
distance and stored with their position in frame units and whether they fall on the face. Two
photos that share a template share these keypoints at the same frame positions; unrelated
photos do not. The blob is compact (37 bytes a keypoint) so verification needs no image file.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .regions import CONTEXT, PX_PER_UNIT, ZONE_CONTEXT, Frame, cut, zones

MAX_KEYPOINTS = 300
# "face" holds the keypoint's zone: 0 context, 1 face core, 2 face margin (see regions.zones).
DTYPE = np.dtype([("u", "<f2"), ("v", "<f2"), ("face", "u1"), ("desc", "u1", (32,))])
_orb: cv2.ORB | None = None


def _detector() -> cv2.ORB:
    global _orb
    if _orb is None:
        # fastThreshold low: profile photos are small and soft, corners are faint.
        _orb = cv2.ORB_create(nfeatures=MAX_KEYPOINTS, scaleFactor=1.3, nlevels=4,
                              edgeThreshold=15, patchSize=15, fastThreshold=10)
    return _orb


@dataclass
class Features:
    kp: np.ndarray  # structured array of DTYPE

    def __len__(self) -> int:
        return len(self.kp)

    def to_bytes(self) -> bytes:
        return self.kp.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes | None) -> Features:
        return cls(np.frombuffer(data or b"", dtype=DTYPE))

    @property
    def off_face(self) -> int:
        """Keypoints on the body and backdrop: what a shared context can be verified with."""
        return int((self.kp["face"] == ZONE_CONTEXT).sum())

    @property
    def uv(self) -> np.ndarray:
        return np.stack([self.kp["u"], self.kp["v"]], axis=1).astype(np.float32)

    @property
    def desc(self) -> np.ndarray:
        return np.ascontiguousarray(self.kp["desc"])


def context_features(rgb: np.ndarray, frame: Frame, mirror: bool = False,
                     has_face: bool = True) -> Features:
    """ORB keypoints of the context window (optionally of its mirror image) in frame units."""
    c = cut(rgb, frame, "context", scale=PX_PER_UNIT, mask_face=False)
    gray = cv2.cvtColor(c.pixels, cv2.COLOR_RGB2GRAY)
    inside = c.inside
    if mirror:
        gray = np.ascontiguousarray(gray[:, ::-1])
        inside = np.ascontiguousarray(inside[:, ::-1])
    # Keep away from the image border: padding and crops put false corners there.
    valid = cv2.erode(inside.astype(np.uint8) * 255, np.ones((9, 9), np.uint8))
    kps, desc = _detector().detectAndCompute(gray, valid)
    if desc is None or not kps:
        return Features(np.zeros(0, DTYPE))
    h, w = gray.shape
    zone = zones(CONTEXT, w, h, PX_PER_UNIT) if has_face else np.zeros((h, w), np.uint8)
    out = np.zeros(len(kps), DTYPE)
    xy = np.array([k.pt for k in kps], np.float32)
    out["u"] = CONTEXT.u0 + xy[:, 0] / PX_PER_UNIT
    out["v"] = CONTEXT.v0 + xy[:, 1] / PX_PER_UNIT
    xi = np.clip(xy[:, 0].astype(int), 0, w - 1)
    yi = np.clip(xy[:, 1].astype(int), 0, h - 1)
    out["face"] = zone[yi, xi]
    out["desc"] = desc
    return Features(out)
