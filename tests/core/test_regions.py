"""The face frame and its regions, on drawn images whose geometry is known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from headcheck.face import Face
from headcheck.regions import (
    FACE,
    REGION_WINDOWS,
    ZONE_CONTEXT,
    ZONE_FACE_CORE,
    ZONE_FACE_MARGIN,
    Frame,
    cut,
    region_mask,
    zones,
)

BLUE, RED = (0, 0, 255), (255, 0, 0)


def face_at(left: tuple[float, float], right: tuple[float, float]) -> Face:
    return Face((0, 0, 1, 1), (left, right), 1.0, ())


def test_frame_from_level_and_tilted_eyes() -> None:
    f = Frame.from_face(face_at((100, 200), (140, 200)))
    assert (f.origin, f.unit, f.angle) == ((120, 200), 40, 0)
    t = Frame.from_face(face_at((100, 200), (130, 240)))  # a 3-4-5 triangle
    assert t.origin == (115, 220) and t.unit == pytest.approx(50)
    assert t.angle == pytest.approx(math.atan2(40, 30))


def test_matrix_takes_window_pixels_to_image_pixels() -> None:
    level = Frame((120, 200), 40, 0.0)
    m = level.matrix(FACE, 40)  # 40 px per unit: one output pixel is one image pixel
    assert m @ [0, 0, 1] == pytest.approx([120 - 1.2 * 40, 200 - 1.4 * 40])
    assert m @ [10, 5, 1] == pytest.approx([72 + 10, 144 + 5])
    turned = Frame((0, 0), 10, math.pi / 2)  # eye line pointing down the image
    # frame u (along the eyes) runs down the image, frame v (down the face) runs left
    body = REGION_WINDOWS["body"]
    u1 = turned.matrix(body, 1) @ [1 - body.u0, -body.v0, 1]  # frame point (1, 0)
    v1 = turned.matrix(body, 1) @ [-body.u0, 1 - body.v0, 1]  # frame point (0, 1)
    assert u1 == pytest.approx([0, 10]) and v1 == pytest.approx([-10, 0])


def two_colour_image() -> tuple[np.ndarray, Frame]:
    """Eyes at (180, 150) and (220, 150): unit 40, origin (200, 150). Blue down to y = 242
    (frame v = 2.3, where the body begins), red below."""
    rgb = np.zeros((400, 400, 3), np.uint8)
    rgb[:242] = BLUE
    rgb[242:] = RED
    return rgb, Frame.from_face(face_at((180, 150), (220, 150)))


def test_body_and_background_cut_where_the_frame_says() -> None:
    rgb, frame = two_colour_image()
    body = cut(rgb, frame, "body")
    assert body.pixels.shape == (round(1.9 * 40), round(5.2 * 40), 3)
    assert (body.pixels[1:] == RED).all()  # all but the boundary row
    assert body.inside_fraction == 1.0
    bg = cut(rgb, frame, "background")
    seen = bg.pixels[bg.mask]
    assert (seen[:-bg.pixels.shape[1]] == BLUE).all()
    assert bg.inside_fraction == 1.0


def test_inside_fraction_is_the_share_of_the_window_in_the_image() -> None:
    rgb = np.full((400, 400, 3), 128, np.uint8)
    frame = Frame.from_face(face_at((180, 20), (220, 20)))  # eyes 20 px from the top
    # face window: v from -1.4 to 2.0, image rows -36 to 100, of which 0 to 100 exist
    assert cut(rgb, frame, "face").inside_fraction == pytest.approx(100 / 136, abs=0.01)
    assert cut(rgb, frame, "body").inside_fraction == 1.0  # rows 112 to 188
    # a frame far off the image sees nothing of it
    assert cut(rgb, Frame((5000, 5000), 40, 0.0), "context").inside_fraction == 0.0


def test_masks_leave_out_the_face_and_the_head() -> None:
    w, h, scale = 52, 65, 10  # the context window at 10 px per unit
    ctx = REGION_WINDOWS["context"]
    mask = region_mask("context", ctx, w, h, scale)
    at = lambda u, v: (int((v - ctx.v0) * scale), int((u - ctx.u0) * scale))  # noqa: E731
    assert not mask[at(0, 0.35)] and not mask[at(0, -1.2)]  # the face ellipse
    assert mask[at(-2.5, -2.2)] and mask[at(2.0, 3.5)]  # backdrop corner, body
    assert region_mask("context", ctx, w, h, scale, mask_face=False).all()
    bg = region_mask("background", REGION_WINDOWS["background"], 52, 46, scale)
    assert not bg[int((1.0 + 2.3) * 10), 26]  # the neck, below the chin
    assert bg[1, 1] and bg[1, 50]  # upper corners, beside the head


def test_zones_core_margin_context() -> None:
    ctx = REGION_WINDOWS["context"]
    z = zones(ctx, 52, 65, 10)
    at = lambda u, v: z[int((v - ctx.v0) * 10), int((u - ctx.u0) * 10)]  # noqa: E731
    assert at(0, 0.45) == ZONE_FACE_CORE  # nose
    assert at(1.2, 0.35) == ZONE_FACE_MARGIN  # an ear
    assert at(-2.5, 4.0) == ZONE_CONTEXT  # a shoulder
    assert (z == ZONE_FACE_CORE).sum() < (z == ZONE_FACE_MARGIN).sum() < (z == ZONE_CONTEXT).sum()


@pytest.mark.parametrize(("width", "height"), [(300, 200), (200, 300), (64, 64)])
def test_whole_image_frame_covers_every_pixel(width: int, height: int) -> None:
    rgb = np.full((height, width, 3), 200, np.uint8)
    frame = Frame.whole_image(width, height)
    c = cut(rgb, frame, "context", mask_face=False)
    ctx = REGION_WINDOWS["context"]
    window_px = (ctx.u1 - ctx.u0) * (ctx.v1 - ctx.v0) * frame.unit ** 2
    assert c.inside_fraction == pytest.approx(width * height / window_px, abs=0.02)
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], float)
    m = np.vstack([frame.matrix(ctx, 1), [0, 0, 1]])
    u_v = (np.linalg.inv(m) @ np.c_[corners, np.ones(4)].T)[:2].T  # window units from u0, v0
    assert (u_v >= -1e-6).all() and (u_v[:, 0] <= ctx.u1 - ctx.u0 + 1e-6).all()
    assert (u_v[:, 1] <= ctx.v1 - ctx.v0 + 1e-6).all()
