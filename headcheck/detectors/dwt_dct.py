"""Reading the invisible "dwtDct" watermark that Stable Diffusion's, SDXL's and FLUX.1's reference
code embed in every image they save (the ``invisible-watermark`` package's default method).

How it is embedded (so that it can be read without that package, which imports torch): the
image's U chroma plane (OpenCV's BGR -> YUV) goes through one level of a Haar wavelet; its
approximation band is cut into 4 x 4 blocks, row by row; block ``n`` carries bit ``n mod L`` of
an L-bit message: the block's largest coefficient in magnitude (its first coefficient left out)
is moved to a quarter (bit 0) or three quarters (bit 1) of a step of 36. Reading: the share of
blocks of each bit whose largest coefficient lies in the upper half of its step; a bit is 1 where
that share exceeds one half. Every bit is repeated hundreds of times in a 1024 px image, so
mild re-encoding leaves it readable, while resizing or cropping moves the block grid and erases
it. A pure function of the pixels: no model, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STEP = 36.0  # the quantisation step of the U plane's blocks (the package's default scale)
BLOCK = 4
HAAR = 0.7071067811865476  # the Haar filter's taps, 1 / sqrt(2) as pywt stores it
MIN_PIXELS = 256 * 256  # the package refuses smaller images, so none carries the mark


@dataclass(frozen=True)
class Reading:
    """Per-bit shares of ``length`` bit positions (each in 0..1; NaN where no block of the bit
    was read) and how many blocks voted for each."""

    length: int
    shares: np.ndarray  # float, (length,)
    counts: np.ndarray  # int, (length,)

    @property
    def votes(self) -> int:
        """Blocks per bit, at least (0: some bit was not read at all)."""
        return int(self.counts.min())

    @property
    def bits(self) -> np.ndarray:
        # The package's rule: share * 255 > 127.
        return (np.nan_to_num(self.shares, nan=0.0) * 255 > 127).astype(np.uint8)

    def errors(self, want: np.ndarray) -> tuple[int, int]:
        """(bits that disagree with ``want``, bits compared): only the bits some block voted
        for, as a strided read may miss bit positions whose blocks lie in rows it skips."""
        read = self.counts > 0
        return int((self.bits[read] != want[read]).sum()), int(read.sum())


def grid(shape: tuple[int, ...]) -> tuple[int, int]:
    """Blocks per column and per row: the package transforms the largest multiple of 4 rows
    and columns, and a block is 4 x 4 approximation coefficients, 8 x 8 pixels."""
    return (shape[0] // 4 * 2) // BLOCK, (shape[1] // 4 * 2) // BLOCK


def u_plane(rgb: np.ndarray, channel_order: str = "bgr", depth: str = "uint8") -> np.ndarray:
    """The U plane the embedder saw. ``bgr``: the reference scripts hand the encoder OpenCV's BGR
    order; ``rgb``: diffusers' SDXL pipeline hands it RGB as it is (its U is then a red-difference
    plane). ``uint8``: an 8-bit array (OpenCV's chroma offset 128, rounded to integers);
    ``float``: a float array (offset 0.5, not rounded)."""
    arr = rgb[:, :, ::-1] if channel_order == "bgr" else rgb
    arr = np.ascontiguousarray(arr if depth == "uint8" else arr.astype(np.float32))
    return cv2.cvtColor(arr, cv2.COLOR_BGR2YUV)[:, :, 1]


def haar_approx(u: np.ndarray) -> np.ndarray:
    """One level of the Haar wavelet's approximation band over the largest multiple of 4 rows
    and columns: ``pywt.dwt2(u, "haar")[0]`` to the last bit (the same products in the same
    order, rows first, in the input's precision as pywt keeps float32; so an 8-bit plane's
    value on a step's midpoint reads as the package reads it), in a third of pywt's time, as
    the detail bands are never needed."""
    h, w = (u.shape[0] // 4) * 4, (u.shape[1] // 4) * 4
    x = u[:h, :w].astype(np.float32 if u.dtype == np.float32 else np.float64)
    rows = x[0::2] * HAAR + x[1::2] * HAAR
    return rows[:, 0::2] * HAAR + rows[:, 1::2] * HAAR


def block_bits(u: np.ndarray) -> np.ndarray:
    """One vote (0 or 1) per 4 x 4 block of the Haar approximation band, in row order."""
    approx = haar_approx(u)
    rows, cols = approx.shape[0] // BLOCK, approx.shape[1] // BLOCK
    blocks = (approx[: rows * BLOCK, : cols * BLOCK]
              .reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2).reshape(rows * cols, BLOCK * BLOCK))
    rest = np.abs(blocks[:, 1:])  # the first coefficient is never the carrier
    peak = rest[np.arange(len(rest)), rest.argmax(axis=1)]
    return (np.mod(peak, STEP) > STEP / 2).astype(np.float64)


def block_rows(rgb: np.ndarray, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of every ``stride``-th row of blocks (the grid's own columns only) and each of
    their blocks' index in the whole image's row order: a strided read sees a share of the
    votes of every bit, each at its true position."""
    nrows, ncols = grid(rgb.shape)
    picked = np.arange(0, nrows, stride)
    index = (picked[:, None] * ncols + np.arange(ncols)).ravel()
    if stride == 1:
        return rgb[: 8 * nrows, : 8 * ncols], index
    pixel_rows = (picked[:, None] * 8 + np.arange(8)).ravel()
    return rgb[pixel_rows, : 8 * ncols], index


def read(votes: np.ndarray, length: int, index: np.ndarray | None = None) -> Reading:
    """The shares of an L-bit message from block votes (block n carries bit n mod L); ``index``:
    each vote's block number, where the votes are not every block from the first."""
    index = np.arange(len(votes)) if index is None else index
    counts = np.bincount(index % length, minlength=length)
    sums = np.bincount(index % length, weights=votes, minlength=length)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return Reading(length, shares, counts)


def bits_of(message: bytes | str) -> np.ndarray:
    """A message as the package sets it: bytes most significant bit first, or a '0'/'1' string."""
    if isinstance(message, str):
        return np.array([int(c) for c in message], dtype=np.uint8)
    return np.unpackbits(np.frombuffer(message, dtype=np.uint8))
