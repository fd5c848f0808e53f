"""CLS-token features (``clip_encoder.embed_tokens``, the probe JSON's "cls:"/"wcls:" specs): one
encoder pass gives the final embedding, bit for bit ``embed``'s, and the tokens a probe reads;
probes name what each head reads, are refused at load when they cannot be read, and the encoder
check compares the recorded tokens too. The shipped probe (no tokens) is untouched by any of it."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from headcheck import cores
from headcheck.detectors import clip_encoder, diffusion
from headcheck.detectors.diffusion import (
    ENCODER_MIN_COSINE,
    ENCODER_SAME_COSINE,
    PROBE_FILE,
    WIDE_SCALE,
    all_scores,
    load_probe,
    parse_features,
    wide_gate_sha256,
)
from headcheck.detectors.face_crop import model_crop
from headcheck.face import FaceModels
from headcheck.load import load_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "diffusion"
AI = FIXTURES / "ai_flux1_pro_022.jpg"  # flagged by the shipped probe
REAL = FIXTURES / "real_fairface_0037.jpg"
D, E = clip_encoder.CLS_DIM, clip_encoder.EMBED_DIM


def shipped_raw() -> dict:
    return json.loads(resources.files("headcheck").joinpath(PROBE_FILE).read_text())


def sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


@pytest.fixture(scope="module")
def photos() -> dict[str, tuple]:
    models = FaceModels()
    out = {}
    for p in (AI, REAL):
        img = load_image(p.read_bytes())
        face = models.find_face(img.array())
        assert face is not None
        out[p.name] = (img.image, face)
    return out


@pytest.mark.parametrize("kernels", clip_encoder.KERNELS)
def test_the_token_pass_gives_embeds_embedding_bit_for_bit(kernels: str) -> None:
    crop = model_crop(Image.open(AI).convert("RGB"), None)
    emb, tokens = clip_encoder.embed_tokens([crop], [6, 7, 8, 9], kernels)
    assert np.array_equal(emb, clip_encoder.embed([crop], kernels))
    assert tokens.shape == (1, 4, D) and tokens.dtype == np.float32
    assert np.isfinite(tokens).all() and np.linalg.norm(tokens[0, 0]) > 1  # raw, not unit
    again_emb, again = clip_encoder.embed_tokens([crop], [9, 7], kernels)  # the order asked
    assert np.array_equal(again_emb, emb) and np.array_equal(again[0], tokens[0, [3, 1]])
    assert clip_encoder.embed_tokens([crop], [], kernels)[1].shape == (1, 0, D)
    with pytest.raises(ValueError, match="CLS blocks"):
        clip_encoder.embed_tokens([crop], [12], kernels)


def test_fast_and_exact_kernels_compute_the_same_tokens_here() -> None:
    # As for the embedding (test_diffusion.py): where the fast kernels are exact (VNNI), the
    # exact ones give the same tokens, so a probe trained there scores alike on other CPUs; on
    # a CPU without VNNI the exact ones are the ones near the probe's record.
    crop = clip_encoder.reference_input()
    fast = clip_encoder.embed_tokens([crop], [7, 8], "fast")[1]
    exact = clip_encoder.embed_tokens([crop], [7, 8], "exact")[1]
    if diffusion.kernels_cosine("fast") >= diffusion.ENCODER_SAME_COSINE:
        assert np.allclose(fast, exact, atol=1e-4)
    else:
        assert diffusion.encoder_kernels() == "exact"
        assert not np.allclose(fast, exact, atol=1e-4)


def test_the_side_run_gives_the_tokens_too() -> None:
    crops = [clip_encoder.reference_input()]
    side = clip_encoder.Beside(crops, blocks=[6, 8])
    emb, tokens = clip_encoder.embed_tokens(crops, [6, 8])
    assert np.array_equal(side.result(), emb) and np.array_equal(side.tokens(), tokens)
    side.cancel()
    plain = clip_encoder.Beside(crops)  # without blocks: the plain graph, no tokens
    assert np.array_equal(plain.result(), emb) and plain.tokens().shape == (1, 0, D)


def test_reference_tokens_are_what_a_probe_records() -> None:
    rec = clip_encoder.reference_tokens([8, 6])
    assert list(rec) == ["6", "8"] and all(len(v) == D for v in rec.values())
    _, tokens = clip_encoder.embed_tokens([clip_encoder.reference_input()], [6, 8])
    assert np.allclose(np.asarray(rec["8"]), tokens[0, 1], atol=1e-5)


@pytest.mark.parametrize(("spec", "width"), [
    ("face", E), ("face,wide", 2 * E), ("face+mirror,wide", 2 * E), ("cls:7-9", 3 * D),
    ("wcls:6-8", 3 * D), ("cls:7-9,wcls:6-8", 6 * D), ("face,wcls:6-8", E + 3 * D),
    ("cls:8", D), ("cls:4+6+9", 3 * D), ("cls:all", 12 * D)])
def test_feature_specs_and_their_widths(spec: str, width: int) -> None:
    assert parse_features(spec).width == width


def test_a_spec_names_the_blocks_its_encoder_check_records() -> None:
    assert parse_features("cls:7-9,wcls:6-8").token_blocks == [6, 7, 8, 9]
    assert parse_features("face,wide").token_blocks == []


@pytest.mark.parametrize("spec", ["faces", "cls:7-12", "cls:9-7", "cls:", "cls7", "wide:1",
                                  "face,face", "cls:7,cls:8", "face,face+mirror", "cls:8+7",
                                  "face,,wide", ""])
def test_a_spec_the_detector_cannot_make_is_refused_by_name(spec: str) -> None:
    raw = shipped_raw() | {"features": spec}
    with pytest.raises(ValueError, match="reads features this detector cannot make"):
        load_probe(raw)
    with pytest.raises(ValueError, match=re.escape(repr(spec))):
        parse_features(spec)


def test_weights_that_do_not_fit_their_features_are_refused() -> None:
    from tests.conftest import PREVIOUS_PROBE

    raw = json.loads(PREVIOUS_PROBE.read_text())  # v5.1: every kind of head
    with pytest.raises(ValueError, match="text-to-image head has 1024 weights"):
        load_probe(raw | {"features": "cls:7-9"})
    sg = copy.deepcopy(raw)
    sg["stylegan_head"]["features"] = "face,wide"
    with pytest.raises(ValueError, match="StyleGAN head has 512 weights"):
        load_probe(sg)
    guard = copy.deepcopy(raw)
    guard["guard"]["features"] = "face"
    with pytest.raises(ValueError, match="guard's head has 1024 weights"):
        load_probe(guard)
    # The shipped probe with every head's features spelled out: the same probe.
    explicit = copy.deepcopy(raw)
    explicit["stylegan_head"]["features"] = explicit["guard"]["stylegan_head"]["features"] = "face"
    assert load_probe(explicit).head_features() == load_probe(raw).head_features()
    assert [f.spec for f in load_probe(raw).head_features()] == [
        "face,wide", "face", "face,wide", "face"]


def token_probe(coord: tuple[str, int, int] = ("wcls", 7, 5), bias: float = 0.0,
                check: bool = True, sg_bias: float = 0.5) -> dict:
    """A probe on "face,wcls:6-8" whose text-to-image head reads one coordinate (part, block,
    index) with weight 1, a StyleGAN head on "cls:8" reading coordinate 11 of that token, and a
    guard on "cls:7-9" that always flags; with ``check`` its encoder_check records the tokens."""
    spec = parse_features("face,wcls:6-8")
    w = np.zeros(spec.width)
    part, block, i = coord
    w[E + (block - 6) * D + i if part == "wcls" else i] = 1.0
    sg = np.zeros(D)
    sg[11] = 1.0
    raw = {
        "version": "test", "features": "face,wcls:6-8", "bias": bias, "weights": w.tolist(),
        "thresholds": {"flag": 0.9995, "unsure": 0.99},
        "stylegan_head": {"features": "cls:8", "flag": 0.999, "bias": sg_bias,
                          "weights": sg.tolist()},
        "guard": {"version": "g", "features": "cls:7-9", "flag": 0.5, "unsure": 0.5,
                  "bias": 20.0, "weights": [0.0] * (3 * D)},
    }
    if check:
        ref = clip_encoder.embed([clip_encoder.reference_input()])[0]
        raw["encoder_check"] = {"input": "headcheck.detectors.clip_encoder.reference_input()",
                                "embedding": [round(float(x), 6) for x in ref],
                                "cls": clip_encoder.reference_tokens([6, 7, 8, 9])}
    return raw


@pytest.fixture
def use_probe(monkeypatch: pytest.MonkeyPatch):
    """``use_probe(raw)``: the detector runs that probe (caches cleared before and after)."""
    def clear() -> None:
        diffusion.kernels_cosine.cache_clear()
        diffusion.encoder_kernels.cache_clear()

    def use(raw: dict) -> diffusion.Probe:
        pr = load_probe(json.loads(json.dumps(raw)))  # as written and read back
        monkeypatch.setattr(diffusion, "probe", lambda: pr)
        clear()
        return pr

    yield use
    clear()


def test_a_token_probe_scores_the_tokens_it_names(photos, use_probe,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    image, face = photos[AI.name]
    box = face.box
    face_crop, wide_crop = model_crop(image, box), model_crop(image, box, WIDE_SCALE)
    _, face_tokens = clip_encoder.embed_tokens([face_crop], [7, 8, 9])
    _, wide_tokens = clip_encoder.embed_tokens([wide_crop], [6, 7, 8])
    value = float(wide_tokens[0, 1, 5])  # the wider square's block 7, coordinate 5
    bias = 1.0 - round(value, 2)  # a logit near 1: the probability does not saturate
    sg_value = float(face_tokens[0, 1, 11])
    sg_bias = 1.0 - round(sg_value, 2)
    pr = use_probe(token_probe(bias=bias, sg_bias=sg_bias))
    need = pr.needs()
    assert (need.face_blocks, need.wide_blocks, need.mirror, need.wide) == ((7, 8, 9), (6, 7, 8),
                                                                            False, True)
    monkeypatch.setattr(cores, "cpus", lambda: 2)
    monkeypatch.setattr(cores, "_busy", None)
    got = {}
    for parallel in ("0", "1"):  # the wide pass after the face pass, or beside it
        monkeypatch.setenv("HEADCHECK_PARALLEL_PASSES", parallel)
        got[parallel] = all_scores(image, box, gate=True)  # no gate key: the wide pass runs
    assert got["0"] == got["1"]
    p, p_sg, guard, guard_sg = got["0"]
    assert p == pytest.approx(sigmoid(value + bias), abs=1e-6) and 0.6 < p < 0.9
    # The StyleGAN head reads the face square's block 8 (not the wider square's).
    assert p_sg == pytest.approx(sigmoid(sg_value + sg_bias), abs=1e-6) and 0.6 < p_sg < 0.9
    assert p_sg != pytest.approx(sigmoid(float(wide_tokens[0, 2, 11]) + sg_bias), abs=1e-6)
    assert guard is True and guard_sg == 0.0
    # A coordinate of the face square's embedding instead: the probe reads "face" first.
    emb = clip_encoder.embed([face_crop])[0]
    use_probe(token_probe(("face", 0, 3), bias=0.0))
    assert all_scores(image, box)[0] == pytest.approx(sigmoid(float(emb[3])), abs=1e-6)


def test_the_encoder_check_compares_the_recorded_tokens(photos, use_probe) -> None:
    use_probe(token_probe())
    assert diffusion.kernels_cosine("fast") >= ENCODER_SAME_COSINE
    assert diffusion.encoder_kernels() == "fast"
    diffusion.check_encoder()
    # Another machine's tokens of block 7 (the embedding and the other blocks as here): its
    # kernels compute other tokens, so neither kernels reproduce them and the detector is off.
    raw = token_probe()
    rec = np.asarray(raw["encoder_check"]["cls"]["7"])
    noise = np.random.default_rng(7).normal(size=D)
    raw["encoder_check"]["cls"]["7"] = (rec + noise * np.linalg.norm(rec) / np.sqrt(D)).tolist()
    use_probe(raw)
    cos = diffusion.kernels_cosine("fast")
    assert cos < ENCODER_MIN_COSINE
    with pytest.raises(clip_encoder.EncoderUnavailable, match="other features"):
        diffusion.check_encoder()
    image, face = photos[AI.name]
    assert diffusion.diffusion_signals(image, face) == []


def test_a_token_probe_must_record_the_tokens_it_reads() -> None:
    raw = token_probe()
    del raw["encoder_check"]["cls"]["9"]  # the guard reads block 9
    with pytest.raises(ValueError, match=r"lacks the CLS tokens of blocks \[9\]"):
        load_probe(raw)
    assert load_probe(token_probe(check=False)).meta.get("encoder_check") is None


def test_a_probe_on_final_embeddings_builds_no_token_graph_and_scores_as_before(
        photos, previous_probe) -> None:
    pr = diffusion.probe()  # v5.1
    assert not pr.needs().tokens and pr.spec.spec == "face,wide"
    assert pr.wide_gate is not None
    clip_encoder._tokens_session.cache_clear()
    diffusion.kernels_cosine.cache_clear()
    diffusion.encoder_kernels.cache_clear()
    k = diffusion.encoder_kernels()  # the kernels the detector runs here
    for image, f in photos.values():
        box = f.box
        # v5.1's features as the detector computed them before token specs: the two squares'
        # embeddings side by side, the StyleGAN heads on the face square's.
        face = clip_encoder.embed([model_crop(image, box)], k)[0]
        x = np.concatenate([face, clip_encoder.embed([model_crop(image, box, WIDE_SCALE)],
                                                     k)[0]])
        g = pr.guard
        assert g is not None and g.stylegan is not None and pr.stylegan is not None
        want = (pr.probability(x), pr.stylegan.probability(face),
                g.head.probability(x) >= g.head.flag
                or g.stylegan.probability(face) >= g.stylegan.flag,
                g.stylegan.probability(face))
        assert all_scores(image, box) == want
    assert clip_encoder._tokens_session.cache_info().currsize == 0  # v5.1: the plain graph only


def test_the_shipped_probe_scores_the_tokens_it_names(photos) -> None:
    # v6: the face square's blocks 7-9 and the wider square's 6-8, raw, side by side; the
    # StyleGAN head on the face square's final embedding (the same pass).
    pr = diffusion.probe()
    assert pr.spec.spec == "cls:7-9,wcls:6-8" and pr.guard is None and pr.wide_gate is None
    k = diffusion.encoder_kernels()  # the kernels the detector runs here
    for image, f in photos.values():
        face, ft = clip_encoder.embed_tokens([model_crop(image, f.box)], [7, 8, 9], k)
        _, wt = clip_encoder.embed_tokens([model_crop(image, f.box, WIDE_SCALE)], [6, 7, 8], k)
        x = np.concatenate([ft[0].reshape(-1), wt[0].reshape(-1)])
        assert pr.stylegan is not None
        p, p_sg, guard, guard_sg = all_scores(image, f.box)
        assert p == pytest.approx(pr.probability(x), abs=1e-6)
        assert p_sg == pytest.approx(pr.stylegan.probability(face[0]), abs=1e-6)
        assert guard and guard_sg == 0.0


def test_a_gate_is_kept_only_where_it_was_computed_for_the_token_probe(photos,
                                                                       use_probe) -> None:
    raw = token_probe(check=False, sg_bias=-20.0)  # the StyleGAN head never near its flag
    gate = {"weights": [0.0] * E, "bias": 0.0, "residual_bound": -1000.0}
    raw["wide_gate"] = gate | {"probe_sha256": wide_gate_sha256(raw)}
    assert load_probe(raw).wide_gate is not None
    # The spec is part of what the key was computed for (the shipped key's hash is unchanged:
    # tests/core/test_diffusion_gate.py).
    other = copy.deepcopy(raw)
    other["features"] = "wcls:6-8,face"
    assert wide_gate_sha256(other) != wide_gate_sha256(raw)
    assert load_probe(other).wide_gate is None
    # A StyleGAN head on the wider square: its probability needs the wide pass; no gate.
    sg_wide = copy.deepcopy(raw)
    sg_wide["stylegan_head"]["features"] = "wcls:8"
    sg_wide["wide_gate"]["probe_sha256"] = wide_gate_sha256(sg_wide)
    assert load_probe(sg_wide).wide_gate is None
    # With a bound that keeps every photo under the thresholds the wide pass is skipped; the
    # face square's parts of the head (here "face") are read from where the spec puts them.
    image, face = photos[REAL.name]
    box = face.box
    use_probe(raw)
    assert all_scores(image, box, gate=True) is None
    assert all_scores(image, box, gate=False) is not None
    use_probe(other | {"wide_gate": gate | {"probe_sha256": wide_gate_sha256(other)}})
    assert diffusion.probe().spec.face_index().tolist() == list(range(3 * D, 3 * D + E))
    assert all_scores(image, box, gate=True) is None
    # A head on the wider square's tokens alone: the gate's bound is all there is.
    wide_only = copy.deepcopy(raw)
    wide_only["features"], wide_only["weights"] = "wcls:6-8", raw["weights"][E:]
    wide_only["wide_gate"]["probe_sha256"] = wide_gate_sha256(wide_only)
    use_probe(wide_only)
    assert all_scores(image, box, gate=True) is None
    wide_only["wide_gate"]["residual_bound"] = 1000.0
    wide_only["wide_gate"]["probe_sha256"] = wide_gate_sha256(wide_only)
    use_probe(wide_only)
    assert all_scores(image, box, gate=True) == all_scores(image, box, gate=False)
