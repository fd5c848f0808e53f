"""The shipped detectors on AI images of a generator family none of our files hold: evaluation
only, never training (data/diffusion/SOURCES.md, "Seventh search").

    python bench/designer_eval.py            # needs the fetched snapshot of TNO/scenario-spark

55 single-person scenes (1024 px, adults at work, outdoors, in cafes) that carry Microsoft's
signed C2PA manifest ("Image Creator from Designer", i.e. DALL-E 3), listed with their sha256 in
data/diffusion/designer_eval.csv. Each file is analysed twice by the real CLI (`headcheck
analyze --json`): as published (the provenance detector can read the manifest) and as a
metadata-free copy (decoded and saved again as JPEG quality 95: what a profile site that strips
metadata serves, so only the pixel detectors can see it). For the copies the diffusion probe's
two heads are also scored directly (``all_scores`` on the face the CLI found), since a score
under the unsure band leaves no signal. Prints markdown for docs/benchmarks.md.
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
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_set import _git  # noqa: E402

LIST = ROOT / "data" / "diffusion" / "designer_eval.csv"
REPO = "TNO/scenario-spark"
COMMIT = "42e769c331b9a73590e8ff138eebda6bcba7e732"
CLI = [sys.executable, "-c", "from headcheck.cli import main; main()"]


def materialise(folder: Path) -> list[Path]:
    """The listed files from the snapshot, each checked against its sha256."""
    out = []
    with LIST.open(newline="") as f:
        for row in csv.DictReader(f):
            data = _git(REPO, "show", f"{COMMIT}:{row['path']}")
            if hashlib.sha256(data).hexdigest() != row["sha256"]:
                sys.exit(f"{row['path']}: sha256 differs from {LIST.name}")
            path = folder / Path(row["path"]).name
            path.write_bytes(data)
            out.append(path)
    return out


def stripped(src: Path, folder: Path) -> Path:
    """The pixels alone: decoded and saved again, no EXIF, XMP or C2PA segment."""
    buf = io.BytesIO()
    Image.open(src).convert("RGB").save(buf, "JPEG", quality=95)
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


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    from headcheck.detectors import diffusion

    with tempfile.TemporaryDirectory() as tmp:
        orig, bare = Path(tmp, "as-published"), Path(tmp, "stripped")
        orig.mkdir()
        bare.mkdir()
        files = materialise(orig)
        copies = [stripped(f, bare) for f in files]
        published, plain = analyse(files), analyse(copies)
        scores = probe_scores(plain)
    pr = diffusion.probe()
    flag_here = diffusion.flag_threshold(pr.flag)
    print(f"kernels here: {diffusion.encoder_kernels()} (cosine {diffusion.encoder_cosine():.4f});"
          f" probe v{pr.version}: unsure {pr.unsure:.4f}, flag {pr.flag:.4f} "
          f"(here {flag_here:.4f})\n")
    print("| version | files | face found | flagged | by provenance | by the diffusion probe "
          "| by eye geometry | unsure |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in (("as published (C2PA manifest)", published),
                       ("metadata stripped, JPEG q95", plain)):
        s = summary(rows)
        print(f"| {name} | {s['files']} | {s['face']} | {s['flagged']} | {s['provenance']} | "
              f"{s['diffusion']} | {s['stylegan_geometry']} | {s['unsure']} |")
    p = [a for a, _ in scores]
    sg = [b for _, b in scores]
    print(f"\nThe probe on the {len(scores)} stripped copies with a face: text-to-image head "
          f"highest {max(p):.4f}, median {statistics.median(p):.4f} (log-odds median "
          f"{statistics.median(map(logit, p)):+.2f}, flag {logit(flag_here):+.2f}); at or over "
          f"unsure {sum(x >= pr.unsure for x in p)}, over the probe's flag "
          f"{sum(x >= pr.flag for x in p)}; StyleGAN head highest {max(sg):.4f}.")
    for q in (0.5, 0.1, 0.01):
        print(f"- text-to-image head >= {q}: {sum(x >= q for x in p)} of {len(p)}")


if __name__ == "__main__":
    main()
