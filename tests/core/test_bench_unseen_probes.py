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
