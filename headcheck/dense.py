"""Dense verification: do two photos share *pixels*, not just a style?

Sparse keypoints prove little on studio portraits: one backdrop, one framing and one dress code
give different people a dozen keypoints that agree. A template composite or a reused photo shares
the actual pixels, so after the keypoint transform lines the two frames up, their fine detail
(band-passed grey levels: fabric, hair strands, collar and lapel edges) correlates.

Each photo keeps a small grey copy of its context window in frame units (``DensePatch``, a few
KB). Two patches are compared on the band-pass image, zone by zone (context: body and backdrop
with the face masked; core: eyes, nose, mouth; margin: hairline, ears, jaw): the correlation over
the pixels both show, and the textured area it rests on, so plain backdrop pixels are never
evidence.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from .regions import CONTEXT, ZONE_CONTEXT, ZONE_FACE_CORE, ZONE_FACE_MARGIN, Frame, cut, zones

PX_PER_UNIT = 16  # 16 px per eye distance: fine enough for fabric and hair, small to store
# Band-pass (difference of Gaussians): removes lighting and backdrop gradients (low end) and
# JPEG/resampling noise (high end). Sigmas in patch pixels.
SIGMA_FINE, SIGMA_COARSE = 0.9, 3.0
# Pixels this close to either photo's image border are left out: a crop or pad edge is a strong
# band-pass response that the other photo does not have.
BORDER_PX = 11
# A pixel carries texture when its band-pass magnitude exceeds this (grey levels) in both photos;
# zones with too little such area say nothing (plain backdrops never count as evidence).
TEXTURE_LEVEL = 3.0
_VERSION = 3  # 3: cut at 4x, area-reduced


@dataclass(frozen=True)
class DensePatch:
    """The context window as grey levels at ``PX_PER_UNIT``, and which pixels are in the image."""

    gray: np.ndarray  # H x W uint8
    inside: np.ndarray  # H x W bool

    def to_bytes(self) -> bytes:
        h, w = self.gray.shape
        head = bytes([_VERSION]) + h.to_bytes(2, "big") + w.to_bytes(2, "big")
        body = self.gray.tobytes() + np.packbits(self.inside).tobytes()
        return head + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes | None) -> DensePatch | None:
        if not data or data[0] != _VERSION:
            return None  # absent, or written by another version: no dense claim possible
        h, w = int.from_bytes(data[1:3], "big"), int.from_bytes(data[3:5], "big")
        body = zlib.decompress(data[5:])
        gray = np.frombuffer(body[:h * w], np.uint8).reshape(h, w)
        inside = np.unpackbits(np.frombuffer(body[h * w:], np.uint8))[:h * w].reshape(h, w)
        return cls(gray, inside.astype(bool))

    def mirrored(self) -> DensePatch:
        # The context window is symmetric in u, so the mirror image's patch is this one flipped.
        return DensePatch(np.ascontiguousarray(self.gray[:, ::-1]),
                          np.ascontiguousarray(self.inside[:, ::-1]))


OVERSAMPLE = 4  # the window is cut at 4x and area-reduced: see dense_patch


def dense_patch(rgb: np.ndarray, frame: Frame) -> DensePatch:
    """The grey context window at ``PX_PER_UNIT``, free of resampling artefacts: the image is
    area-reduced to 4x the target scale, the window cut there and area-reduced again. Warping
    straight to the target aliases, and bilinear sampling at ~1:1 blurs by sub-pixel phase; both
    differ between a photo and its mirrored or resized copy and would swamp the fine detail."""
    fine = PX_PER_UNIT * OVERSAMPLE
    k = fine / frame.unit
    if k < 1:
        # at least 1 px each way: a faceless strip (3 x 900) frames a window far larger than it
        size = (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        kx, ky = small.shape[1] / rgb.shape[1], small.shape[0] / rgb.shape[0]
        (ox, oy) = frame.origin
        frame = Frame(((ox + 0.5) * kx - 0.5, (oy + 0.5) * ky - 0.5), frame.unit * kx,
                      frame.angle)
        rgb = small
    c = cut(rgb, frame, "context", scale=fine, mask_face=False)
    w = round((CONTEXT.u1 - CONTEXT.u0) * PX_PER_UNIT)
    h = round((CONTEXT.v1 - CONTEXT.v0) * PX_PER_UNIT)
    gray = cv2.resize(cv2.cvtColor(c.pixels, cv2.COLOR_RGB2GRAY), (w, h),
                      interpolation=cv2.INTER_AREA)
    inside = cv2.resize(c.inside.astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) > 0
    return DensePatch(gray, inside)


@dataclass(frozen=True)
class DenseScore:
    """Per zone: correlation of the two band-passed photos over the pixels both show, and the
    textured area (pixels) it rests on. Zones: context (body and backdrop, face masked), core
    (eyes, nose, mouth), margin (hairline, ears, jaw)."""

    context_corr: float = 0.0
    context_area: int = 0
    core_corr: float = 0.0
    core_area: int = 0
    margin_corr: float = 0.0
    margin_area: int = 0

    def to_dict(self) -> dict:
        return {"context_corr": round(self.context_corr, 3), "context_area": self.context_area,
                "core_corr": round(self.core_corr, 3), "core_area": self.core_area,
                "margin_corr": round(self.margin_corr, 3), "margin_area": self.margin_area}

    @classmethod
    def from_dict(cls, d: dict) -> DenseScore:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


NO_SCORE = DenseScore()


def _bandpass(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    return (cv2.GaussianBlur(g, (0, 0), SIGMA_FINE) - cv2.GaussianBlur(g, (0, 0), SIGMA_COARSE))


def _to_pixels(m: np.ndarray) -> np.ndarray:
    """A frame-unit affine map (A -> B) as a patch-pixel map, for warping B onto A's grid."""
    s, u0, v0 = PX_PER_UNIT, CONTEXT.u0, CONTEXT.v0
    # pixel p -> unit: (p + 0.5) / s + origin; and back.
    to_unit = np.array([[1 / s, 0, u0 + 0.5 / s], [0, 1 / s, v0 + 0.5 / s], [0, 0, 1]])
    to_px = np.array([[s, 0, -u0 * s - 0.5], [0, s, -v0 * s - 0.5], [0, 0, 1]])
    full = np.vstack([m, [0, 0, 1]])
    return (to_px @ full @ to_unit)[:2]


_ZONES: dict[tuple[int, int], np.ndarray] = {}


def _zones(h: int, w: int) -> np.ndarray:
    if (h, w) not in _ZONES:
        _ZONES[(h, w)] = zones(CONTEXT, w, h, PX_PER_UNIT)
    return _ZONES[(h, w)]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / den if den > 1e-6 else 0.0


def compare(a: DensePatch, b: DensePatch, a_to_b: np.ndarray | None = None,
            has_face: bool = True) -> DenseScore:
    """Zone by zone, how well ``b``'s fine detail, warped onto ``a``'s grid by the frame-unit map
    ``a_to_b`` (2x3; identity when None: the eye frames already align), matches ``a``'s.

    The map is the keypoint similarity and nothing more: a refinement that maximised agreement
    (ECC was tried) lines up the silhouettes of different people in look-alike portraits."""
    if a.gray.shape != b.gray.shape:
        return NO_SCORE
    h, w = a.gray.shape
    m = np.array([[1, 0, 0], [0, 1, 0]], np.float64) if a_to_b is None else a_to_b
    px = _to_pixels(np.asarray(m, np.float64))
    bg = cv2.warpAffine(b.gray, px, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                        borderMode=cv2.BORDER_REPLICATE)
    b_in = cv2.warpAffine(b.inside.astype(np.uint8), px, (w, h),
                          flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    kernel = np.ones((BORDER_PX, BORDER_PX), np.uint8)
    both = cv2.erode((a.inside & (b_in > 0)).astype(np.uint8), kernel) > 0
    fa, fb = _bandpass(a.gray), _bandpass(bg)
    textured = (np.abs(fa) > TEXTURE_LEVEL) & (np.abs(fb) > TEXTURE_LEVEL)
    z = _zones(h, w) if has_face else np.zeros((h, w), np.uint8)
    out: dict[str, float | int] = {}
    for name, code in (("context", ZONE_CONTEXT), ("core", ZONE_FACE_CORE),
                       ("margin", ZONE_FACE_MARGIN)):
        sel = both & (z == code)
        out[f"{name}_corr"] = _corr(fa[sel], fb[sel]) if sel.sum() >= 50 else 0.0
        out[f"{name}_area"] = int((textured & sel).sum())
    return DenseScore(**out)  # type: ignore[arg-type]
