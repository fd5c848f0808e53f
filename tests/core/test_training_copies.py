"""The probe's second set of training copies (bench/diffusion_embed.py ``augment2_bytes``, probe
v6.1): reproducible from the seed, always decodable, and a crop to the face stays inside the photo
(a black border would be a cue only copies have)."""

from __future__ import annotations

import io
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from tests.conftest import bench_script


@pytest.fixture(scope="module")
def embed() -> ModuleType:
    return bench_script("diffusion_embed")


def copies(embed: ModuleType, img: Image.Image, box, seed: int, n: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [embed.augment2_bytes(img, box, rng) for _ in range(n)]


def test_copies_are_reproducible_from_the_seed(embed: ModuleType) -> None:
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (300, 240, 3), np.uint8))
    box = (80, 90, 80, 90)
    assert copies(embed, img, box, 7, 6) == copies(embed, img, box, 7, 6)
    assert copies(embed, img, box, 7, 6) != copies(embed, img, box, 8, 6)


@pytest.mark.parametrize("box", [(250, 250, 100, 100), (10, 10, 100, 100), (480, 490, 110, 105)],
                         ids=["centre", "top left", "bottom right"])
def test_every_copy_decodes_and_none_gets_a_black_border(embed: ModuleType, box) -> None:
    # A uniform grey photo: blur, contrast and a colour cast keep it grey, so a dark pixel can
    # only come from cropping outside the photo.
    img = Image.new("RGB", (600, 600), (128, 128, 128))
    formats, sizes = set(), set()
    for data in copies(embed, img, box, 3, 60):
        out = Image.open(io.BytesIO(data))
        formats.add(out.format)
        sizes.add(out.size)
        assert np.asarray(out.convert("RGB")).min() > 60, (out.format, out.size)
    assert formats == {"JPEG", "PNG", "WEBP"}
    assert len(sizes) > 10  # rescaled, cropped and upscaled, not one size
