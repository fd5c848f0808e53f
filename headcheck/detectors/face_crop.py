"""The square around the face that the diffusion probe sees, shared by training and run time.

Training (bench/diffusion_embed.py) and the detector cut the same square from the same face box
with this module, so the model cannot learn a framing that only one class has.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MODEL_SIDE = 224  # CLIP ViT-B/16 input
# Side of the square relative to the larger side of dlib's face box (brows to chin): the face,
# hair line and a rim of what is around it, but little backdrop to learn from.
CROP_SCALE = 1.6

Box = tuple[int, int, int, int]  # x, y, w, h in image pixels


def face_square(width: int, height: int, box: Box | None, scale: float = CROP_SCALE) -> Box:
    """The crop square (x, y, side, side), shifted to lie inside the image; without a face box,
    the centred square of the whole image."""
    limit = min(width, height)
    if box is None or box[2] <= 0 or box[3] <= 0:
        return (width - limit) // 2, (height - limit) // 2, limit, limit
    x, y, w, h = box
    side = max(1, min(limit, round(max(w, h) * scale)))
    cx, cy = x + w / 2, y + h / 2
    left = int(np.clip(round(cx - side / 2), 0, width - side))
    top = int(np.clip(round(cy - side / 2), 0, height - side))
    return left, top, side, side


def model_crop(image: Image.Image, box: Box | None, scale: float = CROP_SCALE) -> Image.Image:
    """The face square (or a wider one, ``scale`` x the face box) resized to the model's input
    side (bicubic), in RGB."""
    x, y, s, _ = face_square(image.width, image.height, box, scale)
    crop = image.convert("RGB").crop((x, y, x + s, y + s))
    return crop.resize((MODEL_SIDE, MODEL_SIDE), Image.Resampling.BICUBIC)
