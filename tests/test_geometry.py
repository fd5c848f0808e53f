"""StyleGAN eye geometry: held-out StyleGAN faces flagged, real photos and their crops not."""

from __future__ import annotations

import numpy as np
from PIL import Image

from headcheck.analyze import Analyzer
from headcheck.geometry import geometry_distance, reference, stylegan_signal

from .conftest import REAL, STYLEGAN, jpeg


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


def test_real_portraits_are_not_flagged(analyzer: Analyzer) -> None:
    for p in sorted(REAL.glob("large_*.jpg"))[:12]:
        a = analyzer.analyze_bytes(p.read_bytes())
        assert not [s for s in a.signals if s.kind == "synthetic" and s.score > 0], p.name


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
    assert s.kind == "synthetic" and 0.55 <= s.score <= 0.85
    assert s.evidence["distance"] <= s.evidence["threshold"]
    assert np.allclose(s.evidence["eyes"], [list(e) for e in a.face.eyes], atol=0.1)
