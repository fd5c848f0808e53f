"""Safe decoding: every kind of bad input gets an ImageError that says what is wrong."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from headcheck.errors import ImageError
from headcheck.load import Limits, load_image, sha256_hex
from tests.conftest import encode, jpeg, real

PHOTO = real("2369151434")


def test_loads_jpeg_with_sha256_and_size() -> None:
    data = PHOTO.read_bytes()
    img = load_image(data)
    assert img.sha256 == sha256_hex(data) and len(img.sha256) == 64
    assert (img.width, img.height) == (640, 960)
    assert img.format == "JPEG" and img.image.mode == "RGB"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "BMP"])
def test_other_formats(fmt: str) -> None:
    im = Image.open(PHOTO).resize((64, 96))
    img = load_image(encode(im.convert("P") if fmt == "GIF" else im, fmt))
    assert (img.width, img.height) == (64, 96)
    assert img.format == fmt


def test_gif_first_frame_only() -> None:
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    img = load_image(buf.getvalue())
    r, g, b = img.image.getpixel((10, 10))
    assert r > 200 and b < 50


def test_exif_orientation_is_applied() -> None:
    im = Image.new("RGB", (40, 20), "white")
    im.paste((255, 0, 0), (0, 0, 10, 20))  # red strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img = load_image(jpeg(im, exif=exif.tobytes()))
    assert (img.width, img.height) == (20, 40)
    assert img.image.getpixel((10, 2))[0] > 200  # the strip is now on top


def test_transparency_is_flattened_on_white() -> None:
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    img = load_image(encode(im, "PNG"))
    assert img.image.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is text, not a picture", "not an image"),
        (b"%PDF-1.4\n%...", "not an image"),
    ],
)
def test_non_images(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_truncated_jpeg() -> None:
    data = PHOTO.read_bytes()
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_too_many_bytes() -> None:
    with pytest.raises(ImageError, match="too large"):
        load_image(PHOTO.read_bytes(), Limits(max_bytes=1000))


def test_pixel_limit() -> None:
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(PHOTO.read_bytes(), Limits(max_pixels=640 * 960 - 1))


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims a huge canvas: a decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(_png_header_only(100_000, 100_000))


def test_error_kinds_survive_pickling() -> None:
    import pickle

    with pytest.raises(ImageError) as info:
        load_image(PHOTO.read_bytes(), Limits(max_bytes=10))
    assert info.value.kind == "too_large"
    again = pickle.loads(pickle.dumps(info.value))
    assert again.kind == "too_large" and str(again) == str(info.value)
    with pytest.raises(ImageError) as info:
        load_image(b"plain text")
    assert info.value.kind == "not_image"
