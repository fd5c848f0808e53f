"""The evaluation corpus generator (bench/corpus.py): labels, files and transforms are what they
say. Builds the --small corpus (~50 files, a few seconds) once for the module."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from headcheck.load import load_image
from tests.conftest import bench_script


def _load_corpus_module() -> ModuleType:
    return bench_script("corpus", "bench_corpus")


corpus = _load_corpus_module()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("corpus")
    return out, corpus.build_corpus(out, seed=7, small=True)


@pytest.fixture(scope="module")
def rows(built: tuple[Path, list[dict]]) -> list[dict]:
    return built[1]


def arr(out: Path, row: dict) -> np.ndarray:
    return load_image((out / row["file"]).read_bytes()).array().astype(np.float32)


def source(row: dict) -> np.ndarray:
    return load_image((corpus.FACES / row["source"]).read_bytes()).array().astype(np.float32)


def diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).mean())


def copy_of(rows: list[dict], transform: str, kind: str = "real") -> dict:
    return next(r for r in rows if r["transform"] == transform and r["source"].startswith(kind))


def params(row: dict, step: str) -> dict:
    return json.loads(row["params"])[step]


# ---------------------------------------------------------------------------- manifest


def test_manifest_matches_returned_rows(built: tuple[Path, list[dict]]) -> None:
    out, rows = built
    with (out / "manifest.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == corpus.COLUMNS
        on_disk = list(reader)
    assert on_disk == [{k: str(v) for k, v in r.items()} for r in rows]
    assert corpus.read_manifest(out) == on_disk
    assert 35 <= len(rows) <= 60
    assert len({r["file"] for r in rows}) == len(rows)


def test_every_file_decodes_at_its_recorded_size(built: tuple[Path, list[dict]]) -> None:
    out, rows = built
    for row in rows:
        img = load_image((out / row["file"]).read_bytes())
        assert (img.width, img.height) == (int(row["width"]), int(row["height"])), row["file"]
        expected = "WEBP" if row["file"].endswith(".webp") else "JPEG"
        assert img.format == expected, row["file"]


def test_labels_are_consistent(rows: list[dict]) -> None:
    allowed = {"composite": {"template", "composite"}, "reuse": {"original", "copy"},
               "negative": {"negative"}}
    for row in rows:
        assert row["role"] in allowed[row["task"]], row
        assert (corpus.FACES / row["source"]).is_file()
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    for gid, members in groups.items():
        roles = [r["role"] for r in members]
        if gid.startswith("tpl:"):
            assert roles.count("template") == 1 and roles.count("composite") >= 3
        elif gid.startswith("photo:"):
            assert roles.count("original") == 1 and roles.count("copy") >= 16
        elif gid.startswith("neg:"):
            assert roles == ["negative"]
    assert {r["task"] for r in rows} == {"composite", "reuse", "negative"}


def test_composites_show_someone_else(rows: list[dict]) -> None:
    for row in rows:
        if row["role"] == "composite":
            template = next(r for r in rows if r["group"] == row["group"]
                            and r["role"] == "template")
            assert row["person"] != template["person"]
            assert row["face_source"] != row["source"]


def test_originals_and_templates_are_the_source_bytes(built: tuple[Path, list[dict]]) -> None:
    out, rows = built
    for row in rows:
        if row["role"] in ("original", "template"):
            assert (out / row["file"]).read_bytes() == (corpus.FACES / row["source"]).read_bytes()


def test_square_crop_is_the_datasets_own(built: tuple[Path, list[dict]]) -> None:
    out, rows = built
    row = copy_of(rows, "square_crop")
    square = corpus.FACES / "real" / "images" / json.loads(row["params"])["from"]
    assert (out / row["file"]).read_bytes() == square.read_bytes()
    assert (int(row["width"]), int(row["height"])) == (150, 150)


def test_real_photos_link_template_and_reuse_groups(rows: list[dict]) -> None:
    tpl = next(r for r in rows if r["role"] == "template" and r["source"].startswith("real"))
    orig = next(r for r in rows if r["role"] == "original" and r["source"] == tpl["source"])
    composite = next(r for r in rows if r["role"] == "composite" and r["group"] == tpl["group"])
    copy = next(r for r in rows if r["role"] == "copy" and r["group"] == orig["group"])
    assert corpus.related(composite, copy) and corpus.related(tpl, orig)
    backdrop = next(r for r in rows if r["transform"] == "backdrop")
    assert not any(corpus.related(backdrop, r) for r in rows if r is not backdrop)


def test_negsame_pair_shares_a_face_not_a_context(rows: list[dict]) -> None:
    pair = [r for r in rows if r["group"].startswith("negsame:")]
    assert len(pair) == 2
    a, b = pair
    assert a["person"] == b["person"] and a["face_source"] == b["face_source"]
    assert a["source"] != b["source"]
    assert not corpus.related(a, b)
    for row in pair:
        template = next(r for r in rows if r["role"] == "template" and r["source"] == row["source"])
        assert template["group"] in row["also_group"].split(";")
        assert corpus.related(row, template)


# ---------------------------------------------------------------------------- reuse transforms


@pytest.mark.parametrize("width", [96, 200, 400, 800])
def test_resize_sets_the_width_and_keeps_the_picture(built, width: int) -> None:
    out, rows = built
    row = copy_of(rows, f"resize_{width}")
    src = source(row)
    h, w = src.shape[:2]
    img = arr(out, row)
    assert img.shape[:2] == (round(h * width / w), width)
    expected = Image.fromarray(src.astype(np.uint8)).resize(img.shape[1::-1], Image.LANCZOS)
    assert diff(img, np.asarray(expected, np.float32)) < 4


def test_jpeg_quality_copies_keep_the_size_and_lose_detail(built) -> None:
    out, rows = built
    sizes = {}
    for q in (50, 75, 95):
        row = copy_of(rows, f"jpeg_q{q}")
        src = source(row)
        assert diff(arr(out, row), src) < 4
        sizes[q] = (out / row["file"]).stat().st_size
    assert sizes[50] < sizes[75] < sizes[95]


def test_webp_copy(built) -> None:
    out, rows = built
    row = copy_of(rows, "webp")
    assert row["file"].endswith(".webp")
    assert diff(arr(out, row), source(row)) < 4


@pytest.mark.parametrize("pct", [5, 10])
def test_crop_removes_the_fraction_from_random_sides(built, pct: int) -> None:
    out, rows = built
    row = copy_of(rows, f"crop_{pct}pct")
    src = source(row)
    h, w = src.shape[:2]
    x0, y0, x1, y1 = params(row, f"crop_{pct}pct")["box"]
    img = arr(out, row)
    assert img.shape[:2] == (h - round(h * pct / 100), w - round(w * pct / 100))
    assert (x1 - x0, y1 - y0) == (img.shape[1], img.shape[0])
    assert diff(img, src[y0:y1, x0:x1]) < 3
    assert diff(img, src[: y1 - y0, : x1 - x0]) > diff(img, src[y0:y1, x0:x1]) or (x0, y0) == (0, 0)


@pytest.mark.parametrize("pct", [10, 20])
def test_pad_adds_a_border(built, pct: int) -> None:
    out, rows = built
    for row in [r for r in rows if r["transform"] == f"pad_{pct}pct"]:
        src = source(row)
        h, w = src.shape[:2]
        p = params(row, f"pad_{pct}pct")
        px, py = p["offset"]
        assert (px, py) == (round(w * pct / 200), round(h * pct / 200))
        img = arr(out, row)
        assert img.shape[:2] == (h + 2 * py, w + 2 * px)
        assert diff(img[py:py + h, px:px + w], src) < 4
        border = np.concatenate([img[: py - 2].reshape(-1, 3), img[-(py - 2):].reshape(-1, 3)])
        if p["fill"] == "solid":
            assert np.abs(border - np.array(p["colour"])).mean() < 3
        else:  # a blurred stretch of the picture: smooth, not flat
            assert border.std() > 1
            assert np.abs(np.diff(img[: py - 2], axis=1)).mean() < 2


def test_mirror_is_fliplr(built) -> None:
    out, rows = built
    for row in [r for r in rows if r["transform"] == "mirror"]:
        img, src = arr(out, row), source(row)
        assert diff(img, np.fliplr(src)) < 3
        assert diff(img, src) > 3 * diff(img, np.fliplr(src))


def test_grayscale_has_equal_channels(built) -> None:
    out, rows = built
    row = copy_of(rows, "grayscale")
    img, src = arr(out, row), source(row)
    assert np.abs(img[..., 0] - img[..., 1]).max() <= 2
    assert np.abs(img[..., 1] - img[..., 2]).max() <= 2
    luma = src @ np.array([0.299, 0.587, 0.114], np.float32)
    assert np.abs(img[..., 0] - luma).mean() < 3


def test_ring_is_a_circular_avatar_with_a_coloured_rim(built) -> None:
    out, rows = built
    for row in [r for r in rows if r["transform"] == "ring"]:
        p = params(row, "ring")
        img, src = arr(out, row), source(row)
        side = img.shape[0]
        assert img.shape[:2] == (side, side) and side == min(src.shape[:2])
        assert np.abs(img[:3, :3] - np.array(p["fill"])).mean() < 4  # a corner
        rim = round(p["thickness"] / 2)
        assert np.abs(img[side // 2, rim] - np.array(p["ring"])).mean() < 12
        assert np.abs(img[rim, side // 2] - np.array(p["ring"])).mean() < 12
        x0, y0, x1, y1 = p["box"]
        c = slice(side // 4, 3 * side // 4)
        assert diff(img[c, c], src[y0:y1, x0:x1][c, c]) < 4


def test_banner_covers_the_bottom_15pct(built) -> None:
    out, rows = built
    for row in [r for r in rows if r["transform"] == "banner"]:
        p = params(row, "banner")
        img, src = arr(out, row), source(row)
        h, w = src.shape[:2]
        assert img.shape == src.shape and p["band"] == round(0.15 * h)
        band = img[h - p["band"] + 2:, : w // 20]  # left edge of the band, clear of the text
        assert np.abs(band - np.array(p["colour"])).mean() < 6
        assert diff(img[: h - p["band"]], src[: h - p["band"]]) < 4
        text = img[h - p["band"]:, w // 4: 3 * w // 4]
        assert (text.min(axis=2) > 230).mean() > 0.01  # white lettering


def test_chains_apply_left_to_right() -> None:
    rng = np.random.default_rng(0)
    rgb = (np.random.default_rng(1).uniform(0, 255, (300, 200, 3))).astype(np.uint8)
    data, ext, p = corpus.apply_transform(rgb, "crop_5pct+jpeg_q60+resize_100", rng)
    img = Image.open(io.BytesIO(data))
    assert (ext, img.format, img.size) == ("jpg", "JPEG", (100, 150))
    assert set(p) == {"crop_5pct"}
    data, ext, _ = corpus.apply_transform(rgb, "pad_10pct+webp", rng)
    img = Image.open(io.BytesIO(data))
    assert (ext, img.format, img.size) == ("webp", "WEBP", (220, 330))
    with pytest.raises(ValueError):
        corpus.apply_transform(rgb, "sepia", rng)


def test_combined_copies_exist(built) -> None:
    out, rows = built
    chains = [r for r in rows if "+" in r["transform"]]
    assert chains
    for row in chains:
        last = row["transform"].split("+")[-1]
        if last.startswith("resize_"):
            assert int(row["width"]) == int(last.removeprefix("resize_"))


# ---------------------------------------------------------------------------- composites


def test_composite_keeps_the_template_outside_the_face(built) -> None:
    out, rows = built
    lib = corpus.Library()
    for row in [r for r in rows if r["transform"] == "composite"]:
        p = json.loads(row["params"])
        assert 400 <= int(row["width"]) <= 800
        x0, y0, x1, y1 = p["crop_box"]
        tpl = corpus.Source(corpus.FACES / row["source"], row["source"].split("/")[0])
        face = lib.face(tpl)
        assert face is not None
        # Bring the template and its face mask into the composite's frame.
        size = (p["width"], round((y1 - y0) * p["width"] / (x1 - x0)))
        frame = Image.fromarray(lib.rgb(tpl)[y0:y1, x0:x1]).resize(size, Image.LANCZOS)
        mask = corpus.face_mask(lib.rgb(tpl).shape, face)[y0:y1, x0:x1]
        mask = np.asarray(Image.fromarray(mask).resize(size, Image.BILINEAR))
        img, expected = arr(out, row), np.asarray(frame, np.float32)
        outside, inside = mask < 0.01, mask > 0.9
        assert np.abs(img - expected)[outside].mean() < 5, row["file"]
        assert np.abs(img - expected)[inside].mean() > 10, row["file"]
        # The pasted face sits where the template's was: its eyes are found there.
        found = lib.models.find_face(img.astype(np.uint8))
        assert found is not None, row["file"]
        s = p["width"] / (x1 - x0)
        want = np.array([[(x - x0) * s, (y - y0) * s] for x, y in face.eyes])
        assert np.abs(np.array(found.eyes) - want).max() < 0.2 * face.eye_distance * s


def test_same_seed_same_bytes(built, tmp_path: Path) -> None:
    out, rows = built
    again = corpus.build_corpus(tmp_path, seed=7, small=True)
    assert again == rows
    for row in rows:
        assert (tmp_path / row["file"]).read_bytes() == (out / row["file"]).read_bytes()
