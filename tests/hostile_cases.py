"""Hostile inputs, generated (no binary blobs): images for the CLI, the server and the crawler.

``image_cases()`` yields (name, bytes) pairs: truncated files, decompression bombs, headers that
lie about their size, unusual modes (CMYK, 16-bit, float, palette with transparency), animations,
polyglots, and corrupt EXIF, XMP, ICC and C2PA data. Each must end in a clear error or a result,
never a traceback, a 5xx or a crash. ``bench/hostile_inputs.py`` measures time and peak memory
per case; ``tests/core/test_hostile_inputs.py`` runs them through every adapter.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "data" / "sample" / "images" / "plain-3377864339.jpg"


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _photo() -> Image.Image:
    return Image.open(PHOTO).convert("RGB")


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """``jpeg`` with one more APPn segment right after SOI."""
    return jpeg[:2] + _segment(marker, payload) + jpeg[2:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png_claiming(width: int, height: int, idat: bytes, color_type: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encode(Image.new("RGB", (64, 64), (120, 100, 90)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _exif_blob(entries: list[tuple[int, int, int, bytes]], offset: int = 8) -> bytes:
    """A little-endian TIFF/EXIF block with raw IFD entries (tag, type, count, value bytes)."""
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")[:4]
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", offset) + ifd + b"\0\0\0\0"


def image_cases() -> Iterator[tuple[str, bytes]]:
    rng = random.Random(11)
    photo = _photo()
    small = photo.resize((256, 320))
    jpeg = _encode(small, "JPEG", quality=90)
    encoded = {fmt: _encode(small, fmt) for fmt in ("PNG", "WEBP", "GIF", "BMP", "TIFF")}
    encoded["JPEG"] = jpeg

    # -- nothing much ---------------------------------------------------------------------------
    yield "empty", b""
    yield "one-byte", b"\xff"
    yield "zeros-4k", bytes(4096)
    yield "random-4k", bytes(rng.getrandbits(8) for _ in range(4096))
    yield "text", b"hello, I am a profile photo"
    yield "html", b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"
    yield "svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    yield "pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"

    # -- truncated, every format, several cut points --------------------------------------------
    for fmt, data in encoded.items():
        for frac in (0.02, 0.25, 0.5, 0.9):
            yield f"truncated-{fmt.lower()}-{int(frac * 100)}", data[:max(8, int(len(data) * frac))]
        yield f"bitflip-{fmt.lower()}", bytes(
            b ^ 0xFF if i % 97 == 50 else b for i, b in enumerate(data))

    # -- bombs and lying headers ----------------------------------------------------------------
    for w, h in ((7000, 7000), (5000, 4001), (65535, 65535), (1, 65535 * 4), (65535, 1)):
        yield f"jpeg-claims-{w}x{h}", _jpeg_claiming(min(w, 65535), min(h, 65535))
    deflated_zeros = zlib.compress(bytes(7071 + 1) * 16, 9)
    for w, h in ((7071, 7071), (4472, 4472), (100_000, 100_000), (0, 10), (2**31, 2)):
        yield f"png-claims-{w}x{h}", _png_claiming(w, h, deflated_zeros)
    yield "png-1bit-10000x10000", _encode(Image.new("1", (10_000, 10_000)), "PNG")
    gif = bytearray(encoded["GIF"])
    gif[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen far larger than its frame
    yield "gif-huge-screen", bytes(gif)
    tiff = bytearray(encoded["TIFF"])
    yield "tiff-header-only", bytes(tiff[:64])
    yield "bmp-claims-30000x30000", encoded["BMP"][:18] + struct.pack("<ii", 30000, 30000) + \
        encoded["BMP"][26:200]
    yield "webp-riff-lies", b"RIFF" + struct.pack("<I", 2**31) + b"WEBPVP8 " + bytes(40)

    # -- unusual but valid modes ----------------------------------------------------------------
    yield "cmyk-jpeg", _encode(small.convert("CMYK"), "JPEG")
    yield "gray-jpeg", _encode(small.convert("L"), "JPEG")
    yield "png-16bit", _encode(small.convert("I;16"), "PNG")
    yield "png-rgba", _encode(small.convert("RGBA"), "PNG")
    yield "png-la", _encode(small.convert("LA"), "PNG")
    pal = small.convert("P", palette=Image.Palette.ADAPTIVE)
    yield "png-palette-transparent", _encode(pal, "PNG", transparency=0)
    yield "tiff-float", _encode(small.convert("F"), "TIFF")
    yield "tiff-cmyk", _encode(small.convert("CMYK"), "TIFF")
    yield "bmp-1bit", _encode(small.convert("1"), "BMP")
    yield "tiny-1x1", _encode(Image.new("RGB", (1, 1)), "PNG")
    yield "thin-1x4000", _encode(Image.new("RGB", (1, 4000)), "PNG")
    frames = [small.rotate(a) for a in range(0, 360, 30)]
    yield "gif-animated", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    yield "webp-animated", _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    many = [Image.new("P", (16, 16), i % 256) for i in range(500)]
    yield "gif-500-frames", _encode(many[0], "GIF", save_all=True, append_images=many[1:])

    # -- polyglots ------------------------------------------------------------------------------
    yield "jpeg-then-zip", jpeg + b"PK\x03\x04" + bytes(200)
    yield "jpeg-then-html", jpeg + b"<script>alert(1)</script>"
    yield "png-magic-then-html", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>"
    yield "gif-js", b"GIF89a/*" + bytes(10) + b"*/=alert(1);"
    yield "jpeg-in-html", b"<html>" + jpeg
    yield "two-jpegs", jpeg + jpeg

    # -- corrupt metadata -----------------------------------------------------------------------
    for orientation in (0, 5, 8, 9, 255, 65535):
        exif = _exif_blob([(0x0112, 3, 1, struct.pack("<H", orientation))])
        yield f"exif-orientation-{orientation}", _with_segment(jpeg, 0xE1, exif)
    yield "exif-ifd-offset-past-end", _with_segment(jpeg, 0xE1, _exif_blob([], offset=2**31))
    yield "exif-huge-count", _with_segment(jpeg, 0xE1, _exif_blob(
        [(0x010F, 2, 2**31, struct.pack("<I", 8))]))
    yield "exif-loop", _with_segment(jpeg, 0xE1, _exif_blob(
        [(0x8769, 4, 1, struct.pack("<I", 8))]))  # the EXIF sub-IFD points at itself
    yield "exif-garbage", _with_segment(jpeg, 0xE1, b"Exif\0\0" + bytes(
        rng.getrandbits(8) for _ in range(300)))
    xmp_head = b"http://ns.adobe.com/xap/1.0/\0"
    for name, body in (
            ("billion-laughs", b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                               b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                               b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><x>&c;</x>'),
            ("external-entity", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                                b'"file:///etc/passwd">]><x>&e;</x>'),
            ("deep", b"<a>" * 20_000),
            ("garbage", bytes(rng.getrandbits(8) for _ in range(2000))),
            ("unclosed", b"<x:xmpmeta><rdf:RDF><rdf:Description xmp:CreatorTool=\"")):
        yield f"xmp-{name}", _with_segment(jpeg, 0xE1, xmp_head + body)
    for name, body in (("garbage", bytes(rng.getrandbits(8) for _ in range(500))),
                       ("short", b"ICC_PROFILE\0\x01\x01" + bytes(10)),
                       ("lying-size", b"ICC_PROFILE\0\x01\x01" + struct.pack(">I", 2**31)
                        + bytes(200))):
        yield f"icc-{name}", _with_segment(jpeg, 0xE2, body)
    yield "icc-png-garbage", _encode(small, "PNG", icc_profile=bytes(range(256)) * 2)
    yield "png-text-1mb", _png_text(small, "Comment", "x" * 1_000_000)
    yield "png-ztxt-bomb", _png_ztxt_bomb(small)
    for size in (60, 100, 150, 200, 250):  # garbage where a C2PA manifest (JUMBF) would be
        junk = bytes(rng.getrandbits(8) for _ in range(size))
        jumbf = (b"JP\x00\x01\x00\x00\x00\x01" + struct.pack(">I", size + 24) + b"jumb"
                 + struct.pack(">I", size + 16) + b"jumdc2pa" + junk)
        yield f"c2pa-garbage-{size}", _with_segment(jpeg, 0xEB, jumbf)
    yield "many-app-segments", jpeg[:2] + _segment(0xE5, bytes(60_000)) * 20 + jpeg[2:]
    yield "comment-64k", _with_segment(jpeg, 0xFE, b"A" * 65_000)


def _png_text(im: Image.Image, key: str, value: str) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return _encode(im, "PNG", pnginfo=info)


def _png_ztxt_bomb(im: Image.Image) -> bytes:
    """A compressed text chunk that inflates to 50 MB."""
    data = _encode(im, "PNG")
    bomb = b"Comment\0\0" + zlib.compress(b"A" * 50_000_000, 9)
    end = data.index(b"IEND") - 4
    return data[:end] + _png_chunk(b"zTXt", bomb) + data[end:]


if __name__ == "__main__":
    cases = list(image_cases())
    print(f"{len(cases)} image cases, {sum(len(d) for _, d in cases)} bytes")
    for name, data in cases:
        print(f"{name:32s} {len(data):>10d}")
