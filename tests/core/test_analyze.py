"""Analysis of one photo: face and eyes, region hashes in the face frame, quality, mirror."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from headcheck.analyze import Analyzer
from headcheck.detectors.provenance import ProvenanceDetector
from headcheck.fingerprint import hamming_hex
from headcheck.load import load_image
from tests.conftest import jpeg, real

ALEX = real("2369151434")


@pytest.fixture(scope="module")
def alex(analyzer: Analyzer):
    return analyzer.analyze_bytes(ALEX.read_bytes())


def test_json_contract(alex) -> None:
    out = alex.to_json("alex.jpg")
    assert set(out) == {"file", "sha256", "width", "height", "face", "hashes", "quality",
                        "signals", "detector_errors", "detectors", "error"}
    # The detectors that ran, name -> version (the diffusion probe only where it can run here).
    assert {"provenance", "geometry.stylegan"} <= set(out["detectors"])
    assert out["detectors"]["provenance"] == ProvenanceDetector.version == "2"
    assert set(out["hashes"]) == {"image", "pdq", "face", "context", "body", "background"}
    assert len(out["hashes"]["pdq"]) == 64 and len(out["hashes"]["context"]) == 16
    assert set(out["face"]) == {"box", "eyes", "score", "detector"}
    assert out["error"] is None


def test_face_and_eyes(alex) -> None:
    face = alex.face
    assert face is not None and face.score > 0
    (lx, ly), (rx, ry) = face.eyes
    x, y, w, h = face.box
    assert lx < rx  # image-left eye first
    assert x < lx < rx < x + w and y < ly < y + h and y < ry < y + h
    assert abs(ly - ry) < 0.2 * (rx - lx)  # an upright portrait


def test_photo_without_face_is_still_analysed(analyzer: Analyzer) -> None:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8))
    a = analyzer.analyze_bytes(jpeg(noise))
    out = a.to_json()
    assert out["face"] is None
    assert out["hashes"]["image"] and out["hashes"]["pdq"]
    assert out["hashes"]["context"] is None and out["hashes"]["face"] is None
    assert len(a.features) > 0  # whole-image keypoints still allow verifying reuse


def test_region_hashes_survive_resize_crop_and_recompression(analyzer: Analyzer, alex) -> None:
    im = Image.open(ALEX).convert("RGB")
    w, h = im.size
    variant = im.crop((int(0.06 * w), int(0.04 * h), w, h)).resize((300, 420))
    b = analyzer.analyze_bytes(jpeg(variant, quality=60))
    for region in ("context", "face"):
        assert hamming_hex(alex.regions[region].hash, b.regions[region].hash) <= 14
    # whole-image pHash is not crop-invariant: that is why regions exist
    assert hamming_hex(alex.image.phash, b.image.phash) > hamming_hex(
        alex.regions["context"].hash, b.regions["context"].hash)


def test_mirrored_copy_matches_through_the_mirror_hash(analyzer: Analyzer, alex) -> None:
    b = analyzer.analyze_bytes(jpeg(ImageOps.mirror(Image.open(ALEX).convert("RGB"))))
    for region in ("context", "background", "face"):
        assert hamming_hex(alex.regions[region].mirror, b.regions[region].hash) <= 10
    assert hamming_hex(alex.image.pdq_mirror, b.image.pdq) <= 16
    assert hamming_hex(alex.image.phash_mirror, b.image.phash) <= 6


def test_plain_backdrop_is_never_evidence(analyzer: Analyzer) -> None:
    """A person on a flat studio grey: the background hash exists but is not usable."""
    im = Image.open(ALEX).convert("RGB")
    a = analyzer.analyze_bytes(ALEX.read_bytes())
    arr = np.asarray(im).copy()
    (lx, ly), (rx, ry) = a.face.eyes
    d = rx - lx
    yy, xx = np.mgrid[: arr.shape[0], : arr.shape[1]]
    cx, cy = (lx + rx) / 2, (ly + ry) / 2
    person = ((xx - cx) / (1.9 * d)) ** 2 + ((yy - cy) / (2.7 * d)) ** 2 <= 1
    person |= (np.abs(xx - cx) < 1.4 * d) & (yy > cy + 1.2 * d)
    person |= yy > cy + 2.2 * d  # shoulders and body
    arr[~person] = (128, 130, 132)
    flat = analyzer.analyze_bytes(jpeg(Image.fromarray(arr)))
    bg = flat.regions["background"]
    assert not bg.usable and bg.quality < a.regions["background"].quality


def test_analysis_is_deterministic(analyzer: Analyzer) -> None:
    data = ALEX.read_bytes()
    a, b = analyzer.analyze_bytes(data), analyzer.analyze_bytes(data)
    assert a.to_json() == b.to_json()
    assert a.features.to_bytes() == b.features.to_bytes()


def test_grayscale_and_webp_inputs(analyzer: Analyzer, alex) -> None:
    gray = ImageOps.grayscale(Image.open(ALEX))
    buf = io.BytesIO()
    gray.save(buf, format="WEBP", quality=80)
    b = analyzer.analyze_bytes(buf.getvalue())
    assert b.face is not None
    assert hamming_hex(alex.regions["face"].hash, b.regions["face"].hash) <= 10
    assert load_image(buf.getvalue()).format == "WEBP"


def test_a_large_jpeg_is_analysed_reduced_and_reported_in_its_own_pixels() -> None:
    """A photo twice WORK_SIDE is decoded reduced: the same face, size and hashes (within a few
    bits) as a full decode, and coordinates in the original's pixels, not the reduced ones."""
    im = Image.open(ALEX).convert("RGB")
    k = 4200 / max(im.size)
    big = jpeg(im.resize((round(im.width * k), round(im.height * k)), Image.Resampling.LANCZOS))
    reduced = Analyzer(detectors=[]).analyze_bytes(big)
    full = Analyzer(detectors=[], work_side=None).analyze_bytes(big)
    assert load_image(big).scale == 4.0
    assert (reduced.width, reduced.height) == (full.width, full.height) == Image.open(
        io.BytesIO(big)).size
    assert reduced.face is not None and full.face is not None
    for (rx, ry), (fx, fy) in zip(reduced.face.eyes, full.face.eyes, strict=True):
        assert np.hypot(rx - fx, ry - fy) < 0.05 * full.face.eye_distance
    for kind, h in full.hashes().items():
        assert h and hamming_hex(h, reduced.hashes()[kind]) <= 12, kind
