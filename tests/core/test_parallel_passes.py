"""The diffusion detector's two encoder passes side by side on an idle core (headcheck.cores,
``clip_encoder.Beside``): the same features and signals as one after the other, and only where
a core is spare."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from headcheck import cores
from headcheck.detectors import clip_encoder, diffusion
from headcheck.face import FaceModels
from headcheck.load import load_image
from headcheck.workers import make_pool

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "diffusion"
SAMPLE = ROOT / "data" / "sample" / "images"
# AI faces the detector flags, a StyleGAN face, and real photos (with a gated probe, the first
# two are skipped by the gate: the side pass is then stopped).
PHOTOS = [*sorted(FIXTURES.glob("ai_*.jpg")), SAMPLE / "stylegan-015.jpg",
          SAMPLE / "plain-3936813347.jpg", SAMPLE / "stock-template.jpg",
          *sorted(FIXTURES.glob("real_*.jpg"))]


def test_a_core_is_spare_only_while_some_worker_is_idle() -> None:
    assert cores.spare_core(1, 2)
    assert not cores.spare_core(2, 2)
    assert not cores.spare_core(3, 2)  # more workers than cores, all busy
    assert not cores.spare_core(1, 1)  # one core: nothing beside
    assert not cores.spare_core(1, 4, allowed=False)


def test_busy_workers_are_counted_in_the_shared_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    monkeypatch.setattr(cores, "cpus", lambda: 2)
    monkeypatch.setattr(cores, "_busy", None)
    assert cores.spare()  # a lone process: every other core is spare
    cores.share(counter)
    with cores.busy():
        assert counter.value == 1 and cores.spare()
        counter.value += 1  # the other worker takes a photo
        assert not cores.spare()
        counter.value -= 1
    assert counter.value == 0
    with pytest.raises(ValueError), cores.busy():
        raise ValueError("a photo that fails still releases its count")
    assert counter.value == 0
    monkeypatch.setenv("HEADCHECK_PARALLEL_PASSES", "0")
    assert not cores.spare()


def _worker_sees_the_counter() -> bool:
    return cores._busy is not None


def test_a_pools_workers_share_one_counter() -> None:
    pool = make_pool(1, thumbnails=False)
    try:
        assert pool.submit(_worker_sees_the_counter).result(timeout=120)
    finally:
        pool.shutdown()


def test_the_side_run_computes_what_embed_computes_and_stops_when_cancelled() -> None:
    crops = [clip_encoder.reference_input()]
    side = clip_encoder.Beside(crops)
    assert np.array_equal(side.result(), clip_encoder.embed(crops))
    side.cancel()  # after its result: nothing to stop
    stopped = clip_encoder.Beside(crops)
    stopped.cancel()
    with pytest.raises(Exception, match="terminate"):
        stopped.result()


@pytest.fixture(scope="module")
def photos() -> dict[str, tuple]:
    models = FaceModels()
    out = {}
    for p in PHOTOS:
        img = load_image(p.read_bytes())
        out[p.name] = (img.image, models.find_face(img.array()))
    return out


def test_side_by_side_or_one_after_the_other_the_same_signals(
        photos, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []

    class Counted(clip_encoder.Beside):
        def __init__(self, *args, **kwargs) -> None:
            started.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(clip_encoder, "Beside", Counted)
    monkeypatch.setattr(cores, "cpus", lambda: 2)
    monkeypatch.setattr(cores, "_busy", None)
    scored: list = []  # what the detector's own all_scores call returned
    real = diffusion.all_scores

    def spied(*args, **kwargs):
        scored[:] = [real(*args, **kwargs)]
        return scored[0]

    monkeypatch.setattr(diffusion, "all_scores", spied)
    flagged = 0
    # The gate's skip is its own test (test_diffusion_gate); a probe without one runs alike.
    gates = ("1", "0") if diffusion.probe().wide_gate is not None else ("0",)
    for name, (image, face) in photos.items():
        for gate in gates:
            monkeypatch.setenv("HEADCHECK_DIFFUSION_GATE", gate)
            monkeypatch.setenv("HEADCHECK_PARALLEL_PASSES", "0")
            before = len(started)
            serial = diffusion.diffusion_signals(image, face)
            scores = scored[0]
            assert len(started) == before, name  # no side run when told not to
            monkeypatch.setenv("HEADCHECK_PARALLEL_PASSES", "1")
            scored.clear()
            assert diffusion.diffusion_signals(image, face) == serial, name
            assert scored[0] == scores, name  # every head's score, not only the signal
            assert len(started) == before + 1, name
        flagged += bool(serial)  # flagged, or unsure (the flag threshold is higher on a CPU
        # without VNNI: there the FLUX.1 dev fixture and the StyleGAN sample are only unsure)
    assert flagged >= 3  # the AI fixtures: the signals compared are not all empty
