"""The shipped detectors on AI images of generator families nothing they were trained on holds.

    python bench/unseen_eval.py --source sd3       # snapshot of faker-js/assets-person-portrait
    python bench/unseen_eval.py --source designer  # snapshot of TNO/scenario-spark

Sources (data/diffusion/SOURCES.md):
- ``sd3``: 200 "profile picture of a {age}-year-old {man|woman} from {country}" images made with
  Stable Diffusion 3 (CC0; the manifest's set ``sd3_faker``, rows of data/diffusion/manifest.csv).
  No shipped probe has trained on them.
- ``designer``: 55 single-person scenes (1024 px, adults at work, outdoors, in cafes) that carry
  Microsoft's signed C2PA manifest ("Image Creator from Designer", i.e. DALL-E 3), listed with
  their sha256 in data/diffusion/designer_eval.csv: evaluation only, never training.

Each file is read from the snapshot (its sha256 checked) and analysed by the real CLI
(`headcheck analyze --json`) in three versions: as published (the provenance detector can read
any manifest), a metadata-free copy (decoded and saved again as JPEG quality 95: what a profile
site that strips metadata serves, so only the pixel detectors can see it) and a profile-sized
copy (the long side 400 px, JPEG quality 85). For the two copies the diffusion probe's heads are
also scored directly (``scores`` on the face the CLI found), since a score under the unsure band
leaves no signal. Prints markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_set import _git, read_manifest  # noqa: E402

CLI = [sys.executable, "-c", "from headcheck.cli import main; main()"]


@dataclass(frozen=True)
class Source:
    repo: str
    commit: str
    rows: Callable[[], list[dict[str, str]]]  # each with "path" and "sha256"


def _designer_rows() -> list[dict[str, str]]:
    with (ROOT / "data" / "diffusion" / "designer_eval.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _manifest_rows(name: str) -> Callable[[], list[dict[str, str]]]:
    return lambda: [r for r in read_manifest() if r["set"] == name]


SOURCES = {
    "sd3": Source("faker-js/assets-person-portrait", "63aef57b5a839aebe3ad913ec7c76469aabbb6c5",
                  _manifest_rows("sd3_faker")),
    "designer": Source("TNO/scenario-spark", "42e769c331b9a73590e8ff138eebda6bcba7e732",
                       _designer_rows),
}


def materialise(src: Source, folder: Path) -> list[Path]:
    """The listed files from the snapshot, each checked against its sha256."""
    out = []
    for row in src.rows():
        data = _git(src.repo, "show", f"{src.commit}:{row['path']}")
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            sys.exit(f"{row['path']}: sha256 differs from the list")
        path = folder / row["path"].replace("/", "_")
        path.write_bytes(data)
        out.append(path)
    return out


def stripped(src: Path, folder: Path, long_side: int | None = None, quality: int = 95) -> Path:
    """The pixels alone (no EXIF, XMP or C2PA segment), optionally resized."""
    im = Image.open(src).convert("RGB")
    if long_side is not None and max(im.size) > long_side:
        im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    path = folder / src.name
    path.write_bytes(buf.getvalue())
    return path


def analyse(files: list[Path]) -> list[dict]:
    run = subprocess.run([*CLI, "analyze", "--json", *map(str, files)], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if run.returncode not in (0, 1):
        sys.exit(run.stderr[-2000:])
    return [json.loads(line) for line in run.stdout.splitlines()]


def summary(rows: list[dict]) -> dict[str, int]:
    out = {"files": len(rows), "face": 0, "flagged": 0, "unsure": 0, "provenance": 0,
           "diffusion": 0, "stylegan_geometry": 0}
    for r in rows:
        out["face"] += r["face"] is not None
        sig = [s for s in r["signals"] if s["kind"] == "synthetic"]
        flags = [s for s in sig if s["score"] > 0]
        out["flagged"] += bool(flags)
        out["unsure"] += not flags and any(s["evidence"].get("band") == "unsure" for s in sig)
        names = {s["name"] for s in flags}
        out["provenance"] += any(not n.startswith(("diffusion", "stylegan")) for n in names)
        out["diffusion"] += "diffusion.clip_probe" in names
        out["stylegan_geometry"] += any(n.startswith("stylegan") for n in names)
    return out


def probe_scores(rows: list[dict]) -> list[tuple[float, float]]:
    from headcheck.detectors import diffusion

    out = []
    for r in rows:
        if r["face"] is None:
            continue
        image = Image.open(r["file"]).convert("RGB")
        p, p_sg = diffusion.scores(image, tuple(r["face"]["box"]))
        out.append((p, p_sg))
    return out


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def describe(name: str, scores: list[tuple[float, float]], unsure: float, flag: float) -> None:
    p = [a for a, _ in scores]
    sg = [b for _, b in scores]
    print(f"\nThe probe on the {len(scores)} {name} with a face: text-to-image head highest "
          f"{max(p):.4f}, median {statistics.median(p):.4f} (log-odds median "
          f"{statistics.median(map(logit, p)):+.2f}, flag {logit(flag):+.2f}); at or over unsure "
          f"{sum(x >= unsure for x in p)}, over the flag {sum(x >= flag for x in p)}; StyleGAN "
          f"head highest {max(sg):.4f}.")
    print("- text-to-image head at or over 0.5 / 0.1 / 0.01: " + " / ".join(
        f"{sum(x >= q for x in p)}" for q in (0.5, 0.1, 0.01)) + f" of {len(p)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=sorted(SOURCES), required=True)
    args = ap.parse_args()
    from headcheck.detectors import diffusion

    src = SOURCES[args.source]
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp, n) for n in ("as-published", "stripped", "profile")]
        for f in folders:
            f.mkdir()
        files = materialise(src, folders[0])
        bare = [stripped(f, folders[1]) for f in files]
        small = [stripped(f, folders[2], long_side=400, quality=85) for f in files]
        published, plain, profile = analyse(files), analyse(bare), analyse(small)
        scores = {"stripped copies": probe_scores(plain), "400 px copies": probe_scores(profile)}
    pr = diffusion.probe()
    flag_here = diffusion.flag_threshold(pr.flag)
    print(f"{src.repo} @ {src.commit[:7]}: {len(files)} files\n")
    print(f"kernels here: {diffusion.encoder_kernels()} (cosine {diffusion.encoder_cosine():.4f});"
          f" probe v{pr.version}: unsure {pr.unsure:.4f}, flag {pr.flag:.4f} "
          f"(here {flag_here:.4f})\n")
    print("| version | files | face found | flagged | by provenance | by the diffusion probe "
          "| by eye geometry | unsure |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in (("as published", published), ("metadata stripped, JPEG q95", plain),
                       ("400 px, JPEG q85", profile)):
        s = summary(rows)
        print(f"| {name} | {s['files']} | {s['face']} | {s['flagged']} | {s['provenance']} | "
              f"{s['diffusion']} | {s['stylegan_geometry']} | {s['unsure']} |")
    for name, sc in scores.items():
        describe(name, sc, pr.unsure, flag_here)


if __name__ == "__main__":
    main()
