"""Invisible watermarks that image generators' own code embeds: a match is a declaration by the
generator, like metadata, but one that survives the stripping of metadata.

The marks read here (``MARKS``) are the fixed messages that the reference code of Stable
Diffusion 1 and 2, SDXL (Stability's and diffusers' pipelines) and FLUX.1 embed with the
``dwtDct`` method (``dwt_dct``), and InvokeAI's watermark node's default. (SD 1.5's inpainting
scripts' 224-bit "StableDiffusionV1-Inpainting" was measured and left out: the first look reads
too few votes of so long a message, docs/benchmarks.md.)

A natural image reads as bits that agree with a message about half the time; the photo is
flagged only where the bits read agree with a mark so closely that chance would do so less than
once in ten million tries (``max_errors``). Measured on every real
photo we have and on the marked copies the reference encoder makes (``bench/watermark_eval.py``,
docs/benchmarks.md): no real photo flagged, the closest at a chance of 7e-4. What it cannot see:
a resized or cropped copy (the block grid moves), most JPEGs with halved colour resolution (what
sites serve), a generator that does not mark, an operator who switched the mark off, and the
one image in five to ten on which the package's encoder leaves no readable mark; no mark is
never evidence of a real photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from io import BytesIO

import numpy as np
from PIL import Image

from ..signals import SYNTHETIC, Signal
from . import dwt_dct
from .base import DetectorInput

CHANCE = 1e-7  # the largest chance of a natural image's bits agreeing this well with one mark
SCORE = 0.9  # as strong as a declared AI composite: an AI-edited real photo carries it too

SDXL_BITS = "101100111110110010010000011110111011000110011110"  # 0xB3EC907BB19E
FLUX_BITS = "001010101111111010000111100111001111010100101110"
ORIENTATION = 0x0112  # EXIF
# SDXL writes about 1 MP, FLUX.1 up to 2 MP: a larger JPEG, which the loader decodes reduced to
# save time (a phone photo), is not decoded again in full for a mark it cannot carry.
REDECODE_MAX_PIXELS = 2048 * 2048
PRE_STRIDE = 4  # the first look reads every 4th row of blocks
PRE_CHANCE = 1e-2  # ... and the whole image is read where a mark is this close there


@dataclass(frozen=True)
class Mark:
    """One generator's mark: its message and how its code handed the pixels to the encoder
    (channel ``order``; ``depth`` "uint8" for 8-bit arrays, "float" for float arrays, whose
    OpenCV chroma offset is 0.5 instead of 128)."""

    source: str  # what embeds it, for people
    message: str | bytes
    order: str
    depth: str
    where: str  # the code that embeds it, for tools

    @property
    def bits(self) -> np.ndarray:
        return dwt_dct.bits_of(self.message)


MARKS: tuple[Mark, ...] = (
    Mark("Stable Diffusion 1", b"StableDiffusionV1", "bgr", "uint8",
         "CompVis/stable-diffusion scripts/txt2img.py"),
    Mark("Stable Diffusion 2", b"SDV2", "bgr", "uint8",
         "Stability-AI/stablediffusion scripts/txt2img.py"),
    Mark("Stable Diffusion XL", SDXL_BITS, "rgb", "float",
         "diffusers StableDiffusionXLWatermarker (SDXL pipelines)"),
    Mark("Stable Diffusion XL", SDXL_BITS, "bgr", "float",
         "Stability-AI/generative-models sgm/inference/helpers.py"),
    Mark("FLUX.1", FLUX_BITS, "bgr", "float", "black-forest-labs/flux src/flux/util.py"),
    # InvokeAI's "Add Invisible Watermark" node, with its default text
    Mark("InvokeAI", b"InvokeAI", "bgr", "uint8",
         "invoke-ai/InvokeAI backend/image_util/invisible_watermark.py"),
)


@cache
def max_errors(length: int, chance: float = CHANCE) -> int:
    """The most bit errors an L-bit match may have: the largest k with P(Binomial(L, 1/2) <= k)
    <= ``chance``, what a natural image's unrelated bits reach by luck."""
    total, k = 0, -1
    while k + 1 <= length:
        total += math.comb(length, k + 1)
        if total / 2 ** length > chance:
            break
        k += 1
    return k


def chance_of(errors: int, length: int) -> float:
    """How often L fair coin flips agree with a message at least this well."""
    return sum(math.comb(length, i) for i in range(errors + 1)) / 2 ** length


@dataclass(frozen=True)
class Match:
    mark: Mark
    errors: int
    length: int  # the bits compared: the mark's, unless a strided read missed some
    votes: int  # blocks per bit, at least (0: some bit of the mark was not read)

    @property
    def found(self) -> bool:
        return (self.votes > 0 and self.length == self.mark.bits.size
                and self.errors <= max_errors(self.length))

    @property
    def chance(self) -> float:
        return chance_of(self.errors, self.length)


def read_marks(rgb: np.ndarray, marks: tuple[Mark, ...] = MARKS, stride: int = 1) -> list[Match]:
    """Every mark's reading in ``rgb`` (H x W x 3 uint8, the pixels as stored), on every
    ``stride``-th row of blocks."""
    if rgb.shape[0] * rgb.shape[1] < dwt_dct.MIN_PIXELS:
        return []
    pixels, index = dwt_dct.block_rows(rgb, stride)
    votes: dict[tuple[str, str], np.ndarray] = {}
    out = []
    for mark in marks:
        key = (mark.order, mark.depth)
        if key not in votes:
            votes[key] = dwt_dct.block_bits(dwt_dct.u_plane(pixels, *key))
        want = mark.bits
        reading = dwt_dct.read(votes[key], len(want), index)
        out.append(Match(mark, *reading.errors(want), reading.votes))
    return out


def find_marks(rgb: np.ndarray) -> list[Match]:
    """The marks found in ``rgb``. A quarter of the block rows is read first; only where some
    mark reads closer than chance would in one try of a hundred is the whole image read, and
    only the whole image's reading can flag. The first look costs precision nothing and an
    unmarked photo 0.8x its decode instead of 3.9x. It judges only the bits its rows hold:
    where the image's blocks per row and the stride line up with a mark's length, some bit
    positions lie only in skipped rows (docs/benchmarks.md)."""
    close = tuple(m.mark for m in read_marks(rgb, stride=PRE_STRIDE) if m.chance <= PRE_CHANCE)
    return [m for m in read_marks(rgb, close) if m.found] if close else []


def stored_pixels(inp: DetectorInput) -> np.ndarray | None:
    """The pixels as the file stores them: the mark lives on the encoder's grid, so a JPEG that
    the loader decoded reduced is decoded again in full (up to ``REDECODE_MAX_PIXELS``; None
    above, where no generator whose mark is read writes), and an EXIF turn is undone."""
    img = inp.image
    if img.scale == 1.0 and img.exif.get(ORIENTATION, 1) in (1, None):
        return inp.rgb
    width, height = img.full_size
    if img.scale != 1.0 and width * height > REDECODE_MAX_PIXELS:
        return None
    try:
        with Image.open(BytesIO(img.data)) as src:
            return np.asarray(src.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def match_signal(m: Match) -> Signal:
    chance = chance_of(m.errors, m.length)
    return Signal(
        "watermark.generator", SYNTHETIC, SCORE,
        f"Invisible dwtDct watermark of {m.mark.source} ({m.mark.where}): {m.length - m.errors} "
        f"of {m.length} bits agree (chance {chance:.1e}; flag at <= {max_errors(m.length)} "
        f"errors).",
        {"source": m.mark.source, "embedded_by": m.mark.where, "bits": m.length,
         "bit_errors": m.errors, "max_errors": max_errors(m.length), "chance": chance,
         "votes_per_bit": m.votes, "channel_order": m.mark.order, "depth": m.mark.depth},
        headline=f"The image carries the invisible watermark that {m.mark.source}'s software "
                 "adds to the images it makes or edits.",
    )


class WatermarkDetector:
    name = "watermark"
    kind = SYNTHETIC
    version = "1"
    needs = frozenset({"pixels"})

    def detect(self, inp: DetectorInput) -> list[Signal]:
        rgb = stored_pixels(inp)
        if rgb is None:
            return []
        found = find_marks(rgb)
        if not found:
            return []
        return [match_signal(min(found, key=lambda m: m.chance))]
