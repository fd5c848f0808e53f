"""Safe decoding: bytes in, an oriented RGB image and its metadata out, or a clear ImageError."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

# Formats we accept. GIF and WebP may be animated: only the first frame is analysed.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF"})
DEFAULT_MAX_BYTES = 30 * 1024 * 1024
# 20 MP (5000x4000): above any profile photo or phone camera, and what one decode may cost is
# bounded (analysis holds about 11 bytes a pixel: ~220 MB at the limit, measured by
# bench/hostile_inputs.py). A header may claim 49 MP in 800 bytes, and libjpeg fills in the
# missing data, so the claim is refused before decoding.
DEFAULT_MAX_PIXELS = 20_000_000
# Analysis never needs more pixels than this on the longer side: faces are found at <= 400 px,
# PDQ and pHash work on <= 512 px, and in a headshot the eyes are far apart at this size. A JPEG
# at least twice as large is decoded reduced by libjpeg's DCT scaling (1/2, 1/4, 1/8), to a
# longer side of at least WORK_SIDE: a 12 MP phone photo decodes in about a quarter of the time
# and every later stage (copies, resizes, crops) handles a quarter of the pixels. Smaller images,
# every image of our evaluation corpora among them, are decoded in full as before.
WORK_SIDE = 1024
DRAFT_MIN_SIDE = 64  # ... unless the shorter side would drop below this (strips, banners)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


@dataclass(frozen=True)
class Limits:
    """Per-image limits; ``HEADCHECK_MAX_BYTES`` / ``HEADCHECK_MAX_PIXELS`` change the defaults."""

    max_bytes: int = field(default_factory=lambda: _env_int("HEADCHECK_MAX_BYTES",
                                                            DEFAULT_MAX_BYTES))
    max_pixels: int = field(default_factory=lambda: _env_int("HEADCHECK_MAX_PIXELS",
                                                             DEFAULT_MAX_PIXELS))


@dataclass
class LoadedImage:
    """A decoded image, upright (EXIF orientation applied), in RGB."""

    data: bytes
    sha256: str
    format: str
    image: Image.Image
    info: dict[str, Any] = field(default_factory=dict)
    exif: dict[int, Any] = field(default_factory=dict)
    xmp: bytes | None = None
    text: dict[str, str] = field(default_factory=dict)
    # Original pixels per pixel of ``image`` (1 unless a large JPEG was decoded reduced), and
    # the upright original's size then.
    scale: float = 1.0
    original_size: tuple[int, int] | None = None

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def full_size(self) -> tuple[int, int]:
        """The upright image's size in its own pixels (what callers are told)."""
        return self.original_size or self.image.size

    def array(self) -> np.ndarray:
        return np.asarray(self.image)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def draft_reduction(width: int, height: int, work_side: int = WORK_SIDE) -> int:
    """The JPEG DCT scaling (1, 2, 4 or 8) that keeps the longer side at least ``work_side``."""
    for r in (8, 4, 2):
        if max(width, height) >= r * work_side and min(width, height) >= r * DRAFT_MIN_SIDE:
            return r
    return 1


def load_image(data: bytes, limits: Limits | None = None,
               work_side: int | None = WORK_SIDE) -> LoadedImage:
    """Decode ``data``; raise ImageError saying what is wrong instead of crashing.

    A JPEG at least twice ``work_side`` is decoded reduced (see WORK_SIDE; ``None``: never)."""
    limits = limits or Limits()
    if not data:
        raise ImageError("empty input: 0 bytes", "empty")
    if len(data) > limits.max_bytes:
        raise ImageError(f"too large: {len(data)} bytes, the limit is {limits.max_bytes}",
                         "too_large")
    with warnings.catch_warnings():
        # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; we refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            src = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageError("not an image (unrecognised format)", "not_image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"too many pixels (decompression bomb guard): {exc}",
                             "too_large") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"unreadable image header: {exc}") from None
        if src.format not in ALLOWED_FORMATS:
            raise ImageError(f"unsupported format {src.format}", "unsupported")
        w, h = src.size
        if w <= 0 or h <= 0:
            raise ImageError(f"invalid dimensions {w}x{h}")
        if w * h > limits.max_pixels:
            raise ImageError(f"too many pixels: {w}x{h}, the limit is {limits.max_pixels} "
                             "(HEADCHECK_MAX_PIXELS)", "too_large")
        scale = 1.0
        try:
            src.seek(0)
            r = draft_reduction(w, h, work_side) if work_side and src.format == "JPEG" else 1
            if r > 1:
                drafted = src.draft(None, (w // r, h // r))
                if drafted is not None:
                    scale = w / drafted[1][2]
            src.load()
            exif = dict(src.getexif())
            xmp = _xmp_bytes(src)
            text = {str(k): str(v) for k, v in getattr(src, "text", {}).items()}
            info = dict(src.info)
            upright = ImageOps.exif_transpose(src) or src
            original = (w, h) if upright.size == src.size else (h, w)
            rgb = _to_rgb(upright)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageError(f"truncated or corrupt {src.format} data: {exc}") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"too many pixels (decompression bomb guard): {exc}",
                             "too_large") from None
    return LoadedImage(
        data=data,
        sha256=sha256_hex(data),
        format=str(src.format),
        image=rgb,
        info=info,
        exif=exif,
        xmp=xmp,
        text=text,
        scale=scale,
        original_size=original if scale != 1.0 else None,
    )


def _xmp_bytes(im: Image.Image) -> bytes | None:
    raw = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if raw is None:
        return None
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else bytes(raw)


def _to_rgb(im: Image.Image) -> Image.Image:
    """Flatten transparency onto white (how profile sites show it) and drop palettes."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, rgba).convert("RGB")
    return im.convert("RGB")
