"""The seed's tells (headcheck.detectors.face_stats) for every image of the diffusion set.

    python bench/diffusion_stats.py [--shard 0/2]   # caches bench/out/diffusion/stats/<sha>.npy

Same images, same variants (rescale, JPEG re-encode, mirror) and the same face boxes as
bench/diffusion_embed.py (read from its cache, so run that first), so each row lines up with
that image's CLIP features; a variant without a face has a row of NaN.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_embed import OUT, cache_path, rows_to_embed, variants  # noqa: E402

from headcheck.detectors.face_stats import NAMES, face_stats  # noqa: E402

STATS = OUT / "stats"


def stats_path(sha: str) -> Path:
    return STATS / f"{sha}.npy"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shard", default="0/1", help="i/n: do every n-th row starting at i")
    args = ap.parse_args()
    i, n = (int(x) for x in args.shard.split("/"))
    todo = [r for r in rows_to_embed()[i::n] if not stats_path(r["sha256"]).exists()
            and cache_path(r["sha256"]).exists()]
    print(f"{len(todo)} images to measure", flush=True)
    STATS.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for k, row in enumerate(todo):
        boxes = np.load(cache_path(row["sha256"]))["box"]
        rows = [face_stats(img.image, box) if box else [np.nan] * len(NAMES)
                for _, img, box, _, _ in variants(row, None, boxes)]
        arr = np.array(rows, dtype=np.float32).reshape(-1, len(NAMES))
        np.save(stats_path(row["sha256"]), arr)
        if k % 100 == 0 or k == len(todo) - 1:
            print(f"{k + 1}/{len(todo)} {time.time() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
