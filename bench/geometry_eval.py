"""StyleGAN eye geometry: recall on held-out StyleGAN faces, false positives on real photos and
on plausible square headshot crops of them, swept over the threshold.

    python bench/geometry_eval.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from headcheck.analyze import Analyzer
from headcheck.geometry import geometry_distance, reference
from headcheck.load import load_image

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "data" / "faces"
# Square crops a profile site or a person would make: face centred, head and shoulders.
# Dense around the StyleGAN placement itself (side ~4.1 eye distances, eyes ~0.48 down), the
# hardest case: a real photo cropped by chance the way FFHQ aligns faces.
CROP_SCALES = (3.0, 3.5, 3.8, 4.0, 4.2, 4.5, 5.0)  # crop side in eye distances
EYE_HEIGHTS = (0.40, 0.45, 0.48, 0.52)  # eye line, as a fraction of the side from the top
CROP_SHIFTS = (-0.04, 0.0, 0.04)  # horizontal, fraction of the side


def held_out_stylegan() -> list[Path]:
    return sorted((FACES / "stylegan2" / "images").glob("*.jpg"))[1::2]


def distances(analyzer: Analyzer, images: list[Image.Image]) -> list[float | None]:
    out = []
    for im in images:
        face = analyzer.models.find_face(np.asarray(im))
        out.append(geometry_distance(face, im.width, im.height))
    return out


def square_crops(analyzer: Analyzer, path: Path) -> list[Image.Image]:
    im = load_image(path.read_bytes()).image
    face = analyzer.models.find_face(np.asarray(im))
    if face is None:
        return []
    (lx, ly), (rx, ry) = face.eyes
    cx, cy, d = (lx + rx) / 2, (ly + ry) / 2, face.eye_distance
    crops = []
    for side_units in CROP_SCALES:
        for eye_h in EYE_HEIGHTS:
            for dx in CROP_SHIFTS:
                side = side_units * d
                x0, y0 = cx - side / 2 + dx * side, cy - eye_h * side
                box = tuple(round(v) for v in (x0, y0, x0 + side, y0 + side))
                if box[0] < 0 or box[1] < 0 or box[2] > im.width or box[3] > im.height:
                    continue
                crops.append(im.crop(box).resize((256, 256), Image.Resampling.LANCZOS))
    return crops


def rate(ds: list[float | None], t: float) -> float:
    return sum(1 for d in ds if d is not None and d <= t) / max(1, len(ds))


def evaluate_geometry(analyzer: Analyzer) -> dict:
    sg = distances(analyzer, [load_image(p.read_bytes()).image for p in held_out_stylegan()])
    real_files = sorted((FACES / "real" / "images").glob("*.jpg"))
    real = distances(analyzer, [load_image(p.read_bytes()).image for p in real_files])
    crops: list[Image.Image] = []
    for p in real_files:
        if "@2x" in p.name and p.name.startswith("large_"):
            crops += square_crops(analyzer, p)
    crop_d = distances(analyzer, crops)
    diff = distances(analyzer, [load_image(p.read_bytes()).image
                                for p in sorted((FACES / "diffusion" / "images").glob("*.jpg"))])
    ref = reference()
    chosen = ref.threshold
    table = []
    for t in sorted({1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, chosen}):
        table.append({"threshold": t, "stylegan_recall": rate(sg, t), "real_fpr": rate(real, t),
                      "square_crop_fpr": rate(crop_d, t), "diffusion_flagged": rate(diff, t)})
    res = {"threshold": chosen, "stylegan_held_out": len(sg),
           "stylegan_no_face": sum(d is None for d in sg), "real": len(real),
           "square_crops": len(crop_d), "diffusion": len(diff), "sweep": table}
    at = next(r for r in table if r["threshold"] == chosen)
    res.update({k: at[k] for k in ("stylegan_recall", "real_fpr", "square_crop_fpr",
                                   "diffusion_flagged")})
    flagged_neg = sum(1 for d in real + crop_d if d is not None and d <= chosen)
    res["negatives_flagged"] = flagged_neg
    print(f"\nStyleGAN geometry (threshold {chosen}): recall {100 * at['stylegan_recall']:.1f}% "
          f"of {len(sg)} held-out faces (bar 90%); real photos flagged "
          f"{100 * at['real_fpr']:.1f}% of {len(real)}, square crops "
          f"{100 * at['square_crop_fpr']:.1f}% of {len(crop_d)} (bar 2%); diffusion faces "
          f"flagged {100 * at['diffusion_flagged']:.1f}% of {len(diff)} (not a target)")
    for r in table:
        print("  " + ", ".join(f"{k} {v:.3f}" for k, v in r.items()))
    return res


if __name__ == "__main__":
    evaluate_geometry(Analyzer())
    sys.exit(0)
