"""CLIP features of every image of the diffusion set, as it is and re-encoded, on the run-time path.

    python bench/diffusion_embed.py [--shard 0/2]          # the face square of every variant
    python bench/diffusion_embed.py --extra [--shard 0/2]  # + mirrored face square, wider crop
    python bench/diffusion_embed.py --layers [--shard 0/2] # + per-block CLS tokens, face square
    python bench/diffusion_embed.py --layers --wide [--shard 0/2]  # ... of the wider square
    python bench/diffusion_embed.py --pad [--shard 0/2]    # + an aligned face chip, black-padded
    python bench/diffusion_embed.py --aug --layers [--shard 0/2]  # the --aug copies' CLS tokens
    python bench/diffusion_embed.py --aug2 [--shard 0/2]   # + cropped, upscaled, blurred copies
    python bench/diffusion_embed.py --fused [--shard 0/2]  # --layers (both), --aug (both), --aug2

Real and AI-made images go through the same steps, so the probe cannot tell them apart by
format. Each variant is a file's bytes: variant 0 the file as it is; variant 1 a random rescale
(the face square ends up 128-448 px), a JPEG re-encode at quality 55-95 and a mirror with
probability one half. Each variant then takes exactly the detector's run-time path:
``headcheck.load.load_image`` (EXIF orientation, reduced decode of large JPEGs), the analyser's
face finder on that decode (dlib, then the BlazeFace second look: ``detector`` says which found
the face), ``headcheck.detectors.face_crop`` and one encoder call per crop (the INT8 encoder's
output depends on what else is in a batch). A variant where no face is found has no features
(the detector does not run there).

The ``--aug`` pass (since probe v6) adds AUG_VARIANTS more copies per image, each a random chain
of what profile photos go through on the way to a page: an avatar-sized rescale, grayscale,
sharpening, sensor noise, brightness and saturation, a mirror, then JPEG or WebP at a random
quality (``augment_bytes``). Real and AI-made images get the same chain. Blur, upscaling, tight
crops and tinted contrast are left out of it: bench/diffusion_robustness.py measured them as
transformations no training image had. The ``--aug2`` pass (probe v6.1) adds AUG2_VARIANTS
copies with exactly those (``augment2_bytes``: a crop to the face, a small photo upscaled, blur,
contrast with a colour cast, PNG among the formats), each with both squares' final embeddings
and CLS tokens; the robustness bench keeps transformations that are in neither chain (rotation,
a smoothing filter, gamma with a vignette, a faded look, a shifted double JPEG).

The base pass caches the face square (x1.6 the face box, what the shipped probe reads); the
``--extra`` pass adds the same square mirrored (test-time augmentation) and a wider square (x3,
head and shoulders), so the training script can measure whether either helps. One cache file per
image and pass (keyed by sha256): a run resumes where it stopped and shards across processes.

The ``--layers`` pass (an experiment, not read by the shipped probe) runs the same encoder file
with the residual stream's token 0 (CLS) after each of its 12 blocks added as graph outputs
(``clip_encoder.tokens_model``: the detector's graph for a probe that reads them), on the base
pass's face squares: one encoder pass gives the final embedding,
bit-identical to the run-time one (checked against the base cache for every crop), and the
12 x 768 CLS tokens. With ``--wide`` the same for the wider square (its final embedding checked
against the --extra pass's).

The ``--pad`` pass adds PAD_VARIANTS copies per image cut the way face datasets cut aligned
face chips (FairFace: dlib's face chip, padding 1.25, 448 px): a square around the face, tilted,
shifted, black wherever it leaves the photo (``pad_bytes``). Real photos come as such chips (our
casual set is one), and rotated or letterboxed uploads have flat borders too; no AI tile here
has them, so a probe can learn "black border = real", and a probe trained without such photos
can score them anywhere. Real and AI-made images get the same chip. Each copy takes the
run-time path (decode, face finder, both squares) and one --layers-style pass per square: the
final embeddings and every block's CLS tokens.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_set import local_path, read_manifest  # noqa: E402

from headcheck.detectors import clip_encoder  # noqa: E402
from headcheck.detectors.diffusion import MIN_SIDE, WIDE_SCALE, mirror_crop  # noqa: E402
from headcheck.detectors.face_crop import face_square, model_crop  # noqa: E402
from headcheck.face import FaceModels  # noqa: E402
from headcheck.load import load_image  # noqa: E402

OUT = ROOT / "bench" / "out" / "diffusion"
CACHE = OUT / "features"
VARIANTS = 2  # variant 0 plus one re-encoding
# The 861 SDXL search tiles would dominate the fakes and the CPU budget: every second one.
SDXL_SEARCH_KEEP = 2


def variant_bytes(img: Image.Image, box, rng: np.random.Generator) -> tuple[bytes, int, float]:
    """A rescaled, JPEG re-encoded, maybe mirrored copy (its bytes), its quality and scale."""
    _, _, side, _ = face_square(img.width, img.height, box)
    f = float(np.clip(rng.uniform(128, 448) / side, 0.05, 2.0))
    w, h = max(8, round(img.width * f)), max(8, round(img.height * f))
    out = img.resize((w, h), Image.Resampling.LANCZOS if f < 1 else Image.Resampling.BICUBIC)
    q = int(rng.integers(55, 96))
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=q)
    return buf.getvalue(), q, f


AUG_VARIANTS = 2  # the --aug pass: variants 2 and 3


def augment_bytes(img: Image.Image, box, rng: np.random.Generator) -> bytes:
    """A copy as a profile page might serve it (see the module doc): its bytes."""
    _, _, side, _ = face_square(img.width, img.height, box)
    # Half avatar-sized (the face square 40-128 px), half as variant 1 (128-448 px).
    target = rng.uniform(40, 128) if rng.random() < 0.5 else rng.uniform(128, 448)
    f = float(np.clip(target / side, 0.02, 2.0))
    w, h = max(8, round(img.width * f)), max(8, round(img.height * f))
    out = img.convert("RGB").resize(
        (w, h), Image.Resampling.LANCZOS if f < 1 else Image.Resampling.BICUBIC)
    if rng.random() < 0.2:
        out = out.convert("L").convert("RGB")
    if rng.random() < 0.25:
        out = out.filter(ImageFilter.UnsharpMask(float(rng.uniform(0.8, 2.5)),
                                                 int(rng.integers(50, 200)), 2))
    if rng.random() < 0.2:
        a = np.asarray(out, np.float32) + rng.normal(0, rng.uniform(2, 9), (h, w, 3))
        out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        out = ImageEnhance.Brightness(out).enhance(float(rng.uniform(0.8, 1.2)))
        out = ImageEnhance.Color(out).enhance(float(rng.uniform(0.7, 1.3)))
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buf = io.BytesIO()
    if rng.random() < 0.25:
        out.save(buf, format="WEBP", quality=int(rng.integers(30, 91)))
    else:
        out.save(buf, format="JPEG", quality=int(rng.integers(30, 96)))
    return buf.getvalue()


AUG2_VARIANTS = 1  # the --aug2 pass (probe v6.1): variant 5 (one copy: CPU budget)


def augment2_bytes(img: Image.Image, box, rng: np.random.Generator) -> bytes:
    """A copy with what ``augment_bytes`` leaves out (see the module doc): its bytes. One
    geometry (a crop to the face, a small photo upscaled, or a rescale), then maybe blur, then
    maybe contrast and a colour cast, a mirror, and JPEG, WebP or PNG."""
    x, y, w, h = box
    out = img.convert("RGB")
    g = rng.random()
    if g < 0.35:  # cropped to the face: the square 1.1-1.8x the face box, shifted a little
        side = max(w, h) * rng.uniform(1.1, 1.8)
        cx = x + w / 2 + rng.uniform(-0.08, 0.08) * side
        cy = y + h / 2 + rng.uniform(-0.08, 0.08) * side
        # Inside the photo where it fits: a real avatar crop has no black border.
        cx = min(max(cx, side / 2), out.width - side / 2) if side <= out.width else cx
        cy = min(max(cy, side / 2), out.height - side / 2) if side <= out.height else cy
        out = out.crop(tuple(round(v) for v in (cx - side / 2, cy - side / 2,
                                                 cx + side / 2, cy + side / 2)))
        x, y = x - (cx - side / 2), y - (cy - side / 2)  # the box in the crop
    _, _, sq, _ = face_square(out.width, out.height, (round(x), round(y), w, h))
    if g >= 0.35 and g < 0.65:  # a small photo upscaled: the face square 48-160 px, then x1.5-3
        f = float(np.clip(rng.uniform(48, 160) / sq, 0.02, 1.0))
        small = out.resize((max(8, round(out.width * f)), max(8, round(out.height * f))),
                           Image.Resampling.LANCZOS)
        up = float(rng.uniform(1.5, 3.0))
        out = small.resize((round(small.width * up), round(small.height * up)),
                           Image.Resampling.BICUBIC if rng.random() < 0.7
                           else Image.Resampling.BILINEAR)
    else:  # the face square 128-448 px, as variant 1
        f = float(np.clip(rng.uniform(128, 448) / sq, 0.05, 2.0))
        out = out.resize((max(8, round(out.width * f)), max(8, round(out.height * f))),
                         Image.Resampling.LANCZOS if f < 1 else Image.Resampling.BICUBIC)
    if rng.random() < 0.35:
        out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.2))))
    if rng.random() < 0.4:
        out = ImageEnhance.Contrast(out).enhance(float(rng.uniform(0.75, 1.4)))
        gains = rng.uniform(0.88, 1.12, 3)
        out = Image.merge("RGB", [b.point(lambda v, k=k: min(255, int(v * k)))
                                  for b, k in zip(out.split(), gains, strict=True)])
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buf, fmt = io.BytesIO(), rng.random()
    if fmt < 0.2:
        out.save(buf, format="PNG")
    elif fmt < 0.35:
        out.save(buf, format="WEBP", quality=int(rng.integers(40, 91)))
    else:
        out.save(buf, format="JPEG", quality=int(rng.integers(40, 96)))
    return buf.getvalue()


PAD_VARIANTS = 1  # the --pad pass: variant 4
PAD_SIDE = 448  # FairFace's chip side


def pad_bytes(img: Image.Image, box, rng: np.random.Generator) -> bytes:
    """An aligned face chip of ``img`` around face ``box`` (see the module doc): its JPEG bytes.
    The square is 1.6-3.2x the face box (FairFace's files: 2.2-3.3x, median 2.7), tilted up to
    25 degrees, its centre shifted up to a tenth of its side; outside the photo it is black."""
    x, y, w, h = box
    side = max(w, h) * rng.uniform(1.6, 3.2)
    f = PAD_SIDE / side  # rescale first (antialiased), so the chip itself is cut at scale 1
    small = img.convert("RGB").resize(
        (max(1, round(img.width * f)), max(1, round(img.height * f))),
        Image.Resampling.LANCZOS if f < 1 else Image.Resampling.BICUBIC)
    cx = (x + w / 2) * f + rng.uniform(-0.1, 0.1) * PAD_SIDE
    cy = (y + h / 2) * f + rng.uniform(-0.1, 0.1) * PAD_SIDE
    a = np.deg2rad(rng.uniform(-25, 25))
    cos, sin, half = float(np.cos(a)), float(np.sin(a)), PAD_SIDE / 2
    # Output pixel (u, v) samples input (cx, cy) + R(a) (u - half, v - half).
    coeffs = (cos, -sin, cx - cos * half + sin * half, sin, cos, cy - sin * half - cos * half)
    chip = small.transform((PAD_SIDE, PAD_SIDE), Image.Transform.AFFINE, coeffs,
                           Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    buf = io.BytesIO()
    chip.save(buf, format="JPEG", quality=int(rng.integers(75, 96)))
    return buf.getvalue()


def embed_copies(row: dict[str, str], models: FaceModels, make, n: int, seed_at: int
                 ) -> dict[str, np.ndarray]:
    """Each of ``n`` copies ``make(image, face box, rng)`` returns (their bytes): both squares'
    final embeddings and per-block CLS tokens on the run-time path (NaN: no face); only where
    variant 0 has a face (the copies are made around it). The rng is seeded from the sha256's
    hex digits ``seed_at`` to ``seed_at + 12``, a range of its own per kind of copy."""
    base = np.load(cache_path(row["sha256"]))
    out = {"face_emb": np.full((n, clip_encoder.EMBED_DIM), np.nan, np.float32),
           "wide_emb": np.full((n, clip_encoder.EMBED_DIM), np.nan, np.float32),
           "cls": np.full((n, BLOCKS, 768), np.nan, np.float32),
           "wcls": np.full((n, BLOCKS, 768), np.nan, np.float32),
           "has_face": np.zeros(n, bool)}
    if not base["has_face"][0]:
        return out
    img0 = load_image(local_path(row).read_bytes())
    rng = np.random.default_rng(int(row["sha256"][seed_at:seed_at + 12], 16))
    for v in range(n):
        img = load_image(make(img0.image, tuple(int(b) for b in base["box"][0]), rng))
        face = models.find_face(img.array())
        if face is None or min(img.width, img.height) < MIN_SIDE:
            continue
        out["face_emb"][v], out["cls"][v] = embed_layers(model_crop(img.image, face.box))
        out["wide_emb"][v], out["wcls"][v] = embed_layers(
            model_crop(img.image, face.box, WIDE_SCALE))
        out["has_face"][v] = True
    return out


def embed_pad(row: dict[str, str], models: FaceModels) -> dict[str, np.ndarray]:
    """The --pad pass: each ``pad_bytes`` chip, as ``embed_copies``."""
    return embed_copies(row, models, pad_bytes, PAD_VARIANTS, 24)


def embed_aug2(row: dict[str, str], models: FaceModels) -> dict[str, np.ndarray]:
    """The --aug2 pass: each ``augment2_bytes`` copy, as ``embed_copies``."""
    return embed_copies(row, models, augment2_bytes, AUG2_VARIANTS, 36)


def aug_variants(row: dict[str, str], models: FaceModels, box0) -> list[tuple]:
    """(decoded image, face or None) per augmented copy, reproducibly from the sha256; the
    copies are made from variant 0's decode and its face box ``box0``."""
    img0 = load_image(local_path(row).read_bytes())
    rng = np.random.default_rng(int(row["sha256"][12:24], 16))
    out = []
    for _ in range(AUG_VARIANTS):
        img = load_image(augment_bytes(img0.image, box0, rng))
        face = models.find_face(img.array())
        if min(img.width, img.height) < MIN_SIDE:
            face = None
        out.append((img, face))
    return out


def variants(row: dict[str, str], models: FaceModels | None, boxes=None):
    """(variant, decoded image, face box or None, quality, scale) per variant, reproducibly;
    with ``boxes`` (the base pass's), the face finder is not run again."""
    data = local_path(row).read_bytes()
    rng = np.random.default_rng(int(row["sha256"][:12], 16))
    out = []
    for v in range(VARIANTS):
        if v == 0:
            vdata, q, f = data, 100, 1.0
        else:
            base = out[0]
            b0 = base[2].box if hasattr(base[2], "box") else base[2]
            vdata, q, f = variant_bytes(base[1].image, b0, rng)
        img = load_image(vdata)
        if boxes is not None:
            box = None if boxes[v][2] <= 0 else tuple(int(b) for b in boxes[v])
            out.append((v, img, box, q, f))
            continue
        face = models.find_face(img.array())
        if min(img.width, img.height) < MIN_SIDE:
            face = None
        out.append((v, img, face, q, f))
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


def cache_path(sha: str, extra: bool = False, aug: bool = False, layers: bool = False,
               wide: bool = False, pad: bool = False, aug2: bool = False) -> Path:
    return CACHE / (f"{sha}{'.extra' if extra else ''}{'.aug' if aug else ''}"
                    f"{'.layers' if layers else ''}{'_wide' if wide else ''}"
                    f"{'.pad' if pad else ''}{'.aug2' if aug2 else ''}.npz")


BLOCKS = clip_encoder.BLOCKS


# The kernels this process embeds with (``require_training_kernels`` sets them).
KERNELS_IN_USE = "fast"


def require_training_kernels(exact: bool = False, cache: Path | None = None) -> str:
    """The kernels to build feature caches with: those that compute the features the shipped
    probe was trained on (the fast ones on v6's VNNI machine). On a CPU without VNNI none do for
    v6 (the fast ones saturate: cosine about 0.5 on the reference input; the exact ones come
    close but not bit for bit), so caches made there must not mix with the training machine's:
    exit, unless ``exact`` asks for a cache of its own (a probe trained on it records this
    machine's features and is then "home" here; docs/benchmarks.md, "Probe v8"). ``cache``'s
    KERNELS file records which kernels filled it, and a run with other kernels is refused."""
    global KERNELS_IN_USE
    from headcheck.detectors.diffusion import ENCODER_SAME_COSINE, kernels_cosine

    same = [k for k in clip_encoder.KERNELS if kernels_cosine(k) >= ENCODER_SAME_COSINE]
    cos = kernels_cosine("fast")
    if same:  # these kernels reproduce the shipped probe's training features
        kernels = same[0]
    elif exact:
        kernels = "exact"
    else:
        sys.exit(f"this CPU's fast encoder kernels compute other features than the probe was "
                 f"trained on (cosine {cos:.3f} on the reference input, need "
                 f"{ENCODER_SAME_COSINE}; a CPU without VNNI?): features cached here would be "
                 "wrong. Build the caches on a CPU with AVX-512 VNNI or AVX-VNNI "
                 "(docs/benchmarks.md, \"v6's scores on a CPU without VNNI\"), or pass "
                 "--exact-kernels for caches of this machine's own (a probe trained on them).")
    stamp_kernels(cache or CACHE, kernels)
    reference_record(cache or CACHE, kernels)
    KERNELS_IN_USE = kernels
    return kernels


def reference_record(cache: Path, kernels: str) -> dict:
    """The reference input's features as the kernels that fill ``cache`` compute them on this
    machine (its final embedding and every block's CLS token), kept beside the features: a probe
    trained on them records these (``encoder_check``), whichever machine writes it."""
    path = cache / "reference.npz"
    if not path.exists():
        emb = clip_encoder.embed([clip_encoder.reference_input()], kernels)[0]
        cls = clip_encoder.reference_tokens(range(BLOCKS), kernels)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, embedding=np.asarray(emb, np.float32),
                 cls=np.array([cls[str(b)] for b in range(BLOCKS)], np.float32))
        tmp.replace(path)
    rec = np.load(path)
    return {"embedding": [round(float(x), 6) for x in rec["embedding"]],
            "cls": {str(b): [round(float(x), 6) for x in t] for b, t in enumerate(rec["cls"])}}


def _recorded_kernels(cache: Path) -> str | None:
    """The kernels that filled ``cache``: its KERNELS file, else "fast" for a folder of features
    from before the record existed, else None (no features yet)."""
    stamp = cache / "KERNELS"
    if stamp.exists():
        return stamp.read_text().strip()
    return "fast" if cache.exists() and any(cache.glob("*.npz")) else None


def cache_kernels(cache: Path) -> str:
    """The kernels that filled ``cache`` (exit if it holds no features yet)."""
    kernels = _recorded_kernels(cache)
    if kernels is None:
        sys.exit(f"{cache}: no features yet (bench/diffusion_embed.py)")
    return kernels


def stamp_kernels(cache: Path, kernels: str) -> None:
    """Record in ``cache`` which kernels fill it; exit if they differ from what is recorded
    (a folder with features but no record was filled by the fast kernels)."""
    was = _recorded_kernels(cache)
    if was is not None and was != kernels:
        sys.exit(f"{cache} holds features of the {was} encoder kernels, this run would add "
                 f"{kernels} ones: move it aside, or run where the {was} kernels apply")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "KERNELS").write_text(kernels + "\n")


def embed_layers(crop: Image.Image, kernels: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One pass (``clip_encoder.embed_tokens``, the run-time token graph): the unit-length final
    embedding (as ``clip_encoder.embed``) and the (12, 768) per-block CLS tokens of one crop."""
    e, cls = clip_encoder.embed_tokens([crop], range(BLOCKS), kernels or KERNELS_IN_USE)
    return e[0].astype(np.float32), cls[0]


def embed_one(crops: list[Image.Image]) -> np.ndarray:
    """One encoder call per crop, as at run time."""
    return np.concatenate([clip_encoder.embed([c], KERNELS_IN_USE) for c in crops]
                          ).astype(np.float32)


def _emb(crops: list[Image.Image | None]) -> np.ndarray:
    out = np.full((len(crops), clip_encoder.EMBED_DIM), np.nan, np.float32)
    for i, c in enumerate(crops):
        if c is not None:
            out[i] = embed_one([c])[0]
    return out


def embed_aug(row: dict[str, str], models: FaceModels) -> dict[str, np.ndarray]:
    """The face square's and the wider square's features of each augmented copy (NaN: no face);
    only where variant 0 has a face (the copies are made around it)."""
    base = np.load(cache_path(row["sha256"]))
    nan = np.full((AUG_VARIANTS, clip_encoder.EMBED_DIM), np.nan, np.float32)
    if not base["has_face"][0]:
        return {"face_emb": nan, "wide_emb": nan, "has_face": np.zeros(AUG_VARIANTS, bool)}
    vs = aug_variants(row, models, tuple(int(b) for b in base["box"][0]))
    return {"face_emb": _emb([model_crop(img.image, f.box) if f else None for img, f in vs]),
            "wide_emb": _emb([model_crop(img.image, f.box, WIDE_SCALE) if f else None
                              for img, f in vs]),
            "has_face": np.array([f is not None for _, f in vs])}


def embed_aug_layers(row: dict[str, str], models: FaceModels) -> dict[str, np.ndarray]:
    """The --aug copies' per-block CLS tokens of both squares (``cls``, ``wcls``; NaN: no face),
    on the copies the --aug pass made (the same seed, the same face finder); their final
    embeddings must equal that pass's bit for bit."""
    ref = np.load(cache_path(row["sha256"], aug=True))
    out = {k: np.full((AUG_VARIANTS, BLOCKS, 768), np.nan, np.float32) for k in ("cls", "wcls")}
    if not ref["has_face"].any():
        return out
    base = np.load(cache_path(row["sha256"]))
    for v, (img, face) in enumerate(aug_variants(row, models, tuple(int(b) for b in
                                                                     base["box"][0]))):
        if face is None:
            continue
        for key, emb_key, crop in (("cls", "face_emb", model_crop(img.image, face.box)),
                                   ("wcls", "wide_emb",
                                    model_crop(img.image, face.box, WIDE_SCALE))):
            emb, out[key][v] = embed_layers(crop)
            if not np.array_equal(emb, ref[emb_key][v]):
                raise RuntimeError(f"{row['path']} copy {v}: the final embedding differs from "
                                   "the --aug pass's")
    return out


def embed_layers_row(row: dict[str, str], wide: bool = False) -> dict[str, np.ndarray]:
    """The face square's (``wide``: the wider square's) per-block CLS tokens of each variant
    (NaN: no face), on the base pass's boxes; its final embedding must equal the cached one bit
    for bit (same crop, same graph)."""
    base = np.load(cache_path(row["sha256"]))
    ref = np.load(cache_path(row["sha256"], extra=True))["wide_emb"] if wide else base["face_emb"]
    cls = np.full((VARIANTS, BLOCKS, 768), np.nan, np.float32)
    for v, img, box, _, _ in variants(row, None, base["box"]):
        if box is None:
            continue
        emb, cls[v] = embed_layers(model_crop(img.image, box, WIDE_SCALE) if wide
                                   else model_crop(img.image, box))
        if not np.array_equal(emb, ref[v]):
            raise RuntimeError(f"{row['path']} variant {v}: the final embedding differs from the "
                               "base pass's (other crop, or the graph is not the run-time one)")
    return {"cls": cls}


def embed_fused(row: dict[str, str], models: FaceModels, aug2: bool = True
                ) -> dict[Path, dict[str, np.ndarray]]:
    """Every cache probe v6 and v6.1 read that ``row`` lacks after the base pass, from token-graph
    passes only (their final embeddings are the plain graph's bit for bit; checked against the
    base pass's face square, and the --extra pass's wider square where it exists): the two
    --layers caches (the wider one also keeps its final embeddings, ``emb``, which stand in for
    the --extra pass's wider square), the --aug copies' two caches and the --aug2 copies'. Not
    the mirrored square (no probe since v5 reads it): --extra stays its own pass. Without
    ``aug2``, not the --aug2 copies either (v6's and v8's recipes read none)."""
    sha = row["sha256"]
    base = np.load(cache_path(sha))
    extra = cache_path(sha, extra=True)
    ref_wide = np.load(extra)["wide_emb"] if extra.exists() else None
    out: dict[Path, dict[str, np.ndarray]] = {}
    if not (cache_path(sha, layers=True).exists()
            and cache_path(sha, layers=True, wide=True).exists()):
        cls = np.full((2, VARIANTS, BLOCKS, 768), np.nan, np.float32)
        wemb = np.full((VARIANTS, clip_encoder.EMBED_DIM), np.nan, np.float32)
        for v, img, box, _, _ in variants(row, None, base["box"]):
            if box is None:
                continue
            emb, cls[0, v] = embed_layers(model_crop(img.image, box))
            wemb[v], cls[1, v] = embed_layers(model_crop(img.image, box, WIDE_SCALE))
            if not np.array_equal(emb, base["face_emb"][v]) or (
                    ref_wide is not None and not np.array_equal(wemb[v], ref_wide[v])):
                raise RuntimeError(f"{row['path']} variant {v}: a final embedding differs from "
                                   "the plain graph's")
        out[cache_path(sha, layers=True)] = {"cls": cls[0]}
        out[cache_path(sha, layers=True, wide=True)] = {"cls": cls[1], "emb": wemb}
    if not cache_path(sha, aug=True, layers=True).exists():
        # The --aug pass's copies (its seed range and chain), their two caches from one pass.
        c = embed_copies(row, models, augment_bytes, AUG_VARIANTS, 12)
        out[cache_path(sha, aug=True)] = {"face_emb": c["face_emb"], "wide_emb": c["wide_emb"],
                                          "has_face": c["has_face"]}
        out[cache_path(sha, aug=True, layers=True)] = {"cls": c["cls"], "wcls": c["wcls"]}
    if aug2 and not cache_path(sha, aug2=True).exists():
        out[cache_path(sha, aug2=True)] = embed_aug2(row, models)
    return out


def embed_row(row: dict[str, str], models: FaceModels, extra: bool) -> dict[str, np.ndarray]:
    if extra:
        base = np.load(cache_path(row["sha256"]))
        boxes = [(img, box) for _, img, box, _, _ in variants(row, None, base["box"])]
        return {
            "mirror_emb": _emb([mirror_crop(img.image, box) if box else None
                                for img, box in boxes]),
            "wide_emb": _emb([model_crop(img.image, box, WIDE_SCALE) if box else None
                              for img, box in boxes])}
    vs = variants(row, models)
    faces = [(img, face) for _, img, face, _, _ in vs]
    return {
        "face_emb": _emb([model_crop(img.image, face.box) if face else None
                          for img, face in faces]),
        "has_face": np.array([face is not None for _, face in faces]),
        "detector": np.array([face.detector if face else "" for _, face in faces]),
        "box": np.array([face.box if face else (-1, -1, -1, -1) for _, face in faces]),
        "variant": np.array([v[0] for v in vs]), "quality": np.array([v[3] for v in vs]),
        "scale": np.array([v[4] for v in vs])}


def fused(rows: list[dict[str, str]], aug2: bool = True) -> int:
    kinds = [{"layers": True}, {"layers": True, "wide": True}, {"aug": True, "layers": True}]
    todo = [r for r in rows if cache_path(r["sha256"]).exists() and not all(
        cache_path(r["sha256"], **k).exists() for k in kinds + [{"aug2": True}] * aug2)]
    print(f"fused pass: {len(todo)} of {len(rows)} images to do", flush=True)
    models, t0 = FaceModels(), time.time()
    CACHE.mkdir(parents=True, exist_ok=True)
    for k, row in enumerate(todo):
        for path, rec in embed_fused(row, models, aug2).items():
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **rec)
            tmp.replace(path)
        if k % 25 == 0 or k == len(todo) - 1:
            print(f"{k + 1}/{len(todo)} {time.time() - t0:.0f}s", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shard", default="0/1", help="i/n: do every n-th row starting at i")
    ap.add_argument("--sets", default="", help="comma-separated set names (default: all)")
    ap.add_argument("--extra", action="store_true",
                    help="the mirrored face square and the wider crop (after the base pass)")
    ap.add_argument("--aug", action="store_true",
                    help="AUG_VARIANTS augmented copies, face and wide (after the base pass)")
    ap.add_argument("--layers", action="store_true",
                    help="the face square's per-block CLS tokens (after the base pass)")
    ap.add_argument("--wide", action="store_true",
                    help="--layers: of the wider square (after the --extra pass)")
    ap.add_argument("--pad", action="store_true",
                    help="PAD_VARIANTS aligned, black-padded face chips (after the base pass)")
    ap.add_argument("--fused", action="store_true",
                    help="--layers, --layers --wide, --aug, --aug --layers and --aug2 in one pass "
                         "of token graphs (after the base pass; see embed_fused)")
    ap.add_argument("--aug2", action="store_true",
                    help="AUG2_VARIANTS copies cropped, upscaled, blurred, tinted (after the "
                         "base pass; probe v6.1)")
    ap.add_argument("--without-aug2", action="store_true",
                    help="--fused: leave out the --aug2 copies (v6's and v8's recipes read none)")
    ap.add_argument("--exact-kernels", action="store_true",
                    help="where the fast kernels do not reproduce the shipped probe's features "
                         "(a CPU without VNNI), fill the cache with the exact kernels' instead")
    args = ap.parse_args()
    require_training_kernels(args.exact_kernels)
    i, n = (int(x) for x in args.shard.split("/"))
    rows = rows_to_embed(set(filter(None, args.sets.split(","))))[i::n]
    if args.fused:
        return fused(rows, not args.without_aug2)
    later = args.extra or args.aug or args.layers or args.pad or args.aug2
    todo = [r for r in rows
            if not cache_path(r["sha256"], args.extra, args.aug, args.layers, args.wide,
                              args.pad, args.aug2).exists()
            and (not later or cache_path(r["sha256"]).exists())
            and not (args.aug and args.layers and not cache_path(r["sha256"], aug=True).exists())]
    print(f"{len(rows) - len(todo)} of {len(rows)} cached; embedding {len(todo)}", flush=True)
    models = None if args.layers and not args.aug else FaceModels()
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for k, row in enumerate(todo):
        if args.pad:
            rec = embed_pad(row, models)
        elif args.aug2:
            rec = embed_aug2(row, models)
        elif args.layers and args.aug:
            rec = embed_aug_layers(row, models)
        elif args.layers:
            rec = embed_layers_row(row, args.wide)
        else:
            rec = embed_aug(row, models) if args.aug else embed_row(row, models, args.extra)
        path = cache_path(row["sha256"], args.extra, args.aug, args.layers, args.wide,
                          args.pad, args.aug2)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **rec)
        tmp.replace(path)  # atomic: a killed run leaves no half file
        if k % 50 == 0 or k == len(todo) - 1:
            print(f"{k + 1}/{len(todo)} {time.time() - t0:.0f}s", flush=True)
    print(f"done {len(todo)} images in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
