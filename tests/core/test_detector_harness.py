"""Every registered detector (built-ins and installed plug-ins) passes the same checks on the
hostile and ordinary inputs of the test suite: it never raises, its scores lie in [0, 1], its
evidence is JSON, it explains itself in a headline, and it gives the same answer twice.

A new detector is tested here without a line of new test code.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from headcheck.analyze import Analyzer
from headcheck.detectors.base import NEEDS, Detector, DetectorInput, applies
from headcheck.detectors.registry import registered
from headcheck.load import LoadedImage, load_image
from headcheck.signals import KINDS, Signal
from tests.conftest import DIFFUSION, REAL, STYLEGAN, encode, jpeg
from tests.core.test_provenance import BILLION_LAUGHS, FIXTURES, fake

DETECTORS = registered(strict=True)


def _generated() -> dict[str, bytes]:
    rng = np.random.default_rng(7)
    noise = Image.fromarray(rng.integers(0, 256, (120, 90, 3), dtype=np.uint8))
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "(" * 1_048_576)  # a megabyte of brackets
    alpha = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    face = Image.open(sorted(REAL.glob("large_*.jpg"))[0]).convert("RGB")
    w, h = face.size
    return {
        "one_pixel": encode(Image.new("RGB", (1, 1), "white"), "PNG"),
        "two_by_two_grey": encode(Image.new("L", (2, 2), 128), "PNG"),
        "flat_black": jpeg(Image.new("RGB", (256, 256), "black")),
        "strip_3x900": encode(Image.new("RGB", (3, 900), "blue"), "PNG"),
        "strip_900x3": encode(Image.new("RGB", (900, 3), "blue"), "PNG"),
        "noise": jpeg(noise, quality=30),
        "transparent": encode(alpha, "PNG"),
        "megabyte_text_chunk": encode(Image.new("RGB", (32, 32)), "PNG", pnginfo=info),
        "greyscale_face": jpeg(face.convert("L")),
        "face_cut_by_the_edge": jpeg(face.crop((w // 3, 0, w, h))),
        "tiny_face": jpeg(face.resize((48, 64))),
    }


def _load_all() -> dict[str, LoadedImage]:
    files = sorted(p for p in FIXTURES.iterdir() if p.suffix in {".jpg", ".png", ".webp"})
    files += sorted(STYLEGAN.glob("*.jpg"))[:2] + sorted(DIFFUSION.glob("*.jpg"))[:2]
    files += sorted(REAL.glob("large_*.jpg"))[:2]
    out = {p.name: load_image(p.read_bytes()) for p in files}
    out |= {k: load_image(v) for k, v in _generated().items()}
    # Hostile metadata around a plain image (the provenance tests' cases).
    out["billion_laughs_xmp"] = fake(xmp=BILLION_LAUGHS)
    out["xmp_of_angle_brackets"] = fake(xmp=b"<" * 1_000_000)
    out["weird_exif_types"] = fake(exif={305: (1, 2), 270: 12, 315: b"\xff\xfe\x00", 271: None},
                                   info={"exif": b"Exif\x00\x00garbage"})
    return out


@pytest.fixture(scope="module")
def inputs(analyzer: Analyzer) -> dict[str, DetectorInput]:
    out = {}
    for name, img in _load_all().items():
        rgb = img.array()
        try:
            face = analyzer.models.find_face(rgb)
        except RuntimeError:  # dlib refuses 1-pixel images; so does the analyser
            face = None
        out[name] = DetectorInput(img, rgb, face)
    assert sum(i.face is not None for i in out.values()) >= 6  # face detectors get exercised
    assert sum(i.face is None for i in out.values()) >= 6
    return out


def test_builtins_are_registered() -> None:
    names = [d.name for d in DETECTORS]
    assert {"provenance", "geometry.stylegan"} <= set(names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.name)
def test_declares_what_it_is(det: Detector) -> None:
    assert det.name and isinstance(det.name, str)
    assert det.kind in KINDS
    assert det.version and isinstance(det.version, str)
    assert isinstance(det.needs, frozenset) and det.needs <= NEEDS


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.name)
def test_harness(det: Detector, inputs: dict[str, DetectorInput]) -> None:
    ran = 0
    for name, inp in inputs.items():
        if not applies(det, inp):
            continue
        ran += 1
        first = det.detect(inp)  # never raises: an exception here fails the test
        assert isinstance(first, list), name
        for s in first:
            assert isinstance(s, Signal), name
            assert s.kind == det.kind, (name, s.name)
            assert isinstance(s.score, float | int) and 0.0 <= s.score <= 1.0, (name, s)
            assert math.isfinite(s.score)
            assert s.name and s.detail and s.headline, (name, s.name)
            assert isinstance(s.evidence, dict)
            json.dumps(s.evidence, allow_nan=False)  # plain JSON, no NaN, no objects
        assert det.detect(inp) == first, f"{det.name} is not deterministic on {name}"
    assert ran >= 6, f"{det.name} ran on only {ran} inputs"


def test_hostile_inputs_are_really_there() -> None:
    names = set(_load_all())
    assert {"c2pa_garbage.jpg", "xmp_malformed.jpg", "billion_laughs_xmp", "one_pixel"} <= names
    assert len(names) >= 25
