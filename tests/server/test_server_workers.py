"""Lookups analysed in worker processes (`lookup_workers`): the same answers as analysing on the
engine thread, bad images refused as clearly, and the queue bound still answered with 503."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from headcheck.engine import Headcheck
from server.app import create_app
from server.settings import Settings
from tests.server_support import image, sample_store, uvicorn_thread

NAMES = ("reused-mirror.jpg", "plain-3377864339.jpg", "reused-ring.jpg", "plain-3936813347.jpg")


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server with two analysis processes and a queue bound of 2, over the full sample."""
    tmp = tmp_path_factory.mktemp("workers")
    db = sample_store(tmp, "full", tmp / "store.db")
    app = create_app(Settings(db=db, lookup_workers=2, max_pending=2, cache_entries=0))
    with uvicorn_thread(app) as base:
        yield base, db


def post(base: str, data: bytes, **params: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=120) as c:
        return c.post("/v1/lookup", content=data, params=params,
                      headers={"Content-Type": "image/jpeg"})


def test_answers_match_the_engine_thread_analysis(pooled: tuple[str, Path]) -> None:
    base, db = pooled
    page = {"page_url": "https://elsewhere.example/p/1"}
    hc = Headcheck(db)
    try:
        for name in NAMES:
            got = post(base, image(name), **page)
            assert got.status_code == 200, got.text
            want = hc.check(image(name), page_url=page["page_url"]).to_json(None)
            answer = {k: v for k, v in got.json().items() if k in want}
            assert answer == want, name
    finally:
        hc.close()
    assert {post(base, image(n)).json()["label"] for n in NAMES} >= {"reused", "none"}


def test_a_bad_image_is_refused_by_the_worker_with_a_reason(pooled: tuple[str, Path]) -> None:
    base, _ = pooled
    data = image("plain-3377864339.jpg")
    bad = post(base, data[:len(data) // 2])
    assert bad.status_code == 422 and "truncated" in bad.json()["detail"]
    assert post(base, b"not an image at all").status_code == 415
    assert post(base, image("plain-3377864339.jpg")).status_code == 200  # workers still serve


def test_lookups_beyond_the_bound_get_503_with_workers(pooled: tuple[str, Path]) -> None:
    base, _ = pooled
    bodies = [image(n) for n in NAMES] * 2
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda b: post(base, b), bodies))
    codes = sorted(r.status_code for r in answers)
    assert codes[0] == 200 and codes[-1] == 503, codes
    busy = next(r for r in answers if r.status_code == 503)
    assert busy.headers["Retry-After"] == "1"


def test_health_says_the_workers_run_every_detector_here(pooled: tuple[str, Path]) -> None:
    base, _ = pooled
    with httpx.Client(base_url=base, timeout=60) as c:
        health = c.get("/v1/health").json()
    assert health["status"] == "ok" and health["detectors_off"] == {}
