"""The seed's tells as numbers (headcheck.detectors.face_stats): each moves the way its name says
when the photo is changed that way, on a real photo, and nothing raises near the borders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from headcheck.detectors.face_stats import FACE_PX, NAMES, REGIONS, face_stats
from headcheck.face import FaceModels

PHOTO = Path(__file__).parent.parent / "fixtures" / "diffusion" / "real_interfaces_009.jpg"


@pytest.fixture(scope="module")
def photo() -> tuple[Image.Image, tuple[int, int, int, int]]:
    img = Image.open(PHOTO).convert("RGB")
    face = FaceModels().find_face(np.asarray(img))
    assert face is not None
    return img, face.box


def feat(img: Image.Image, box) -> dict[str, float]:
    return dict(zip(NAMES, face_stats(img, box).tolist(), strict=True))


def region_box(box, name: str) -> tuple[int, int, int, int]:
    x, y, w, h = box
    dx, dy, rw, rh = REGIONS[name]
    return round(x + dx * w), round(y + dy * h), round(x + (dx + rw) * w), round(y + (dy + rh) * h)


def test_smoothing_the_skin_reads_as_plastic(photo) -> None:
    img, box = photo
    before = feat(img, box)
    smooth = img.copy()
    r = region_box(box, "skin")
    smooth.paste(img.crop(r).filter(ImageFilter.GaussianBlur(2.5)), r[:2])
    after = feat(smooth, box)
    assert after["skin_noise"] < before["skin_noise"] - 0.3
    assert after["plastic_vs_hair"] < before["plastic_vs_hair"] - 0.3
    assert after["skin_hf_share"] < before["skin_hf_share"]
    # The hair and the body were not touched.
    assert after["hair_noise"] == pytest.approx(before["hair_noise"], abs=1e-5)


def test_a_face_lit_bluer_than_its_body_shows_a_temperature_gap(photo) -> None:
    img, box = photo
    before = feat(img, box)
    x, y, w, h = box
    arr = np.asarray(img, dtype=np.float32).copy()
    arr[y:y + h, x:x + w] *= np.array([0.8, 1.0, 1.25], dtype=np.float32)  # cooler face only
    after = feat(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), box)
    assert after["temp_face_minus_body"] > before["temp_face_minus_body"] + 0.2


def test_a_bright_rim_around_the_head_raises_the_halo_overshoot() -> None:
    # A synthetic "cut-out": a dark head disc on a mid-grey backdrop, with and without a thin
    # bright rim just outside the edge.
    side, r = 600, 170
    yy, xx = np.mgrid[:side, :side]
    dist = np.hypot(xx - side / 2, yy - side / 2)
    base = np.where(dist < r, 60.0, 140.0)
    rim = base + np.where((dist >= r) & (dist < r + 4), 90.0, 0.0)
    box = (side // 2 - 80, side // 2 - 80, 160, 160)
    imgs = [Image.fromarray(np.repeat(a[..., None], 3, 2).astype(np.uint8)) for a in (base, rim)]
    plain, halo = (feat(i, box) for i in imgs)
    assert halo["halo_overshoot"] > plain["halo_overshoot"] + 0.3
    assert 0 < plain["halo_sharpness"] <= 1.5


def test_regions_outside_the_photo_are_nan_not_errors(photo) -> None:
    img, box = photo
    x, y, w, h = box
    # The face cut so its top edge is the photo's: no hair band, no halo rays.
    tight = img.crop((x - w // 4, y, x + w + w // 4, y + h + h // 8))
    f = feat(tight, (w // 4, 0, w, h))
    assert np.isnan(f["hair_noise"]) and np.isnan(f["plastic_vs_hair"])
    assert np.isfinite(f["skin_noise"]) and np.isfinite(f["skin_hf_share"])


@pytest.mark.parametrize("size,box", [
    ((1, 1), (0, 0, 1, 1)), ((40, 30), (-50, -50, 200, 200)), ((3000, 20), (10, 0, 15, 15)),
    ((300, 300), (290, 290, 300, 300)),
])
def test_never_raises_on_degenerate_boxes(size, box) -> None:
    v = face_stats(Image.new("RGB", size, (120, 90, 60)), box)
    assert v.shape == (len(NAMES),) and v.dtype == np.float32


def test_scale_is_normalised_to_the_face(photo) -> None:
    img, box = photo
    half = img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)
    a, b = feat(img, box), feat(half, tuple(v // 2 for v in box))
    assert FACE_PX == 128
    # Colour and shading do not depend on the photo's size; noise may, but not wildly.
    for k in ("temp_face_minus_body", "shade_face"):
        assert a[k] == pytest.approx(b[k], abs=0.05)
    assert abs(a["skin_noise"] - b["skin_noise"]) < 1.0
