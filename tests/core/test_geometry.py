"""StyleGAN eye geometry: held-out StyleGAN faces flagged, real photos and their crops not."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from PIL import Image

from headcheck.analyze import Analyzer
from headcheck.detectors.registry import registered
from headcheck.geometry import geometry_distance, reference, stylegan_signal
from tests.conftest import REAL, STYLEGAN, jpeg


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """Every detector but the CLIP probe: these tests read the eye geometry's signal only, and
    the probe's encoder passes cost most of an analysis (tests/core/test_diffusion.py has the
    two together)."""
    return Analyzer(detectors=[d for d in registered() if d.name != "diffusion.clip_probe"])


def test_reference_is_shipped_and_sane() -> None:
    ref = reference()
    assert ref.samples >= 40 and 2.0 < ref.threshold < 7.0
    # FFHQ alignment: eyes level, about a quarter of the width apart, a little above centre
    lx, ly, rx, ry = ref.mean
    assert abs(ly - ry) < 0.01 and 0.2 < rx - lx < 0.3 and 0.4 < ly < 0.5


def test_held_out_stylegan_faces_are_flagged(analyzer: Analyzer) -> None:
    held_out = sorted(STYLEGAN.glob("*.jpg"))[1::2][:12]  # never used to fit the reference
    flagged = sum(any(s.name == "geometry.stylegan_eyes" for s in
                      analyzer.analyze_bytes(p.read_bytes()).signals) for p in held_out)
    assert flagged >= 10


def square_around_face(analyzer: Analyzer, path) -> bytes | None:
    """A square crop centred on the face, as an avatar cropper makes (the shared real portraits
    are 2:3, where geometry never applies); None without a face."""
    im = Image.open(path).convert("RGB")
    face = analyzer.analyze_bytes(path.read_bytes()).face
    if face is None:
        return None
    x, y, w, h = face.box
    side = min(im.size)
    left = int(min(max(x + w / 2 - side / 2, 0), im.width - side))
    top = int(min(max(y + h / 2 - side / 2, 0), im.height - side))
    return jpeg(im.crop((left, top, left + side, top + side)))


def test_square_crops_of_real_portraits_are_measured_and_not_flagged(analyzer: Analyzer) -> None:
    crops = [c for p in sorted(REAL.glob("large_*[0-9].jpg"))  # different people
             if (c := square_around_face(analyzer, p))][:12]
    assert len(crops) == 12
    for n, crop in enumerate(crops):
        a = analyzer.analyze_bytes(crop)
        assert a.width == a.height and a.face is not None, n
        assert geometry_distance(a.face, a.width, a.height) is not None, n  # it applied
        assert not [s for s in a.signals if s.name == "geometry.stylegan_eyes"], n


def test_non_square_images_are_out_of_scope(analyzer: Analyzer) -> None:
    """Geometry only speaks about square, FFHQ-style images; a padded copy says nothing."""
    p = sorted(STYLEGAN.glob("*.jpg"))[1]
    im = Image.open(p).convert("RGB")
    wide = Image.new("RGB", (im.width + 200, im.height), "white")
    wide.paste(im, (100, 0))
    a = analyzer.analyze_bytes(jpeg(wide))
    assert a.face is not None
    assert geometry_distance(a.face, a.width, a.height) is None
    assert stylegan_signal(a.face, a.width, a.height) is None


def test_signal_carries_its_evidence(analyzer: Analyzer) -> None:
    p = sorted(STYLEGAN.glob("*.jpg"))[1]
    a = analyzer.analyze_bytes(p.read_bytes())
    (s,) = [s for s in a.signals if s.name == "geometry.stylegan_eyes"]
    assert np.allclose(s.evidence["eyes"], [list(e) for e in a.face.eyes], atol=0.1)
    # The distance, recomputed by hand from the shipped reference file and the eye positions.
    raw = json.loads(resources.files("headcheck").joinpath("data/stylegan_eyes.json").read_text())
    (lx, ly), (rx, ry) = a.face.eyes
    d = np.array([lx / a.width, ly / a.height, rx / a.width, ry / a.height]) - raw["mean"]
    assert s.evidence["distance"] == pytest.approx(
        float(np.sqrt(d @ np.linalg.solve(np.array(raw["cov"]), d))), abs=1e-3)
    assert s.evidence["threshold"] == raw["threshold"]


def test_closer_to_the_reference_scores_higher(analyzer: Analyzer) -> None:
    found = [s for p in sorted(STYLEGAN.glob("*.jpg"))[1::2][:12]
             for s in analyzer.analyze_bytes(p.read_bytes()).signals
             if s.name == "geometry.stylegan_eyes"]
    assert len({s.evidence["distance"] for s in found}) >= 5
    by_distance = sorted(found, key=lambda s: s.evidence["distance"])
    assert [s.score for s in by_distance] == sorted((s.score for s in found), reverse=True)
