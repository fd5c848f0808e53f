"""A real crawl killed mid-way (SIGKILL), resumed and interrupted again (Ctrl-C), then finished:
the store ends with every photo and sighting exactly once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.site_server import SiteServer
from headcheck.detectors.registry import DISABLE_ENV
from tests.crawl_helpers import (
    FAST,
    SAMPLE_HOST,
    SAMPLE_SITE,
    expected_rows,
    finish_crawl,
    photo_count,
    sightings,
    start_crawl,
)

DELAY = 0.12  # seconds a request: slow enough to stop the crawl in the middle


def stored_sightings(db: Path) -> int:
    try:
        return len(sightings(db))
    except sqlite3.Error:  # not created yet
        return 0


def wait_until(proc: subprocess.Popen, done: Callable[[], bool], timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("the crawl ended or stalled before it got there")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_killed_and_interrupted_crawls_resume_without_loss_or_duplicates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, jobdir = tmp_path / "store.db", tmp_path / "job"
    # Sightings and the journal are under test, not verdicts: the crawls (and their analysis
    # workers) run without the CLIP probe's encoder passes, three processes' worth of them.
    monkeypatch.setenv(DISABLE_ENV, "diffusion.clip_probe")
    # Two requests at a time (the per-site default): Scrapy's downloader would otherwise take 16
    # from the queue at once, and a graceful stop finishes everything the downloader holds.
    args = [f"{SAMPLE_HOST}/", "--db", str(db), "--jobdir", str(jobdir), *FAST,
            "-s", "CONCURRENT_REQUESTS=2"]
    expected = sorted((SAMPLE_HOST + r["page_path"], SAMPLE_HOST + r["image_path"])
                      for r in expected_rows()
                      if r["expect"] in ("synthetic", "composited", "reused", "none"))
    with SiteServer(SAMPLE_SITE, host_alias="sample.headcheck.test", delay=DELAY) as server:
        # 1. SIGKILL: nothing runs on the way out, no state is saved by Scrapy.
        proc = start_crawl(args, tmp_path / "1.json", proxy=server.address)
        wait_until(proc, lambda: stored_sightings(db) >= 4)
        workers = children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        killed = finish_crawl(proc, tmp_path / "1.json")
        assert killed.returncode == -signal.SIGKILL and not killed.stats
        deadline = time.monotonic() + 10
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers and not any(map(alive, workers)), "analysis workers outlived the crawl"
        assert 4 <= stored_sightings(db) < len(expected)

        # 2. Resume, then Ctrl-C once it has fetched a few pages: what is in flight finishes,
        # the rest waits in the journal.
        fetched = len(server.paths())
        proc = start_crawl(args, tmp_path / "2.json", proxy=server.address)
        wait_until(proc, lambda: len(server.paths()) >= fetched + 4)
        proc.send_signal(signal.SIGINT)
        interrupted = finish_crawl(proc, tmp_path / "2.json")
        assert interrupted.returncode == 130, interrupted.stderr
        assert interrupted.stats["finish_reason"] == "shutdown"
        assert interrupted.count("resumed/pages") > 0
        assert "run the same command again to resume" in interrupted.stderr

        # 3. Resume to the end.
        done = finish_crawl(start_crawl(args, tmp_path / "3.json", proxy=server.address),
                            tmp_path / "3.json")
        assert done.returncode == 0, done.stderr
        assert done.stats["finish_reason"] == "finished"
        assert done.count("sightings_new") > 0  # the interrupted run had left work

    rows = sightings(db)
    assert sorted((r["page_url"], r["image_url"]) for r in rows) == expected
    assert [r["times_seen"] for r in rows] == [1] * len(expected)  # nothing stored twice
    assert photo_count(db) == 16
    journal = sqlite3.connect(jobdir / "journal.sqlite")
    assert journal.execute("SELECT value FROM job WHERE name = 'state'").fetchone() == (
        "finished",)
    # Every headshot the job found (the broken ones too) is done, and only those.
    assert journal.execute("SELECT count(*), min(state) FROM items").fetchone() == (20, 2)
