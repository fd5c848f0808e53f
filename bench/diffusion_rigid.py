"""A training-free signal: how far a tiny noise moves a face's CLIP embedding (RIGID).

    python bench/diffusion_rigid.py --shard 0/2   # scores, cached per image (resumable)
    python bench/diffusion_rigid.py --shard 1/2
    python bench/diffusion_rigid.py               # the tables (docs/benchmarks.md, "RIGID")

He, Chen and Ho (2024, "RIGID: a training-free and model-agnostic framework for robust
AI-generated image detection") observe that real images move less in a vision model's feature
space than generated ones under a small Gaussian noise, with no generator in any training set:
the one route to families we have no images of (docs/benchmarks.md: probe v6 finds none of the
Gemini, ChatGPT, DALL-E 3 and Stable Diffusion 3 faces). Measured here with the detector's own
encoder and crop: each photo's face square (``face_crop.model_crop``, on the analyser's face) is
embedded as it is and with ``DRAWS`` noises of each ``SIGMAS`` (in 0-1 pixel units, divided by
CLIP's per-channel std, drawn from a seed of the file's sha256); the score is one minus the mean
cosine. Every image of the manifest is scored as it is and as a profile-sized copy (the long
side 400 px, JPEG quality 85), real and AI-made alike; the DALL-E 3 scenes of
``bench/unseen_eval.py --source designer`` are read from their snapshot (evaluation only).

The tables: per set, the median score; the threshold where ``FPR`` of part A's real photos (the
identities bench/diffusion_train.py validates on) score higher, and at it the real photos of
part B and the AI faces of each family found, per version. Encoder kernels are this machine's
(the detector's choice); the scores are not mixed with any other machine's.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diffusion_set import _git, local_path, read_manifest  # noqa: E402
from diffusion_train import in_part_a  # noqa: E402
from unseen_eval import SOURCES  # noqa: E402

OUT = ROOT / "bench" / "out" / "diffusion" / "rigid"
SIGMAS = (0.03, 0.1)
DRAWS = 1
KEEP_OF_LARGE = 3  # sets of over LARGE images: every third (by sha256), to fit a session
LARGE = 150
VERSIONS = ("as is", "400 px, JPEG 85")
FPRS = (0.01, 0.005)
DESIGNER = SOURCES["designer"]  # bench/unseen_eval.py's DALL-E 3 scenes: evaluation only


def rows(large: int = LARGE) -> list[dict[str, str]]:
    """The manifest (sets of over ``large`` images: every third by sha256) and the DALL-E 3
    scenes."""
    manifest = read_manifest()
    size = Counter(r["set"] for r in manifest)
    out = [r for r in manifest
           if size[r["set"]] <= large or int(r["sha256"][:8], 16) % KEEP_OF_LARGE == 0]
    return out + [{"set": "designer", "label": "ai", "generator": "DALL-E 3",
                   "group": "designer:" + r["path"], "path": r["path"], "sha256": r["sha256"]}
                  for r in DESIGNER.rows()]


def read(row: dict[str, str]) -> bytes:
    if row["set"] == "designer":
        data = _git(DESIGNER.repo, "show", f"{DESIGNER.commit}:{row['path']}")
    else:
        data = local_path(row).read_bytes()
    if hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise SystemExit(f"{row['path']}: sha256 differs from the list")
    return data


def profile_copy(data: bytes) -> bytes:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    im.thumbnail((400, 400), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def cache(sha: str) -> Path:
    return OUT / f"{sha}.npz"


def version_faces(row: dict[str, str], models):
    """(version, decoded image, face) of each version of ``row`` (VERSIONS) where the detector
    runs: the run-time decode and face finder, a face found in a photo large enough."""
    from headcheck.detectors.diffusion import MIN_SIDE
    from headcheck.load import load_image

    data = read(row)
    for v, vdata in enumerate((data, profile_copy(data))):
        img = load_image(vdata)
        face = models.find_face(img.array())
        if face is not None and min(img.width, img.height) >= MIN_SIDE:
            yield v, img, face


def score_row(row: dict[str, str], models, kernels: str) -> np.ndarray:
    """(versions, sigmas) scores; NaN where no face was found."""
    from headcheck.detectors import clip_encoder
    from headcheck.detectors.face_crop import model_crop

    session = clip_encoder._session(kernels)
    rng = np.random.default_rng(int(row["sha256"][:12], 16))
    out = np.full((len(VERSIONS), len(SIGMAS)), np.nan, np.float32)
    for v, img, face in version_faces(row, models):
        x = clip_encoder.pixels([model_crop(img.image, face.box)])

        def emb(t: np.ndarray) -> np.ndarray:
            e = session.run(["image_embeds"], {"pixel_values": t.astype(np.float32)})[0][0]
            return e / np.linalg.norm(e)

        e0 = emb(x)
        for s, sigma in enumerate(SIGMAS):
            cos = []
            for _ in range(DRAWS):
                noise = rng.standard_normal(x.shape).astype(np.float32)
                noise *= (sigma / np.asarray(clip_encoder.STD, np.float32))[None, :, None, None]
                cos.append(float(e0 @ emb(x + noise)))
            out[v, s] = 1.0 - float(np.mean(cos))
    return out


def compute(shard: tuple[int, int], sets: set[str] | None, limit: int | None) -> None:
    from headcheck.detectors.diffusion import encoder_kernels
    from headcheck.face import FaceModels

    OUT.mkdir(parents=True, exist_ok=True)
    kernels, models = encoder_kernels(), FaceModels()
    todo = [r for r in rows() if int(r["sha256"][:8], 16) % shard[1] == shard[0]
            and not cache(r["sha256"]).exists() and (not sets or r["set"] in sets)]
    # A fixed shuffle, so that a partial run still covers every set.
    todo = [todo[j] for j in np.random.default_rng(0).permutation(len(todo))][:limit]
    for n, r in enumerate(todo, 1):
        np.savez(cache(r["sha256"]), scores=score_row(r, models, kernels), kernels=kernels)
        if n % 50 == 0:
            print(f"{n} of {len(todo)}", flush=True)


def family(r: dict[str, str]) -> str:
    if r["label"] == "real":
        return "real"
    if r["set"] in ("openpeople", "id_photos"):
        return "Gemini / ChatGPT"
    if r["set"] == "stylegan2":
        return "StyleGAN2"
    return r["generator"] or r["set"]


def auc(neg: np.ndarray, pos: np.ndarray) -> float:
    """P(an AI score > a real one), ties counted half (Mann-Whitney)."""
    both = np.concatenate([neg, pos])
    ranks = np.argsort(np.argsort(both, kind="stable"), kind="stable").astype(float) + 1
    for v in np.unique(both):  # average ranks of ties
        t = both == v
        if t.sum() > 1:
            ranks[t] = ranks[t].mean()
    r_pos = ranks[len(neg):].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def tables() -> None:
    rs = [r for r in rows() if cache(r["sha256"]).exists()]
    sc = np.stack([np.load(cache(r["sha256"]))["scores"] for r in rs])
    fam = np.array([family(r) for r in rs])
    real = fam == "real"
    part_a = np.array([in_part_a(r["group"]) for r in rs])
    print(f"{len(rs)} images scored\n")
    for s, sigma in enumerate(SIGMAS):
        print(f"### sigma {sigma}\n")
        print("| family | images | " + " | ".join(
            f"{v}: median | AUC | found at {f:.1%} | at {FPRS[1]:.1%}" for v in VERSIONS
            for f in FPRS[:1]) + " |")
        print("|---" * (2 + 4 * len(VERSIONS)) + "|")
        thr = {}
        for v in range(len(VERSIONS)):
            a = sc[real & part_a, v, s]
            a = a[~np.isnan(a)]
            for f in FPRS:
                thr[v, f] = float(np.quantile(a, 1 - f))
        for name in ["real"] + sorted(set(fam) - {"real"}):
            m = fam == name
            if name == "real":
                m = m & ~part_a
            cells = []
            for v in range(len(VERSIONS)):
                x = sc[m, v, s]
                x = x[~np.isnan(x)]
                b = sc[real & ~part_a, v, s]
                b = b[~np.isnan(b)]
                hits = [f"{int((x > thr[v, f]).sum())} of {len(x)}" for f in FPRS]
                cells.append(f"{np.median(x):.4f} | {auc(b, x):.3f} | " + " | ".join(hits))
            label = "real, part B" if name == "real" else name
            print(f"| {label} | {int(m.sum())} | " + " | ".join(cells) + " |")
        print("\nthresholds (part A real): " + ", ".join(
            f"{VERSIONS[v]} {f:.1%}: {t:.4f}" for (v, f), t in thr.items()) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shard", help="i/n: compute the scores of every n-th image")
    ap.add_argument("--sets", help="comma-separated: only these sets (a pilot)")
    ap.add_argument("--limit", type=int, help="at most this many images")
    args = ap.parse_args()
    if args.shard:
        i, n = map(int, args.shard.split("/"))
        compute((i, n), set(args.sets.split(",")) if args.sets else None, args.limit)
    else:
        tables()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
