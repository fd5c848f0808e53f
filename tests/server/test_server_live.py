"""A real server on 127.0.0.1: `headcheck serve` in its own process while `headcheck index` adds
photos from another, and a uvicorn in a thread for concurrent clients."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.settings import Settings
from tests.server_support import (
    IMAGES,
    ROOT,
    headcheck_server,
    image,
    sample_store,
    uvicorn_thread,
)

KEY = "live-test-key-0123456789"
CLI = [sys.executable, "-c", "from headcheck.cli import main; main()"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`headcheck serve` over a store without the reused photos; yields (base URL, store)."""
    db = sample_store(tmp_path.parent, "base", tmp_path / "store.db")
    with headcheck_server(db, KEY, refresh_seconds=0.3) as base:
        yield base, db


def test_served_index_picks_up_what_another_process_adds(served: tuple[str, Path]) -> None:
    base, db = served
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as c:
        assert c.get("/v1/stats", headers={"Authorization": ""}).status_code == 401
        assert c.get("/v1/stats").json()["index"]["photos"] == 11
        ring = image("reused-ring.jpg")
        page = {"page_url": "https://elsewhere.example/profile/ring"}
        first = c.post("/v1/lookup", content=ring, params=page,
                       headers={"Content-Type": "image/jpeg"})
        assert first.status_code == 200 and first.json()["label"] == "none"

        # A crawl adds the original to the same database while the server runs.
        added = subprocess.run(
            [*CLI, "index", "--db", str(db), "--page-url", "https://people.example.org/u/sam",
             str(IMAGES / "reused-original.jpg")], cwd=ROOT, capture_output=True, text=True,
            timeout=120)
        assert added.returncode == 0, added.stderr
        t = time.monotonic()
        while c.get("/v1/stats").json()["index"]["photos"] != 12:
            assert time.monotonic() - t < 10, "the index did not pick up the new photo"
            time.sleep(0.1)

        assert c.get("/v1/stats").json()["index"]["built_seconds"] > 0
        again = c.post("/v1/lookup", content=ring, params=page,
                       headers={"Content-Type": "image/jpeg"}).json()
        assert again["cached"] is False  # the index grew: the cached verdict is stale
        assert again["label"] == "reused"
        pages = {p for r in again["reasons"] for m in r["matches"] for p in m["pages"]}
        assert pages == {"https://people.example.org/u/sam"}


def test_lookups_beyond_the_queue_bound_get_503(tmp_path: Path) -> None:
    db = sample_store(tmp_path.parent, "full", tmp_path / "store.db")
    app = create_app(Settings(db=db, max_pending=1))
    bodies = [image(n) for n in ("plain-3377864339.jpg", "plain-3936813347.jpg",
                                 "plain-4530910556.jpg", "reused-mirror.jpg")]
    with uvicorn_thread(app) as base, httpx.Client(base_url=base, timeout=60) as c:
        def post(data: bytes) -> httpx.Response:
            return c.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"})

        with ThreadPoolExecutor(len(bodies)) as pool:
            answers = list(pool.map(post, bodies))
        codes = sorted(r.status_code for r in answers)
        assert codes[0] == 200 and codes[-1] == 503, codes
        busy = next(r for r in answers if r.status_code == 503)
        assert busy.headers["Retry-After"] == "1" and "busy" in busy.json()["detail"]
        assert c.get("/v1/health").status_code == 200
