"""Cheap pixel statistics of a face and what surrounds it: the "seed's tells" as numbers.

Measured in face-box units so that a 120 px and a 1,000 px face give comparable figures: the
region around the face (3x its box) is resampled so that the box is ``FACE_PX`` wide. Regions,
as offsets from the face box (x, y, w, h) in box widths/heights:

- skin: the middle of the box (cheeks and nose; dlib's box runs from the brows to the chin);
- hair: a band just above the box; body: below the chin; backdrop: beside the head.

Features (a fixed-order vector, ``NAMES``):

- plastic skin: noise-residual energy of the skin against hair and body in the same photo
  (generated skin tends to be smoother than the hair and fabric the model renders beside it);
- spectrum: share of the skin patch's energy in high spatial frequencies;
- light: colour temperature (log blue/red of the brightest pixels) and left-right shading of
  the face against the body and backdrop (a face pasted onto another body keeps its own light);
- halo: along rays from the face centre up through the hair line, how far the luminance
  overshoots just outside the strongest edge, and how sharp that edge is (cut-outs leave a
  bright or dark rim and a hard edge where hair meets backdrop).

A region outside the photo yields NaN for the features that need it; callers impute.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

FACE_PX = 128  # face box width after resampling
NAMES = (
    "skin_noise", "hair_noise", "body_noise", "backdrop_noise",
    "plastic_vs_hair", "plastic_vs_body", "skin_hf_share",
    "temp_face_minus_body", "temp_face_minus_backdrop", "shade_face", "shade_body",
    "shade_mismatch", "halo_overshoot", "halo_sharpness",
)

Box = tuple[int, int, int, int]
# (dx, dy, w, h) in box units from the box's top-left corner.
# Close to the face: headshots are cropped tight, and a region must lie in the photo.
REGIONS = {
    "skin": (0.28, 0.40, 0.44, 0.30),
    "hair": (0.20, -0.35, 0.60, 0.25),
    "body": (0.15, 1.05, 0.70, 0.30),
    "backdrop_l": (-0.55, -0.20, 0.35, 0.70),
    "backdrop_r": (1.20, -0.20, 0.35, 0.70),
}


def _context(image: Image.Image, box: Box) -> tuple[np.ndarray, float, float]:
    """RGB float array of the context (a box width either side, 1.5 box heights above, 1.2
    below) resampled to FACE_PX per box width, and the box's
    top-left corner in it (the context is clipped to the photo, so the corner may move)."""
    x, y, w, h = box
    s = FACE_PX / max(w, 1)
    left, top = max(0, int(x - w)), max(0, int(y - 1.5 * h))
    right, bottom = min(image.width, int(x + 2 * w)), min(image.height, int(y + 2.2 * h))
    crop = image.convert("RGB").crop((left, top, right, bottom))
    size = (max(8, round(crop.width * s)), max(8, round(crop.height * s)))
    method = Image.Resampling.BOX if s < 1 else Image.Resampling.BICUBIC
    arr = np.asarray(crop.resize(size, method), dtype=np.float32) / 255.0
    return arr, (x - left) * s, (y - top) * s


def _region(arr: np.ndarray, bx: float, by: float, bh: float, spec) -> np.ndarray | None:
    dx, dy, w, h = spec
    x0, y0 = round(bx + dx * FACE_PX), round(by + dy * bh)
    x1, y1 = round(x0 + w * FACE_PX), round(y0 + h * bh)
    # Clipped to the photo; what is left must still be a third of the region.
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(arr.shape[1], x1), min(arr.shape[0], y1)
    if min(cx1 - cx0, cy1 - cy0) < 6 or (cx1 - cx0) * (cy1 - cy0) < (x1 - x0) * (y1 - y0) / 3:
        return None
    x0, y0, x1, y1 = cx0, cy0, cx1, cy1
    return arr[y0:y1, x0:x1]


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _noise(rgb: np.ndarray | None) -> float:
    """log RMS of the luminance minus the mean of its 8 neighbours, leaving out the strongest
    5% (edges of eyes, hair strands): the fine texture and noise left in a region."""
    if rgb is None:
        return float("nan")
    y = _luma(rgb) * 255
    c = y[1:-1, 1:-1]
    around = sum(y[1 + dy:y.shape[0] - 1 + dy, 1 + dx:y.shape[1] - 1 + dx]
                 for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    e = (c - around / 8) ** 2
    return float(0.5 * np.log(e[e <= np.quantile(e, 0.95)].mean() + 1e-3))


def _hf_share(rgb: np.ndarray | None) -> float:
    """Share of the (windowed) power spectrum beyond half the Nyquist radius."""
    if rgb is None or min(rgb.shape[:2]) < 16:
        return float("nan")
    y = _luma(rgb)
    y = (y - y.mean()) * np.outer(np.hanning(y.shape[0]), np.hanning(y.shape[1]))
    p = np.abs(np.fft.fftshift(np.fft.fft2(y))) ** 2
    fy = np.fft.fftshift(np.fft.fftfreq(y.shape[0]))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(y.shape[1]))[None, :]
    r = np.hypot(fx, fy)
    total = p[r > 0.02].sum()
    return float(np.log(p[r > 0.25].sum() / total + 1e-9)) if total > 0 else float("nan")


def _temperature(rgb: np.ndarray | None) -> float:
    """log(blue/red) of the brightest tenth of the pixels: the light's colour, roughly."""
    if rgb is None:
        return float("nan")
    px = rgb.reshape(-1, 3)
    lum = _luma(px)
    top = px[lum >= np.quantile(lum, 0.9)]
    return float(np.log((top[:, 2].mean() + 0.01) / (top[:, 0].mean() + 0.01)))


def _shade(rgb: np.ndarray | None) -> float:
    """Left minus right mean luminance over their sum: which side the light comes from."""
    if rgb is None:
        return float("nan")
    y = _luma(rgb)
    half = y.shape[1] // 2
    left, right = y[:, :half].mean(), y[:, -half:].mean()
    return float((left - right) / (left + right + 1e-3))


def _halo(arr: np.ndarray, cx: float, cy: float) -> tuple[float, float]:
    """Median overshoot and sharpness of the strongest edge along rays up through the hair
    line, from 0.55 to 1.4 box widths out (where hair meets backdrop)."""
    y = np.asarray(Image.fromarray(np.clip(_luma(arr) * 255, 0, 255).astype(np.uint8))
                   .filter(ImageFilter.GaussianBlur(0.8)), np.float32)
    radii = np.arange(0.55 * FACE_PX, 1.4 * FACE_PX)
    over, sharp = [], []
    for a in np.deg2rad(np.arange(-160, -19, 10)):
        xs, ys = cx + radii * np.cos(a), cy + radii * np.sin(a)
        ok = (xs >= 0) & (ys >= 0) & (xs < y.shape[1] - 1) & (ys < y.shape[0] - 1)
        n = int(np.argmin(ok)) if not ok.all() else len(radii)  # inside up to the first miss
        if n < 40:
            continue
        prof = y[ys[:n].astype(int), xs[:n].astype(int)]
        g = np.diff(prof)
        k = int(np.argmax(np.abs(g[6:-14]))) + 6
        inner, outer = prof[max(0, k - 6):k - 2].mean(), prof[k + 8:k + 14].mean()
        step = outer - inner
        if abs(step) < 8:  # no real edge on this ray
            continue
        # Profile scaled so the inner plateau is 0 and the outer 1: a rim just outside the edge
        # that passes the outer level (a halo) shows as a value above 1.
        norm = (prof - inner) / step
        over.append(float(norm[k + 1:k + 5].max() - 1.0))
        sharp.append(float(abs(g[k]) / abs(step)))
    if not over:
        return float("nan"), float("nan")
    return float(np.median(over)), float(np.median(sharp))


def face_stats(image: Image.Image, box: Box) -> np.ndarray:
    """The ``NAMES`` features of the face at ``box`` in ``image`` (NaN where a region lies
    outside the photo)."""
    arr, bx, by = _context(image, box)
    bh = box[3] * FACE_PX / max(box[2], 1)
    reg = {k: _region(arr, bx, by, bh, v) for k, v in REGIONS.items()}
    backdrop = [r for r in (reg["backdrop_l"], reg["backdrop_r"]) if r is not None]
    back = np.concatenate([r.reshape(-1, 3) for r in backdrop])[:, None, :] if backdrop else None
    skin, hair, body = _noise(reg["skin"]), _noise(reg["hair"]), _noise(reg["body"])
    backdrop_noise = float(np.nanmean([_noise(r) for r in backdrop])) if backdrop else np.nan
    face_region = _region(arr, bx, by, bh, (0.1, 0.1, 0.8, 0.8))
    shade_face, shade_body = _shade(face_region), _shade(reg["body"])
    temp_face = _temperature(face_region)
    halo = _halo(arr, bx + FACE_PX / 2, by + bh / 2)
    return np.array([
        skin, hair, body, backdrop_noise, skin - hair, skin - body, _hf_share(reg["skin"]),
        temp_face - _temperature(reg["body"]), temp_face - _temperature(back),
        shade_face, shade_body, abs(shade_face - shade_body), *halo,
    ], dtype=np.float32)
