"""The invisible-watermark detector against the reference encoder's own output.

The fixtures in tests/fixtures/watermark/ were marked by ``invisible-watermark`` 0.2.0 the way
diffusers' SDXL pipelines and Stable Diffusion 2's scripts call it (bench/watermark_fixtures.py);
the package itself is not installed here (it imports torch), so nothing below can agree with
the detector by sharing its code.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from headcheck.analyze import Analyzer
from headcheck.detectors.base import DetectorInput
from headcheck.detectors.registry import registered
from headcheck.detectors.watermark import (
    CHANCE,
    MARKS,
    WatermarkDetector,
    chance_of,
    max_errors,
    read_marks,
    stored_pixels,
)
from headcheck.judge import judge
from headcheck.load import load_image
from headcheck.signals import SYNTHETIC

FIXTURES = Path(__file__).parent.parent / "fixtures"
MARKED = FIXTURES / "watermark" / "sdxl_diffusers.png"
HOST = FIXTURES / "diffusion" / "real_interfaces_009.jpg"  # the photo the fixtures marked


def _bytes(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _signals(data: bytes, **load: object) -> list:
    img = load_image(data, **load)  # type: ignore[arg-type]
    return WatermarkDetector().detect(DetectorInput(img, img.array(), None))


@pytest.mark.parametrize("length", [32, 48, 64, 136])
def test_the_flag_bound_is_the_binomial_tail_at_one_in_ten_million(length: int) -> None:
    k = max_errors(length)
    assert chance_of(k, length) <= CHANCE < chance_of(k + 1, length)
    assert {m.bits.size for m in MARKS} == {32, 48, 64, 136}


def test_known_bounds_by_hand() -> None:
    # sum(C(48, i), i <= 6) = 14,196,869 of 2**48 (5.0e-8); with i = 7: 87,825,941 (3.1e-7);
    # 32 bits: 1 + 32 = 33 of 2**32 (7.7e-9); with 2 errors: 529 (1.2e-7, over the bound)
    assert max_errors(48) == 6 and max_errors(32) == 1
    assert chance_of(6, 48) == pytest.approx(14_196_869 / 2 ** 48)


def test_the_diffusers_sdxl_mark_flags_the_photo_end_to_end(analyzer: Analyzer) -> None:
    analysis = analyzer.analyze_bytes(MARKED.read_bytes())
    found = [s for s in analysis.signals if s.name == "watermark.generator"]
    assert len(found) == 1
    sig = found[0]
    assert sig.kind == SYNTHETIC and sig.score > 0
    assert sig.evidence["source"] == "Stable Diffusion XL"
    assert sig.evidence["embedded_by"].startswith("diffusers")
    assert sig.evidence["bit_errors"] <= sig.evidence["max_errors"] == 6
    assert sig.evidence["chance"] < 1e-7
    assert "watermark" in sig.headline and "Stable Diffusion XL" in sig.headline
    verdict = judge(analysis.signals, [])
    assert verdict.label == SYNTHETIC
    assert any(r.signal == "watermark.generator" for r in verdict.reasons)


def test_the_unmarked_photo_and_the_marks_it_lacks_are_not_found(analyzer: Analyzer) -> None:
    assert not [s for s in analyzer.analyze_bytes(HOST.read_bytes()).signals
                if s.name.startswith("watermark")]
    # the marked copy matches its own mark only: the others read like chance
    rgb = np.asarray(Image.open(MARKED).convert("RGB"))
    others = [m for m in read_marks(rgb) if not m.mark.where.startswith("diffusers")]
    assert len(others) == len(MARKS) - 1
    assert all(chance_of(m.errors, m.length) > 1e-3 for m in others)


def test_an_sd2_mark_is_read_but_a_420_jpeg_of_it_is_not() -> None:
    # Stable Diffusion 2's scripts mark 8-bit BGR arrays with "SDV2"; Pillow's JPEG at q95
    # subsamples chroma (4:2:0), which erases the mark on this photo (docs/benchmarks.md).
    jpeg = (FIXTURES / "watermark" / "sd2_scripts_q95.jpg").read_bytes()
    assert _signals(jpeg) == []
    rgb = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    sd2 = next(m for m in read_marks(rgb) if m.mark.message == b"SDV2")
    assert not sd2.found


@pytest.mark.parametrize("change", ["resized", "cropped", "444 jpeg"])
def test_what_survives_and_what_does_not(change: str) -> None:
    img = Image.open(MARKED).convert("RGB")
    if change == "resized":  # the block grid moves: the mark is gone, and no false match
        assert _signals(_bytes(img.resize((400, 400), Image.LANCZOS), "PNG")) == []
    elif change == "cropped":
        assert _signals(_bytes(img.crop((3, 3, img.width, img.height)), "PNG")) == []
    else:  # full-resolution chroma at q95 (what FLUX.1's reference CLI writes) keeps it
        found = _signals(_bytes(img, "JPEG", quality=95, subsampling=0))
        assert [s.evidence["source"] for s in found] == ["Stable Diffusion XL"]


def test_a_jpeg_decoded_reduced_is_read_again_in_full() -> None:
    big = Image.open(MARKED).convert("RGB")
    data = _bytes(big, "JPEG", quality=95, subsampling=0)
    img = load_image(data, work_side=200)  # 500 px >= 2 x 200: libjpeg decodes it at 1/2
    assert img.scale == 2.0
    assert not any(m.found for m in read_marks(img.array()))  # the reduced pixels lost it
    found = WatermarkDetector().detect(DetectorInput(img, img.array(), None))
    assert [s.name for s in found] == ["watermark.generator"]


def test_small_grey_and_noise_images_carry_no_mark() -> None:
    rng = np.random.default_rng(3)
    noise = Image.fromarray(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8))
    cases = [Image.new("RGB", (200, 200), "white"), Image.new("RGB", (600, 600), (90, 60, 40)),
             noise, noise.convert("L").convert("RGB")]
    for case in cases:
        assert _signals(_bytes(case, "PNG")) == []


def test_it_is_a_registered_builtin() -> None:
    det = next(d for d in registered() if d.name == "watermark")
    assert det.kind == SYNTHETIC and det.needs == frozenset({"pixels"})


def test_a_phone_sized_jpeg_is_not_decoded_again() -> None:
    # 12 MP: decoded at 1/2 by the loader; no generator whose mark is read writes that size
    data = _bytes(Image.new("RGB", (4032, 3024), (120, 100, 90)), "JPEG")
    img = load_image(data)
    assert img.scale == 2.0
    assert stored_pixels(DetectorInput(img, img.array(), None)) is None


def test_invokeais_default_mark_is_read_in_a_lossless_webp() -> None:
    # InvokeAI's watermark node with its default text "InvokeAI" (8-bit BGR), kept as WebP
    found = _signals((FIXTURES / "watermark" / "invokeai_node.webp").read_bytes())
    assert [s.evidence["source"] for s in found] == ["InvokeAI"]
    assert found[0].evidence["bits"] == 64 and found[0].evidence["bit_errors"] <= 11


def test_a_strided_read_judges_only_the_bits_its_rows_hold() -> None:
    # 168 blocks a row (1350 px), every 4th row: 4 x 168 = 3 x 224, so bits 168-223 of a
    # 224-bit message lie only in skipped rows; they must not count as disagreeing
    from headcheck.detectors import dwt_dct

    want = dwt_dct.bits_of(b"StableDiffusionV1-Inpainting")
    rows = np.arange(0, 168, 4)
    index = (rows[:, None] * 168 + np.arange(168)).ravel()
    votes = want[index % 224].astype(np.float64)  # every block read says its own bit
    reading = dwt_dct.read(votes, 224, index)
    assert reading.votes == 0 and int((reading.counts > 0).sum()) == 168
    assert reading.errors(want) == (0, 168)
    full = dwt_dct.read(want[np.arange(168 * 168) % 224].astype(np.float64), 224)
    assert full.votes > 0 and full.errors(want) == (0, 224)
