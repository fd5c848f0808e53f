"""The watermark detector on every image of the diffusion set and on marked copies of real photos.

    python bench/watermark_eval.py [--per-mark 100] [--json out.json]

Real photos (as they are, re-encoded as JPEG q95, upscaled x2): how many are flagged and how
their closest readings compare with chance; AI images as they are; marked copies made by the
reference encoder (``invisible-watermark`` 0.2.0, bench only: ``pip install --no-deps
invisible-watermark==0.2.0`` into a venv that has torch, see docs/benchmarks.md) exactly as each
pipeline calls it, then saved or transformed as a site might; the cost per image. The criteria
(docs/benchmarks.md, "Invisible watermarks") were fixed before the first run.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diffusion_set import local_path, read_manifest  # noqa: E402

from headcheck.detectors.dwt_dct import (  # noqa: E402
    MIN_PIXELS,  # noqa: E402
    block_bits,
    block_rows,
    read,
    u_plane,
)
from headcheck.detectors.watermark import (  # noqa: E402
    MARKS,
    Mark,
    chance_of,
    find_marks,
    max_errors,
    read_marks,
)

NEAR = 1e-3  # criterion (b): real readings within this chance bound of any mark


def rgb_of(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _save(rgb: np.ndarray, fmt: str, **kw: object) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **kw)
    buf.seek(0)
    return rgb_of(buf)  # type: ignore[arg-type]


def _resize(rgb: np.ndarray, f: float) -> np.ndarray:
    im = Image.fromarray(rgb)
    return np.asarray(im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS))


REAL_VERSIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as is": lambda a: a,
    "JPEG q95": lambda a: _save(a, "JPEG", quality=95),
    "upscaled x2": lambda a: _resize(a, 2.0),
}

TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "PNG, as made": lambda a: a,
    "JPEG q95 (4:2:0, Pillow's default)": lambda a: _save(a, "JPEG", quality=95),
    "JPEG q90": lambda a: _save(a, "JPEG", quality=90),
    "JPEG q80": lambda a: _save(a, "JPEG", quality=80),
    "JPEG q70": lambda a: _save(a, "JPEG", quality=70),
    "JPEG q95, 4:4:4": lambda a: _save(a, "JPEG", quality=95, subsampling=0),
    "JPEG q90, 4:4:4": lambda a: _save(a, "JPEG", quality=90, subsampling=0),
    "JPEG q80, 4:4:4": lambda a: _save(a, "JPEG", quality=80, subsampling=0),
    "WebP q90": lambda a: _save(a, "WEBP", quality=90),
    "WebP lossless": lambda a: _save(a, "WEBP", lossless=True),
    "resized to 0.75": lambda a: _resize(a, 0.75),
    "resized to 0.5": lambda a: _resize(a, 0.5),
    "cropped 8 px (top, left)": lambda a: a[8:, 8:],
    "cropped 3 px (top, left)": lambda a: a[3:, 3:],
}


def closest(rgb: np.ndarray) -> tuple[float, bool, str]:
    """(the smallest chance over the marks, flagged, which mark)."""
    ms = read_marks(rgb)
    if not ms:
        return 1.0, False, ""
    best = min(ms, key=lambda m: chance_of(m.errors, m.length))
    return chance_of(best.errors, best.length), any(m.found for m in ms), best.mark.where


def _encoded(rgb: np.ndarray, mark: Mark) -> np.ndarray:
    """The encoder's output array for ``rgb`` handed over as ``mark``'s pipeline does."""
    from imwatermark import WatermarkEncoder  # bench only: the package imports torch

    enc = WatermarkEncoder()
    if isinstance(mark.message, bytes):
        enc.set_watermark("bytes", mark.message)
    else:
        enc.set_watermark("bits", [int(c) for c in mark.message])
    arr = rgb[:, :, ::-1] if mark.order == "bgr" else rgb
    arr = np.ascontiguousarray(arr.astype(np.float32) if mark.depth == "float" else arr)
    return enc.encode(arr, "dwtDct")


def mark_copy(rgb: np.ndarray, mark: Mark, raw: np.ndarray | None = None) -> np.ndarray:
    """``rgb`` marked as ``mark``'s pipeline does it: the same message, array type and channel
    order handed to the package's encoder, and its way back to 8 bits (diffusers rounds, the
    reference scripts of SDXL and FLUX.1 truncate). ``raw``: the encoder's output, if made."""
    out = _encoded(rgb, mark) if raw is None else raw
    out = out[:, :, ::-1] if mark.order == "bgr" else out
    if mark.depth == "uint8":
        return np.ascontiguousarray(out)
    out = np.clip(out, 0, 255)
    return (np.round(out) if mark.where.startswith("diffusers") else np.floor(out)).astype(np.uint8)


def real_and_ai(rows: list[dict[str, str]]) -> dict:
    counts: dict[str, Counter] = defaultdict(Counter)
    flagged: list[dict] = []
    near: list[dict] = []
    chances: dict[str, list[float]] = defaultdict(list)
    for i, row in enumerate(rows):
        rgb = rgb_of(local_path(row))
        versions = REAL_VERSIONS if row["label"] == "real" else {"as is": REAL_VERSIONS["as is"]}
        for vname, fn in versions.items():
            img = fn(rgb)
            key = f"{row['label']} | {vname}"
            if img.shape[0] * img.shape[1] < MIN_PIXELS:
                counts[key]["too small"] += 1
                continue
            chance, found, where = closest(img)
            counts[key]["read"] += 1
            chances[key].append(chance)
            if chance <= NEAR:
                counts[key]["near"] += 1
                near.append({"set": row["set"], "path": row["path"], "version": vname,
                             "chance": chance, "mark": where})
            if found:
                counts[key]["flagged"] += 1
                flagged.append({"set": row["set"], "path": row["path"], "version": vname,
                                "label": row["label"], "chance": chance, "mark": where})
        if (i + 1) % 250 == 0:
            print(f"  {i + 1} of {len(rows)} images", file=sys.stderr)
    return {"counts": {k: dict(v) for k, v in counts.items()}, "flagged": flagged, "near": near,
            "lowest_chance": {k: min(v) for k, v in chances.items() if v}}


def marked(rows: list[dict[str, str]], per_mark: int) -> dict:
    big = [r for r in rows if r["label"] == "real"]
    big = [r for r in big if min(Image.open(local_path(r)).size) >= 512]
    out: dict[str, dict[str, list[int]]] = {}
    agree = checked = 0
    for mark in MARKS:
        rnd = random.Random(int(hashlib.sha256(mark.where.encode()).hexdigest()[:8], 16))
        sample = rnd.sample(big, min(per_mark, len(big)))
        res: dict[str, list[int]] = {t: [0, 0] for t in TRANSFORMS}
        for row in sample:
            copy = mark_copy(rgb_of(local_path(row)), mark)
            agree += _agrees_with_package(copy, len(mark.bits))
            for tname, fn in TRANSFORMS.items():
                res[tname][0] += any(m.mark == mark for m in find_marks(fn(copy)))
                res[tname][1] += 1
        checked += len(sample)
        out[f"{mark.source} ({mark.where})"] = res
        print(f"  marked: {mark.where} done", file=sys.stderr)
    return {"eligible_real_photos": len(big), "found": out,
            "decoder_agrees_with_the_package": f"{agree} of {checked}"}


def _agrees_with_package(rgb: np.ndarray, length: int) -> bool:
    """Whether our 8-bit reading is the package's own decoder's, bit for bit."""
    from imwatermark import WatermarkDecoder

    theirs = np.asarray(WatermarkDecoder("bits", length).decode(
        np.ascontiguousarray(rgb[:, :, ::-1]), "dwtDct"), dtype=np.uint8)
    pixels, index = block_rows(rgb)
    ours = read(block_bits(u_plane(pixels, "bgr", "uint8")), length, index).bits
    return bool((theirs == ours).all())


# The marks of the first run (``marked``, 2026-12-03): its samples decide which photos are fresh,
# so the fresh set stays the same as marks are added.
FIRST_RUN = (
    "CompVis/stable-diffusion scripts/txt2img.py",
    "Stability-AI/stablediffusion scripts/txt2img.py",
    "diffusers StableDiffusionXLWatermarker (SDXL pipelines)",
    "Stability-AI/generative-models sgm/inference/helpers.py",
    "black-forest-labs/flux src/flux/util.py",
)


def _first_samples(big: list[dict[str, str]], per_mark: int) -> set[str]:
    """The photos the first run's samples (``marked``) used, by path."""
    used: set[str] = set()
    for mark in (m for m in MARKS if m.where in FIRST_RUN):
        rnd = random.Random(int(hashlib.sha256(mark.where.encode()).hexdigest()[:8], 16))
        used |= {r["path"] for r in rnd.sample(big, min(per_mark, len(big)))}
    return used


def readable(rows: list[dict[str, str]], per_mark: int, marks: tuple[Mark, ...]) -> dict:
    """Criterion (c'): on photos no first sample used, each mark's copies whose mark the
    package's own decoder reads from the encoder's output array (before any 8-bit step), and
    how many of those the detector finds in the PNG copy."""
    from imwatermark import WatermarkDecoder

    big = [r for r in rows if r["label"] == "real"]
    big = [r for r in big if min(Image.open(local_path(r)).size) >= 512]
    fresh = [r for r in big if r["path"] not in _first_samples(big, per_mark)]
    out = {}
    for mark in marks:
        takes = found = 0
        missed = []
        for row in fresh:
            rgb = rgb_of(local_path(row))
            raw = _encoded(rgb, mark)
            theirs = np.asarray(WatermarkDecoder("bits", len(mark.bits)).decode(raw, "dwtDct"),
                                dtype=np.uint8)
            if int((theirs != mark.bits).sum()) > max_errors(len(mark.bits)):
                continue  # the mark did not take: no reader can find it
            takes += 1
            hit = any(m.mark == mark for m in find_marks(mark_copy(rgb, mark, raw)))
            found += hit
            if not hit:
                missed.append(row["path"])
        out[f"{mark.source} ({mark.where})"] = {
            "fresh_photos": len(fresh), "mark_readable_by_the_package": takes,
            "found_by_the_detector": found, "missed": missed}
        print(f"  readable: {mark.where} done", file=sys.stderr)
    return out


def cost(rows: list[dict[str, str]], n: int = 40, repeat: int = 3) -> dict:
    """Per 1024 x 1024 JPEG (the SD3 set), best of ``repeat`` passes: Pillow's decode; the
    detector's look (a quarter of the block rows, then the whole only where a mark is close:
    what an unmarked photo costs); the whole read (what a marked one adds)."""
    paths = [local_path(r) for r in rows if r["set"] == "sd3_faker"][:n]
    imgs = [rgb_of(p) for p in paths]

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) / len(paths))
        return 1000 * min(times)

    decode = best(lambda: [rgb_of(p) for p in paths])
    look = best(lambda: [find_marks(i) for i in imgs])
    whole = best(lambda: [read_marks(i) for i in imgs])
    return {"images": len(paths), "decode_ms": decode, "detector_ms": look,
            "whole_read_ms": whole, "detector_vs_decode": look / decode,
            "whole_read_vs_decode": whole / decode}


def cost_512(repeat: int = 5) -> dict:
    """The same on bench/throughput.py's 98 JPEGs at 512 px (its analysis figures' unit)."""
    from throughput import corpus_512

    data = corpus_512()

    def decode() -> list[np.ndarray]:
        return [np.asarray(Image.open(io.BytesIO(d)).convert("RGB")) for d in data]

    imgs = decode()

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) / len(data))
        return 1000 * min(times)

    dec, look = best(decode), best(lambda: [find_marks(i) for i in imgs])
    return {"images": len(data), "decode_ms": dec, "detector_ms": look,
            "detector_vs_decode": look / dec}


def summary(res: dict) -> list[str]:
    """Precision, recall and false-positive rate from whichever parts ``res`` holds: real
    readings are the negatives, the readable marked PNG copies (``readable``) the positives."""
    lines = []
    fp = neg = 0
    if "real_and_ai" in res:
        for key, c in res["real_and_ai"]["counts"].items():
            if key.startswith("real"):
                fp += c.get("flagged", 0)
                neg += c.get("read", 0)
        lines.append(f"false-positive rate: {fp} of {neg} real readings flagged "
                     f"({fp / max(1, neg):.4%})")
    if "readable" in res:
        tp = sum(v["found_by_the_detector"] for v in res["readable"].values())
        pos = sum(v["mark_readable_by_the_package"] for v in res["readable"].values())
        lines.append(f"recall: {tp} of {pos} readable marks found as PNG ({tp / max(1, pos):.1%})")
        for name, v in res["readable"].items():
            lines.append(f"  {name}: {v['found_by_the_detector']} of "
                         f"{v['mark_readable_by_the_package']}")
        if "real_and_ai" in res:
            lines.append(f"precision: {tp} of {tp + fp} flags ({tp / max(1, tp + fp):.1%}; "
                         f"negatives {neg}, positives {pos})")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-mark", type=int, default=100)
    ap.add_argument("--parts", default="real,cost,marked,readable",
                    help="comma-separated: real (real and AI images), cost, cost512, marked, "
                         "readable")
    ap.add_argument("--marks", default="",
                    help="readable: only the marks whose code path contains one of these "
                         "comma-separated words (to split the run in two processes)")
    ap.add_argument("--json")
    ap.add_argument("--from-json", nargs="+", default=[],
                    help="print the summary of earlier runs' --json files, merged, and stop")
    args = ap.parse_args()
    if args.from_json:
        merged: dict = {}
        for path in args.from_json:
            for part, value in json.loads(Path(path).read_text()).items():
                if part == "readable" and part in merged:
                    merged[part].update(value)
                else:
                    merged[part] = value
        print("\n".join(summary(merged)))
        return
    rows = read_manifest()
    parts = set(args.parts.split(","))
    res: dict = {}
    if "real" in parts:
        res["real_and_ai"] = real_and_ai(rows)
    if "cost" in parts:
        res["cost"] = cost(rows)
    if "cost512" in parts:
        res["cost_512"] = cost_512()
    if "marked" in parts:
        res["marked"] = marked(rows, args.per_mark)
    if "readable" in parts:
        words = [w for w in args.marks.split(",") if w]
        marks = tuple(m for m in MARKS if not words or any(w in m.where for w in words))
        res["readable"] = readable(rows, args.per_mark, marks)
    text = json.dumps(res, indent=1, default=float)
    if args.json:
        Path(args.json).write_text(text)
    print(text)
    print("\n".join(summary(res)))


if __name__ == "__main__":
    main()
