"""How far the diffusion probe's scores move with the encoder's kernels (or on another CPU).

For each photo: the analyser's face (or the box of an earlier run, ``--boxes``), then the
detector's ``all_scores`` with the encoder kernels forced to ``--kernels`` (no gate, no second
thread), recording the text-to-image and StyleGAN heads' log-odds and probabilities, the
features the heads read (``--out`` with ``.npz``) and the encoder check's cosines of the
reference input (``kernels_cosine``) for ``--cosines``. Results are written after every photo.
Run here, then under ``qemu-x86_64 -cpu Haswell-v4`` (a CPU without AVX-512 VNNI) with
``--boxes`` from the native run, and compare with ``--compare``:

    python bench/diffusion_cpu_shift.py --kernels exact --out /tmp/native-exact.json
    qemu-x86_64 -cpu Haswell-v4 .venv/bin/python bench/diffusion_cpu_shift.py --kernels exact \\
        --boxes /tmp/native-exact.json --out /tmp/haswell-exact.json
    python bench/diffusion_cpu_shift.py --compare /tmp/native-exact.json /tmp/haswell-exact.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from headcheck.detectors import clip_encoder, diffusion  # noqa: E402
from headcheck.load import load_image  # noqa: E402

DEFAULT = (sorted((ROOT / "tests/fixtures/diffusion").glob("ai_*.jpg"))
           + sorted((ROOT / "tests/fixtures/diffusion").glob("real_*.jpg"))
           + [ROOT / "data/sample/images/stylegan-015.jpg"]
           + sorted((ROOT / "data/sample/images").glob("plain-*.jpg")))


def logit(p: float) -> float:
    return math.log(p / (1 - p)) if 0 < p < 1 else math.copysign(math.inf, p - 0.5)


def run(args: argparse.Namespace) -> None:
    kernels = args.kernels
    diffusion.encoder_kernels = lambda: kernels  # forced: check_encoder and all_scores read it
    diffusion.cores.spare = lambda: False  # one thread: the passes one after the other
    out: dict = {"kernels": kernels, "cosines": {}, "images": {}}
    done = Path(args.out)

    def save() -> None:
        done.write_text(json.dumps(out, indent=1))

    for k in args.cosines:
        t = time.time()
        out["cosines"][k] = diffusion.kernels_cosine(k)
        print(f"kernels_cosine({k}) = {out['cosines'][k]:.5f} ({time.time() - t:.0f} s)",
              flush=True)
        save()
    boxes = {}
    if args.boxes:
        boxes = {n: r["box"] for n, r in json.loads(Path(args.boxes).read_text())["images"].items()}
    models = None
    pr = diffusion.probe()
    features: dict[str, np.ndarray] = {}
    captured: list = []
    real_scores_from = diffusion.scores_from

    def scores_from(p, passes, stats):
        captured.append(passes)
        return real_scores_from(p, passes, stats)

    diffusion.scores_from = scores_from
    for path in [Path(p) for p in args.images] or DEFAULT:
        name = path.name
        if args.only and not any(s in name for s in args.only):
            continue
        t = time.time()
        loaded = load_image(path.read_bytes())
        image = loaded.image.convert("RGB")
        if name in boxes or args.boxes:
            box = boxes.get(name)
        else:
            if models is None:
                from headcheck.face import FaceModels

                models = FaceModels()
            face = models.find_face(loaded.array())
            box = list(face.box) if face is not None else None
        if box is None:
            out["images"][name] = {"box": None}
            save()
            continue
        captured.clear()
        p, p_sg, _, _ = diffusion.all_scores(image, tuple(box), gate=False)
        passes = captured[-1]
        x = pr.spec.vector(passes)
        x_sg = pr.stylegan.spec.vector(passes)
        features[name + ":x"], features[name + ":x_sg"] = x, x_sg
        z = float(x @ pr.weights + pr.bias)
        z_sg = float(x_sg @ pr.stylegan.weights + pr.stylegan.bias)
        out["images"][name] = {"box": box, "p": p, "z": z, "p_stylegan": p_sg, "z_stylegan": z_sg,
                               "seconds": round(time.time() - t, 1)}
        print(f"{name}: p {p:.6f} (z {z:+.4f}), StyleGAN {p_sg:.6f} (z {z_sg:+.4f}), "
              f"{time.time() - t:.0f} s", flush=True)
        save()
        np.savez(done.with_suffix(".npz"), **features)


def compare(a_path: str, b_path: str) -> None:
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    fa, fb = (np.load(Path(p).with_suffix(".npz")) for p in (a_path, b_path))
    pr = diffusion.probe()
    print(f"cosines: {a_path}: {a['cosines']}  {b_path}: {b['cosines']}")
    print("| photo | p here | p other | difference | log-odds shift | features cosine "
          "| StyleGAN head here / other (log-odds shift) |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for name, ra in a["images"].items():
        rb = b["images"].get(name)
        if not rb or "p" not in rb or "p" not in ra:
            continue
        xa, xb = fa[name + ":x"], fb[name + ":x"]
        cos = float(xa @ xb / (np.linalg.norm(xa) * np.linalg.norm(xb)))
        dz, dz_sg = rb["z"] - ra["z"], rb["z_stylegan"] - ra["z_stylegan"]
        worst = max(worst, abs(dz), abs(dz_sg))
        marks = [t for t, th in (("flag", pr.flag), ("unsure", pr.unsure))
                 if (ra["p"] >= th) != (rb["p"] >= th)]
        print(f"| {name} | {ra['p']:.6f} | {rb['p']:.6f} | {rb['p'] - ra['p']:+.6f} | "
              f"{dz:+.3f} | {cos:.4f} | {ra['p_stylegan']:.4f} / {rb['p_stylegan']:.4f} "
              f"({dz_sg:+.3f}) |"
              + (f" crosses {', '.join(marks)}" if marks else ""))
    print(f"largest log-odds shift (either head): {worst:.3f}; thresholds: flag {pr.flag}, "
          f"unsure {pr.unsure} (log-odds {logit(pr.flag):.3f}, {logit(pr.unsure):.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", nargs="*", help="photos (default: the fixtures and samples)")
    ap.add_argument("--kernels", choices=clip_encoder.KERNELS, default="fast")
    ap.add_argument("--cosines", type=lambda s: [k for k in s.split(",") if k],
                    default=list(clip_encoder.KERNELS), help="kernels_cosine of these first")
    ap.add_argument("--boxes", help="the face boxes of an earlier run's JSON (no face finder)")
    ap.add_argument("--only", nargs="*", help="photos whose names contain one of these")
    ap.add_argument("--out", help="results JSON (and .npz of the features)")
    ap.add_argument("--compare", nargs=2, metavar=("HERE", "OTHER"))
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
    else:
        if not args.out:
            ap.error("--out is required")
        run(args)


if __name__ == "__main__":
    main()
