"""BlazeFace looks again where dlib's HOG finds no face; the eye frame stays dlib's definition."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from headcheck.face import FaceModels
from tests.conftest import REAL


@pytest.fixture(scope="module")
def models() -> FaceModels:
    return FaceModels()


def _rotated(rgb: np.ndarray, degrees: float) -> tuple[np.ndarray, callable]:
    """The image turned by ``degrees`` about its centre (same size), and the map of its points."""
    h, w = rgb.shape[:2]
    out = np.asarray(Image.fromarray(rgb).rotate(degrees, resample=Image.Resampling.BICUBIC,
                                                 fillcolor=(128, 128, 128)))
    a = math.radians(degrees)
    cx, cy = w / 2, h / 2

    def move(x: float, y: float) -> tuple[float, float]:
        # PIL turns counter-clockwise on screen (y down)
        dx, dy = x - cx, y - cy
        return (cx + dx * math.cos(a) + dy * math.sin(a), cy - dx * math.sin(a) + dy * math.cos(a))

    return out, move


# Photos of the bundled Flickr set whose faces dlib's HOG cascade does not find (a tilted
# head, a three-quarter view, the dataset's own 75 and 150 px square crops).
HOG_MISSES = ("large_3937523554@2x", "large_5172802343", "square_3937523554@2x",
              "square_5172802343@2x", "square_2369151434")


@pytest.mark.parametrize("name", HOG_MISSES)
def test_faces_hog_misses_are_found_by_the_second_look(models: FaceModels, name: str) -> None:
    rgb = np.asarray(Image.open(REAL / f"{name}.jpg").convert("RGB"))
    assert models._detect(rgb, 1)[0] == []  # HOG alone, upsampled: nothing
    face = models.find_face(rgb)
    assert face is not None and face.detector == "blazeface"
    assert face.landmarks  # dlib's landmarks agreed with BlazeFace's eyes: an identity chip
    x, y, w, h = face.box
    for ex, ey in face.eyes:
        assert x <= ex <= x + w and y <= ey <= y + h
    assert face.eye_distance > 0.1 * min(rgb.shape[:2])  # headshots: a large face


@pytest.mark.parametrize("degrees", [25, 40])
def test_the_second_look_puts_the_eyes_where_dlib_does(models: FaceModels, degrees: int) -> None:
    """On turned copies of photos dlib frames upright, the second look's eyes land within a
    small part of an eye distance of dlib's (the frame every region and hash is cut in)."""
    for path in sorted(REAL.glob("large_*@2x.jpg"))[:5]:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        upright = models.find_face(rgb)
        assert upright is not None and upright.detector == "dlib"
        tilted, move = _rotated(rgb, degrees)
        face = models._second_look(tilted)
        assert face is not None, path.name
        want = sorted(move(*e) for e in upright.eyes)
        off = max(math.dist(g, e) for g, e in zip(face.eyes, want, strict=True))
        limit = 0.15 if face.landmarks else 0.4  # dlib's landmarks, or BlazeFace's own eyes
        assert off < limit * upright.eye_distance, (path.name, face.eyes, want)


def test_no_face_is_invented_on_plain_or_noisy_images(models: FaceModels) -> None:
    rng = np.random.default_rng(3)
    for rgb in (np.full((300, 300, 3), 200, np.uint8),
                rng.integers(0, 256, (320, 240, 3), dtype=np.uint8),
                np.tile(np.linspace(0, 255, 400, dtype=np.uint8)[None, :, None], (300, 1, 3))):
        assert models.find_face(rgb) is None


def test_the_analysis_says_which_look_found_the_face(analyzer) -> None:  # noqa: ANN001
    a = analyzer.analyze_bytes((REAL / "large_5172802343.jpg").read_bytes())
    assert a.to_json()["face"]["detector"] == "blazeface"
    assert a.chip is not None and a.regions["context"].hash
    b = analyzer.analyze_bytes((REAL / "large_3788426000.jpg").read_bytes())
    assert b.to_json()["face"]["detector"] == "dlib"


def test_identity_is_not_measured_on_a_tiny_face(analyzer) -> None:  # noqa: ANN001
    """Two copies of one photo, one 96 px wide (here 64): the small copy's chip is mostly
    upsampling and its descriptor called the face "another person"; such a face gets no chip."""
    im = Image.open(REAL / "large_3788426000@2x.jpg").convert("RGB")
    small = im.resize((64, 96), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=90)
    a = analyzer.analyze_bytes(buf.getvalue())
    assert a.face is not None and a.face.eye_distance < 16  # found, but tiny
    assert a.chip is None
    big = analyzer.analyze_bytes((REAL / "large_3788426000@2x.jpg").read_bytes())
    assert big.chip is not None
