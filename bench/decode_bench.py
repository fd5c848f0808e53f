"""Large JPEGs decoded reduced (``load.WORK_SIDE``) against decoded in full, in one run: cost,
and what changes in the analysis.

    python bench/decode_bench.py [--photos 24] [--side 4032] [--rounds 2]

Our corpora hold no photo over 1,023 px (so none of them is decoded reduced, and the evaluation
figures cannot move); phone photos are 3-5x larger. The large photos here are studio portraits
(data/faces/portraits) upscaled (Lanczos) to ``--side`` px and saved at JPEG q92: smoother than a
real camera's, which is what we have without downloading images.

- Cost per photo: Pillow decode-only (full size, the baseline), the reduced decode, analysis
  (no detectors, then the shipped detectors) with a full and a reduced decode.
- Outputs, reduced against full: face found, eye positions (in eye distances), Hamming distance
  of every hash, dense patch (correlation of the two patches, as verification computes it),
  detector signals, and the diffusion probe's probability.
- Verdicts: the 438 portraits at their own size in one store; each large copy is checked against
  it, decoded in full and reduced: its own original must be the one and only match.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from throughput import per_image_ms, publish  # bench/ is on sys.path when run as a script

from headcheck.analyze import Analysis, Analyzer
from headcheck.dense import DensePatch, compare
from headcheck.detectors.diffusion import score_image
from headcheck.engine import Headcheck
from headcheck.face import FaceModels
from headcheck.fingerprint import hamming_hex
from headcheck.load import WORK_SIDE, load_image
from headcheck.relations import SAME_PHOTO
from headcheck.store import Sighting

ROOT = Path(__file__).resolve().parent.parent
PORTRAITS = ROOT / "data" / "faces" / "portraits" / "images"
OUT = ROOT / "bench" / "out" / "decode_bench.json"


def large_copies(files: list[Path], side: int) -> list[bytes]:
    out = []
    for f in files:
        im = Image.open(f).convert("RGB")
        k = side / max(im.size)
        im = im.resize((round(im.width * k), round(im.height * k)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=92)
        out.append(buf.getvalue())
    return out


def decode_full(b: bytes) -> Image.Image:
    return Image.open(io.BytesIO(b)).convert("RGB")


def decode_reduced(b: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(b))
    im.draft("RGB", (im.width // 4, im.height // 4))
    return im.convert("RGB")


def eye_error(a: Analysis, b: Analysis) -> float:
    """Largest eye displacement between two analyses of one photo, in eye distances."""
    assert a.face is not None and b.face is not None
    d = max(float(np.hypot(pa[0] - pb[0], pa[1] - pb[1]))
            for pa, pb in zip(a.face.eyes, b.face.eyes, strict=True))
    return d / a.face.eye_distance


def hash_distances(a: Analysis, b: Analysis) -> dict[str, int]:
    ha, hb = a.hashes(), b.hashes()
    return {k: hamming_hex(ha[k], hb[k]) for k in ha if ha[k] and hb[k]}


def compare_outputs(full: list[Analysis], reduced: list[Analysis]) -> dict:
    both = [(f, r) for f, r in zip(full, reduced, strict=True) if f.face and r.face]
    dists: dict[str, list[int]] = {}
    for f, r in both:
        for k, d in hash_distances(f, r).items():
            dists.setdefault(k, []).append(d)
    dense = [compare(DensePatch.from_bytes(f.dense), DensePatch.from_bytes(r.dense))
             for f, r in both]
    signals = [(sorted((s.name, s.kind) for s in f.signals),
                sorted((s.name, s.kind) for s in r.signals)) for f, r in zip(full, reduced,
                                                                         strict=True)]
    return {
        "photos": len(full),
        "face_found": {"full": sum(bool(f.face) for f in full),
                       "reduced": sum(bool(r.face) for r in reduced)},
        "sizes_equal": all((f.width, f.height) == (r.width, r.height)
                           for f, r in zip(full, reduced, strict=True)),
        "eye_error_eye_distances": {"median": statistics.median(eye_error(f, r) for f, r in both),
                                    "max": max(eye_error(f, r) for f, r in both)},
        "hash_bits_differing": {k: {"median": statistics.median(v), "max": max(v)}
                                for k, v in dists.items()},
        "dense_context_corr": {"min": min(d.context_corr for d in dense),
                               "median": statistics.median(d.context_corr for d in dense)},
        "dense_core_corr": {"min": min(d.core_corr for d in dense),
                            "median": statistics.median(d.core_corr for d in dense)},
        "signals_equal": sum(a == b for a, b in signals),
    }


def diffusion_probabilities(models: FaceModels, data: list[bytes]) -> dict:
    """The diffusion probe's probability on each photo decoded in full and reduced (it only
    reports a signal above its unsure band, so the analyses alone do not show small moves)."""
    pairs = []
    for b in data:
        ps = []
        for side in (None, WORK_SIDE):
            img = load_image(b, work_side=side)
            face = models.find_face(img.array())
            ps.append(score_image(img.image, face.box) if face else None)
        if None not in ps:
            pairs.append(ps)
    diffs = [abs(a - b) for a, b in pairs]
    return {"photos": len(pairs), "abs_diff_median": statistics.median(diffs),
            "abs_diff_max": max(diffs), "max_full": max(a for a, _ in pairs),
            "max_reduced": max(b for _, b in pairs)}


def verdicts(portraits: list[Path], copies: list[tuple[Path, bytes]]) -> dict:
    """Each large copy checked against the store of all portraits at their own size."""
    hc = Headcheck(analyzer=Analyzer(detectors=[]))
    ids = {}
    for f in portraits:
        ids[f.name] = hc.add(f.read_bytes(), Sighting(f"https://portraits.example/{f.stem}",
                                                      f.name, profile_name=f.stem)
                             ).added.photo_id
    out = {}
    for name, side in (("full", None), ("reduced", hc.analyzer.work_side)):
        hc.analyzer.work_side = side
        own, other, ms = 0, 0, []
        for f, data in copies:
            t = time.perf_counter()
            res = hc.check(data)
            ms.append((time.perf_counter() - t) * 1000)
            own += any(m.photo_id == ids[f.name] and m.relation == SAME_PHOTO
                       for m in res.matches)
            other += sum(m.photo_id != ids[f.name] for m in res.matches)
        out[name] = {"own_original_found": own, "other_photos_matched": other,
                     "check_ms_median": statistics.median(ms)}
    hc.close()
    return {"store": len(portraits), "copies": len(copies), **out}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=24)
    ap.add_argument("--side", type=int, default=4032)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    portraits = sorted(PORTRAITS.glob("*.jpg"))
    chosen = portraits[:: max(1, len(portraits) // args.photos)][:args.photos]
    data = large_copies(chosen, args.side)
    bare_full = Analyzer(detectors=[], work_side=None)
    bare_reduced = Analyzer(detectors=[])
    shipped_full = Analyzer(work_side=None)
    shipped_reduced = Analyzer()
    for a in (bare_full, bare_reduced, shipped_full, shipped_reduced):
        a.analyze_bytes(data[0])  # warm: models, ORB, CLIP session
    load0 = os.getloadavg()[0]
    cost = {
        "decode_full": per_image_ms(decode_full, data, args.rounds),
        "decode_reduced_quarter": per_image_ms(decode_reduced, data, args.rounds),
        "analysis_no_detectors_full": per_image_ms(bare_full.analyze_bytes, data, args.rounds),
        "analysis_no_detectors_reduced": per_image_ms(bare_reduced.analyze_bytes, data,
                                                      args.rounds),
        "analysis_shipped_full": per_image_ms(shipped_full.analyze_bytes, data, 1),
        "analysis_shipped_reduced": per_image_ms(shipped_reduced.analyze_bytes, data, 1),
    }
    base = cost["decode_full"]
    ratios = {k: round(v / base, 2) for k, v in cost.items()}
    outputs = compare_outputs([shipped_full.analyze_bytes(b, lookup=True) for b in data],
                              [shipped_reduced.analyze_bytes(b, lookup=True) for b in data])
    result = {"side": args.side, "load_average_start": load0,
              "load_average_end": os.getloadavg()[0],
              "ms_per_photo": {k: round(v, 1) for k, v in cost.items()},
              "x_decode_full": ratios, "outputs": outputs,
              "diffusion_probability": diffusion_probabilities(shipped_full.models, data),
              "verdicts": verdicts(portraits, list(zip(chosen, data, strict=True)))}
    return publish(args.out, result)


if __name__ == "__main__":
    raise SystemExit(main())
