"""The diffusion detector's gate (bench/diffusion_gate.py, ``wide_pass_needed``): the wider
square's encoder pass is skipped only where it cannot change what the detector reports."""

from __future__ import annotations

import copy
import json
import math
from importlib import resources
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from headcheck.detectors import diffusion
from headcheck.detectors.diffusion import (
    PROBE_FILE,
    all_scores,
    diffusion_signals,
    load_probe,
    probe,
    scores_of,
    wide_gate_sha256,
    wide_pass_needed,
)
from headcheck.face import FaceModels
from headcheck.load import load_image
from tests.conftest import bench_script

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "diffusion"
SAMPLE = ROOT / "data" / "sample" / "images"
# Real photos (the sample's plain and stock ones, the detector's real fixtures) and AI faces it
# flags or is unsure about, and a StyleGAN face: with the gate on and off.
# Six Flickr portraits (320 x 480) too, so that a retrained probe's bound (bench/diffusion_gate.py
# skips about a quarter of real photos) is likely to skip some of them as well.
FLICKR = sorted((ROOT / "data" / "faces" / "real" / "images").glob("large_[0-9]*[0-9].jpg"))[:6]
REAL = [SAMPLE / "plain-3936813347.jpg", SAMPLE / "stock-template.jpg",
        SAMPLE / "plain-4530910556.jpg", *sorted(FIXTURES.glob("real_*.jpg")), *FLICKR]
OTHERS = [*sorted(FIXTURES.glob("ai_*.jpg")), SAMPLE / "stylegan-015.jpg"]


def shipped_raw() -> dict:
    return json.loads(resources.files("headcheck").joinpath(PROBE_FILE).read_text())


def gated_raw() -> dict:
    """Probe v5.1, the last one with a gate (tests/conftest.py ``previous_probe``)."""
    from tests.conftest import PREVIOUS_PROBE

    return json.loads(PREVIOUS_PROBE.read_text())


@pytest.fixture(scope="module")
def photos() -> dict[str, tuple]:
    models = FaceModels()
    out = {}
    for p in REAL + OTHERS:
        img = load_image(p.read_bytes())
        out[p.name] = (img.image, models.find_face(img.array()))
    return out


def test_the_shipped_probe_has_no_gate_and_always_runs_the_wide_pass(photos) -> None:
    # v6 reads the wider square's CLS tokens: no bound was computed for it (the gate script
    # reads final embeddings), so every photo gets both passes.
    assert "wide_gate" not in shipped_raw() and probe().wide_gate is None
    for name in (REAL[0].name, REAL[-1].name, *(p.name for p in OTHERS)):
        image, face = photos[name]
        assert all_scores(image, face.box, gate=True) is not None, name


def test_a_skipped_wide_pass_changes_no_signal(photos, previous_probe,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    skipped = []
    last: list = []  # what the detector's own all_scores call returned (None: skipped)

    def spied(*args, **kwargs):
        last[:] = [all_scores(*args, **kwargs)]
        return last[0]

    monkeypatch.setattr(diffusion, "all_scores", spied)
    for name, (image, face) in photos.items():
        monkeypatch.setenv("HEADCHECK_DIFFUSION_GATE", "0")
        without = diffusion_signals(image, face)
        assert last[0] is not None, name  # gate off: both passes
        monkeypatch.setenv("HEADCHECK_DIFFUSION_GATE", "1")
        assert diffusion_signals(image, face) == without, name
        if last[0] is None:
            skipped.append(name)
            assert without == []  # what a skipped photo reports
    # The shipped bound skips some of these real photos (v5.1: the first two and two of the
    # Flickr ones), none of the AI faces. Should a retrained probe's bound skip none of them,
    # add real photos it skips (bench/diffusion_gate.py --check lists the share per set).
    assert skipped and set(skipped) <= {p.name for p in REAL}
    assert {"ai_flux1_pro_022.jpg", "ai_sdxl_092.jpg", "ai_flux1_dev_037.jpg"}.isdisjoint(skipped)


def test_a_probe_without_the_key_or_with_a_stale_one_never_gates(
        photos, previous_probe, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = gated_raw()
    keyless = {k: v for k, v in raw.items() if k != "wide_gate"}
    stale = copy.deepcopy(raw)
    stale["thresholds"]["unsure"] = 0.999  # chosen at other thresholds: not valid here
    other = copy.deepcopy(raw)
    other["bias"] += 1.0  # other weights
    for r in (keyless, stale, other):
        assert load_probe(r).wide_gate is None
    pr = load_probe(keyless)
    monkeypatch.setattr(diffusion, "probe", lambda: pr)
    for name, (image, face) in photos.items():
        if name in {p.name for p in REAL}:
            assert all_scores(image, face.box, gate=True) is not None, name


def _gate_script() -> ModuleType:
    return bench_script("diffusion_gate")


def test_the_gate_script_writes_what_the_detector_reads(previous_probe) -> None:
    raw = gated_raw()
    # v5.1's key was computed for its head and thresholds, and the detector uses it.
    assert raw["wide_gate"]["probe_sha256"] == wide_gate_sha256(raw)
    gate = previous_probe.wide_gate
    assert gate is not None
    assert np.array_equal(gate.weights, np.asarray(raw["wide_gate"]["weights"], np.float32))
    assert gate.residual_bound == raw["wide_gate"]["residual_bound"]
    # The script on made-up features (unit vectors, the wide square's partly the face's):
    # every pair the detector would then skip stays under the lowest threshold.
    script = _gate_script()
    rng = np.random.default_rng(13)
    basis = np.linalg.qr(rng.normal(size=(512, 8)))[0].T  # features in an 8-D subspace
    face = (rng.normal(size=(600, 8)) @ basis).astype(np.float32)
    wide = face + (0.1 * rng.normal(size=(600, 8)) @ basis).astype(np.float32)
    face /= np.linalg.norm(face, axis=1, keepdims=True)
    wide /= np.linalg.norm(wide, axis=1, keepdims=True)
    pairs = {"face": face, "wide": wide, "source": np.array(["plain"] * 600),
             "sha": np.array([f"made-up-{i % 150}" for i in range(600)])}
    made = copy.deepcopy(raw)
    made["bias"] = 0.0  # puts about half the made-up pairs past the lowest threshold
    made["wide_gate"] = script.choose(made, pairs)
    rec = made["wide_gate"]["chosen_on"]
    assert rec["margin_sd"] >= script.MARGIN_SD and rec["strict_bound"] > 0
    pr = load_probe(json.loads(json.dumps(made)))  # as written and read back
    assert pr.wide_gate is not None
    lowest = min(pr.unsure, pr.flag)
    skipped = reached = 0
    for f, w in zip(face, wide, strict=True):
        p, p_sg, _, guard_sg = scores_of(pr, f, f, w, None)
        reached += p >= lowest
        if not wide_pass_needed(pr, f, f, None, p_sg, guard_sg):
            skipped += 1
            assert p < lowest
    assert skipped and reached
    assert math.isclose(made["wide_gate"]["residual_bound"],
                        rec["smallest_bound"] + rec["margin_sd"] * rec["residual_sd"],
                        abs_tol=1e-3)


def test_the_gate_script_bounds_a_token_probe_s_wide_part() -> None:
    # A probe on "cls:7-9,wcls:6-8" (v6's spec) over made-up pairs: the final embeddings are unit
    # vectors, each square's CLS tokens a linear image of its embedding plus noise, the wider
    # square's embedding partly the face's. The script predicts the wide tokens' part of the
    # logit from the face square's embedding (what the detector has before the wide pass).
    from headcheck.detectors.clip_encoder import BLOCKS, CLS_DIM, EMBED_DIM
    from headcheck.detectors.probe_features import Passes, parse_features

    script = _gate_script()
    rng = np.random.default_rng(29)
    n = 500
    basis = np.linalg.qr(rng.normal(size=(EMBED_DIM, 8)))[0].T
    face = (rng.normal(size=(n, 8)) @ basis).astype(np.float32)
    wide = face + (0.2 * rng.normal(size=(n, 8)) @ basis).astype(np.float32)
    face /= np.linalg.norm(face, axis=1, keepdims=True)
    wide /= np.linalg.norm(wide, axis=1, keepdims=True)
    lift = rng.normal(size=(EMBED_DIM, CLS_DIM)).astype(np.float32) / 8

    def tokens(x: np.ndarray) -> np.ndarray:
        t = (x @ lift)[:, None, :] + 0.05 * rng.normal(size=(n, BLOCKS, CLS_DIM))
        return t.astype(np.float32)

    pairs = {"face": face, "wide": wide, "cls": tokens(face), "wcls": tokens(wide),
             "source": np.array(["plain"] * n), "sha": np.array([f"made-up-{i}" for i in range(n)])}
    spec = parse_features("cls:7-9,wcls:6-8")
    w = (rng.normal(size=spec.width) / 40).astype(np.float32)
    x_all = np.hstack([pairs["cls"][:, 7:10].reshape(n, -1), pairs["wcls"][:, 6:9].reshape(n, -1)])
    bias = float(np.log(0.7 / 0.3) - np.median(x_all @ w))  # about half the pairs reach unsure
    raw = {"version": "test", "features": spec.spec, "bias": bias,
           "weights": [float(x) for x in w], "thresholds": {"flag": 0.9, "unsure": 0.7}}
    raw["wide_gate"] = script.choose(raw, pairs)
    rec = raw["wide_gate"]
    assert rec["head"] == "text-to-image (cls:7-9,wcls:6-8)"
    assert rec["chosen_on"]["strict_bound"] is None  # no norm bound on raw tokens
    assert rec["probe_sha256"] == wide_gate_sha256(raw)
    pr = load_probe(json.loads(json.dumps(raw)))
    assert pr.wide_gate is not None and len(pr.wide_gate.weights) == EMBED_DIM
    lowest = min(pr.unsure, pr.flag)
    skipped = reached = 0
    for i in range(n):
        passes = script.passes_of(pairs, i)
        assert isinstance(passes, Passes)
        p = diffusion.scores_from(pr, passes, None)[0]
        # The pair's head input is the tokens side by side, as the detector builds it.
        assert p == pytest.approx(1 / (1 + np.exp(-(x_all[i] @ w + bias))), abs=1e-5)
        reached += p >= lowest
        if not wide_pass_needed(pr, passes.face, pr.spec.vector(passes, wide=False), None, 0.0,
                                0.0):
            skipped += 1
            assert p < lowest  # every skipped pair stays under both thresholds
    assert skipped and reached
