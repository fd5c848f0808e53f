"""Diffusion-made faces: a logistic probe on frozen CLIP ViT-B/16 features of the face square
and of a wider head-and-shoulders square.

The shipped probe (v6; ``headcheck/data/diffusion_probe.json``, written by
``bench/diffusion_v6.py --write`` from the images of ``data/diffusion/manifest.csv``) reads the
raw CLS tokens after blocks 7-9 of the face square and 6-8 of the wider square (4,608 weights
and a bias; ``parse_features``), taken from the same encoder pass as the final embedding
(``clip_encoder.embed_tokens``). It was trained on every image as it is, re-encoded and as two
copies processed the way profile pages process photos, real and AI alike. Its thresholds are
set by real photos of a kind it never saw (each real kind left out of training in turn):

- ``flag``: where the worst kind left out has 0.5% of its photos above it (0.9778). Only then
  does the detector emit a ``synthetic`` signal whose score is the probability.
- ``unsure`` (where that kind has 2%): between ``unsure`` and ``flag`` the detector emits a
  score-0 signal with ``evidence.band == "unsure"``: a reason a person can read, which never
  changes the label (the judge reports a score-0 signal as a note, never as a flag).
- ``stylegan_head``: v5's, on the face square's final embedding, with ``"flags": false``: from
  its threshold it reports unsure, never a flag on its own.

The detector still reads the previous release's keys (v5.1, kept as a test fixture): a guard
(``guard``: v4's heads; a photo is flagged only where the guard flags it too), a bound that
skips the wider square's pass where it cannot matter (``wide_gate``, ``wide_pass_needed``) and
the near-eyes rule (both StyleGAN heads high and the eyes near StyleGAN's spot).

What it can see (docs/benchmarks.md): about 87% of the text-to-image faces (FLUX.1, SDXL) of our
set out of fold, 45% of the StyleGAN ones (with the eye geometry 98%), while real photos of a
kind it never saw are flagged at 0-0.6%; a generator left out of training is separated as well,
but scores lower, so much of it lands in the unsure band. All of those faces are tiles of
published sample sheets: other generators, other post-processing (a headshot service's
retouching, upscaling) may pass, and some do: it scores none of 44 faces made by Gemini 3 Pro
Image and ChatGPT (bench/diffusion_v7.py) above 0.07, and flags none of 55 DALL-E 3 scenes
stripped of their metadata nor any of 200 Stable Diffusion 3 profile pictures
(bench/unseen_eval.py). What it cannot: heavy edits, and photos of real people that were
retouched by AI. "No signal" is never proof of a real photo, and the
synthetic counts it yields are a lower bound. Its features come from an INT8 encoder whose
kernels differ between CPUs: the probe records what its training machine computed for a fixed
input (the embedding and the CLS tokens it reads); a machine whose fast kernels compute
something else runs exact integer kernels instead, and the detector stays off only where those
too fall short (``check_encoder``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image

from .. import cores
from ..face import Face
from ..geometry import geometry_distance
from ..signals import SYNTHETIC, Signal
from . import clip_encoder, face_stats
from .base import DetectorInput
from .face_crop import model_crop
from .probe_features import FEATURES, PROBE_FILE, Features, Passes, parse_features

log = logging.getLogger(__name__)

MIN_SIDE = 32  # below this there is too little of a face to judge
WIDE_SCALE = 3.0  # the wider square (head and shoulders): x3 the face box


@dataclass(frozen=True)
class Head:
    """One logistic head on the shared features, with the threshold it flags from."""

    weights: np.ndarray
    bias: float
    flag: float
    features: str = "face"  # what it reads (parse_features)
    # False: a score from ``flag`` is reported as unsure, never as a flag on this head alone
    # (probe v6's StyleGAN head: its flags on real photos of kinds it never saw cost more than
    # the faces it adds to the eye geometry and the main head, docs/benchmarks.md).
    flags: bool = True

    @property
    def spec(self) -> Features:
        return parse_features(self.features)

    def probability(self, x: np.ndarray) -> float:
        z = float(x @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


@dataclass(frozen=True)
class Guard:
    """A previous probe's heads: the photo is flagged only if one of them flags it too."""

    head: Head  # by default on the same features as the probe's text-to-image head
    stylegan: Head | None  # by default on the face square's features
    version: str

    def flags(self, x: np.ndarray, sg_x: np.ndarray | None) -> bool:
        """``x``, ``sg_x``: what its head and its StyleGAN head read."""
        return (self.head.probability(x) >= self.head.flag
                or (self.stylegan is not None and sg_x is not None
                    and self.stylegan.probability(sg_x) >= self.stylegan.flag))


@dataclass(frozen=True)
class WideGate:
    """A bound on the wider square's part of the text-to-image head's logit, given the face
    square's features (``bench/diffusion_gate.py``): ``weights . face + bias`` predicts it, and
    no cached photo's wide part exceeds that prediction by ``residual_bound`` (its largest
    residual plus a margin)."""

    weights: np.ndarray
    bias: float
    residual_bound: float

    def wide_bound(self, face: np.ndarray) -> float:
        return float(face @ self.weights) + self.bias + self.residual_bound


@dataclass(frozen=True)
class Needs:
    """A probe's encoder passes: the face square's (always) with the CLS tokens of
    ``face_blocks``, the mirrored square's, the wider square's with ``wide_blocks``'."""

    face_blocks: tuple[int, ...]
    mirror: bool
    wide: bool
    wide_blocks: tuple[int, ...]

    @property
    def tokens(self) -> bool:
        """Whether every pass runs on the token graph (clip_encoder.embed_tokens): only where a
        head reads tokens, so a probe without them loads and runs just the plain graph."""
        return bool(self.face_blocks or self.wide_blocks)


@dataclass(frozen=True)
class Probe:
    weights: np.ndarray  # (512,) on CLIP, then len(stats_fill) on face_stats when those are used
    bias: float
    flag: float  # probability thresholds
    unsure: float
    version: str
    meta: dict[str, Any]
    stats_fill: np.ndarray | None = None  # stand-ins for face_stats NaNs; None: CLIP only
    stylegan: Head | None = None  # a second head on the CLIP features alone
    # What the text-to-image head reads (parse_features): e.g. "face,wide" (v5), "wcls:6-8".
    features_mode: str = "face"
    guard: Guard | None = None
    wide_gate: WideGate | None = None  # None: the wide pass always runs

    @property
    def spec(self) -> Features:
        return parse_features(self.features_mode)

    def head_features(self) -> list[Features]:
        """What each head the detector scores reads: the probe's and its guard's."""
        heads = [self.stylegan]
        if self.guard is not None:
            heads += [self.guard.head, self.guard.stylegan]
        return [self.spec] + [h.spec for h in heads if h is not None]

    def needs(self) -> Needs:
        """The encoder passes the heads read, and the CLS blocks of each."""
        specs = self.head_features()
        return Needs(tuple(sorted(set().union(*(f.blocks("cls") for f in specs)))),
                     any(p.name == "face+mirror" for f in specs for p in f.parts),
                     any(f.reads_wide for f in specs),
                     tuple(sorted(set().union(*(f.blocks("wcls") for f in specs)))))

    def features(self, emb: np.ndarray, stats: np.ndarray | None) -> np.ndarray:
        if self.stats_fill is None or stats is None:
            return emb
        return np.concatenate([emb, np.where(np.isnan(stats), self.stats_fill, stats)])

    def probability(self, emb: np.ndarray, stats: np.ndarray | None = None) -> float:
        z = float(self.features(emb, stats) @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


@lru_cache(maxsize=1)
def probe() -> Probe:
    """The shipped probe (``PROBE_FILE``), read once per process."""
    return load_probe(json.loads(resources.files("headcheck").joinpath(PROBE_FILE).read_text()))


def _head(raw: dict[str, Any], features: str, flag: float, what: str) -> Head:
    """A head from its record; its weights must fit what it reads."""
    spec = parse_features(str(raw.get("features", features)))
    if len(raw["weights"]) != spec.width:
        raise ValueError(f"{PROBE_FILE}: {what} has {len(raw['weights'])} weights, but its "
                         f"features {spec.spec!r} are {spec.width} wide")
    return Head(np.asarray(raw["weights"], dtype=np.float32), float(raw["bias"]), flag,
                spec.spec, bool(raw.get("flags", True)))


def load_probe(raw: dict[str, Any]) -> Probe:
    """A probe from its JSON record. Each head may name its features (``"features"``, see
    ``parse_features``); by default the StyleGAN heads read "face" and the guard's head the
    probe's. ValueError for features this detector cannot make or weights that do not fit them."""
    mode = parse_features(str(raw.get("features", "face"))).spec
    main = _head(raw, mode, float(raw["thresholds"]["flag"]), "the text-to-image head")
    weights = list(raw["weights"])
    fill = None
    if "face_stats" in raw:
        if tuple(raw["face_stats"]["names"]) != face_stats.NAMES:
            raise ValueError(f"{PROBE_FILE} was trained on other face_stats features")
        weights += raw["face_stats"]["weights"]
        fill = np.asarray(raw["face_stats"]["fill"], dtype=np.float32)
    sg = raw.get("stylegan_head")
    head = _head(sg, "face", float(sg["flag"]), "the StyleGAN head") if sg else None
    guard = None
    if (g := raw.get("guard")) is not None:
        gsg = g.get("stylegan_head")
        guard = Guard(_head(g, mode, float(g["flag"]), "the guard's head"),
                      _head(gsg, "face", float(gsg["flag"]), "the guard's StyleGAN head")
                      if gsg else None,
                      str(g["version"]))
    pr = Probe(np.asarray(weights, dtype=np.float32), float(raw["bias"]),
               float(raw["thresholds"]["flag"]), float(raw["thresholds"]["unsure"]),
               str(raw["version"]),
               {k: v for k, v in raw.items() if k not in ("weights", "face_stats",
                                                          "stylegan_head", "guard",
                                                          "wide_gate")},
               fill, head, mode, guard)
    _check_token_record(pr)
    if (wg := raw.get("wide_gate")) is None or not main.spec.reads_wide:
        return pr
    if any(h.spec.reads_wide for h in (head, guard and guard.stylegan) if h):
        # The gate decides before the wide pass on the StyleGAN heads' probabilities.
        log.warning("%s: a StyleGAN head reads the wider square; not gating", PROBE_FILE)
        return pr
    if wg.get("probe_sha256") != wide_gate_sha256(raw):
        # computed for other weights: rerun bench/diffusion_gate.py
        log.warning("%s: its wide_gate was computed for another probe; not gating", PROBE_FILE)
        return pr
    return dataclasses.replace(pr, wide_gate=WideGate(
        np.asarray(wg["weights"], dtype=np.float32), float(wg["bias"]),
        float(wg["residual_bound"])))


def _check_token_record(pr: Probe) -> None:
    """A probe that reads CLS tokens and records the encoder's reference features must record
    the tokens of every block it reads: the embedding alone would not show that this machine's
    kernels compute its tokens (``kernels_cosine``)."""
    check, need = pr.meta.get("encoder_check"), pr.needs()
    if check is None or not need.tokens:
        return
    recorded = {int(b) for b in check.get("cls", {})}
    if missing := sorted(set(need.face_blocks + need.wide_blocks) - recorded):
        raise ValueError(f"{PROBE_FILE}: its encoder_check lacks the CLS tokens of blocks "
                         f"{missing} (record them with clip_encoder.reference_tokens)")


def wide_gate_sha256(raw: dict[str, Any]) -> str:
    """What a probe JSON's ``wide_gate`` is valid for: its text-to-image head (weights, bias,
    and its features where they are not one of FEATURES, whose hashes predate the key) and the
    thresholds its bound was chosen at (bench/diffusion_gate.py records it; the detector gates
    only where it matches)."""
    fields = [raw["weights"], raw["bias"], raw.get("face_stats"),
              raw["thresholds"]["unsure"], raw["thresholds"]["flag"]]
    if (features := raw.get("features", "face")) not in FEATURES:
        fields.append(features)
    head = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(head.encode()).hexdigest()


# The encoder's INT8 kernels differ between CPUs (onnxruntime picks VNNI or AVX2 code paths, and
# the AVX2 one saturates): the same image can get other features on another machine, and a
# probe trained on one machine's features then scores nonsense on the other's (the previous
# probe, trained elsewhere, scored every face of tests/fixtures/diffusion under 1e-5 here). The
# probe records the features of clip_encoder.reference_input(). The fast kernels are used where
# they reproduce them; elsewhere the exact ones (clip_encoder.KERNELS), which compute the same
# integers on every CPU; a machine where neither reaches ENCODER_MIN_COSINE does not run the
# detector (logged), rather than flag real people.
ENCODER_MIN_COSINE = 0.99
ENCODER_SAME_COSINE = 0.9999  # float rounding apart, the features the probe was trained on


@lru_cache(maxsize=len(clip_encoder.KERNELS))
def kernels_cosine(kernels: str) -> float:
    """The cosine between these kernels' features of the reference input here and the probe's
    record of them (NaN for a probe without the record). For a probe that reads CLS tokens, the
    smallest of the embedding's and each recorded block's token's (``encoder_check.cls``), all
    from the token graph it runs."""
    pr = probe()
    ref = pr.meta.get("encoder_check")
    if ref is None:
        return float("nan")
    want = np.asarray(ref["embedding"], dtype=np.float32)
    recorded = ref.get("cls", {}) if pr.needs().tokens else {}
    if not recorded:  # the probe reads no tokens: the plain graph, as it runs
        here = clip_encoder.embed([clip_encoder.reference_input()], kernels)[0]
        return float(here @ want / max(float(np.linalg.norm(want)), 1e-12))
    blocks = sorted(int(b) for b in recorded)
    emb, tokens = clip_encoder.embed_tokens([clip_encoder.reference_input()], blocks, kernels)
    cosines = [float(emb[0] @ want / max(float(np.linalg.norm(want)), 1e-12))]
    for b, t in zip(blocks, tokens[0], strict=True):
        rec = np.asarray(recorded[str(b)], dtype=np.float32)
        cosines.append(float(t @ rec / max(float(np.linalg.norm(t) * np.linalg.norm(rec)),
                                           1e-12)))
    return min(cosines)


@lru_cache(maxsize=1)
def encoder_kernels() -> str:
    """The first kernels that reproduce the probe's features here, else the closest (once per
    process). They are tried in the order this CPU makes likely (``clip_encoder.kernels_order``).
    On an x86 CPU without exact int8 dot products the exact kernels come first and, once they
    pass the check (ENCODER_MIN_COSINE), are kept without building the fast ones: those
    saturate there (cosine 0.505 against the exact ones' 0.994, docs/benchmarks.md), and
    building and checking them cost each process about a second."""
    tried: dict[str, float] = {}
    order = clip_encoder.kernels_order(clip_encoder.cpu_flags())
    saturating = order[0] == "exact"
    for kernels in order:
        cos = kernels_cosine(kernels)
        if math.isnan(cos):  # a probe without the record, nothing to compare: as listed
            kernels = clip_encoder.KERNELS[0]
            break
        tried[kernels] = cos
        if cos >= ENCODER_SAME_COSINE or (saturating and kernels == "exact"
                                          and cos >= ENCODER_MIN_COSINE):
            break
    else:
        kernels = max(tried, key=tried.__getitem__)
    if kernels != clip_encoder.KERNELS[0]:
        log.info("diffusion detector: the encoder's %s kernels reproduce the probe's features "
                 "best here (cosine %s%s)", kernels,
                 ", ".join(f"{k} {c:.4f}" for k, c in tried.items()),
                 "" if "fast" in tried else "; the fast ones, not tried, saturate on this CPU")
    return kernels


def encoder_cosine() -> float:
    """The cosine between this machine's features of the reference input, with the kernels the
    detector uses, and the probe's record of them."""
    return kernels_cosine(encoder_kernels())


def check_encoder() -> None:
    """Raise EncoderUnavailable when no kernels on this machine reproduce the probe's reference
    features (ENCODER_MIN_COSINE)."""
    cos = encoder_cosine()
    if cos < ENCODER_MIN_COSINE:
        raise clip_encoder.EncoderUnavailable(
            f"this machine's CLIP encoder computes other features than the probe was trained "
            f"on (cosine {cos:.3f} on the reference input, under {ENCODER_MIN_COSINE}; another "
            "CPU instruction set?): the diffusion detector is off here")


def mirror_crop(image: Image.Image, box: tuple[int, int, int, int] | None) -> Image.Image:
    """The face square of the mirrored photo (test-time augmentation)."""
    flipped = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return model_crop(flipped, None if box is None else (image.width - box[0] - box[2], *box[1:]))


def scores(image: Image.Image, box: tuple[int, int, int, int] | None) -> tuple[float, float]:
    """The probe's probabilities that the face of ``image`` (PIL) was made by a text-to-image
    model and (0.0 without that head) by StyleGAN."""
    return all_scores(image, box)[:2]


def _encode(crops: list[Image.Image], blocks: tuple[int, ...] | None, kernels: str
            ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """One crop's pass: its embedding and its CLS tokens by block (``blocks`` None: the plain
    graph, no tokens)."""
    if blocks is None:
        return clip_encoder.embed(crops, kernels)[0], {}
    emb, tokens = clip_encoder.embed_tokens(crops, blocks, kernels)
    return emb[0], dict(zip(blocks, tokens[0], strict=True))


def all_scores(image: Image.Image, box: tuple[int, int, int, int] | None, gate: bool = False
               ) -> tuple[float, float, bool, float] | None:
    """``scores``, whether the probe's guard flags the face too (True without a guard), and the
    guard's StyleGAN-head probability (0.0 without one). With ``gate``: None, without the wider
    square's encoder pass, where that pass cannot change the detector's output
    (``wide_pass_needed``)."""
    pr = probe()
    check_encoder()
    kernels = encoder_kernels()
    need = pr.needs()
    tokens = need.tokens  # one graph for every pass: the token one only where a head reads tokens
    # With an idle core the wide pass starts now, beside the face pass (one-photo latency:
    # two passes in the time of one); the gate may then stop it. Same features either way.
    beside = clip_encoder.Beside([model_crop(image, box, WIDE_SCALE)], kernels,
                                 need.wide_blocks if tokens else None) \
        if need.wide and cores.spare() else None
    try:
        face, face_tokens = _encode([model_crop(image, box)],
                                    need.face_blocks if tokens else None, kernels)
        passes = Passes(face, face_tokens)
        if need.mirror:
            mirror = _encode([mirror_crop(image, box)], () if tokens else None, kernels)[0]
            passes.mirrored = (face + mirror) / 2
        stats = face_stats.face_stats(image, box) if pr.stats_fill is not None and box else None
        if gate and pr.wide_gate is not None:
            # The gate's heads read the face square only (load_probe keeps no gate otherwise).
            g = pr.guard
            p_sg = pr.stylegan.probability(pr.stylegan.spec.vector(passes)) \
                if pr.stylegan is not None else 0.0
            guard_sg = (g.stylegan.probability(g.stylegan.spec.vector(passes))
                        if g is not None and g.stylegan is not None else 0.0)
            if not wide_pass_needed(pr, face, pr.spec.vector(passes, wide=False), stats, p_sg,
                                    guard_sg):
                return None
        if beside is not None:
            passes.wide = beside.result()[0]
            passes.wide_tokens = dict(zip(need.wide_blocks, beside.tokens()[0], strict=True))
        elif need.wide:
            passes.wide, passes.wide_tokens = _encode(
                [model_crop(image, box, WIDE_SCALE)], need.wide_blocks if tokens else None,
                kernels)
        return scores_from(pr, passes, stats)
    finally:
        if beside is not None:
            beside.cancel()  # a no-op once its result was read


def scores_from(pr: Probe, passes: Passes, stats: np.ndarray | None
                ) -> tuple[float, float, bool, float]:
    """``all_scores`` from one photo's encoder outputs and face_stats: each head reads its
    features (a spec two heads share is built once)."""
    built: dict[str, np.ndarray] = {}

    def x(features: str) -> np.ndarray:
        if features not in built:
            built[features] = parse_features(features).vector(passes)
        return built[features]

    g = pr.guard
    sg, gsg = pr.stylegan, g.stylegan if g is not None else None
    return (pr.probability(x(pr.features_mode), stats),
            sg.probability(x(sg.features)) if sg is not None else 0.0,
            g.flags(x(g.head.features), x(gsg.features) if gsg is not None else None)
            if g is not None else True,
            gsg.probability(x(gsg.features)) if gsg is not None else 0.0)


def scores_of(pr: Probe, face: np.ndarray, x: np.ndarray, wide: np.ndarray | None,
              stats: np.ndarray | None) -> tuple[float, float, bool, float]:
    """``scores_from`` for a probe without tokens, from the features: the face square's
    (``face``), what the text-to-image head reads of it (``x``: the face square's, or its mean
    with the mirrored one's), the wider square's (None where the probe does not read it) and
    face_stats."""
    return scores_from(pr, Passes(face, mirrored=x, wide=wide), stats)


# The gate: the wider square's encoder pass (half the detector's cost) runs only where it can
# change an output. Its features enter two heads only, both ``face,wide``: the probe's
# text-to-image head (p) and the guard's (part of ``guard``); the StyleGAN heads and the eye
# geometry read the face square alone. ``signals_for`` reads p and ``guard`` like this:
# - p reaches ``unsure`` or ``flag``: a signal. The bound keeps p under both, so it never does.
# - ``guard`` matters only where the photo would flag (``would_flag and guard``, ``would_flag
#   and not guard``). With p under ``flag`` a photo would flag only through the StyleGAN head
#   (p_sg >= its flag): there the guard's face,wide head decides flag or unsure, so the wide
#   pass runs.
# - The near-StyleGAN rule fires where both StyleGAN heads reach NEAR_STYLEGAN_HEADS and the eyes
#   are near; its reason reads no p, but its evidence does (probability, guard_flags): there the
#   wide pass runs too, so that evidence stays what it was.
# Everywhere else signals_for returns no signal for any p under min(unsure, flag) and any
# ``guard``: a skipped photo reports exactly what it reported with the wide pass (nothing), so
# no label, reason, note or evidence changes and the detector's version stays. A skipped photo
# can only lose a signal it would have had where the bound is wrong, never gain one: the gate
# cannot flag anyone. bench/diffusion_gate.py sets the bound and checks this on every cached
# photo; HEADCHECK_DIFFUSION_GATE=0 turns it off (benchmarks' baseline).
def wide_pass_needed(pr: Probe, face: np.ndarray, x: np.ndarray, stats: np.ndarray | None,
                     p_sg: float, guard_sg: float) -> bool:
    """Whether the wider square's features can change the detector's output for a face whose
    square's embedding is ``face`` (``x``: what the head reads of its pass, the parts of the
    face square in the order named, e.g. the face square's or its mean with the mirrored one's:
    ``Features.vector(passes, wide=False)``) and
    StyleGAN-head probabilities ``p_sg`` (the probe's) and ``guard_sg`` (its guard's)."""
    gate = pr.wide_gate
    if gate is None or not pr.spec.reads_wide:
        return True
    if pr.stylegan is not None and p_sg >= pr.stylegan.flag:
        return True  # would flag through the StyleGAN head: the guard's face,wide head decides
    if min(p_sg, guard_sg) >= NEAR_STYLEGAN_HEADS:
        return True  # the near-StyleGAN rule may fire: its evidence carries p
    spec = pr.spec
    z = float(x @ pr.weights[spec.face_index()]) + pr.bias + gate.wide_bound(face)
    if pr.stats_fill is not None and stats is not None:
        z += float(np.where(np.isnan(stats), pr.stats_fill, stats) @ pr.weights[spec.width:])
    lowest = min(pr.unsure, pr.flag)
    return z >= math.log(lowest / (1.0 - lowest))


def gate_on() -> bool:
    """Whether the detector skips the wide pass where it cannot change anything (default on;
    HEADCHECK_DIFFUSION_GATE=0: always run it, as before the gate)."""
    return os.environ.get("HEADCHECK_DIFFUSION_GATE", "1") != "0"


def score_image(image: Image.Image, box: tuple[int, int, int, int] | None) -> float:
    """The probe's probability that the face square of ``image`` (PIL) was generated."""
    return scores(image, box)[0]


class DiffusionDetector:
    name = "diffusion.clip_probe"
    kind = SYNTHETIC
    version = "6"  # probe v6 (CLS tokens of blocks 7-9 / 6-8, trained with processed copies)
    # Trained on face squares only: without a face the crop would be out of distribution.
    needs = frozenset({"pixels", "face"})

    def detect(self, inp: DetectorInput) -> list[Signal]:
        return diffusion_signals(inp.image.image, inp.face)

    def unavailable(self) -> str | None:
        """Why the detector cannot run here (encoder missing or computing other features than
        the probe was trained on), or None. Loads the encoder and the probe: the analyser's
        ``warm`` asks this at start, so it is also this detector's warm-up."""
        try:
            clip_encoder.load(tokens=probe().needs().tokens)
            check_encoder()  # picks the kernels that reproduce the probe's features here
        except clip_encoder.EncoderUnavailable as exc:
            return str(exc)
        return None


def diffusion_signals(image: Image.Image, face: Face | None) -> list[Signal]:
    """The detector on a decoded photo and the face the analyser found (none without one)."""
    if face is None or min(image.width, image.height) < MIN_SIDE:
        return []
    box = face.box
    try:
        scored = all_scores(image, box, gate=gate_on())
    except clip_encoder.EncoderUnavailable as exc:
        log.warning("diffusion detector skipped: %s", exc)
        return []
    if scored is None:  # the wide pass was skipped: it could not change the output (none)
        return []
    p, p_sg, guard, guard_sg = scored
    near = None
    if min(p_sg, guard_sg) >= NEAR_STYLEGAN_HEADS:  # only then is the geometry worth reading
        dist = geometry_distance(face, image.width, image.height)
        near = dist if dist is not None and dist <= NEAR_STYLEGAN_EYES else None
    return signals_for(p, p_sg, guard, near)


# StyleGAN faces the eye geometry just misses (eyes a little off its 3.585 threshold) and the
# StyleGAN heads score high but under their 0.999 flag: both together flag. Measured
# (docs/benchmarks.md, "StyleGAN, combined"): no square real photo of 1,006 (535 casual) has its
# eyes within distance 8 of the StyleGAN spot, and held-out StyleGAN faces go from 41 to 43 of
# 45 found; both heads must agree, as for a flag.
NEAR_STYLEGAN_EYES = 5.0
NEAR_STYLEGAN_HEADS = 0.99


# On a CPU whose kernels do not reproduce the probe's own features (the exact kernels run there,
# cosine under ENCODER_SAME_COSINE), scores move: on an emulated AVX2 CPU the main head's
# log-odds moved by up to 1.32 on 12 photos (docs/benchmarks.md, probe v6). There the flag
# threshold rises by this margin, so a real photo just under it here is not flagged there; what
# falls between is reported unsure.
OTHER_CPU_MARGIN = 1.5  # log-odds


def flag_threshold(flag: float) -> float:
    """The flag threshold on this machine: the probe's, raised by OTHER_CPU_MARGIN where its
    features are not reproduced exactly here."""
    cos = encoder_cosine()
    if not cos < ENCODER_SAME_COSINE:  # the same features (or a probe without the record)
        return flag
    z = math.log(flag / (1.0 - flag)) + OTHER_CPU_MARGIN
    return round(1.0 / (1.0 + math.exp(-z)), 6)


def signals_for(p: float, p_stylegan: float = 0.0, guard: bool = True,
                near_stylegan: float | None = None) -> list[Signal]:
    """The signal for probabilities ``p`` (text-to-image head) and ``p_stylegan`` (StyleGAN
    head): flagging, unsure (score 0) or none. ``guard``: whether the probe's guard flags the
    face too; where it does not, a would-be flag is reported as unsure. ``near_stylegan``: the
    eyes' distance from the StyleGAN spot where it is near and both StyleGAN heads score high
    (``diffusion_signals``), else None."""
    pr = probe()
    flag = flag_threshold(pr.flag)
    evidence = {"probability": round(p, 6), "flag_threshold": flag,
                "unsure_threshold": pr.unsure, "model": clip_encoder.MODEL_NAME,
                "probe_version": pr.version}
    if pr.stylegan is not None:
        evidence |= {"stylegan_probability": round(p_stylegan, 6),
                     "stylegan_flag_threshold": pr.stylegan.flag}
    if pr.guard is not None:
        evidence |= {"guard_version": pr.guard.version, "guard_flags": guard}
    sg_high = pr.stylegan is not None and p_stylegan >= pr.stylegan.flag
    would_flag = p >= flag or (sg_high and pr.stylegan.flags)
    if near_stylegan is not None and pr.stylegan is not None and not (would_flag and guard):
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, round(p_stylegan, 4),
            f"the face looks StyleGAN-made to a CLIP probe (probability {p_stylegan:.4f}, its "
            f"guard's head too, both from {NEAR_STYLEGAN_HEADS}) and its eyes sit near where "
            f"StyleGAN puts them (distance {near_stylegan:.2f}, within {NEAR_STYLEGAN_EYES})",
            {**evidence, "band": "flag", "head": "stylegan+geometry",
             "geometry_distance": round(near_stylegan, 3)},
            "The face looks AI-generated: it resembles StyleGAN faces, and its eyes sit close "
            "to where that generator puts them.")]
    if would_flag and not guard:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, 0.0,
            f"unsure: the CLIP probe scores the face {max(p, p_stylegan):.4f}, past its flag "
            f"threshold, but its guard (probe v{pr.guard.version if pr.guard else '?'}) does "
            "not flag it; the label is unchanged",
            {**evidence, "band": "unsure"},
            "Unsure: the face has some traits of AI-generated faces, not enough to flag it.")]
    if p >= flag:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, round(p, 4),
            f"the face looks AI-generated to a CLIP probe (probability {p:.4f}; it flags from "
            f"{flag:.4f}, which under 1% of real photos of kinds it never saw reach)",
            {**evidence, "band": "flag", "head": "text-to-image"},
            "The face looks AI-generated: it resembles faces made by image generators "
            "(text-to-image models, StyleGAN).")]
    if sg_high and not pr.stylegan.flags:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, 0.0,
            f"unsure: the CLIP probe's StyleGAN head scores the face {p_stylegan:.4f} (from "
            f"{pr.stylegan.flag:.4f}), which alone never flags; its main head "
            f"{p:.4f}, under its flag threshold ({flag:.4f}); the label is unchanged",
            {**evidence, "band": "unsure", "head": "stylegan"},
            "Unsure: the face has some traits of StyleGAN-made faces, not enough to flag it.")]
    if sg_high:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, round(p_stylegan, 4),
            f"the face looks StyleGAN-made to a CLIP probe (probability {p_stylegan:.4f}; it "
            f"flags from {pr.stylegan.flag:.4f}, which under 1% of real photos of kinds it "
            "never saw reach)",
            {**evidence, "band": "flag", "head": "stylegan"},
            "The face looks AI-generated: it resembles faces made by StyleGAN-style generators.")]
    if p >= pr.unsure:
        return [Signal(
            "diffusion.clip_probe", SYNTHETIC, 0.0,
            f"unsure: the CLIP probe scores the face {p:.4f}, between its unsure "
            f"({pr.unsure:.4f}) and flag ({flag:.4f}) thresholds; the label is unchanged",
            {**evidence, "band": "unsure"},
            "Unsure: the face has some traits of AI-generated faces, not enough to flag it.")]
    return []
