"""Perceptual hashes: whole image (pHash, PDQ) and per region in the face frame, with quality.

A hash says nothing without its quality: a plain backdrop hashes close to every other plain
backdrop. Each region hash carries ``quality`` (texture: spread of its low-frequency DCT terms)
and ``inside`` (the share of its window that lies inside the image). Low figures are stored but
never used as evidence (see ``usable``).
"""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
import numpy as np
import pdqhash
from PIL import Image
from scipy.fft import dctn

from .regions import Frame, cut

HASH_PX_PER_UNIT = 10  # regions are reduced to 32x32 by pHash anyway
PDQ_SIDE = 512  # PDQ downsamples internally; hashing a bounded copy keeps its cost flat
REGIONS = ("face", "context", "body", "background")
# Thresholds for a region hash to count as evidence; chosen from bench/evaluate.py figures.
MIN_QUALITY = {"face": 0.0, "context": 8.0, "body": 8.0, "background": 10.0}
MIN_INSIDE = {"face": 0.7, "context": 0.6, "body": 0.5, "background": 0.5}
PDQ_MIN_QUALITY = 50  # ThreatExchange's own floor for PDQ


@dataclass(frozen=True)
class RegionHash:
    region: str
    hash: str  # 16 hex digits, 64-bit pHash
    mirror: str  # the hash of the left-right mirrored window
    quality: float
    inside: float

    @property
    def usable(self) -> bool:
        return self.quality >= MIN_QUALITY[self.region] and self.inside >= MIN_INSIDE[self.region]


def phash_hex(gray: np.ndarray) -> str:
    return str(imagehash.phash(Image.fromarray(gray)))


def texture_quality(gray: np.ndarray) -> float:
    """Spread of the low-frequency DCT terms (without DC) on a 32x32 copy, in grey levels."""
    small = np.asarray(Image.fromarray(gray).resize((32, 32), Image.Resampling.LANCZOS),
                       dtype=np.float64)
    low = dctn(small, norm="ortho")[:8, :8].ravel()[1:]
    return float(np.std(low))


def region_hash(rgb: np.ndarray, frame: Frame, region: str) -> RegionHash:
    c = cut(rgb, frame, region, scale=HASH_PX_PER_UNIT)
    gray = np.asarray(Image.fromarray(c.pixels).convert("L"), dtype=np.float64)
    valid = c.inside & c.mask
    fill = gray[valid].mean() if valid.any() else 128.0
    gray[~valid] = fill  # masked and outside pixels carry no information: flatten them
    g8 = gray.round().astype(np.uint8)
    return RegionHash(region, phash_hex(g8), phash_hex(np.ascontiguousarray(g8[:, ::-1])),
                      round(texture_quality(g8), 2), round(c.inside_fraction, 3))


def region_hashes(rgb: np.ndarray, frame: Frame | None) -> dict[str, RegionHash]:
    """All region hashes; none without a face frame (regions are defined by the face)."""
    if frame is None:
        return {}
    return {r: region_hash(rgb, frame, r) for r in REGIONS}


@dataclass(frozen=True)
class ImageHashes:
    phash: str
    phash_mirror: str
    pdq: str
    pdq_mirror: str
    pdq_quality: int


def image_hashes(img: Image.Image) -> ImageHashes:
    small = img.copy()
    small.thumbnail((PDQ_SIDE, PDQ_SIDE), Image.Resampling.BILINEAR)
    arr = np.asarray(small)
    bits, quality = pdqhash.compute(arr)
    mbits, _ = pdqhash.compute(np.ascontiguousarray(arr[:, ::-1]))
    mirrored = small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return ImageHashes(str(imagehash.phash(small)), str(imagehash.phash(mirrored)),
                       bits_to_hex(bits), bits_to_hex(mbits), int(quality))


def bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hamming_hex(a: str, b: str) -> int:
    return int.from_bytes(bytes(x ^ y for x, y in zip(bytes.fromhex(a), bytes.fromhex(b),
                                                      strict=True)), "big").bit_count()
