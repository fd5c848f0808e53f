"""The measurement helpers of bench/diffusion_rigid.py and bench/diffusion_transfer.py: the AUC
they print, and which versions of which photos a head is trained and scored on."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.conftest import bench_script


@pytest.fixture(scope="module")
def rigid() -> ModuleType:
    return bench_script("diffusion_rigid")


@pytest.fixture(scope="module")
def transfer() -> ModuleType:
    return bench_script("diffusion_transfer")


@pytest.mark.parametrize("seed", range(5))
def test_auc_is_the_mann_whitney_statistic_ties_counted_half(rigid: ModuleType, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Coarse scores, so that ties between and within the classes are common.
    neg = rng.integers(0, 8, size=40).astype(float)
    pos = rng.integers(2, 10, size=25).astype(float)
    want = roc_auc_score(np.r_[np.zeros(40), np.ones(25)], np.r_[neg, pos])
    assert rigid.auc(neg, pos) == pytest.approx(want, abs=1e-12)
    assert rigid.auc(np.zeros(3), np.zeros(4)) == 0.5  # all tied: chance
    assert rigid.auc(np.zeros(3), np.ones(4)) == 1.0


def test_heads_train_and_score_only_the_versions_with_a_face(transfer: ModuleType) -> None:
    x = np.arange(3 * 2 * 4, dtype=float).reshape(3, 2, 4)  # 3 photos, 2 versions, 4 features
    ok = np.array([[True, True], [True, False], [False, False]])  # no face: photo 3, copy of 2
    real = np.array([True, False, False])
    rows, labels = transfer._xy(x, ok, np.array([True, True, True]), real)
    assert rows.tolist() == [x[0, 0].tolist(), x[0, 1].tolist(), x[1, 0].tolist()]
    assert labels.tolist() == [0, 0, 1]  # AI-made is the positive class
    rows, labels = transfer._xy(x, ok, np.array([False, True, True]), real)  # photo 1 not chosen
    assert rows.tolist() == [x[1, 0].tolist()] and labels.tolist() == [1]

    class Sum:  # a stand-in model: the decision is the features' sum
        def decision_function(self, a: np.ndarray) -> np.ndarray:
            return a.sum(axis=1)

    sc = transfer._score(Sum(), x, ok)
    assert sc[0].tolist() == [x[0, 0].sum(), x[0, 1].sum()] and sc[1, 0] == x[1, 0].sum()
    assert np.isnan(sc[1, 1]) and np.isnan(sc[2]).all()  # never a score without a face


def _figures(real_b: int = 0, kind_b: tuple[int, int] = (2, 500), nested: float = 0.006,
             left_out: float = 0.85, together: float = 0.86) -> dict:
    return {"real_b": (real_b, 2156), "kind_b": {"fairface": kind_b, "pixabay": (1, 700)},
            "nested": ("fairface", nested),
            "left_out": {g: left_out for g in ("flux-dev", "flux-pro", "sdxl")},
            "oof": {"together": together}}


@pytest.mark.parametrize(("v8", "found_v8", "met"), [
    ({}, {"Gemini / ChatGPT": 0.15, "DALL-E 3": 0.05}, True),
    ({}, {"Gemini / ChatGPT": 0.09, "DALL-E 3": 0.13}, False),  # no family gains 10 points
    ({}, {"Gemini / ChatGPT": 0.30, "DALL-E 3": 0.03}, False),  # DALL-E 3 loses (0.04 before)
    ({"real_b": 1}, {"Gemini / ChatGPT": 0.5, "DALL-E 3": 0.5}, False),  # (a) one more flagged
    ({"kind_b": (4, 500)}, {"Gemini / ChatGPT": 0.5, "DALL-E 3": 0.5}, False),  # (b) 0.8%
    ({"nested": 0.008}, {"Gemini / ChatGPT": 0.5, "DALL-E 3": 0.5}, False),  # (c)
    ({"left_out": 0.79}, {"Gemini / ChatGPT": 0.5, "DALL-E 3": 0.5}, False),  # (f) -0.06
    ({"together": 0.75}, {"Gemini / ChatGPT": 0.5, "DALL-E 3": 0.5}, False),  # (f) -0.11
    ({"left_out": 0.81, "together": 0.77}, {"Gemini / ChatGPT": 0.1, "DALL-E 3": 0.04}, True),
])
def test_v8_criteria_are_the_ones_fixed_beforehand(v8: dict, found_v8: dict, met: bool) -> None:
    v8_script = bench_script("diffusion_v8")
    figs = {"v6 here": _figures(), "v8": _figures(**v8)}
    found = {"v6 here": {"Gemini / ChatGPT": 0.0, "DALL-E 3": 0.04}, "v8": found_v8}
    assert v8_script.criteria(figs, found) is met
