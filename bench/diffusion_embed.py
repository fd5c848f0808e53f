"""CLIP features of every image of the diffusion set, as it is and in re-encoded variants.

    python bench/diffusion_embed.py [--shard 0/2]   # caches bench/out/diffusion/cache/<sha>.npz

Real and AI-made images go through the same steps, so the probe cannot tell them apart by
format: headcheck's face finder on the original, then per variant a random rescale (the face
square ends up 128-448 px), a JPEG re-encode at quality 55-95 and a mirror with probability one
half, then the detector's own crops (headcheck.detectors.face_crop) and encoder. Variant 0 is the
file as it is, exactly what the detector sees at run time. Two crops per variant: the face square
(x1.6 the face box) and a wider one (x3, head and shoulders), so the training script can measure
whether context helps.

One cache file per image (keyed by sha256), so the run resumes where it stopped, shards across
processes, and rows added to the manifest later cost only their own images.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_set import local_path, read_manifest  # noqa: E402

from headcheck.detectors import clip_encoder  # noqa: E402
from headcheck.detectors.face_crop import face_square, model_crop  # noqa: E402
from headcheck.face import FaceModels  # noqa: E402

OUT = ROOT / "bench" / "out" / "diffusion"
CACHE = OUT / "cache"
VARIANTS = 2  # variant 0 plus one re-encoding
WIDE_SCALE = 3.0  # the context crop: face box x3
# The 861 SDXL search tiles would dominate the fakes and the CPU budget: every second one.
SDXL_SEARCH_KEEP = 2


def variant(img: Image.Image, box, rng: np.random.Generator):
    """A rescaled, re-encoded, maybe mirrored copy and the face box in its coordinates."""
    _, _, side, _ = face_square(img.width, img.height, box)
    target = rng.uniform(128, 448)
    f = float(np.clip(target / side, 0.05, 2.0))
    w, h = max(8, round(img.width * f)), max(8, round(img.height * f))
    out = img.resize((w, h), Image.Resampling.LANCZOS if f < 1 else Image.Resampling.BICUBIC)
    q = int(rng.integers(55, 96))
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=q)
    out = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    nb = None if box is None else tuple(round(v * f) for v in box)
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if nb is not None:
            nb = (w - nb[0] - nb[2], nb[1], nb[2], nb[3])
    return out, nb, q, f


def variants(row: dict[str, str], img: Image.Image, box):
    """(variant, image, box, quality, scale) for every variant of one image, reproducibly."""
    rng = np.random.default_rng(int(row["sha256"][:12], 16))
    out = [(0, img, box, 100, 1.0)]
    for v in range(1, VARIANTS):
        vimg, vbox, q, f = variant(img, box, rng)
        out.append((v, vimg, vbox, q, f))
    return out


def skipped(row: dict[str, str]) -> bool:
    if row["set"] != "diffusion_search" or row["generator"] != "SDXL":
        return False
    return int(row["sha256"][:8], 16) % SDXL_SEARCH_KEEP != 0


def rows_to_embed(sets: set[str] | None = None) -> list[dict[str, str]]:
    rows = [r for r in read_manifest() if not skipped(r) and (not sets or r["set"] in sets)]
    # A fixed shuffle, so a partial run still covers every set.
    order = np.random.default_rng(0).permutation(len(rows))
    return [rows[j] for j in order]


def earlier_shas() -> set[str]:
    """Images of an earlier run's files (emb-*.npz: variants 0 and 1 embedded as one batch)."""
    return {str(s) for p in OUT.glob("old/emb-*.npz") for s in np.load(p)["sha256"]}


def cache_path(sha: str) -> Path:
    return CACHE / f"{sha}.npz"


def embed_one(crops: list[Image.Image]) -> np.ndarray:
    """One encoder call per crop, as at run time: the INT8 encoder quantises activations per
    batch, so a crop embedded beside others differs (cosine ~0.97) from the same crop alone."""
    return np.concatenate([clip_encoder.embed([c]) for c in crops]).astype(np.float32)


def embed_row(row: dict[str, str], models: FaceModels, wide: bool) -> dict[str, np.ndarray]:
    img = Image.open(local_path(row)).convert("RGB")
    face = models.find_face(np.asarray(img))
    box = face.box if face else None
    crops, wides, meta = [], [], []
    for v, vimg, vbox, q, f in variants(row, img, box):
        crops.append(model_crop(vimg, vbox))
        wides.append(model_crop(vimg, vbox, WIDE_SCALE))
        meta.append((v, q, f))
    extra = {"wide_emb": embed_one(wides)} if wide else {}
    return {"face_emb": embed_one(crops), **extra,
            "box": np.array(box if box else (-1, -1, -1, -1)), "face": np.array(face is not None),
            "variant": np.array([m[0] for m in meta]), "quality": np.array([m[1] for m in meta]),
            "scale": np.array([m[2] for m in meta])}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shard", default="0/1", help="i/n: do every n-th row starting at i")
    ap.add_argument("--sets", default="", help="comma-separated set names (default: all)")
    ap.add_argument("--wide", action="store_true", help="also embed the wider context crop")
    args = ap.parse_args()
    i, n = (int(x) for x in args.shard.split("/"))
    rows = rows_to_embed(set(filter(None, args.sets.split(","))))[i::n]
    todo = [r for r in rows if not cache_path(r["sha256"]).exists()]
    # Images an earlier run embedded in pairs (see embed_one) come last: the training script
    # falls back to those pairs until their exact run-time embeddings are cached.
    earlier = earlier_shas()
    todo.sort(key=lambda r: r["sha256"] in earlier)
    print(f"{len(rows) - len(todo)} of {len(rows)} cached; embedding {len(todo)}", flush=True)
    models = FaceModels()
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for k, row in enumerate(todo):
        rec = embed_row(row, models, args.wide)
        tmp = cache_path(row["sha256"]).with_suffix(".tmp.npz")
        np.savez(tmp, **rec)
        tmp.replace(cache_path(row["sha256"]))  # atomic: a killed run leaves no half file
        if k % 50 == 0 or k == len(todo) - 1:
            print(f"{k + 1}/{len(todo)} {time.time() - t0:.0f}s", flush=True)
    print(f"done {len(todo)} images in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
