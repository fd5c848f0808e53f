"""Hashes and their quality: hex helpers, mirrors, texture figures and usability."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from headcheck.face import Face
from headcheck.fingerprint import (
    bits_to_hex,
    hamming_hex,
    image_hashes,
    region_hash,
    region_hashes,
    texture_quality,
)
from headcheck.hashkinds import PDQ_MIN_QUALITY
from headcheck.regions import Frame
from tests.conftest import real


def test_hamming_and_bits() -> None:
    assert hamming_hex("ff", "00") == 8 and hamming_hex("0f0f", "0f0e") == 1
    assert hamming_hex("a5" * 32, "a5" * 32) == 0
    with pytest.raises(ValueError):
        hamming_hex("ff", "ffff")  # hashes of different kinds never compare
    bits = np.zeros(16, np.uint8)
    bits[0] = bits[15] = 1
    assert bits_to_hex(bits) == "8001"


def test_texture_is_the_mean_gradient_of_the_regions_own_pixels() -> None:
    valid = np.ones((40, 40), bool)
    assert texture_quality(np.full((40, 40), 90.0), valid) == 0.0
    ramp = np.tile(np.arange(40, dtype=float) * 3, (40, 1))  # 3 grey levels a pixel
    assert texture_quality(ramp, valid) == pytest.approx(3.0)
    # pixels outside the region do not count, however wild
    wild = ramp.copy()
    wild[:, :10] = np.random.default_rng(0).integers(0, 255, (40, 10))
    part = valid.copy()
    part[:, :12] = False
    assert texture_quality(wild, part) == pytest.approx(3.0)
    assert texture_quality(ramp, np.zeros((40, 40), bool)) == 0.0  # too few pixels to tell


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(real("2369151434", "large")).convert("RGB")


def test_mirror_hashes_are_the_hashes_of_the_mirror_image(photo: Image.Image) -> None:
    a = image_hashes(photo)
    b = image_hashes(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert a.phash_mirror == b.phash and b.phash_mirror == a.phash
    assert hamming_hex(a.pdq_mirror, b.pdq) <= 8 and hamming_hex(a.pdq, b.pdq) > 64
    assert a.pdq_quality >= PDQ_MIN_QUALITY  # a photo has texture ...
    flat = image_hashes(Image.new("RGB", photo.size, (120, 130, 140)))
    assert flat.pdq_quality < PDQ_MIN_QUALITY  # ... a flat card has none


def test_image_hashes_survive_resizing_and_tell_photos_apart(photo: Image.Image) -> None:
    a = image_hashes(photo)
    small = image_hashes(photo.resize((photo.width // 2, photo.height // 2)))
    other = image_hashes(Image.open(real("3156504080", "large")).convert("RGB"))
    assert hamming_hex(a.phash, small.phash) <= 4 and hamming_hex(a.pdq, small.pdq) <= 32
    assert hamming_hex(a.phash, other.phash) > 16 and hamming_hex(a.pdq, other.pdq) > 64


def test_region_hash_of_the_mirrored_photo_is_the_mirror_hash(photo: Image.Image) -> None:
    rgb = np.asarray(photo)
    w = rgb.shape[1]
    eyes = ((130.0, 200.0), (190.0, 200.0))
    flipped_eyes = ((w - 1 - 190.0, 200.0), (w - 1 - 130.0, 200.0))
    a = region_hash(rgb, Frame.from_face(Face((0, 0, 1, 1), eyes, 1, ())), "context")
    b = region_hash(np.ascontiguousarray(rgb[:, ::-1]),
                    Frame.from_face(Face((0, 0, 1, 1), flipped_eyes, 1, ())), "context")
    assert hamming_hex(a.mirror, b.hash) <= 4 and hamming_hex(a.hash, b.mirror) <= 4
    assert hamming_hex(a.hash, b.hash) > hamming_hex(a.mirror, b.hash)


def test_usable_needs_texture_and_a_window_inside_the_image(photo: Image.Image) -> None:
    rgb = np.asarray(photo)
    centre = Frame.from_face(Face((0, 0, 1, 1), ((130.0, 200.0), (190.0, 200.0)), 1, ()))
    hashes = region_hashes(rgb, centre)
    assert set(hashes) == {"face", "context", "body", "background"}
    assert hashes["context"].usable and hashes["context"].inside > 0.6
    flat = np.full_like(rgb, 128)
    assert not region_hash(flat, centre, "context").usable  # a plain card: no texture
    assert region_hash(flat, centre, "context").quality == 0.0
    gone = Frame((5000.0, 5000.0), 60.0, 0.0)  # the window misses the image
    off = region_hash(rgb, gone, "context")
    assert off.inside == 0.0 and not off.usable
    assert region_hashes(rgb, None) == {}  # no face, no frame, no region hashes
