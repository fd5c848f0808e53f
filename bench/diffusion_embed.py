"""CLIP features of every image of the diffusion set, as it is and in re-encoded variants.

    python bench/diffusion_embed.py [--shard 0/2]   # writes bench/out/diffusion/emb-*.npz

Real and AI-made images go through the same steps, so the probe cannot tell them apart by
format: headcheck's face finder on the original, then per variant a random rescale (the face
square ends up 128-448 px), a JPEG re-encode at quality 55-95 and a mirror with probability one
half, then the detector's own crop (headcheck.detectors.face_crop) and encoder. Variant 0 is the
file as it is, exactly what the detector sees at run time.
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
VARIANTS = 2  # variant 0 plus one re-encoding
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


def _skipped(row: dict[str, str]) -> bool:
    if row["set"] != "diffusion_search" or row["generator"] != "SDXL":
        return False
    return int(row["sha256"][:8], 16) % SDXL_SEARCH_KEEP != 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shard", default="0/1", help="i/n: do every n-th row starting at i")
    ap.add_argument("--sets", default="", help="comma-separated set names (default: all)")
    args = ap.parse_args()
    i, n = (int(x) for x in args.shard.split("/"))
    sets = set(filter(None, args.sets.split(",")))
    rows = [r for r in read_manifest() if not _skipped(r) and (not sets or r["set"] in sets)]
    # A fixed shuffle, so a partial run still covers every set.
    order = np.random.default_rng(0).permutation(len(rows))
    rows = [rows[j] for j in order][i::n]
    out = OUT / f"emb-{'+'.join(sorted(sets)) or 'all'}-{i}of{n}.npz"
    models = FaceModels()
    OUT.mkdir(parents=True, exist_ok=True)
    recs: dict[str, list] = {k: [] for k in ("sha256", "variant", "face", "quality", "scale")}
    embs = []
    t0 = time.time()
    for k, row in enumerate(rows):
        img = Image.open(local_path(row)).convert("RGB")
        face = models.find_face(np.asarray(img))
        box = face.box if face else None
        rng = np.random.default_rng(int(row["sha256"][:12], 16))
        crops = [model_crop(img, box)]
        meta = [(0, 100, 1.0)]
        for v in range(1, VARIANTS):
            vimg, vbox, q, f = variant(img, box, rng)
            crops.append(model_crop(vimg, vbox))
            meta.append((v, q, f))
        embs.append(clip_encoder.embed(crops).astype(np.float32))
        for v, q, f in meta:
            recs["sha256"].append(row["sha256"])
            recs["variant"].append(v)
            recs["face"].append(face is not None)
            recs["quality"].append(q)
            recs["scale"].append(f)
        if k % 50 == 0 or k == len(rows) - 1:
            print(f"{k}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
            np.savez_compressed(out, emb=np.concatenate(embs),
                                **{k: np.array(v) for k, v in recs.items()})
    print(f"done {len(rows)} images in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
