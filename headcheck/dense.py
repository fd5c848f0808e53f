"""Dense verification: do two photos share *pixels*, not just a style?

Sparse keypoints prove little on studio portraits: one backdrop, one framing and one dress code
give different people a dozen keypoints that agree. A template composite or a reused photo shares
the actual pixels, so after the keypoint transform lines the two frames up, their fine detail
(band-passed grey levels: fabric, hair strands, collar and lapel edges) correlates block by block.

Each photo keeps a small grey copy of its context window in frame units (``DensePatch``, a few
KB). Two patches are compared block by block on the band-pass image; a block counts only where
both photos have texture there, so plain backdrop pixels are never evidence. The figures that
decide are the number of agreeing textured blocks and their share, per zone (context: body and
backdrop with the face masked; core: eyes, nose, mouth).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from .regions import CONTEXT, ZONE_CONTEXT, ZONE_FACE_CORE, ZONE_FACE_MARGIN, Frame, cut, zones

PX_PER_UNIT = 16  # 16 px per eye distance: fine enough for fabric and hair, small to store
BLOCK = 8  # block side in pixels (half an eye distance)
# Band-pass (difference of Gaussians): removes lighting and backdrop gradients (low end) and
# JPEG/resampling noise (high end). Sigmas in patch pixels.
SIGMA_FINE, SIGMA_COARSE = 0.9, 3.0
# A block is textured when its band-pass spread exceeds this many grey levels in both photos ...
MIN_BLOCK_STD = 2.5
# ... and its detail is two-dimensional (the smaller over the larger eigenvalue of its structure
# tensor): a lone straight edge (a shoulder, a lapel, a collar) lines up between different people
# framed alike, so it proves a shared style, not shared pixels. Measured on 17,420 pairs of
# official portraits: edge-only blocks gave unrelated pairs up to 26 agreeing blocks.
MIN_BLOCK_2D = 0.2
# A textured block agrees when the two band-pass blocks correlate at least this much.
MIN_BLOCK_NCC = 0.7
_VERSION = 1


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


def dense_patch(rgb: np.ndarray, frame: Frame) -> DensePatch:
    c = cut(rgb, frame, "context", scale=PX_PER_UNIT, mask_face=False)
    gray = cv2.cvtColor(c.pixels, cv2.COLOR_RGB2GRAY)
    return DensePatch(gray, c.inside)


@dataclass(frozen=True)
class DenseScore:
    """Textured blocks compared and those that agree, per zone."""

    context_blocks: int = 0
    context_agree: int = 0
    core_blocks: int = 0
    core_agree: int = 0
    margin_blocks: int = 0
    margin_agree: int = 0

    @property
    def context_share(self) -> float:
        return self.context_agree / self.context_blocks if self.context_blocks else 0.0

    @property
    def core_share(self) -> float:
        return self.core_agree / self.core_blocks if self.core_blocks else 0.0

    @property
    def margin_share(self) -> float:
        return self.margin_agree / self.margin_blocks if self.margin_blocks else 0.0

    def to_dict(self) -> dict:
        return {"context_blocks": self.context_blocks, "context_agree": self.context_agree,
                "core_blocks": self.core_blocks, "core_agree": self.core_agree,
                "margin_blocks": self.margin_blocks, "margin_agree": self.margin_agree}


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


def _block_zones(h: int, w: int) -> np.ndarray:
    """Zone of each block's centre (context, face core or face margin)."""
    key = (h, w)
    if key not in _ZONES:
        z = zones(CONTEXT, w, h, PX_PER_UNIT)
        ys = np.arange(h // BLOCK) * BLOCK + BLOCK // 2
        xs = np.arange(w // BLOCK) * BLOCK + BLOCK // 2
        _ZONES[key] = z[np.ix_(ys, xs)]
    return _ZONES[key]


def _blocks(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """(rows, cols, BLOCK*BLOCK) view of the full blocks of ``x``."""
    hb, wb = h // BLOCK, w // BLOCK
    return (x[:hb * BLOCK, :wb * BLOCK].reshape(hb, BLOCK, wb, BLOCK)
            .transpose(0, 2, 1, 3).reshape(hb, wb, BLOCK * BLOCK))


# Alignment refinement: profile sites stretch, crop and re-frame, and eye positions jitter, so the
# keypoint similarity leaves pixels a few px off far from the eyes. ECC (an affine fit that
# maximises correlation, blind to brightness and contrast) closes that gap; it may move the
# keypoint map only a little, so it cannot "find" agreement between unrelated photos.
_ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 1e-4)
MAX_REFINE_LINEAR = 0.15  # largest change of any entry of the 2x2 part
MAX_REFINE_SHIFT = 0.4 * PX_PER_UNIT  # largest change of the translation, in patch pixels


def refine(a: DensePatch, b: DensePatch, px: np.ndarray) -> np.ndarray:
    """The pixel map from ``a``'s grid to ``b``'s, refined by ECC when that stays close."""
    warp = px.astype(np.float32)
    try:
        _, out = cv2.findTransformECC(
            cv2.GaussianBlur(a.gray.astype(np.float32), (0, 0), 1.0),
            cv2.GaussianBlur(b.gray.astype(np.float32), (0, 0), 1.0), warp.copy(),
            cv2.MOTION_AFFINE, _ECC_CRITERIA, a.inside.astype(np.uint8), 1)
    except cv2.error:
        return px  # no convergence (flat or unrelated pixels): keep the keypoint map
    if (np.abs(out[:, :2] - warp[:, :2]).max() > MAX_REFINE_LINEAR
            or np.abs(out[:, 2] - warp[:, 2]).max() > MAX_REFINE_SHIFT):
        return px
    return out.astype(np.float64)


def _two_dimensional(band: np.ndarray, h: int, w: int) -> np.ndarray:
    """Per block: the smaller over the larger eigenvalue of the structure tensor (0 for a
    straight edge, 1 for isotropic texture)."""
    gx = cv2.Sobel(band, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(band, cv2.CV_32F, 0, 1)
    jxx, jyy = _blocks(gx * gx, h, w).mean(axis=2), _blocks(gy * gy, h, w).mean(axis=2)
    jxy = _blocks(gx * gy, h, w).mean(axis=2)
    half_tr = (jxx + jyy) / 2
    disc = np.sqrt(np.maximum(half_tr ** 2 - (jxx * jyy - jxy ** 2), 0))
    return (half_tr - disc) / np.maximum(half_tr + disc, 1e-6)


def compare(a: DensePatch, b: DensePatch, a_to_b: np.ndarray | None = None,
            has_face: bool = True) -> DenseScore:
    """Blockwise agreement of the band-passed patches, with ``b`` warped onto ``a``'s grid by
    the frame-unit map ``a_to_b`` (2x3; identity when None: the eye frames already align)."""
    if a.gray.shape != b.gray.shape:
        return NO_SCORE
    h, w = a.gray.shape
    m = np.array([[1, 0, 0], [0, 1, 0]], np.float64) if a_to_b is None else a_to_b
    px = refine(a, b, _to_pixels(np.asarray(m, np.float64)))
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    bg = cv2.warpAffine(b.gray, px, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    bin_ = cv2.warpAffine(b.inside.astype(np.uint8), px, (w, h),
                          flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    # Away from image borders on either side: padding and crop edges are not shared content.
    both = cv2.erode((a.inside & bin_).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    fa, fb = _bandpass(a.gray), _bandpass(bg)
    ba, bb, bm = _blocks(fa, h, w), _blocks(fb, h, w), _blocks(both, h, w)
    full = bm.all(axis=2)
    ba = ba - ba.mean(axis=2, keepdims=True)
    bb = bb - bb.mean(axis=2, keepdims=True)
    sa, sb = ba.std(axis=2), bb.std(axis=2)
    flat2d = np.minimum(_two_dimensional(fa, h, w), _two_dimensional(fb, h, w))
    textured = full & (sa >= MIN_BLOCK_STD) & (sb >= MIN_BLOCK_STD) & (flat2d >= MIN_BLOCK_2D)
    ncc = (ba * bb).mean(axis=2) / np.maximum(sa * sb, 1e-6)
    agree = textured & (ncc >= MIN_BLOCK_NCC)
    z = _block_zones(h, w) if has_face else np.zeros(agree.shape, np.uint8)
    counts = {}
    for name, code in (("context", ZONE_CONTEXT), ("core", ZONE_FACE_CORE),
                       ("margin", ZONE_FACE_MARGIN)):
        counts[f"{name}_blocks"] = int((textured & (z == code)).sum())
        counts[f"{name}_agree"] = int((agree & (z == code)).sum())
    return DenseScore(**counts)
