"""The diffusion detector under transformations: avatar thumbnails, heavy JPEG and WebP,
grayscale, blur, sharpening, sensor noise, upscaling, tight crops, colour edits, and five that no
training copy of any probe had (a turn, a smoothing filter, gamma and vignette, a faded look, a
shifted double JPEG).

Out of fold, like bench/diffusion_eval.py: each image is scored by probes trained as the shipped
one was (both heads and, since v5, its guard's two heads) without its identity's fold, on
features computed on the detector's run-time path from the transformed bytes (``load_image``,
the analyser's face finder, the detector's crops, one encoder call per crop). Only identities of
part B (part A set the shipped thresholds). A photo is flagged as the detector flags it: either
head at its threshold, and the guard's too. Prints, per transformation, the real photos flagged
and unsure and the AI faces found (per generator), at the shipped thresholds.

    python bench/diffusion_robustness.py [--per-set 30] [--per-gen 30] [--shard i/n]
    python bench/diffusion_robustness.py --layers [--shard i/n]  # bench/diffusion_layers.py's
    python bench/diffusion_robustness.py --v6 [--shard i/n]  # probe v6 (bench/diffusion_v6.py)
    python bench/diffusion_robustness.py --v6 --aug2 [--thresholds FLAG UNSURE]  # v6.1's recipe
    python bench/diffusion_robustness.py --v6 --per-set 100000 --per-gen 0 \
        --transform "double JPEG, shifted grid"  # every real photo of part B under one

With ``--layers`` the same images and transformations are scored by the candidates of
bench/diffusion_layers.py (one probe each, trained without the image's fold, the face square's
per-block CLS tokens from bench/diffusion_embed.py's ``embed_layers``), each at the threshold
where its worst real kind left out of training has 1% flagged (that script's cached scores).
With ``--v6`` they are scored by probe v6's recipe (``diffusion_v6.fit`` on every row of
``diffusion_v6.load()``, processed copies included, but the image's fold's) and v5's StyleGAN
head as v6 carries it (unsure only), at the shipped probe's flag and unsure thresholds. (The
default mode is v5.1's recipe: it needs a v5 probe, guard and all.)

Features are cached per image and transformation under bench/out/diffusion/robust/ (out of git),
so shards can run side by side and a second run only prints.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import diffusion_set  # noqa: E402
import diffusion_v6  # noqa: E402
from diffusion_embed import (  # noqa: E402
    BLOCKS,
    OUT,
    embed_layers,
    require_training_kernels,
    rows_to_embed,
)
from diffusion_layers import CANDIDATES, scores, worst_threshold  # noqa: E402
from diffusion_train import (  # noqa: E402
    CLS_DIM,
    FOLDS,
    GENERATORS,
    PROBE_OUT,
    SG_C,
    SG_FEATURES,
    Data,
    _hash,
    fit,
    fit_heads,
    flags_at,
    folds,
    in_part_a,
    load,
    logit,
    recipe_probe_path,
    score_heads,
    shipped_thresholds,
    stylegan_part,
)

from headcheck.detectors import clip_encoder  # noqa: E402
from headcheck.detectors.diffusion import MIN_SIDE, WIDE_SCALE  # noqa: E402
from headcheck.detectors.face_crop import model_crop  # noqa: E402
from headcheck.face import FaceModels  # noqa: E402
from headcheck.load import load_image  # noqa: E402

CACHE = OUT / "robust"


def _save(im: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _thumb(side: int) -> Callable[[Image.Image, tuple | None], bytes]:
    def f(im: Image.Image, box: tuple | None) -> bytes:
        t = im.copy()
        t.thumbnail((side, side), Image.Resampling.LANCZOS)
        return _save(t, quality=85)
    return f


def _noise(im: Image.Image, box: tuple | None) -> bytes:
    rng = np.random.default_rng(0)
    a = np.asarray(im, dtype=np.float32) + rng.normal(0, 6, (im.height, im.width, 3))
    return _save(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), quality=90)


def _warm(im: Image.Image, box: tuple | None) -> bytes:
    r, g, b = ImageEnhance.Contrast(im).enhance(1.3).split()
    r = r.point(lambda v: min(255, int(v * 1.08)))
    b = b.point(lambda v: int(v * 0.9))
    return _save(Image.merge("RGB", (r, g, b)), quality=90)


def _tight(im: Image.Image, box: tuple | None) -> bytes:
    """The face box x1.6, square: an avatar cropped to the face."""
    if box is None:
        return _save(im, quality=90)
    x, y, w, h = box
    side = int(max(w, h) * 1.6)
    cx, cy = x + w // 2, y + h // 2
    return _save(im.crop((cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2)),
                 quality=90)


def _rotated(im: Image.Image, box: tuple | None) -> bytes:
    """Turned 7 degrees, the black corners cut off: a tilted phone."""
    r = im.rotate(7, Image.Resampling.BICUBIC)
    dx, dy = round(im.width * 0.1), round(im.height * 0.1)
    return _save(r.crop((dx, dy, im.width - dx, im.height - dy)), quality=90)


def _vignette(im: Image.Image, box: tuple | None) -> bytes:
    """Gamma 0.75 (brighter mid-tones) and corners darkened by up to 45%."""
    a = (np.asarray(im, dtype=np.float32) / 255) ** 0.75
    yy, xx = np.mgrid[-1:1:im.height * 1j, -1:1:im.width * 1j]
    a *= (1 - 0.45 * np.clip((xx ** 2 + yy ** 2) / 2, 0, 1))[..., None]
    return _save(Image.fromarray((a * 255).round().astype(np.uint8)), quality=90)


def _faded(im: Image.Image, box: tuple | None) -> bytes:
    """A filter app's faded look: blacks lifted, colour muted."""
    a = np.asarray(ImageEnhance.Color(im).enhance(0.75), dtype=np.float32) * 0.85 + 28
    return _save(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), quality=85)


def _double_jpeg(im: Image.Image, box: tuple | None) -> bytes:
    """Saved at quality 70, cropped by 3 px (the 8 px grid moves), saved again at 88."""
    once = Image.open(io.BytesIO(_save(im, quality=70))).convert("RGB")
    return _save(once.crop((3, 3, once.width, once.height)), quality=88)


TRANSFORMS: dict[str, Callable[[Image.Image, tuple | None], bytes] | None] = {
    "as is": None,  # the file's own bytes
    "avatar 160 px, JPEG 85": _thumb(160),
    "avatar 96 px, JPEG 85": _thumb(96),
    "JPEG q30": lambda im, box: _save(im, quality=30),
    "WebP q50": lambda im, box: _save(im, "WEBP", quality=50),
    "grayscale": lambda im, box: _save(im.convert("L").convert("RGB"), quality=90),
    "upscaled x2, PNG": lambda im, box: _save(
        im.resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC), "PNG"),
    "blur 1.5 px": lambda im, box: _save(im.filter(ImageFilter.GaussianBlur(1.5)), quality=90),
    "sharpened": lambda im, box: _save(im.filter(ImageFilter.UnsharpMask(2, 150, 3)), quality=90),
    "noise sigma 6": _noise,
    "contrast +30%, warmer": _warm,
    "tight face crop": _tight,
    # In no training copy of any probe (bench/diffusion_embed.py --aug and --aug2):
    "rotated 7 degrees": _rotated,
    "smoothed (median 5 px)": lambda im, box: _save(im.filter(ImageFilter.MedianFilter(5)),
                                                    quality=90),
    "gamma 0.75, vignette": _vignette,
    "faded, muted colour": _faded,
    "double JPEG, shifted grid": _double_jpeg,
}
# Transformations the --aug2 copies (probe v6.1) trained on: unseen by v6 only.
IN_AUG2 = frozenset({"upscaled x2, PNG", "blur 1.5 px", "contrast +30%, warmer",
                     "tight face crop"})


def sample(per_set: int, per_gen: int) -> list[dict[str, str]]:
    """Part B images with cached training features, a fixed number per real set and per
    generator, in sha256 order (reproducible)."""
    have = {r["sha256"] for r in rows_to_embed()}
    rows = [r for r in diffusion_set.read_manifest()
            if r["sha256"] in have and (r["set"], r["path"]) not in diffusion_set.HELD_OUT
            and not in_part_a(r["group"])]
    by: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: r["sha256"]):
        by[kind(r)].append(r)
    return [r for k, rs in sorted(by.items())
            for r in rs[:per_gen if k.startswith("AI") else per_set]]


def kind(r: dict[str, str]) -> str:
    if r["label"] == "real":
        return f"real {r['set']}"
    return "AI " + ("stylegan" if r["set"] == "stylegan2" else GENERATORS.get(r["generator"], "?"))


def _transformed(r: dict[str, str], models: FaceModels, done: set[str]):
    """(name, decoded image, face or None) per transformation not in ``done``, on the run-time
    path (a face too small for the detector counts as none)."""
    base = load_image(diffusion_set.local_path(r).read_bytes())
    face0 = models.find_face(base.array())
    box0 = face0.box if face0 is not None else None
    for name, f in TRANSFORMS.items():
        if name in done:
            continue
        img = base if f is None else load_image(f(base.image.convert("RGB"), box0))
        face = models.find_face(img.array())
        yield name, img, (None if min(img.width, img.height) < MIN_SIDE else face)


def _cached(path: Path, keys: list[str]) -> dict[str, np.ndarray]:
    """What a cache file holds of ``keys`` (keyed by name: transformations added later are
    computed and added)."""
    if not path.exists():
        return {}
    c = np.load(path)
    return {k: c[k] for k in keys if k in c.files}


def _store(path: Path, out: dict[str, np.ndarray]) -> None:
    """Write ``out`` over what the file held (keys a run with fewer --transforms did not ask
    for are kept)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if path.exists():
        with np.load(path) as old:
            out = {k: old[k] for k in old.files} | out
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)  # atomic: shards and killed runs leave no half file


def features(r: dict[str, str], models: FaceModels) -> dict[str, np.ndarray]:
    """Per transformation: the face square's and the wider square's final embeddings (NaN: no
    face)."""
    path = CACHE / f"{r['sha256']}.npz"
    out = _cached(path, list(TRANSFORMS))
    if len(out) < len(TRANSFORMS):
        for name, img, face in _transformed(r, models, set(out)):
            out[name] = (np.full((2, clip_encoder.EMBED_DIM), np.nan, np.float32)
                         if face is None else np.stack(
                             [clip_encoder.embed([model_crop(img.image, face.box)])[0],
                              clip_encoder.embed([model_crop(img.image, face.box,
                                                             WIDE_SCALE)])[0]]))
        _store(path, out)
    return out


def token_features(r: dict[str, str], models: FaceModels
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                              dict[str, np.ndarray]]:
    """Per transformation, from one token-graph pass per square: both squares' final
    embeddings (2, 512), the face square's per-block CLS tokens and the wider square's (NaN: no
    face)."""
    path = CACHE / f"{r['sha256']}.tokens.npz"
    parts = ("emb", "cls", "wcls")
    keys = [f"{name}|{k}" for name in TRANSFORMS for k in parts]
    out = _cached(path, keys)
    if len(out) < len(keys):
        done = {name for name in TRANSFORMS if all(f"{name}|{k}" in out for k in parts)}
        for name, img, face in _transformed(r, models, done):
            emb = np.full((2, clip_encoder.EMBED_DIM), np.nan, np.float32)
            toks = [np.full((BLOCKS, CLS_DIM), np.nan, np.float32) for _ in range(2)]
            if face is not None:
                for j, scale in enumerate((None, WIDE_SCALE)):
                    crop = (model_crop(img.image, face.box) if scale is None
                            else model_crop(img.image, face.box, scale))
                    emb[j], toks[j] = embed_layers(crop)
            out |= {f"{name}|emb": emb, f"{name}|cls": toks[0], f"{name}|wcls": toks[1]}
        _store(path, out)
    return tuple({name: out[f"{name}|{k}"] for name in TRANSFORMS} for k in parts)


def fold_models(d: Data):
    """Per fold, the shipped recipe's four heads trained without it."""
    f = folds(d)
    return [fit_heads(d, f != k) for k in range(FOLDS)]


def transformed_scores(feats: list[dict[str, np.ndarray]], fold: np.ndarray,
                       heads: list, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(4, n) scores of ``fit_heads``' heads (each image by its fold's) on the features of
    transformation ``name`` (NaN where no face was found), and which images had one."""
    emb = np.stack([f[name] for f in feats])
    face = ~np.isnan(emb[:, 0, 0])
    sc = np.full((4, len(feats)), np.nan)
    for k, heads_k in enumerate(heads):
        sel = (fold == k) & face
        if sel.any():
            sc[:, sel] = score_heads(heads_k, as_data(emb[sel]))
    return sc, face


def as_data(emb: np.ndarray, cls: np.ndarray | None = None,
            wcls: np.ndarray | None = None) -> Data:
    n = len(emb)
    z = np.zeros(n)
    return Data(emb[:, 0], emb[:, 0], emb[:, 1], np.zeros((n, 0)), z, z, z, z, z, z, z,
                *(np.zeros((n, 0)) if c is None else c.reshape(n, -1) for c in (cls, wcls)))


def oof_logits(models: list, fold: np.ndarray, face: np.ndarray, d: Data) -> np.ndarray:
    """Each image's log-odds by the model of its fold (``models[k]`` trained without fold k);
    -inf where no face was found."""
    s = np.full(len(fold), -np.inf)
    for k, m in enumerate(models):
        sel = (fold == k) & face
        if sel.any():
            s[sel] = logit(d.take(sel), m)
    return s


def tokens(feats, cls, wcls, t: str) -> tuple[Data, np.ndarray]:
    """Transformation ``t``'s features of every image as Data, and which had a face found."""
    emb = np.stack([x[t] for x in feats])
    lay, wlay = np.stack([x[t] for x in cls]), np.stack([x[t] for x in wcls])
    face = ~np.isnan(emb[:, 0, 0]) & ~np.isnan(lay[:, 0, 0]) & ~np.isnan(wlay[:, 0, 0])
    return as_data(np.nan_to_num(emb), np.nan_to_num(lay), np.nan_to_num(wlay)), face


def layers_table(rows: list[dict[str, str]], feats: list[dict[str, np.ndarray]],
                 cls: list[dict[str, np.ndarray]], wcls: list[dict[str, np.ndarray]]) -> None:
    """Per transformation and candidate of bench/diffusion_layers.py: real photos flagged and
    AI faces found, out of fold, at the candidate's worst-kind-left-out 1% threshold."""
    d = load(layers=True)
    f, fold = folds(d), np.array([_hash(r["group"], FOLDS) for r in rows])
    real = np.array([r["label"] == "real" for r in rows])
    cands = []
    for name, mode, c in CANDIDATES:
        lo = {k[3:]: v for k, v in scores(d, mode, c).items() if k.startswith("lo:")}
        cands.append((name, worst_threshold(lo, 0.01),
                      [fit(d.take(f != k), c, False, mode) for k in range(FOLDS)]))
    print("real: photos flagged of those with a face found; AI: share found (faces found); "
          "each candidate at its worst-kind-left-out 1% threshold\n")
    print("| transformation | " + " | ".join(c[0] for c in cands) + " |\n|---|" +
          "---|" * len(cands))
    named: list[str] = []
    for t in TRANSFORMS:
        data, face = tokens(feats, cls, wcls, t)
        cells = []
        for cname, thr, models in cands:
            hit = oof_logits(models, fold, face, data) >= thr
            named += [f"{t}, {cname}: {rows[j]['set']}/{Path(rows[j]['path']).name}"
                      for j in np.flatnonzero(hit & real)]
            cells.append(f"{int((hit & real).sum())} of {int((real & face).sum())} / "
                         f"{hit[~real & face].mean():.2f}")
        print(f"| {t} | " + " | ".join(cells) + " |", flush=True)
    print("\nreal photos flagged: " + ("; ".join(named) or "none"))


# probe v5.1 at its floors, the default mode's figures in docs/benchmarks.md: real photos
# flagged, text-to-image and StyleGAN faces found
V51 = dict(zip(list(TRANSFORMS)[:12],
               ((0, .45), (1, .18), (0, .07), (0, .29), (0, .46), (0, .03), (0, .50),
                (0, .35), (0, .17), (0, .21), (0, .32), (1, .35)), strict=True))


def v6_table(rows: list[dict[str, str]], feats: list[dict[str, np.ndarray]],
             cls: list[dict[str, np.ndarray]], wcls: list[dict[str, np.ndarray]],
             aug2: bool = False, thresholds: tuple[float, float] | None = None,
             sd3: bool = False) -> None:
    """Per transformation: probe v6's recipe (``aug2``: v6.1's, with the --aug2 copies; ``sd3``:
    v8's, with the SD3 set) out of fold at the shipped probe's thresholds (or ``thresholds``:
    flag, unsure)."""
    probe = json.loads(PROBE_OUT.read_text())
    flag, unsure = thresholds or (probe["thresholds"]["flag"], probe["thresholds"]["unsure"])
    sg_flag = probe["stylegan_head"]["flag"]
    d = diffusion_v6.load(diffusion_v6.SETS_SINCE_V6 if sd3 else
                          diffusion_v6.SETS_SINCE_V6 | diffusion_v6.SETS_SINCE_V7, aug2=aug2)
    f, sg = folds(d), stylegan_part(d) & (d.variant < 2)  # v5's StyleGAN head: no copies
    heads = [diffusion_v6.fit(d.take(f != k)) for k in range(FOLDS)]
    sg_heads = [fit(d.take(sg & (f != k)), SG_C, False, SG_FEATURES) for k in range(FOLDS)]
    fold = np.array([_hash(r["group"], FOLDS) for r in rows])
    kinds = np.array([kind(r) for r in rows])
    real = np.array([k.startswith("real") for k in kinds])
    gens = sorted({k for k in kinds if not k.startswith("real")})
    recipe = ("v6.1 (with the --aug2 copies)" if aug2 else "v6") + (
        " with the SD3 set (v8)" if sd3 else "")
    print(f"{len(rows)} part-B images; probe {recipe}'s recipe out of fold: flag "
          f"{flag}, unsure {unsure} (or v5's StyleGAN head from {sg_flag}: unsure only); "
          "* a transformation this recipe's copies had\n")
    cols = ["transformation", "real flagged", "real unsure", *gens, "text-to-image", "AI all",
            "v5.1: real flagged / AI all"]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    named, total, n_real = [], 0, 0
    for t in TRANSFORMS:
        data, face = tokens(feats, cls, wcls, t)
        p = 1 / (1 + np.exp(-oof_logits(heads, fold, face, data)))
        hit = p >= flag
        unsure_real = real & ~hit & ((p >= unsure) |
                                     (oof_logits(sg_heads, fold, face, data) >= logit_of(sg_flag)))
        seen = [(kinds == g) & face for g in gens]
        seen += [~real & face & (kinds != "AI stylegan"), ~real & face]
        total, n_real = total + int((hit & real).sum()), n_real + int((real & face).sum())
        seen_t = "*" if t in IN_AUG2 and aug2 else ""
        v51 = f"{V51[t][0]} / {V51[t][1]:.2f}" if t in V51 else "-"
        print(f"| {t}{seen_t} | {int((hit & real).sum())} of {int((real & face).sum())} | "
              f"{int(unsure_real.sum())} | " +
              " | ".join(f"{hit[m].mean():.2f} ({int(m.sum())})" if m.any() else "-"
                         for m in seen) +
              f" | {v51} |", flush=True)
        named += [f"{t}: {rows[j]['set']}/{rows[j]['path']} ({p[j]:.4f})"
                  for j in np.flatnonzero(hit & real)]
    print("\nreal: photos flagged, of those with a face found; AI: share flagged (faces found)")
    print(f"real transformed images flagged: {total} of {n_real} (v5.1 at its floors, the "
          f"first twelve only: {sum(v[0] for v in V51.values())} of ~2,700)")
    print("real photos flagged: " + ("; ".join(named) or "none"))


def logit_of(p: float) -> float:
    return float(np.log(p / (1 - p)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-set", type=int, default=30)
    ap.add_argument("--per-gen", type=int, default=30)
    ap.add_argument("--shard", default="0/1", help="i/n: embed every n-th image from the i-th")
    ap.add_argument("--layers", action="store_true",
                    help="bench/diffusion_layers.py's candidates (per-block CLS tokens)")
    ap.add_argument("--v6", action="store_true", help="probe v6's recipe at its thresholds")
    ap.add_argument("--aug2", action="store_true",
                    help="--v6: probe v6.1's recipe (trained on the --aug2 copies too)")
    ap.add_argument("--sd3", action="store_true",
                    help="--v6: probe v8's recipe (v6's with the SD3 set; bench/diffusion_v8.py)")
    ap.add_argument("--exact-kernels", action="store_true",
                    help="embed with the exact kernels where none reproduce the shipped probe's "
                         "features (for caches filled so: bench/diffusion_embed.py)")
    ap.add_argument("--thresholds", type=float, nargs=2, metavar=("FLAG", "UNSURE"),
                    help="--v6: these probabilities instead of the shipped probe's")
    ap.add_argument("--transform", action="append", default=[],
                    help="only this transformation (repeatable; default: all); e.g. every "
                         "real photo of part B under one: --per-set 100000 --per-gen 0")
    ap.add_argument("--set-dir", type=Path, default=diffusion_set.SET_DIR,
                    help="where bench/diffusion_set.py build put the images")
    args = ap.parse_args()
    require_training_kernels(args.exact_kernels, CACHE)
    diffusion_set.SET_DIR = args.set_dir
    if args.transform:
        unknown = [t for t in args.transform if t not in TRANSFORMS]
        if unknown:
            sys.exit(f"unknown transformations {unknown}; known: {', '.join(TRANSFORMS)}")
        for t in [t for t in TRANSFORMS if t not in args.transform]:
            del TRANSFORMS[t]  # the module's table: the caches and tables read it
    i, n = map(int, args.shard.split("/"))
    rows = sample(args.per_set, args.per_gen)
    models = FaceModels()
    if args.layers or args.v6:
        feats, cls, wcls = (list(x) for x in zip(*(token_features(r, models)
                                                    for r in rows[i::n]), strict=True))
        if n == 1:
            if args.v6:
                v6_table(rows, feats, cls, wcls, args.aug2, args.thresholds, args.sd3)
            else:
                layers_table(rows, feats, cls, wcls)
        return 0
    feats = [features(r, models) for r in rows[i::n]]
    if n > 1:
        print(f"shard {args.shard}: {len(feats)} images embedded")
        return 0
    probe = json.loads(recipe_probe_path().read_text())
    if "guard" not in probe:
        sys.exit(f"{PROBE_OUT} is probe v{probe['version']}, not v5 (guarded): use --v6")
    unsure = probe["thresholds"]["unsure"]
    t = shipped_thresholds()
    guard = probe.get("guard")
    heads = fold_models(load())
    fold = np.array([_hash(r["group"], FOLDS) for r in rows])
    kinds = np.array([kind(r) for r in rows])
    print(f"{len(rows)} part-B images; probe v{probe['version']}: flag {t[0]}, StyleGAN head "
          f"{t[1]}, unsure {unsure:.3f}" + (
              f"; flagged only where its guard (v{guard['version']}: {t[2]}, {t[3]}) flags too"
              if guard else "") + "\n")
    real = np.array([k.startswith("real") for k in kinds])
    gens = sorted({k for k in kinds if not k.startswith("real")})
    print("| transformation | real flagged | real unsure | " + " | ".join(gens) + " | AI all |")
    print("|---|---|---|" + "---|" * (len(gens) + 1))
    flagged_real: dict[str, list[str]] = {}
    for name in TRANSFORMS:
        sc, face = transformed_scores(feats, fold, heads, name)  # head, StyleGAN, guard's two
        p = np.fmax(sc[0], sc[1])
        own = flags_at(sc, (t[0], t[1], 0.0, 0.0))
        hit = flags_at(sc, t)
        unsure_real = real & ((sc[0] >= unsure) | own) & ~hit
        seen = [(kinds == g) & face for g in gens] + [~real & face]
        cells = [f"{int((hit & real).sum())} of {int((real & face).sum())}",
                 str(int(unsure_real.sum()))]
        cells += [f"{hit[m].mean():.2f} ({int(m.sum())})" for m in seen]
        print(f"| {name} | " + " | ".join(cells) + " |")
        flagged_real[name] = [f"{rows[j]['set']}/{Path(rows[j]['path']).name} "
                              f"({p[j]:.3f})" for j in np.flatnonzero(hit & real)]
    print("\nreal: photos flagged, of those with a face found (a photo without one is not "
          "scored); AI: share flagged (faces found)")
    for name, which in flagged_real.items():
        if which:
            print(f"real photos flagged, {name}: {', '.join(which)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
