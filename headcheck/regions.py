"""The face frame and the regions cut in it.

The frame is set by the eyes: origin at their midpoint, unit the eye distance, x along the eye
line. Cutting regions in this frame (not in image pixels) makes their hashes survive the crops,
pads and resizes that profile sites apply, and lines up a template's body and backdrop under any
face pasted onto it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .face import Face
from .hashkinds import REGION_KINDS, Window

PX_PER_UNIT = 40  # resolution of the warped regions: 40 px per eye distance


# The regions' windows are rows of the hash-kind table.
REGION_WINDOWS = {k.name: k.window for k in REGION_KINDS}
FACE, CONTEXT = REGION_WINDOWS["face"], REGION_WINDOWS["context"]
# Grown beyond the skin (about 0.2 eye distances), so a pasted face and its blend seam stay out.
FACE_ELLIPSE = ((0.0, 0.35), (1.35, 2.0))  # centre (u, v), semi-axes (u, v)
# Eyes, nose and mouth: replaced by any face swap, whatever its blend mask. Between this and
# FACE_ELLIPSE lie hairline, ears and jaw, which a paste may or may not replace.
FACE_CORE_ELLIPSE = ((0.0, 0.45), (0.85, 1.1))

# Keypoint zones in the context window.
ZONE_CONTEXT, ZONE_FACE_CORE, ZONE_FACE_MARGIN = 0, 1, 2
HEAD_ELLIPSE = ((0.0, 0.1), (1.8, 2.6))  # face plus hair: what the background excludes


@dataclass(frozen=True)
class Frame:
    """Affine map from frame units to image pixels."""

    origin: tuple[float, float]
    unit: float
    angle: float  # radians, of the eye line

    @classmethod
    def from_face(cls, face: Face) -> Frame:
        (lx, ly), (rx, ry) = face.eyes
        return cls(((lx + rx) / 2, (ly + ry) / 2), face.eye_distance,
                   float(np.arctan2(ry - ly, rx - lx)))

    @classmethod
    def whole_image(cls, width: int, height: int) -> Frame:
        """A frame for photos with no face: the context window spans the image."""
        unit = max(width / (CONTEXT.u1 - CONTEXT.u0), height / (CONTEXT.v1 - CONTEXT.v0))
        cx = width / 2
        cy = height / 2 - unit * (CONTEXT.v0 + CONTEXT.v1) / 2
        return cls((cx, cy), unit, 0.0)

    def matrix(self, win: Window, scale: float) -> np.ndarray:
        """2x3 matrix taking output pixels of ``win`` (``scale`` px per unit) to image pixels."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        k = self.unit / scale
        ox, oy = self.origin
        # output (i, j) -> frame (u0 + i/scale, v0 + j/scale) -> image
        u0, v0 = win.u0, win.v0
        return np.array([
            [c * k, -s * k, ox + self.unit * (c * u0 - s * v0)],
            [s * k, c * k, oy + self.unit * (s * u0 + c * v0)],
        ])


@dataclass
class Cut:
    """A region warped out of the image, with what lies inside the image and what is masked."""

    pixels: np.ndarray  # H x W x 3 uint8
    inside: np.ndarray  # H x W bool: the pixel comes from inside the image
    mask: np.ndarray  # H x W bool: pixels that belong to the region (not masked out)

    @property
    def inside_fraction(self) -> float:
        m = self.mask
        return float(self.inside[m].mean()) if m.any() else 0.0


def cut(rgb: np.ndarray, frame: Frame, name: str, scale: float = PX_PER_UNIT,
        mask_face: bool = True) -> Cut:
    win = REGION_WINDOWS[name]
    w = max(8, round((win.u1 - win.u0) * scale))
    h = max(8, round((win.v1 - win.v0) * scale))
    m = frame.matrix(win, scale)
    flags = cv2.INTER_AREA if frame.unit / scale > 1.5 else cv2.INTER_LINEAR
    pixels = cv2.warpAffine(rgb, m, (w, h), flags=flags | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    ones = np.full(rgb.shape[:2], 255, np.uint8)
    inside = cv2.warpAffine(ones, m, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return Cut(pixels, inside, region_mask(name, win, w, h, scale, mask_face))


def region_mask(name: str, win: Window, w: int, h: int, scale: float,
                mask_face: bool = True) -> np.ndarray:
    u = win.u0 + (np.arange(w) + 0.5) / scale
    v = win.v0 + (np.arange(h) + 0.5) / scale
    uu, vv = np.meshgrid(u, v)
    if name == "context" and mask_face:
        return ~_in_ellipse(uu, vv, FACE_ELLIPSE)
    if name == "background":
        neck = (np.abs(uu) < 1.3) & (vv > 1.2)
        return ~(_in_ellipse(uu, vv, HEAD_ELLIPSE) | neck)
    return np.ones((h, w), bool)


def zones(win: Window, w: int, h: int, scale: float) -> np.ndarray:
    """Per pixel: context (body and backdrop), face core, or the margin between them."""
    u = win.u0 + (np.arange(w) + 0.5) / scale
    v = win.v0 + (np.arange(h) + 0.5) / scale
    uu, vv = np.meshgrid(u, v)
    out = np.full((h, w), ZONE_CONTEXT, np.uint8)
    out[_in_ellipse(uu, vv, FACE_ELLIPSE)] = ZONE_FACE_MARGIN
    out[_in_ellipse(uu, vv, FACE_CORE_ELLIPSE)] = ZONE_FACE_CORE
    return out


def _in_ellipse(uu: np.ndarray, vv: np.ndarray, ell: tuple) -> np.ndarray:
    (cu, cv), (au, av) = ell
    return ((uu - cu) / au) ** 2 + ((vv - cv) / av) ** 2 <= 1.0
