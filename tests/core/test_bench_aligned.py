"""bench/diffusion_aligned.py's decisions (the criteria fixed in docs/benchmarks.md before its
figures, and how its heads weigh the families they are trained on), and which sets the earlier
probe recipes' scripts train on."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from tests.conftest import bench_script

UNSEEN = ("SD3", "Gemini / ChatGPT", "DALL-E 3")


@pytest.fixture(scope="module")
def aligned() -> ModuleType:
    return bench_script("diffusion_aligned")


def _head(real_b: float = 0.008, worst: float = 0.015, seen: float = 0.80, **found) -> dict:
    return {"real_b": real_b, "worst": worst, "FLUX / SDXL (part B)": seen,
            **{f: found.get(f.split()[0], 0.10) for f in UNSEEN}}


def _tables(a: dict, ga: dict) -> dict:
    return {"G": _head(), "A": a, "G+A": ga}


def test_a_head_that_finds_ten_more_of_an_unseen_family_at_the_precision_asked_passes(
        aligned: ModuleType) -> None:
    out = aligned.criteria(_tables(_head(SD3=0.20), _head(Gemini=0.21, seen=0.76)))
    assert out == {"A": True, "G+A": True}


@pytest.mark.parametrize("change", [
    {"real_b": 0.0101},  # (i) over 1% of part B's real photos
    {"worst": 0.021},  # (i) one real kind over 2%
    {"SD3": 0.19},  # (ii) under ten more of every hundred (G finds 0.10)
    {"SD3": 0.40, "DALL-E": 0.05},  # (ii) one family gains, another loses five or more
])
def test_each_criterion_refuses_on_its_own(aligned: ModuleType, change: dict) -> None:
    base = {"SD3": 0.20}
    head = _head(**{k: v for k, v in change.items() if k in ("real_b", "worst")},
                 **{**base, **{k: v for k, v in change.items() if k not in ("real_b", "worst")}})
    assert aligned.criteria(_tables(head, head)) == {"A": False, "G+A": False}


def test_the_combined_head_may_not_lose_the_seen_families(aligned: ModuleType) -> None:
    out = aligned.criteria(_tables(_head(SD3=0.30, seen=0.10), _head(SD3=0.30, seen=0.74)))
    assert out == {"A": True, "G+A": False}  # (iii) binds G+A only: A never saw them


def test_every_fake_family_weighs_as_much_and_all_of_them_as_the_real_photos(
        aligned: ModuleType) -> None:
    rng = np.random.default_rng(0)
    fam = np.array(["real"] * 60 + ["FLUX / SDXL"] * 10 + ["made"] * 30)
    x = rng.normal(size=(len(fam), 3))
    model = aligned.fit(x, fam, ("FLUX / SDXL", "made"))
    # Refit with the weights spelt out: the same coefficients.
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    w = np.where(fam == "real", 1.0, np.where(fam == "made", 60 / 2 / 30, 60 / 2 / 10))
    z = StandardScaler().fit_transform(x)
    want = LogisticRegression(C=aligned.C, max_iter=3000).fit(z, fam != "real", sample_weight=w)
    got = model.named_steps["logisticregression"]
    assert np.allclose(got.coef_, want.coef_, atol=1e-6)


def test_the_earlier_recipes_leave_out_exactly_the_sets_v6_never_saw() -> None:
    # diffusion_train.load's default (v5.1's and v6's design scripts) and v6's own list of the
    # sets added after it must agree, or those scripts train on sets their figures never had.
    train, v6 = bench_script("diffusion_train"), bench_script("diffusion_v6")
    assert train.SETS_AFTER_V6 == v6.SETS_SINCE_V6 | v6.SETS_SINCE_V7
    import inspect

    assert inspect.signature(train.load).parameters["without"].default == train.SETS_AFTER_V6
