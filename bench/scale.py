"""How the candidate stage behaves as the store grows: candidates per lookup and recall.

Distractors are hashed from the text-to-image faces in data/faces/diffusion, so they share no
pixels with the queries (corpus photos built only from real and StyleGAN images). Each distractor
is a variant of a source: the face frame jittered (scale, shift, rotation), mirrored at random,
and re-toned, then hashed by the same functions as a stored photo. Variants of one source are
more alike than independent photos would be, so these counts err on the high side.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from headcheck import match as M
from headcheck.analyze import ANALYSIS_VERSION
from headcheck.face import FaceModels
from headcheck.fingerprint import image_hashes, region_hash
from headcheck.hashkinds import REGION_KINDS
from headcheck.index import RegionIndex, hex_words
from headcheck.load import load_image
from headcheck.regions import Frame

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000)
DISTRACTOR_BASE = 10_000_000
REGIONS = tuple(k.name for k in REGION_KINDS if k.radius is not None)  # the probed ones


def _images() -> list[Path]:
    return sorted((ROOT / "data" / "faces" / "diffusion" / "images").glob("*.jpg"))


def _frames() -> list[tuple[str, Frame]]:
    """(image file, face frame) of each distractor source: face detection once, here."""
    models = FaceModels()
    out = []
    for p in _images():
        face = models.find_face(load_image(p.read_bytes()).array())
        if face is not None:
            out.append((p.name, Frame.from_face(face)))
    return out


def _variant(rgb: np.ndarray, frame: Frame, rng: np.random.Generator) -> dict[str, str]:
    gain = rng.uniform(0.7, 1.3, 3)
    gamma = rng.uniform(0.7, 1.4)
    levels = (np.arange(256) / 255.0) ** gamma
    lut = np.clip(255 * levels[:, None] * gain[None, :], 0, 255).astype(np.uint8)
    x = np.stack([lut[rgb[..., c], c] for c in range(3)], axis=-1)  # per-channel tone curve
    if rng.random() < 0.5:
        x = np.ascontiguousarray(x[:, ::-1])
        frame = Frame((x.shape[1] - frame.origin[0], frame.origin[1]), frame.unit, -frame.angle)
    f = Frame((frame.origin[0] + rng.normal(0, 0.25) * frame.unit,
               frame.origin[1] + rng.normal(0, 0.25) * frame.unit),
              frame.unit * rng.uniform(0.8, 1.25), frame.angle + np.radians(rng.normal(0, 6)))
    out = {r: region_hash(x, f, r).hash for r in REGIONS}
    h, w = x.shape[:2]
    c = rng.uniform(0, 0.15, 4)
    crop = Image.fromarray(x).crop((int(c[0] * w), int(c[1] * h), int(w - c[2] * w),
                                    int(h - c[3] * h)))
    ih = image_hashes(crop)
    out["image"], out["pdq"] = ih.phash, ih.pdq
    return out


def _worker(args: tuple[int, int, list[tuple[str, Frame]]]) -> list[dict[str, str]]:
    seed, count, frames = args
    folder = _images()[0].parent
    srcs = [(load_image((folder / name).read_bytes()).array(), frame) for name, frame in frames]
    rng = np.random.default_rng(seed)
    return [_variant(*srcs[rng.integers(len(srcs))], rng) for _ in range(count)]


# What the distractors' hashes depend on besides the face frames (which are part of the key):
# this file (the variants), the hash functions and windows, and the image loader.
KEY_SOURCES = ("bench/scale.py", "headcheck/fingerprint.py", "headcheck/regions.py",
               "headcheck/hashkinds.py", "headcheck/load.py")


def cache_key(frames: list[tuple[str, Frame]]) -> str:
    """The distractors are made again only when something they are made from changed: the
    analysis version, the code in ``KEY_SOURCES``, the source images or their face frames (a
    change to face detection that moves no frame keeps the cache)."""
    h = hashlib.sha256(f"analysis {ANALYSIS_VERSION}".encode())
    for rel in KEY_SOURCES:
        h.update((ROOT / rel).read_bytes())
    for p in _images():
        h.update(p.name.encode() + hashlib.sha256(p.read_bytes()).digest())
    for name, f in frames:
        h.update(f"{name} {f.origin[0]:.4f} {f.origin[1]:.4f} {f.unit:.4f} {f.angle:.6f}"
                 .encode())
    return h.hexdigest()[:16]


def distractors(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` distractors' hashes by kind, cached in bench/out/ under ``cache_key`` (hashing
    100,000 took 24 of ``make evaluate``'s 35 minutes; a cached run reads them in a second)."""
    t = time.perf_counter()
    frames = _frames()
    cache = ROOT / "bench" / "out" / f"distractors-{n}-{seed}-{cache_key(frames)}.npz"
    if cache.exists():
        print(f"  distractors: {cache.name} (cached; key checked in "
              f"{time.perf_counter() - t:.1f} s)")
        return dict(np.load(cache))
    workers = os.cpu_count() or 1
    chunks = [(seed * 1000 + i, n // workers + (i < n % workers), frames)
              for i in range(workers)]
    with ProcessPoolExecutor(workers) as ex:
        rows = [r for part in ex.map(_worker, chunks) for r in part]
    out = {k: np.stack([hex_words(r[k]) for r in rows]) for k in rows[0]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.stem}.{os.getpid()}.npz")
    np.savez(tmp, **out)
    os.replace(tmp, cache)  # a run cut short leaves no half-written cache
    print(f"  hashed {n:,} distractors in {time.perf_counter() - t:.0f} s (cached as "
          f"{cache.name})")
    return out


def evaluate_scale(lab, seed: int = 7) -> dict:  # noqa: ANN001 - evaluate.Lab
    rows = lab.rows
    queries = [f for f in lab.analyses if rows[f]["role"] in ("composite", "copy")
               and "t2i_" not in rows[f]["source"] + rows[f]["face_source"]]
    from truth import truth

    base: dict[str, set[int]] = {}
    for f in queries:
        mates = {lab.ids[g] for g in lab.analyses if g != f and truth(rows[f], rows[g])
                 != "unrelated"}
        cands = M.candidates(lab.analyses[f], lab.index, {lab.ids[f]})
        base[f] = mates & set(cands)
    pool = distractors(max(SIZES), seed)
    results = []
    print(f"\nscale: {len(queries)} queries (no pixels shared with the distractors)")
    for size in SIZES:
        extra = max(0, size - len(lab.analyses))
        grown = RegionIndex()
        for kind in grown.KINDS:
            ids, codes = lab.index.indexes[kind]._compact()
            grown.indexes[kind].add(ids, codes)
            if kind in pool and extra:
                grown.indexes[kind].add(DISTRACTOR_BASE + np.arange(extra), pool[kind][:extra])
        counts, kept, total, t = [], 0, 0, time.perf_counter()
        for f in queries:
            cands = M.candidates(lab.analyses[f], grown, {lab.ids[f]})
            counts.append(len(cands))
            ranked = [pid for pid, _ in sorted(
                cands.items(), key=lambda kv: kv[1][1] / M.RADIUS[kv[1][0]])[:M.MAX_VERIFY]]
            if base[f]:
                total += 1
                kept += bool(base[f] & set(ranked))
        ms = 1000 * (time.perf_counter() - t) / len(queries)
        r = {"store": len(lab.analyses) + extra, "distractors": extra,
             "candidates_mean": float(np.mean(counts)),
             "candidates_p95": float(np.quantile(counts, 0.95)),
             "candidates_max": int(max(counts)),
             "recall_in_verified": kept / max(1, total), "query_ms": ms}
        results.append(r)
        print(f"  store {r['store']:>7,}: candidates/lookup mean {r['candidates_mean']:.1f}, "
              f"p95 {r['candidates_p95']:.0f}, max {r['candidates_max']}; true match among the "
              f"{M.MAX_VERIFY} verified: {100 * r['recall_in_verified']:.1f}%; "
              f"{r['query_ms']:.1f} ms/lookup (index only)")
    return {"queries": len(queries), "sizes": results}
