"""Generate a labelled, reproducible corpus for evaluating composite and reuse detection.

    python bench/corpus.py --out DIR [--seed 7] [--small]

Everything is derived from the images in data/faces/ with a fixed seed, so the same seed gives
byte-identical files. DIR/images/ holds the images and DIR/manifest.csv one row per file:

Three tasks
-----------
``composite``  Template farms: a template photo (18 real ``large_*@2x`` photos and ~30 diffusion
               headshots where a face is found) with someone else's face pasted in, aligned on the
               eyes with a similarity transform, colour-matched in LAB inside the face and blended
               through a feathered ellipse, then re-exported (crop 0-5%, width 400-800 px, JPEG
               q70-95). Group ``tpl:<id>``: the template itself (role ``template``) and its 4-6
               composites (role ``composite``, transform ``composite``).
``reuse``      The same photo re-posted: originals (the 18 real photos, ~30 other diffusion images,
               ~20 StyleGAN renders from the half not used to fit headcheck's eye-geometry
               reference) and copies under the edits profile sites apply, one per copy
               (``resize_W``, ``jpeg_qN``, ``webp``, ``crop_Npct``, ``pad_Npct``, ``mirror``,
               ``grayscale``, ``ring``, ``banner``) plus a few chains such as
               ``crop_5pct+jpeg_q60+resize_200`` (steps applied left to right). Real photos also
               get the dataset's own 150x150 square crop (``square_crop``). Group ``photo:<id>``:
               the original (role ``original``, transform ``none``) and its copies (role ``copy``).
``negative``   Hard negatives, role ``negative``. (a) A person cut out roughly (head and shoulders)
               and put on a plain or gently graded grey/blue studio backdrop, 512x512, transform
               ``backdrop``, each its own group ``neg:<id>``: many look alike but none are related.
               (b) The same face on two different templates, group ``negsame:<person>``, transform
               ``composite``: they share a face but no context, so must not be linked to each other.
               They are still composites of their templates, which ``also_group`` records.

Columns
-------
file         path relative to DIR
task         composite | reuse | negative
group        main group id (see above)
role         template | composite | original | copy | negative
transform    what was done to ``source``
face_source  where the face came from: a data/faces-relative file for composites and templates,
             the photo or person id for reuse and backdrop negatives
person       whose face is shown: the Flickr id for real people, the file stem for AI faces
source       the template or original (data/faces-relative) the file was made from
also_group   more group ids the file belongs to, separated by ";". The real photos are both
             templates and reuse originals, so everything made from one lists both ``tpl:<id>``
             and ``photo:<id>``; negsame composites list their template groups.
params       JSON of the random choices made (crop box, sizes, quality, colours, donor ...)
width/height pixel size of the file

Two files should be linked by a detector exactly when they share a ``tpl:`` or ``photo:`` id
(``related``). ``neg:`` and ``negsame:`` ids never link anything: files sharing a face but not a
context (a backdrop cut-out of a real person and that person's photo; a negsame pair; composites
that happen to reuse a donor) are negatives. The real photos appear twice, byte-identical, as the
template (``cmp_*__template.jpg``) and as the original (``reu_*__original.jpg``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from headcheck.face import Face, FaceModels
from headcheck.load import load_image

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "data" / "faces"
COLUMNS = ("file", "task", "group", "role", "transform", "face_source", "person", "source",
           "also_group", "params", "width", "height")
SINGLE = ("resize_96", "resize_200", "resize_400", "resize_800", "jpeg_q50", "jpeg_q75",
          "jpeg_q95", "webp", "crop_5pct", "crop_10pct", "pad_10pct", "pad_20pct", "mirror",
          "grayscale", "ring", "banner")
COMBINED = ("crop_5pct+jpeg_q60+resize_200", "mirror+resize_400", "pad_10pct+webp",
            "ring+resize_200", "banner+jpeg_q60", "grayscale+crop_10pct+resize_400")
DEFAULT_QUALITY = 92  # JPEG quality for copies whose transform names no encoding
WEBP_QUALITY = 80
# The blended face ellipse: semi-axes and Gaussian feather in eye distances. A little inside the
# face outline (~1.1 x 1.6), so the feather fades out before the donor's own background shows.
BLEND_AXES = (1.0, 1.5)
BLEND_FEATHER = 0.1
MAX_YAW = 0.25  # templates and donors: |yaw| at most this ...
MIN_EYES_TO_BOX = 0.31  # ... and eye distance / face box width at least this (else turned away)
MAX_UPSCALE = 2.0  # a donor face is not enlarged more than this onto a template
MAX_YAW_GAP = 0.12  # donor and template nose offsets (in eye distances) should be this close
RING_COLOURS = ((68, 127, 55), (112, 68, 163), (10, 102, 194))  # open-to-work, hiring, blue
FILL_COLOURS = ((255, 255, 255), (243, 242, 239), (0, 0, 0), (27, 31, 35))
BANNER_TEXT = ("#OPENTOWORK", "#HIRING", "Let's connect!", "Speaker 2025", "Now booking")
BACKDROPS = ((205, 205, 205), (160, 160, 162), (112, 114, 118), (72, 104, 146),
             (96, 128, 172), (152, 176, 204))


@dataclass(frozen=True)
class Sizes:
    """How much of each thing to make."""

    real_templates: int
    diffusion_templates: int
    composites: tuple[int, int]
    real_originals: int
    diffusion_originals: int
    stylegan_originals: int
    stylegan_donors: int
    combined: int
    negatives_diffusion: int
    negatives_real: int
    negsame: int
    studio_templates: int = 0  # official portraits used as templates ...
    studio_composites: tuple[int, int] = (0, 0)  # ... with this many other portraits' faces
    studio_negatives: int = 0  # more portraits as they are: one backdrop, different people


FULL = Sizes(18, 30, (4, 6), 18, 27, 16, 200, 2, 20, 8, 8, 24, (3, 4), 120)
SMALL = Sizes(1, 1, (3, 3), 1, 0, 1, 4, 1, 1, 1, 1, 1, (3, 3), 3)


@dataclass(frozen=True)
class Source:
    path: Path
    kind: str  # real | stylegan | diffusion

    @property
    def id(self) -> str:
        """Photo and person id: the Flickr id for real photos, the file stem for AI images."""
        if self.kind == "real":
            return self.path.stem.split("_", 1)[1].removesuffix("@2x")
        return self.path.stem

    @property
    def rel(self) -> str:
        return self.path.relative_to(FACES).as_posix()


class Library:
    """Source images and their faces, each decoded and detected once."""

    def __init__(self) -> None:
        self.models = FaceModels()
        self._rgb: dict[Path, np.ndarray] = {}
        self._face: dict[Path, Face | None] = {}

    def rgb(self, src: Source) -> np.ndarray:
        if src.path not in self._rgb:
            self._rgb[src.path] = load_image(src.path.read_bytes()).array()
        return self._rgb[src.path]

    def face(self, src: Source) -> Face | None:
        if src.path not in self._face:
            self._face[src.path] = self.models.find_face(self.rgb(src))
        return self._face[src.path]


@dataclass
class Plan:
    templates: list[Source] = field(default_factory=list)
    originals: list[Source] = field(default_factory=list)
    cutouts: list[Source] = field(default_factory=list)
    donors: list[Source] = field(default_factory=list)
    negsame: list[Source] = field(default_factory=list)
    studio_templates: list[Source] = field(default_factory=list)
    studio_donors: list[Source] = field(default_factory=list)
    studio_negatives: list[Source] = field(default_factory=list)

    def context_groups(self, src: Source) -> list[str]:
        """Every group a file made from ``src``'s photo belongs to."""
        groups = [f"tpl:{src.id}"] if src in self.templates else []
        return groups + ([f"photo:{src.id}"] if src in self.originals else [])


# ---------------------------------------------------------------------------- sources and plan


def item_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one output file, independent of the order files are made in."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def shuffled(items: Iterable[Source], rng: np.random.Generator) -> list[Source]:
    items = list(items)
    return [items[i] for i in rng.permutation(len(items))]


def list_sources(kind: str) -> list[Source]:
    folder = {"real": "real", "stylegan": "stylegan2", "diffusion": "diffusion",
              "studio": "portraits"}[kind]
    pattern = "large_*@2x.jpg" if kind == "real" else "*.jpg"
    return [Source(p, kind) for p in sorted((FACES / folder / "images").glob(pattern))]


def plan_sources(lib: Library, rng: np.random.Generator, sizes: Sizes) -> Plan:
    plan = Plan()
    _plan_real(lib, plan, shuffled(list_sources("real"), rng), sizes)
    _plan_diffusion(lib, plan, shuffled(list_sources("diffusion"), rng), sizes)
    stylegan = list_sources("stylegan")
    held_out = set(stylegan[1::2])  # bench/build_geometry_reference.py fits on stylegan[0::2]
    order = shuffled(stylegan, rng)
    plan.originals += [s for s in order if s in held_out][: sizes.stylegan_originals]
    rest = [s for s in order if s not in plan.originals]
    faced = first_frontal(lib, rest, sizes.stylegan_donors + sizes.negsame)
    plan.negsame = faced[: sizes.negsame]
    plan.donors += faced[sizes.negsame:]
    _plan_studio(lib, plan, shuffled(list_sources("studio"), rng), sizes)
    return plan


def _plan_studio(lib: Library, plan: Plan, studio: list[Source], sizes: Sizes) -> None:
    """Studio composites: the stock body is often an official-style portrait on a plain
    backdrop, and its donors are faces of the same kind. Disjoint templates, donors and plain
    portraits, so the plain ones are hard negatives for every studio template."""
    n_tpl = sizes.studio_templates
    n_donors = n_tpl * sizes.studio_composites[1]
    faced = first_frontal(lib, studio, n_tpl + n_donors)
    plan.studio_templates = faced[:n_tpl]
    plan.studio_donors = faced[n_tpl:]
    used = set(faced)
    plan.studio_negatives = [s for s in studio if s not in used][: sizes.studio_negatives]


def first_frontal(lib: Library, sources: Iterable[Source], n: int) -> list[Source]:
    """The first ``n`` sources with a frontal face, detecting no further than needed."""
    return list(islice((s for s in sources if frontal(lib.face(s))), n))


def _plan_real(lib: Library, plan: Plan, real: list[Source], sizes: Sizes) -> None:
    templates = first_frontal(lib, real, sizes.real_templates)
    plan.templates += templates
    plan.donors += templates
    rest = [s for s in real if s not in templates]
    plan.originals += (templates + rest)[: sizes.real_originals]
    plan.cutouts += templates[: sizes.negatives_real]


def _plan_diffusion(lib: Library, plan: Plan, diffusion: list[Source], sizes: Sizes) -> None:
    templates: list[Source] = []
    cutouts: list[Source] = []
    originals: list[Source] = []
    for src in diffusion:
        if len(templates) < sizes.diffusion_templates and frontal(lib.face(src)):
            templates.append(src)
        elif len(cutouts) < sizes.negatives_diffusion and lib.face(src) is not None:
            cutouts.append(src)
        elif len(originals) < sizes.diffusion_originals:
            originals.append(src)
    plan.templates += templates
    plan.originals += originals
    plan.cutouts += cutouts
    plan.donors += templates + [c for c in cutouts if frontal(lib.face(c))]


# ---------------------------------------------------------------------------- encoding


def encode(rgb: np.ndarray, fmt: str = "JPEG", quality: int = DEFAULT_QUALITY) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, quality=quality)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def resize_width(rgb: np.ndarray, width: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    size = (width, max(1, round(h * width / w)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


# ---------------------------------------------------------------------------- reuse transforms


@dataclass
class Step:
    """One edit in a transform chain, and what it decided."""

    rgb: np.ndarray
    params: dict


def crop_fraction(rgb: np.ndarray, frac: float, rng: np.random.Generator) -> Step:
    """Cut ``frac`` of the width and of the height, split at random between opposite sides."""
    h, w = rgb.shape[:2]
    cut_x, cut_y = round(w * frac), round(h * frac)
    x0, y0 = round(cut_x * rng.uniform()), round(cut_y * rng.uniform())
    box = (x0, y0, x0 + w - cut_x, y0 + h - cut_y)
    return Step(np.ascontiguousarray(rgb[box[1]:box[3], box[0]:box[2]]), {"box": box})


def pad_fraction(rgb: np.ndarray, frac: float, rng: np.random.Generator) -> Step:
    """Grow the canvas by ``frac`` of each side, filled with a colour or a blurred stretch."""
    h, w = rgb.shape[:2]
    px, py = round(w * frac / 2), round(h * frac / 2)
    size = (w + 2 * px, h + 2 * py)
    if rng.uniform() < 0.5:
        colour = tuple(int(c) for c in FILL_COLOURS[rng.integers(len(FILL_COLOURS))])
        canvas = np.empty((size[1], size[0], 3), np.uint8)
        canvas[:] = colour
        fill: dict = {"fill": "solid", "colour": colour}
    else:
        stretched = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        canvas = cv2.GaussianBlur(stretched, (0, 0), max(size) / 30)
        fill = {"fill": "blur"}
    canvas[py:py + h, px:px + w] = rgb
    return Step(canvas, {"offset": (px, py), **fill})


def ring_avatar(rgb: np.ndarray, rng: np.random.Generator, focus: tuple[float, float] | None
                ) -> Step:
    """A square crop shown as a circle: corners filled, a coloured ring ~4% thick at the rim."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    fx, fy = focus if focus is not None else (w / 2, min(h, w) / 2)
    x0 = int(np.clip(round(fx - side / 2), 0, w - side))
    y0 = int(np.clip(round(fy - side / 2), 0, h - side))
    square = rgb[y0:y0 + side, x0:x0 + side].astype(np.float32)
    fill = np.array(FILL_COLOURS[rng.integers(2)], np.float32)  # page backgrounds: light
    ring = np.array(RING_COLOURS[rng.integers(len(RING_COLOURS))], np.float32)
    yy, xx = np.mgrid[:side, :side] + 0.5
    dist = np.hypot(xx - side / 2, yy - side / 2)
    radius, thick = side / 2, max(2.0, 0.04 * side)
    inside = np.clip(radius - dist, 0, 1)[..., None]
    on_ring = np.clip(dist - (radius - thick), 0, 1)[..., None] * inside
    out = (square * (1 - on_ring) + ring * on_ring) * inside + fill * (1 - inside)
    params = {"box": (x0, y0, x0 + side, y0 + side), "fill": fill.astype(int).tolist(),
              "ring": ring.astype(int).tolist(), "thickness": round(thick, 1)}
    return Step(np.clip(out + 0.5, 0, 255).astype(np.uint8), params)


def banner(rgb: np.ndarray, rng: np.random.Generator) -> Step:
    """A coloured band with white text across the bottom 15%."""
    h, w = rgb.shape[:2]
    band = max(8, round(0.15 * h))
    colour = tuple(int(c) for c in RING_COLOURS[rng.integers(len(RING_COLOURS))])
    text = BANNER_TEXT[rng.integers(len(BANNER_TEXT))]
    im = Image.fromarray(rgb)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, h - band, w, h), fill=colour)
    font = ImageFont.load_default(size=max(6, round(band * 0.45)))
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    draw.text(((w - (x1 - x0)) / 2 - x0, h - band + (band - (y1 - y0)) / 2 - y0), text,
              fill=(255, 255, 255), font=font)
    return Step(np.asarray(im), {"band": band, "colour": colour, "text": text})


def apply_step(rgb: np.ndarray, token: str, rng: np.random.Generator,
               focus: tuple[float, float] | None) -> Step:
    """One named edit. Encodings in a chain are real round trips through the codec."""
    if m := re.fullmatch(r"resize_(\d+)", token):
        return Step(resize_width(rgb, int(m[1])), {})
    if m := re.fullmatch(r"jpeg_q(\d+)", token):
        return Step(decode(encode(rgb, "JPEG", int(m[1]))), {})
    if token == "webp":
        return Step(decode(encode(rgb, "WEBP", WEBP_QUALITY)), {})
    if m := re.fullmatch(r"crop_(\d+)pct", token):
        return crop_fraction(rgb, int(m[1]) / 100, rng)
    if m := re.fullmatch(r"pad_(\d+)pct", token):
        return pad_fraction(rgb, int(m[1]) / 100, rng)
    if token == "mirror":
        return Step(np.ascontiguousarray(np.fliplr(rgb)), {})
    if token == "grayscale":
        grey = np.asarray(Image.fromarray(rgb).convert("L"))
        return Step(np.repeat(grey[..., None], 3, axis=2), {})
    if token == "ring":
        return ring_avatar(rgb, rng, focus)
    if token == "banner":
        return banner(rgb, rng)
    raise ValueError(f"unknown transform step {token!r}")


def final_encoding(transform: str) -> tuple[str, int, str]:
    """(Pillow format, quality, file extension) a transform chain is saved with."""
    last = transform.split("+")[-1]
    if m := re.fullmatch(r"jpeg_q(\d+)", last):
        return "JPEG", int(m[1]), "jpg"
    if last == "webp":
        return "WEBP", WEBP_QUALITY, "webp"
    return "JPEG", DEFAULT_QUALITY, "jpg"


def apply_transform(rgb: np.ndarray, transform: str, rng: np.random.Generator,
                    face: Face | None = None) -> tuple[bytes, str, dict]:
    """Encoded bytes, file extension and the choices made, for a ``+``-joined chain."""
    tokens = transform.split("+")
    if re.fullmatch(r"jpeg_q\d+|webp", tokens[-1]):
        tokens = tokens[:-1]  # a trailing encoding is the save itself, not a round trip
    focus = None
    if face is not None:
        x, y, w, h = face.box
        focus = (x + w / 2, y + h / 2)
    params: dict = {}
    for i, token in enumerate(tokens):
        step = apply_step(rgb, token, rng, focus if i == 0 else None)
        rgb = step.rgb
        if step.params:
            params[token] = step.params
    fmt, quality, ext = final_encoding(transform)
    return encode(rgb, fmt, quality), ext, params


# ---------------------------------------------------------------------------- composites


def similarity(src_eyes: tuple, dst_eyes: tuple) -> np.ndarray:
    """The 2x3 scale-rotation-translation matrix taking one eye pair onto another."""
    s0, s1 = (complex(*p) for p in src_eyes)
    d0, d1 = (complex(*p) for p in dst_eyes)
    a = (d1 - d0) / (s1 - s0)
    t = d0 - a * s0
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]])


def face_frame(face: Face) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Eye midpoint, unit vectors along the eyes and down the face, and eye distance."""
    left, right = (np.array(p) for p in face.eyes)
    ed = face.eye_distance
    along = (right - left) / ed
    return (left + right) / 2, along, np.array([-along[1], along[0]]), ed


def yaw(face: Face) -> float:
    """Nose offset along the eye line in eye distances: a rough head-turn measure."""
    mid, along, _, ed = face_frame(face)
    return float((np.array(face.landmarks[4]) - mid) @ along / ed)


def frontal(face: Face | None) -> bool:
    """A face turned little enough to be a template or a donor (with landmarks to tell)."""
    return (face is not None and bool(face.landmarks) and abs(yaw(face)) <= MAX_YAW
            and face.eye_distance / max(1, face.box[2]) >= MIN_EYES_TO_BOX)


def mirror_face(face: Face, width: int) -> Face:
    """The same face in the left-right mirrored image."""
    def flip(p: tuple[float, float]) -> tuple[float, float]:
        return (width - 1 - p[0], p[1])

    x, y, w, h = face.box
    left, right = face.eyes
    return replace(face, box=(width - x - w, y, w, h), eyes=(flip(right), flip(left)),
                   landmarks=tuple(flip(p) for p in face.landmarks))


def ellipse_mask(shape: tuple[int, ...], centre: np.ndarray, axes: tuple[float, float],
                 angle: float, sigma: float) -> np.ndarray:
    """A float [0, 1] filled ellipse, feathered by a Gaussian of ``sigma`` px."""
    mask = np.zeros(shape[:2], np.float32)
    cv2.ellipse(mask, (round(centre[0] * 16), round(centre[1] * 16)),
                (round(axes[0] * 16), round(axes[1] * 16)), angle, 0, 360, 1.0, -1,
                cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0 else mask


def face_mask(shape: tuple[int, ...], face: Face, axes: tuple[float, float] = (1.1, 1.6),
              drop: float = 0.35, feather: float = 0.12) -> np.ndarray:
    """The face ellipse: centred ``drop`` eye distances below the eyes, axes in eye distances."""
    mid, along, down, ed = face_frame(face)
    angle = math.degrees(math.atan2(along[1], along[0]))
    return ellipse_mask(shape, mid + drop * ed * down, (axes[0] * ed, axes[1] * ed), angle,
                        feather * ed)


def match_colours(donor: np.ndarray, target: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Shift the donor's LAB mean and std inside ``region`` to the target's (ratio clipped)."""
    if region.sum() < 50:
        return donor
    d = cv2.cvtColor(donor, cv2.COLOR_RGB2LAB).astype(np.float32)
    t = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    d_mean, d_std = d[region].mean(0), d[region].std(0) + 1e-3
    t_mean, t_std = t[region].mean(0), t[region].std(0) + 1e-3
    out = (d - d_mean) * np.clip(t_std / d_std, 0.6, 1.6) + t_mean
    return cv2.cvtColor(np.clip(out + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def soft_coverage(src_shape: tuple[int, ...], matrix: np.ndarray, size: tuple[int, int],
                  sigma: float) -> np.ndarray:
    """Where the warped source has pixels, faded out over ~2 ``sigma`` inside its border."""
    inset = np.zeros(src_shape[:2], np.float32)
    m = max(1, round(2 * sigma / abs(complex(matrix[0, 0], matrix[1, 0]))))
    inset[m:-m, m:-m] = 1.0
    warped = cv2.warpAffine(inset, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    return cv2.GaussianBlur(warped, (0, 0), sigma)


def composite(template: np.ndarray, t_face: Face, donor: np.ndarray, d_face: Face,
              axes: tuple[float, float] = BLEND_AXES) -> np.ndarray:
    """Paste the donor's face onto the template's, the way template farms do."""
    h, w = template.shape[:2]
    matrix = similarity(d_face.eyes, t_face.eyes)
    warped = cv2.warpAffine(donor, matrix, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT)
    valid = soft_coverage(donor.shape, matrix, (w, h), 3.0)
    skin = (face_mask(template.shape, t_face, axes=(0.75, 1.1), feather=0) > 0.5) & (valid > 0.99)
    matched = match_colours(warped, template, skin)
    alpha = face_mask(template.shape, t_face, axes=axes, feather=BLEND_FEATHER) * valid
    alpha = alpha[..., None]
    out = alpha * matched.astype(np.float32) + (1 - alpha) * template.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def reexport(rgb: np.ndarray, rng: np.random.Generator,
             widths: tuple[int, int] = (400, 800)) -> tuple[bytes, dict]:
    """What a template farm's export does: a small crop, a new width, a JPEG quality."""
    step = crop_fraction(rgb, float(rng.uniform(0, 0.05)), rng)
    width = int(rng.integers(widths[0], widths[1] + 1))
    quality = int(rng.integers(70, 96))
    data = encode(resize_width(step.rgb, width), "JPEG", quality)
    return data, {"crop_box": step.params["box"], "width": width, "quality": quality}


def yaw_gap(t_face: Face, d_face: Face) -> float:
    """How differently two faces are turned, allowing the donor to be mirrored."""
    return min(abs(yaw(t_face) - yaw(d_face)), abs(yaw(t_face) + yaw(d_face)))


def compatible(t_face: Face, d_face: Face) -> bool:
    return (t_face.eye_distance / d_face.eye_distance <= MAX_UPSCALE
            and yaw_gap(t_face, d_face) <= MAX_YAW_GAP)


def pick_donors(lib: Library, template: Source, pool: list[Source], n: int, uses: Counter,
                rng: np.random.Generator) -> list[Source]:
    """``n`` faces of other people, preferring ones that fit the template and are little used."""
    t_face = face_of(lib, template)
    others = shuffled((d for d in pool if d.id != template.id), rng)
    ranked = sorted(range(len(others)), key=lambda i: (
        not compatible(t_face, face_of(lib, others[i])), uses[others[i].id], i))
    chosen = [others[i] for i in ranked[:n]]
    uses.update(d.id for d in chosen)
    return chosen


def face_of(lib: Library, src: Source) -> Face:
    """The face of a source already known to have one."""
    face = lib.face(src)
    if face is None:
        raise ValueError(f"no face in {src.rel}")
    return face


# ---------------------------------------------------------------------------- backdrop negatives


def backdrop(size: int, rng: np.random.Generator) -> np.ndarray:
    """A plain studio backdrop: uniform, or a gentle vertical or radial grade, with fine grain."""
    base = np.array(BACKDROPS[rng.integers(len(BACKDROPS))], np.float32) + rng.normal(0, 6, 3)
    yy, xx = np.mgrid[:size, :size] / size
    style = int(rng.integers(3))
    grade = [np.zeros_like(yy), yy - 0.5, -np.hypot(xx - 0.5, yy - 0.45)][style]
    img = base + grade[..., None] * rng.uniform(30, 60)
    img += rng.normal(0, 1.5, img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def cutout(rgb: np.ndarray, face: Face, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """Head and shoulders cut out with enlarged face ellipses and put on a plain backdrop."""
    mid, _, _, ed = face_frame(face)
    scale = rng.uniform(0.15, 0.2) * size / ed
    eyes_at = np.array([size / 2, 0.42 * size])
    matrix = np.array([[scale, 0, eyes_at[0] - scale * mid[0]],
                       [0, scale, eyes_at[1] - scale * mid[1]]])
    person = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA,
                            borderMode=cv2.BORDER_REPLICATE)
    valid = soft_coverage(rgb.shape, matrix, (size, size), 0.1 * ed * scale)
    e = ed * scale
    head = ellipse_mask((size, size), eyes_at + (0, 0.2 * e), (1.55 * e, 2.1 * e), 0, 0.15 * e)
    body = ellipse_mask((size, size), eyes_at + (0, 4.3 * e), (3.2 * e, 2.6 * e), 0, 0.2 * e)
    alpha = (np.maximum(head, body) * valid)[..., None]
    out = alpha * person.astype(np.float32) + (1 - alpha) * backdrop(size, rng)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------- writing


class Corpus:
    """Writes files into ``out/images`` and collects their manifest rows."""

    def __init__(self, out: Path) -> None:
        self.out = out
        (out / "images").mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []

    def add(self, name: str, data: bytes, **row: object) -> None:
        (self.out / "images" / name).write_bytes(data)
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
        params = row.pop("params", {})
        also = row.pop("also_group", [])
        self.rows.append({
            "file": f"images/{name}", **row, "also_group": ";".join(also),
            "params": json.dumps(params, separators=(",", ":"), sort_keys=True),
            "width": width, "height": height,
        })

    def write_manifest(self) -> None:
        with (self.out / "manifest.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)


def slug(transform: str) -> str:
    return transform.replace("+", "-")


def add_templates(corpus: Corpus, lib: Library, plan: Plan, sizes: Sizes, seed: int) -> None:
    uses: Counter = Counter()
    for tpl in plan.templates:
        groups = plan.context_groups(tpl)
        corpus.add(f"cmp_{tpl.id}__template.jpg", tpl.path.read_bytes(), task="composite",
                   group=groups[0], role="template", transform="none", face_source=tpl.rel,
                   person=tpl.id, source=tpl.rel, also_group=groups[1:])
        rng = item_rng(seed, f"composites:{tpl.id}")
        n = int(rng.integers(sizes.composites[0], sizes.composites[1] + 1))
        for k, donor in enumerate(pick_donors(lib, tpl, plan.donors, n, uses, rng), 1):
            data, params = make_composite(lib, tpl, donor, item_rng(seed, f"{tpl.id}:{k}"))
            corpus.add(f"cmp_{tpl.id}__{k:02d}_{donor.id}.jpg", data, task="composite",
                       group=groups[0], role="composite", transform="composite",
                       face_source=donor.rel, person=donor.id, source=tpl.rel,
                       also_group=groups[1:], params=params)


def make_composite(lib: Library, tpl: Source, donor: Source, rng: np.random.Generator,
                   widths: tuple[int, int] = (400, 800)) -> tuple[bytes, dict]:
    """A re-exported composite of ``donor``'s face on ``tpl``, mirrored if that fits better."""
    t_face, d_face, d_rgb = face_of(lib, tpl), face_of(lib, donor), lib.rgb(donor)
    mirrored = abs(yaw(t_face) + yaw(d_face)) + 0.03 < abs(yaw(t_face) - yaw(d_face))
    if mirrored:
        d_face, d_rgb = mirror_face(d_face, d_rgb.shape[1]), np.ascontiguousarray(d_rgb[:, ::-1])
    data, params = reexport(composite(lib.rgb(tpl), t_face, d_rgb, d_face), rng, widths)
    scale = t_face.eye_distance / d_face.eye_distance
    return data, {"donor": donor.rel, "donor_scale": round(scale, 3), "mirrored": mirrored,
                  **params}


def add_studio(corpus: Corpus, lib: Library, plan: Plan, sizes: Sizes, seed: int) -> None:
    uses: Counter = Counter()
    for tpl in plan.studio_templates:
        group = f"tpl:{tpl.id}"
        corpus.add(f"stu_{tpl.id}__template.jpg", tpl.path.read_bytes(), task="composite",
                   group=group, role="template", transform="none", face_source=tpl.rel,
                   person=tpl.id, source=tpl.rel)
        rng = item_rng(seed, f"studio:{tpl.id}")
        n = int(rng.integers(sizes.studio_composites[0], sizes.studio_composites[1] + 1))
        for k, donor in enumerate(pick_donors(lib, tpl, plan.studio_donors, n, uses, rng), 1):
            data, params = make_composite(lib, tpl, donor, item_rng(seed, f"{tpl.id}:{k}"),
                                          widths=(200, 400))
            corpus.add(f"stu_{tpl.id}__{k:02d}_{donor.id}.jpg", data, task="composite",
                       group=group, role="composite", transform="studio_composite",
                       face_source=donor.rel, person=donor.id, source=tpl.rel, params=params)
    for src in plan.studio_negatives:
        corpus.add(f"neg_studio_{src.id}.jpg", src.path.read_bytes(), task="negative",
                   group=f"neg:{src.id}", role="negative", transform="studio_portrait",
                   face_source=src.id, person=src.id, source=src.rel)


def add_negsame(corpus: Corpus, lib: Library, plan: Plan, seed: int) -> None:
    uses: Counter = Counter()
    for person in plan.negsame:
        rng = item_rng(seed, f"negsame:{person.id}")
        face = face_of(lib, person)
        fits = [t for t in plan.templates if compatible(face_of(lib, t), face)]
        pool = fits if len(fits) >= 2 else plan.templates
        ranked = sorted(shuffled(pool, rng), key=lambda t: uses[t.id])[:2]
        uses.update(t.id for t in ranked)
        for tpl in ranked:
            data, params = make_composite(lib, tpl, person, item_rng(seed, f"{person.id}@{tpl.id}"))
            corpus.add(f"neg_same_{person.id}__on_{tpl.id}.jpg", data, task="negative",
                       group=f"negsame:{person.id}", role="negative", transform="composite",
                       face_source=person.rel, person=person.id, source=tpl.rel,
                       also_group=plan.context_groups(tpl), params=params)


def add_cutouts(corpus: Corpus, lib: Library, plan: Plan, seed: int) -> None:
    for src in plan.cutouts:
        rgb = cutout(lib.rgb(src), face_of(lib, src), item_rng(seed, f"cutout:{src.id}"))
        corpus.add(f"neg_backdrop_{src.id}.jpg", encode(rgb), task="negative",
                   group=f"neg:{src.id}", role="negative", transform="backdrop",
                   face_source=src.id, person=src.id, source=src.rel)


def add_reuse(corpus: Corpus, lib: Library, plan: Plan, sizes: Sizes, seed: int) -> None:
    for orig in plan.originals:
        groups = plan.context_groups(orig)
        rows = {"task": "reuse", "group": groups[-1], "face_source": orig.id, "person": orig.id,
                "source": orig.rel, "also_group": groups[:-1]}
        corpus.add(f"reu_{orig.id}__original.jpg", orig.path.read_bytes(), role="original",
                   transform="none", **rows)
        for transform in reuse_transforms(orig, sizes, seed):
            rng = item_rng(seed, f"{orig.id}:{transform}")
            data, ext, params = apply_transform(lib.rgb(orig), transform, rng, lib.face(orig))
            corpus.add(f"reu_{orig.id}__{slug(transform)}.{ext}", data, role="copy",
                       transform=transform, params=params, **rows)
        square = orig.path.with_name(f"square_{orig.id}@2x.jpg")
        if orig.kind == "real" and square.exists():
            corpus.add(f"reu_{orig.id}__square_crop.jpg", square.read_bytes(), role="copy",
                       transform="square_crop", params={"from": square.name}, **rows)


def reuse_transforms(orig: Source, sizes: Sizes, seed: int) -> list[str]:
    rng = item_rng(seed, f"chains:{orig.id}")
    chains = [COMBINED[i] for i in sorted(rng.choice(len(COMBINED), sizes.combined, False))]
    return list(SINGLE) + chains


# ---------------------------------------------------------------------------- entry points


def build_corpus(out: Path, seed: int = 7, small: bool = False,
                 log: Callable[[str], None] | None = None) -> list[dict]:
    """Write the corpus into ``out`` (images/ and manifest.csv) and return the manifest rows."""
    sizes = SMALL if small else FULL
    lib = Library()
    plan = plan_sources(lib, np.random.default_rng(seed), sizes)
    corpus = Corpus(out)
    stages = {"templates and composites": lambda: add_templates(corpus, lib, plan, sizes, seed),
              "studio templates and composites":
                  lambda: add_studio(corpus, lib, plan, sizes, seed),
              "same face, two templates": lambda: add_negsame(corpus, lib, plan, seed),
              "backdrop cut-outs": lambda: add_cutouts(corpus, lib, plan, seed),
              "reuse": lambda: add_reuse(corpus, lib, plan, sizes, seed)}
    for name, stage in stages.items():
        before = len(corpus.rows)
        stage()
        if log:
            log(f"{name}: {len(corpus.rows) - before} files")
    corpus.write_manifest()
    return corpus.rows


def read_manifest(out: Path) -> list[dict]:
    with (out / "manifest.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def linked_groups(row: dict) -> set[str]:
    """The ``tpl:`` and ``photo:`` groups of a row: what a detector should link it by."""
    ids = [row["group"], *filter(None, str(row.get("also_group", "")).split(";"))]
    return {g for g in ids if g.startswith(("tpl:", "photo:"))}


def related(a: dict, b: dict) -> bool:
    """Whether two files are the same underlying photo or template (so should be linked)."""
    return bool(linked_groups(a) & linked_groups(b))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="a tiny corpus (~50 files)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    rows = build_corpus(args.out, args.seed, args.small, log=lambda s: print(s, file=sys.stderr))
    for (task, transform), n in sorted(Counter((r["task"], r["transform"]) for r in rows).items()):
        print(f"{task:9} {transform:34} {n:5}")
    print(f"{len(rows)} files in {time.monotonic() - start:.1f} s -> {args.out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
