"""The diffusion detector's training and validation images: a manifest in git, the files not.

    python bench/diffusion_set.py scan    # (re)write data/diffusion/manifest.csv from sources
    python bench/diffusion_set.py build   # copy every manifest row into data/diffusion-set/

Sources are public repository snapshots (fetched with git, read at a pinned commit) and the
team's shared image folder. ``build`` checks each file's sha256 against the manifest, so the set
it rebuilds is byte-identical or the command says which file differs. Each row names its
licence; every source was checked to allow training and shipping weights (see
data/diffusion/SOURCES.md).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "data" / "diffusion" / "manifest.csv"
SET_DIR = ROOT / "data" / "diffusion-set"
MIRRORS = Path(os.environ.get("HEADCHECK_MIRRORS", "/work/.mirror"))
SHARED = Path(os.environ.get("HEADCHECK_SHARED", ROOT.parent / "shared" / "data" / "faces"))
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


def _pixabay_photo(path: str) -> bool:
    """Pixabay photos only (not the few iStock files beside them), uploaded before mid-2022
    (ids under 7,000,000: before text-to-image models were public), none tagged AI."""
    m = re.search(r"-(\d+)_\d+\.jpe?g$", path, re.IGNORECASE)
    return bool(m) and int(m.group(1)) < 7_000_000 and "ai-generated" not in path


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
)

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
    key = {"prefix3": stem[:3], "one": "all", "file": stem}[rs.group]
    # Both London sets show the same 102 people: one group per person across the two.
    owner = "london" if rs.name.startswith("london") else rs.name
    return f"{owner}:{key}"


def scan() -> list[dict[str, str]]:
    rows = []
    for rs in REPO_SETS:
        listing = _git(rs.repo, "ls-tree", "--name-only", rs.commit, rs.folder + "/").decode()
        for path in sorted(listing.splitlines()):
            if (not path.lower().endswith(".jpg") or Path(path).name.startswith("._")
                    or not rs.keep(path)):
                continue
            data = _git(rs.repo, "show", f"{rs.commit}:{path}")
            rows.append({"set": rs.name, "label": "real", "generator": "", "group":
                         _group(rs, path), "source": f"github:{rs.repo}", "commit": rs.commit,
                         "path": path, "licence": rs.licence, "sha256": _sha(data)})
    for name, folder, label, licence, group_col in SHARED_SETS:
        with (SHARED / folder / "labels.csv").open(newline="") as f:
            for rec in csv.DictReader(f):
                data = (SHARED / folder / rec["file"]).read_bytes()
                key = rec.get(group_col) or rec["file"] if group_col != "file" else rec["file"]
                rows.append({"set": name, "label": label, "generator": rec.get("generator", ""),
                             "group": f"{name}:{key}", "source": f"shared:faces/{folder}",
                             "commit": "", "path": rec["file"], "licence": licence,
                             "sha256": _sha(data)})
    return rows


def read_manifest() -> list[dict[str, str]]:
    with MANIFEST.open(newline="") as f:
        return list(csv.DictReader(f))


def local_path(row: dict[str, str]) -> Path:
    return SET_DIR / row["set"] / Path(row["path"]).name


def build() -> int:
    bad = 0
    for row in read_manifest():
        if row["source"].startswith("github:"):
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
