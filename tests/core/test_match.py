"""Verification on the pixels and the pure decision that names a relation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from headcheck import match as M
from headcheck.analyze import Analyzer
from headcheck.dense import DensePatch, DenseScore, compare
from headcheck.verify import Verification, verify
from tests.conftest import jpeg, real


def v(ctx: int, face: int, margin: int = 0) -> Verification:
    return Verification(ctx, face, ctx + face, 1.0, 0.0, 0.0, margin)


def d(ctx: tuple[float, int] = (0.0, 0), core: tuple[float, int] = (0.0, 0),
      margin: tuple[float, int] = (0.0, 0)) -> DenseScore:
    """Dense score from (correlation, textured area) per zone."""
    return DenseScore(ctx[0], ctx[1], core[0], core[1], margin[0], margin[1])


SHARED_CTX, OTHER_CTX = d(ctx=(0.97, 900)), d(ctx=(0.6, 900))


@pytest.mark.parametrize(
    ("ver", "dense", "face_dist", "has_face", "expected"),
    [
        (v(3, 2), d((0.99, 900), (0.99, 300)), None, True, None),  # too few keypoints to align
        (v(40, 30), d((0.98, 900), (0.99, 300)), None, True, M.SAME_PHOTO),  # all pixels agree
        (v(40, 30), d((0.40, 900), (0.99, 300)), None, True, None),  # one face on two bodies
        (v(10, 60), d((0.2, 30), (0.99, 300), (0.97, 200)), None, True, M.SAME_PHOTO),  # close-up
        (v(10, 60), d((0.3, 900), (0.99, 300), (0.97, 200)), None, True, M.SAME_PHOTO),  # a ring
        (v(10, 60), d((0.2, 30), (0.99, 300), (0.3, 200)), None, True, None),  # margin differs
        # One person's two photos, another pose and backdrop (two Pixabay photos of one model,
        # measured): face and hairline agree as closely as one shoot allows, not as a copy's.
        (v(0, 15), d((0.744, 532), (0.941, 601), (0.788, 650)), None, True, None),
        (v(0, 15), d((0.744, 532), (0.995, 601), (0.788, 650)), None, True, M.SAME_PHOTO),
        # with the context shared, the face need only pass its own bar (frames of one shoot)
        (v(40, 20), d((0.95, 900), (0.95, 300)), None, True, M.SAME_PHOTO),
        (v(40, 0), d((0.97, 900), (0.3, 300)), 0.8, True, M.SAME_CONTEXT),  # template, other face
        (v(40, 0), d((0.97, 900), (0.3, 300)), 0.3, True, None),  # same person: no claim at all
        (v(40, 0), d((0.97, 900), (0.3, 300)), None, True, None),  # identity unknown: no claim
        (v(40, 0), d((0.75, 900), (0.3, 300)), 0.9, True, None),  # keypoints agree, pixels don't
        (v(40, 0), d((0.99, 20), (0.3, 300)), 0.9, True, None),  # a plain backdrop: no texture
        (v(40, 0), d((0.97, 900)), None, False, M.SAME_PHOTO),  # no face: whole window agrees
        (v(40, 0), d((0.7, 900)), None, False, None),
        (v(40, 40), M.NO_SCORE, 0.9, True, None),  # no dense patch stored: no claim
    ],
)
def test_decide(ver: Verification, dense: DenseScore, face_dist: float | None, has_face: bool,
                expected: str | None) -> None:
    assert M.decide(ver, dense, face_dist, has_face) == expected


def test_a_mirror_image_needs_the_whole_window_without_a_face() -> None:
    """Faceless, local agreement stands for a copy under an overlay, never for a mirror image
    (two men in one white T-shirt before one backdrop, measured: 12 keypoints mirrored, local
    agreement 0.53 of 1,249 px, whole window 0.83)."""
    local = DenseScore(0.834, 2357, 0.0, 0, 0.0, 0, 1249, 0.53)
    assert M.decide(v(12, 0), local, None, False, mirrored=True) is None
    assert M.decide(v(12, 0), local, None, False) == M.SAME_PHOTO  # a ring copy, unmirrored
    whole = DenseScore(0.97, 2357, 0.0, 0, 0.0, 0, 2300, 0.95)
    assert M.decide(v(12, 0), whole, None, False, mirrored=True) == M.SAME_PHOTO  # a flipped copy


def test_identity_only_when_context_pixels_agree_and_face_pixels_differ() -> None:
    assert M.needs_identity(v(40, 0), d((0.97, 900), (0.3, 300)), True)
    assert not M.needs_identity(v(40, 40), d((0.97, 900), (0.99, 300)), True)  # same photo
    assert not M.needs_identity(v(40, 0), OTHER_CTX, True)  # a shared style: nothing to ask
    assert not M.needs_identity(v(2, 0), SHARED_CTX, True)  # nothing aligned
    assert not M.needs_identity(v(40, 0), SHARED_CTX, False)


@pytest.fixture(scope="module")
def pair(analyzer: Analyzer):
    src = Image.open(real("3788426000")).convert("RGB")
    w, h = src.size
    box = (int(0.08 * w), 0, w, int(0.95 * h))  # a crop, resized as sites do: aspect kept
    copy = src.crop(box).resize((300, round(300 * (box[3] - box[1]) / (box[2] - box[0]))))
    other = analyzer.analyze_bytes(real("4452457288").read_bytes(), lookup=True)
    return (analyzer.analyze_bytes(jpeg(src), lookup=True),
            analyzer.analyze_bytes(jpeg(copy, quality=60), lookup=True),
            analyzer.analyze_bytes(jpeg(ImageOps.mirror(src)), lookup=True), other)


def relation(a, b) -> tuple[str | None, DenseScore]:
    """What the shipped matcher decides for query ``a`` against stored ``b`` (no identity)."""
    ver, mirrored = M.verify_both(a, b.features)
    dense = M.dense_score(DensePatch.from_bytes(a.dense), DensePatch.from_bytes(b.dense), ver,
                          mirrored, a.face is not None)
    return M.decide(ver, dense, None, a.face is not None), dense


def test_same_photo_verifies_near_identity(pair) -> None:
    a, b, _, _ = pair
    res = verify(a.features, b.features)
    assert abs(res.scale - 1) < 0.1 and abs(res.angle) < 3 and res.shift < 0.2
    rel, dense = relation(a, b)
    assert rel == M.SAME_PHOTO
    assert dense.core_corr > 0.95 and dense.context_corr > 0.9


def test_mirror_verifies_only_through_mirrored_keypoints(pair) -> None:
    a, _, m, _ = pair
    assert verify(a.features, m.features).inliers < M.MIN_CONTEXT_INLIERS
    assert relation(a, m)[0] == M.SAME_PHOTO


def test_different_photos_share_no_pixels(pair) -> None:
    a, _, _, other = pair
    res = verify(a.features, other.features)
    assert res.inliers + res.face_inliers < M.MIN_CONTEXT_INLIERS
    # Even aligned on the eyes alone, the band-pass detail of two photos does not agree.
    dense = compare(DensePatch.from_bytes(a.dense), DensePatch.from_bytes(other.dense))
    assert not M.context_shared(dense) and not M.face_pixels_shared(dense)


def test_dense_patch_of_odd_shapes_never_fails() -> None:
    """Faceless strips and specks frame a window much larger than the image."""
    import numpy as np

    from headcheck.dense import dense_patch
    from headcheck.regions import Frame

    for h, w in ((3, 900), (900, 3), (1, 1), (2, 5000)):
        rgb = np.full((h, w, 3), 128, np.uint8)
        patch = dense_patch(rgb, Frame.whole_image(w, h))
        assert patch.gray.shape == (104, 83)
        assert not M.context_shared(compare(patch, patch))  # a flat speck is never evidence



def hexes(words: np.ndarray) -> str:
    return np.asarray(words, np.uint64).astype(">u8").tobytes().hex()


def near(rng: np.random.Generator, code: np.ndarray, bits: int) -> np.ndarray:
    """``code`` with ``bits`` of its bits flipped."""
    flat = np.unpackbits(code.view(np.uint8))
    flat[rng.choice(len(flat), bits, replace=False)] ^= 1
    return np.packbits(flat).view(np.uint64)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32), st.sets(st.integers(0, 19), max_size=5), st.booleans())
def test_candidates_are_the_nearest_hit_of_each_photo_by_brute_force(
        seed: int, exclude: set[int], compiled: bool) -> None:
    """``candidates`` over a real index (the compiled scan or faiss's) is the definition worked
    out by brute force: every kind probed in order, hash then mirror, hits by distance then id;
    each photo keeps its least distance over its kind's radius, a tie the kind probed first,
    excluded photos none; and the dict is in the order photos were first met (ranking keeps it
    among equal ratios). Few photos and distances at simple ratios, so ties are common."""
    from types import SimpleNamespace

    from headcheck import index as index_module
    from headcheck.hashkinds import KINDS
    from headcheck.index import RegionIndex

    rng = np.random.default_rng(seed)
    idx, stored, probes = RegionIndex(), {}, {}
    for kind in KINDS:
        h = rng.integers(0, 2**64 - 1, size=kind.words, dtype=np.uint64, endpoint=True)
        mirror = near(rng, h, int(rng.integers(0, 8))) if rng.random() < 0.5 else \
            rng.integers(0, 2**64 - 1, size=kind.words, dtype=np.uint64, endpoint=True)
        probes[kind.name] = (h, mirror)
        pids = rng.choice(20, int(rng.integers(0, 15)), replace=False)
        radius = kind.radius or 10
        # distances at 0, a half and the whole radius (ratios shared by every kind), or any
        steps = [0, radius // 2, radius, int(rng.integers(0, radius + 4))]
        codes = np.array([near(rng, h, min(64 * kind.words, int(rng.choice(steps))))
                          for _ in pids], np.uint64).reshape(-1, kind.words)
        idx.indexes[kind.name].add(pids, codes)
        stored[kind.name] = dict(zip(pids.tolist(), codes, strict=True))

    probed = [k for k in KINDS if k.radius is not None and rng.random() < 0.8]
    region = {k.name: SimpleNamespace(usable=True, hash=hexes(probes[k.name][0]),
                                      mirror=hexes(probes[k.name][1]))
              for k in probed if k.window is not None}
    image = {f"{k.column}{end}": hexes(probes[k.name][j]) for k in KINDS if k.window is None
             for j, end in enumerate(("", "_mirror"))}
    whole = any(k.window is None for k in probed)
    q = SimpleNamespace(regions=region, image=SimpleNamespace(
        pdq_quality=100 if whole else 0, **image))

    want: dict[int, tuple[str, int]] = {}
    for kind in KINDS:
        if kind.radius is None or (kind.window is not None and kind.name not in region) or (
                kind.window is None and not whole):
            continue
        for query in probes[kind.name]:
            found = sorted((int(np.bitwise_count(c ^ query).sum()), pid)
                           for pid, c in stored[kind.name].items())
            for d, pid in found:
                if d > kind.radius or pid in exclude:
                    continue
                old = want.get(pid)
                if old is None or d / kind.radius < old[1] / M.RADIUS[old[0]]:
                    want[pid] = (kind.name, d)
    kernel = index_module._kernel
    index_module._kernel = kernel if compiled else None
    try:
        got = M.candidates(q, idx, exclude)
    finally:
        index_module._kernel = kernel
    assert list(got.items()) == list(want.items())
