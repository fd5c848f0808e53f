"""Verification on the pixels and the pure decision that names a relation."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from headcheck import match as M
from headcheck.analyze import Analyzer
from headcheck.verify import Verification, verify

from .conftest import jpeg, real


def v(ctx: int, face: int, margin: int = 0) -> Verification:
    return Verification(ctx, face, ctx + face, 1.0, 0.0, 0.0, margin)


@pytest.mark.parametrize(
    ("ver", "face_dist", "has_face", "ctx_kp", "expected"),
    [
        (v(3, 2), None, True, 300, None),  # too few agreeing keypoints: no claim
        (v(40, 30), None, True, 300, M.SAME_PHOTO),  # body, backdrop and face agree
        (v(0, 60), None, True, 300, None),  # one face on two different bodies
        (v(0, 60), None, True, 10, M.SAME_PHOTO),  # a close-up: no context to compare
        (v(0, 60, 30), None, True, 300, M.SAME_PHOTO),  # body hidden, hair and jaw agree
        (v(40, 0), 0.8, True, 300, M.SAME_CONTEXT),  # a template under another face
        (v(40, 0), 0.3, True, 300, M.SAME_PHOTO),  # same person: not a composite
        (v(40, 0), None, True, 300, None),  # identity unknown: no composite claim
        (v(40, 0), None, False, 300, M.SAME_PHOTO),  # no face: whole image agrees
    ],
)
def test_decide(ver: Verification, face_dist: float | None, has_face: bool, ctx_kp: int,
                expected: str | None) -> None:
    assert M.decide(ver, face_dist, has_face, ctx_kp) == expected


def test_identity_only_when_face_pixels_differ() -> None:
    assert M.needs_identity(v(40, 0), True)
    assert not M.needs_identity(v(40, 40), True)  # same face pixels: same photo already
    assert not M.needs_identity(v(2, 0), True)  # nothing verified: nothing to ask
    assert not M.needs_identity(v(40, 0), False)


@pytest.fixture(scope="module")
def pair(analyzer: Analyzer):
    src = Image.open(real("3788426000")).convert("RGB")
    w, h = src.size
    copy = src.crop((int(0.08 * w), 0, w, int(0.95 * h))).resize((300, 420))
    other = analyzer.analyze_bytes(real("4452457288").read_bytes(), lookup=True)
    return (analyzer.analyze_bytes(jpeg(src), lookup=True),
            analyzer.analyze_bytes(jpeg(copy, quality=60), lookup=True),
            analyzer.analyze_bytes(jpeg(ImageOps.mirror(src)), lookup=True), other)


def test_same_photo_verifies_near_identity(pair) -> None:
    a, b, _, _ = pair
    res = verify(a.features, b.features)
    assert res.face_inliers >= M.MIN_FACE_INLIERS and res.inliers >= M.MIN_SAME_PHOTO_CONTEXT
    assert M.decide(res, None, True, a.features.off_face) == M.SAME_PHOTO
    assert abs(res.scale - 1) < 0.1 and abs(res.angle) < 3 and res.shift < 0.2


def test_mirror_verifies_only_through_mirrored_keypoints(pair) -> None:
    a, _, m, _ = pair
    assert verify(a.features, m.features).inliers < M.MIN_CONTEXT_INLIERS
    res = verify(a.mirror_features, m.features)
    assert M.decide(res, None, True, a.features.off_face) == M.SAME_PHOTO


def test_different_photos_do_not_verify(pair) -> None:
    a, _, _, other = pair
    res = verify(a.features, other.features)
    assert res.inliers + res.face_inliers < M.MIN_CONTEXT_INLIERS
