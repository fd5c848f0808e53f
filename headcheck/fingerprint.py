"""Perceptual hashes: whole image (pHash, PDQ) and per region in the face frame, with quality.

A hash says nothing without its quality: a plain backdrop hashes close to every other plain
backdrop. Each region hash carries ``quality`` (texture: spread of its low-frequency DCT terms)
and ``inside`` (the share of its window that lies inside the image). Low figures are stored but
never used as evidence (see ``usable``; the floors are rows of ``hashkinds.KINDS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image

from .hashkinds import KIND, REGION_KINDS
from .regions import Frame, cut

HASH_PX_PER_UNIT = 10  # regions are reduced to 32x32 by pHash anyway
PDQ_SIDE = 512  # PDQ downsamples internally; hashing a bounded copy keeps its cost flat


@dataclass(frozen=True)
class RegionHash:
    region: str
    hash: str  # 16 hex digits, 64-bit pHash
    mirror: str  # the hash of the left-right mirrored window
    quality: float
    inside: float

    @property
    def usable(self) -> bool:
        kind = KIND[self.region]  # floors chosen from bench/evaluate.py figures
        return self.quality >= kind.min_quality and self.inside >= kind.min_inside


def phash_hex(gray: np.ndarray) -> str:
    return str(imagehash.phash(Image.fromarray(gray)))


def texture_quality(gray: np.ndarray, valid: np.ndarray) -> float:
    """Mean gradient (grey levels a pixel, at 10 px per eye distance) over the region's own
    pixels, away from mask and image borders: flat or smoothly graded backdrops score near 0."""
    gy, gx = np.gradient(gray)
    core = cv2.erode(valid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if core.sum() < 16:
        return 0.0
    return float(np.hypot(gx, gy)[core].mean())


def region_hash(rgb: np.ndarray, frame: Frame, region: str) -> RegionHash:
    c = cut(rgb, frame, region, scale=HASH_PX_PER_UNIT)
    gray = np.asarray(Image.fromarray(c.pixels).convert("L"), dtype=np.float64)
    valid = c.inside & c.mask
    fill = gray[valid].mean() if valid.any() else 128.0
    gray[~valid] = fill  # masked and outside pixels carry no information: flatten them
    g8 = gray.round().astype(np.uint8)
    return RegionHash(region, phash_hex(g8), phash_hex(np.ascontiguousarray(g8[:, ::-1])),
                      round(texture_quality(gray, valid), 2), round(c.inside_fraction, 3))


def region_hashes(rgb: np.ndarray, frame: Frame | None) -> dict[str, RegionHash]:
    """All region hashes; none without a face frame (regions are defined by the face)."""
    if frame is None:
        return {}
    return {k.name: region_hash(rgb, frame, k.name) for k in REGION_KINDS}


@dataclass(frozen=True)
class ImageHashes:
    phash: str
    phash_mirror: str
    pdq: str
    pdq_mirror: str
    pdq_quality: int


PDQ_MIRROR = 5  # position of the left-right mirror among pdqhash's eight dihedral hashes


def image_hashes(img: Image.Image) -> ImageHashes:
    small = img.copy()
    small.thumbnail((PDQ_SIDE, PDQ_SIDE), Image.Resampling.BILINEAR)
    # All eight dihedral PDQ hashes come from one DCT, so the mirror costs almost nothing.
    hashes, qualities = pdqhash.compute_dihedral(np.asarray(small))
    # pHash works on 32x32 grey; reducing first avoids a slow full-size Lanczos pass.
    g32 = small.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
    g32m = g32.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return ImageHashes(str(imagehash.phash(g32)), str(imagehash.phash(g32m)),
                       bits_to_hex(hashes[0]), bits_to_hex(hashes[PDQ_MIRROR]),
                       int(qualities))


def bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hamming_hex(a: str, b: str) -> int:
    return int.from_bytes(bytes(x ^ y for x, y in zip(bytes.fromhex(a), bytes.fromhex(b),
                                                      strict=True)), "big").bit_count()
