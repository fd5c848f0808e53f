"""Training fakes made from real photos: a tiny autoencoder's reconstructions ("aligned" pairs).

    pip install torch==2.13.0                              # the CPU build on this machine's disk
    python bench/diffusion_embed.py --shard i/2            # the base pass (face boxes), first
    python bench/diffusion_aligned.py --embed --shard i/2  # crops, reconstructions, features
    python bench/diffusion_aligned.py                      # the tables (docs/benchmarks.md)

Every image takes one path: the detector's face square at the photo's own resolution (from the
base pass's face box; the DALL-E 3 scenes, read from their snapshot for evaluation only, through
the face finder), then, for a real photo's made fake, an encode-decode through TAEF2, then a JPEG
re-encode at a quality drawn per image (the pair shares it), the model's 224 px, and the CLIP
encoder's final embedding. TAEF2 is
the small distilled autoencoder of FLUX.2's latent space (``madebyollin/taesd``, MIT), read from
the repository snapshot at a pinned commit with its sha256 checked; the module below is ours.

Three logistic heads on the same features (G: v6's kind of data; A: reconstructions only; G+A),
each thresholded at 1% of part A's real photos out of fold, then judged on part B's real photos
per kind and on families none trains on. The criteria were fixed in docs/benchmarks.md before
any figure ("Training fakes made from real photos").
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import diffusion_rigid as R  # noqa: E402
import diffusion_train as T  # noqa: E402
from diffusion_embed import cache_path, embed_layers, rows_to_embed  # noqa: E402
from diffusion_set import HELD_OUT, MIRRORS  # noqa: E402

OUT = T.EMB_DIR / "aligned"
TAESD_REPO, TAESD_COMMIT = "madebyollin/taesd", "5cccb12dc72074a4be35680c3b108548a7c69978"
WEIGHTS = {  # file in the snapshot -> sha256
    "taef2_encoder.pth": "10a4e1021e89d7551eaf161352da8dbd0b1aa83872ae28b150c1df1ce2f147b6",
    "taef2_decoder.pth": "0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5",
}
LATENT = 32  # FLUX.2's latent channels
QUALITY = (60, 95)
NATIVE_CAP = 448  # px: bounds the autoencoder's CPU time (most face squares here are smaller)
C = 0.01  # fixed before any figure, the same for every head (features standardised)
FPR = 0.01
FAMILY = {"FLUX1_dev": "FLUX / SDXL", "FLUX1_pro": "FLUX / SDXL", "SDXL": "FLUX / SDXL",
          "SD3": "SD3", "gemini-3-pro-image": "Gemini / ChatGPT", "Gemini": "Gemini / ChatGPT",
          "ChatGPT": "Gemini / ChatGPT", "DALL-E 3": "DALL-E 3"}
UNSEEN = ("SD3", "Gemini / ChatGPT", "DALL-E 3", "StyleGAN")


# --- TAEF2 -------------------------------------------------------------------------------------

def _tiny_autoencoder():
    """Encoder and decoder with the layer layout the published weights name (torch modules:
    torch is imported here only, as the detector never needs it)."""
    import torch
    from torch import nn

    def conv(cin: int, cout: int, **kw) -> nn.Conv2d:
        return nn.Conv2d(cin, cout, 3, padding=1, **kw)

    class Block(nn.Module):
        """Three 3x3 convolutions on a residual path; the deepest blocks first add a 1x1
        bottleneck with group norm (FLUX.2's variant)."""

        def __init__(self, gated: bool = False) -> None:
            super().__init__()
            self.conv = nn.Sequential(conv(64, 64), nn.ReLU(), conv(64, 64), nn.ReLU(),
                                      conv(64, 64))
            self.pool = (nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.GroupNorm(4, 256),
                                       nn.ReLU(), nn.Conv2d(256, 64, 1, bias=False))
                         if gated else None)

        def forward(self, x):
            if self.pool is not None:
                x = x + self.pool(x)
            return torch.relu(self.conv(x) + x)

    class Clamp(nn.Module):
        def forward(self, x):
            return torch.tanh(x / 3) * 3

    def down():
        return conv(64, 64, stride=2, bias=False)

    def up():
        return [nn.Upsample(scale_factor=2), conv(64, 64, bias=False)]

    encoder = nn.Sequential(conv(3, 64), Block(), down(), Block(), Block(), Block(), down(),
                            Block(), Block(), Block(), down(), *(Block(True) for _ in range(3)),
                            conv(64, LATENT))
    decoder = nn.Sequential(Clamp(), conv(LATENT, 64), nn.ReLU(),
                            *(Block(True) for _ in range(3)), *up(),
                            Block(), Block(), Block(), *up(), Block(), Block(), Block(), *up(),
                            Block(), conv(64, 3))
    return encoder, decoder


def _weights_bytes(name: str) -> bytes:
    repo = MIRRORS / (TAESD_REPO.replace("/", "+")) / "repo"
    data = subprocess.run(["git", "--git-dir", str(repo), "show", f"{TAESD_COMMIT}:{name}"],
                          check=True, capture_output=True).stdout
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS[name]:
        raise SystemExit(f"{name}: sha256 {digest} differs from the pinned one")
    return data


def load_taef2():
    import torch

    encoder, decoder = _tiny_autoencoder()
    for part, name in ((encoder, "taef2_encoder.pth"), (decoder, "taef2_decoder.pth")):
        state = torch.load(io.BytesIO(_weights_bytes(name)), map_location="cpu",
                           weights_only=True)
        part.load_state_dict(state)  # strict: a layout that differs is refused
        part.eval()
    return encoder, decoder


def reconstruct(crop: Image.Image, taef2) -> Image.Image:
    """The crop through the encoder and decoder (sides a multiple of 8), as 8-bit RGB."""
    import torch

    encoder, decoder = taef2
    x = torch.from_numpy(np.asarray(crop.convert("RGB"), np.float32) / 255).permute(2, 0, 1)
    with torch.no_grad():
        y = decoder(encoder(x[None])).clamp(0, 1)[0]
    return Image.fromarray((y.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


# --- features -----------------------------------------------------------------------------------

def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def psnr(a: Image.Image, b: Image.Image) -> float:
    d = np.asarray(a, np.float32) - np.asarray(b, np.float32)
    return float(10 * np.log10(255 ** 2 / max(float(np.mean(d * d)), 1e-9)))


def rows() -> list[dict[str, str]]:
    """Every embedded manifest row (not the held-out fixtures) and the DALL-E 3 scenes."""
    out = [r for r in rows_to_embed() if (r["set"], r["path"]) not in HELD_OUT]
    return out + [r for r in R.rows() if r["set"] == "designer"]


def face_square(row: dict[str, str], models) -> Image.Image | None:
    """The detector's face square at the photo's own resolution (sides rounded to a multiple of
    8, at most NATIVE_CAP): a generator decodes at full size and the detector scales down, so
    the autoencoder runs before the resize, as it would in a generator."""
    from headcheck.detectors.face_crop import face_square as square
    from headcheck.load import load_image

    img = load_image(R.read(row))
    if row["set"] == "designer":
        face = models.find_face(img.array())
        box = face.box if face is not None else None
    else:
        base = np.load(cache_path(row["sha256"]))
        box = tuple(int(b) for b in base["box"][0]) if base["has_face"][0] else None
    if box is None:
        return None
    x, y, side, _ = square(img.width, img.height, box)
    crop = img.image.convert("RGB").crop((x, y, x + side, y + side))
    target = max(64, min(NATIVE_CAP, round(side / 8) * 8))
    return crop.resize((target, target), Image.Resampling.LANCZOS) if target != side else crop


def model_input(square: Image.Image, quality: int) -> Image.Image:
    """JPEG at ``quality``, then the model's side (bicubic, as ``face_crop.model_crop``)."""
    from headcheck.detectors.face_crop import MODEL_SIDE

    return jpeg(square, quality).resize((MODEL_SIDE, MODEL_SIDE), Image.Resampling.BICUBIC)


def embed_row(row: dict[str, str], models, taef2) -> dict[str, np.ndarray]:
    square = face_square(row, models)
    if square is None:
        return {"has_face": np.array(False)}
    q = int(np.random.default_rng(int(row["sha256"][:12], 16)).integers(*QUALITY, endpoint=True))
    rec = {"has_face": np.array(True), "quality": np.array(q), "side": np.array(square.width)}
    rec["emb"], rec["cls"] = embed_layers(model_input(square, q))
    if row["label"] == "real":
        made = reconstruct(square, taef2)
        rec["recon"], rec["recon_cls"] = embed_layers(model_input(made, q))
        rec["psnr"] = np.array(psnr(square, made))
    return rec


def embed(shard: tuple[int, int]) -> None:
    import torch

    from headcheck.face import FaceModels

    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    todo = [r for r in rows()[shard[0]::shard[1]] if not (OUT / f"{r['sha256']}.npz").exists()]
    models, taef2, t0 = FaceModels(), load_taef2(), time.time()
    for n, r in enumerate(todo, 1):
        rec = embed_row(r, models, taef2)
        tmp = OUT / f"{r['sha256']}.tmp.npz"
        np.savez(tmp, **rec)
        tmp.replace(OUT / f"{r['sha256']}.npz")  # atomic: a killed run leaves no half file
        if n % 50 == 0 or n == len(todo):
            print(f"{n}/{len(todo)} {time.time() - t0:.0f}s", flush=True)


# --- heads and tables ----------------------------------------------------------------------------

def family(row: dict[str, str]) -> str:
    if row["label"] == "real":
        return "real"
    return "StyleGAN" if row["set"] == "stylegan2" else FAMILY[row["generator"]]


FEATURES = {"final": None, "blocks 7-9": [7, 8, 9]}  # the CLS tokens after v6's face blocks


def read_cache() -> list[tuple[dict[str, str], dict[str, np.ndarray]]]:
    """Every embedded image with a face found and its cached arrays, each file read once."""
    out = []
    for r in rows():
        p = OUT / f"{r['sha256']}.npz"
        if p.exists():
            with np.load(p) as c:
                if bool(c["has_face"]):
                    out.append((r, {k: c[k] for k in c.files}))
    return out


def load(cache: list[tuple[dict[str, str], dict[str, np.ndarray]]],
         features: str = "final") -> dict[str, np.ndarray]:
    """One row per embedded image and one per real photo's reconstruction (family "made"), with
    the final embedding or the CLS tokens after the blocks ``FEATURES`` names."""
    blocks = FEATURES[features]
    cols: dict[str, list] = {k: [] for k in ("X", "family", "kind", "group", "part_a")}
    for r, c in cache:
        keys = [("emb", "cls", family(r))] + ([("recon", "recon_cls", "made")]
                                              if "recon" in c else [])
        for final, tokens, fam in keys:
            cols["X"].append(c[final] if blocks is None else c[tokens][blocks].reshape(-1))
            cols["family"].append(fam)
            cols["kind"].append(r["set"])
            cols["group"].append(r["group"])
            cols["part_a"].append(r["set"] != "designer" and T.in_part_a(r["group"]))
    return {k: np.array(v) for k, v in cols.items()}


HEADS = {"G": ("FLUX / SDXL",), "A": ("made",), "G+A": ("FLUX / SDXL", "made")}


def fit(X: np.ndarray, fam: np.ndarray, fakes: tuple[str, ...]):
    """Standardised logistic regression; each fake family weighs as much in all as the reals
    divided among the families."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = (fam != "real").astype(int)
    w = np.ones(len(y))
    n_real = (fam == "real").sum()
    for f in fakes:
        w[fam == f] = n_real / len(fakes) / max((fam == f).sum(), 1)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))
    model.fit(X, y, logisticregression__sample_weight=w)
    return model


def score(model, X: np.ndarray) -> np.ndarray:
    return model.decision_function(X)


def head_scores(d: dict[str, np.ndarray], fakes: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """Scores of every row by the head fitted on part A, and its threshold: 1% of part A's real
    photos scored out of fold (grouped folds: a photo and its reconstruction share a fold)."""
    train = d["part_a"] & np.isin(d["family"], ("real", *fakes))
    folds = np.array([T._hash(g, T.FOLDS) for g in d["group"]])
    real_a = d["part_a"] & (d["family"] == "real")
    oof = np.zeros(len(folds))
    for k in range(T.FOLDS):
        m = fit(d["X"][train & (folds != k)], d["family"][train & (folds != k)], fakes)
        held = real_a & (folds == k)
        oof[held] = score(m, d["X"][held])
    flag = T.threshold_at(oof[real_a], FPR)
    return score(fit(d["X"][train], d["family"][train], fakes), d["X"]), flag


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def tables(d: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    b = ~d["part_a"]
    real_b = b & (d["family"] == "real")
    judged = {"FLUX / SDXL (part B)": b & (d["family"] == "FLUX / SDXL"),
              **{f: d["family"] == f for f in UNSEEN},
              "made (part B)": b & (d["family"] == "made")}
    kinds = sorted(set(d["kind"][real_b]))
    out: dict[str, dict[str, float]] = {}
    print(f"features: {len(d['X'])} rows; part B real photos: {real_b.sum()}")
    print("| head | flag | part B real flagged | worst kind | "
          + " | ".join(f"{k} found (AUC)" for k in judged) + " |")
    print("|---" * (4 + len(judged)) + "|")
    for name, fakes in HEADS.items():
        s, flag = head_scores(d, fakes)
        fr = {k: float(np.mean(s[real_b & (d["kind"] == k)] >= flag)) for k in kinds}
        worst = max(fr, key=fr.get)
        row = {"flag": flag, "real_b": float(np.mean(s[real_b] >= flag)), "worst": fr[worst]}
        cells = []
        for k, m in judged.items():
            row[k] = float(np.mean(s[m] >= flag)) if m.any() else float("nan")
            row[k + " AUC"] = auc(s[m], s[real_b]) if m.any() else float("nan")
            cells.append(f"{row[k]:.3f} ({row[k + ' AUC']:.3f}) of {m.sum()}")
        out[name] = {**row, **{f"kind {k}": v for k, v in fr.items()}}
        print(f"| {name} | {flag:.3f} | {row['real_b']:.2%} of {real_b.sum()} | "
              f"{worst} {fr[worst]:.2%} | " + " | ".join(cells) + " |")
    print("\npart B real photos flagged per kind:")
    for k in kinds:
        print(f"  {k:15s} n={int((real_b & (d['kind'] == k)).sum()):4d} "
              + "  ".join(f"{h} {out[h]['kind ' + k]:.2%}" for h in HEADS))
    return out


def criteria(t: dict[str, dict[str, float]]) -> dict[str, bool]:
    """docs/benchmarks.md's (i)-(iii) for A and G+A against G."""
    g, out = t["G"], {}
    for h in ("A", "G+A"):
        x = t[h]
        fams = ("SD3", "Gemini / ChatGPT", "DALL-E 3")
        ok = {"(i)": x["real_b"] <= 0.01 and x["worst"] <= 0.02,
              "(ii)": any(x[f] - g[f] >= 0.10 for f in fams) and all(x[f] - g[f] > -0.05
                                                                    for f in fams)}
        if h == "G+A":
            ok["(iii)"] = x["FLUX / SDXL (part B)"] >= g["FLUX / SDXL (part B)"] - 0.05
        out[h] = all(ok.values())
        print(f"{h}: " + ", ".join(f"{k} {'met' if v else 'not met'}" for k, v in ok.items()))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embed", action="store_true", help="crops, reconstructions, features")
    ap.add_argument("--shard", default="0/1", help="i/n: every n-th row starting at i")
    args = ap.parse_args()
    if args.embed:
        embed(tuple(int(x) for x in args.shard.split("/")))
        return 0
    cache = read_cache()
    made = [c["psnr"] for _, c in cache if "psnr" in c]
    if made:
        print(f"reconstructions: {len(made)}, PSNR median {np.median(made):.1f} dB "
              f"(5th-95th {np.percentile(made, 5):.1f}-{np.percentile(made, 95):.1f})")
    for features in FEATURES:
        print(f"\n## features: {features}")
        criteria(tables(load(cache, features)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
