"""The crawl cluster end to end, on real parts: redis-server (AOF on), the sample site over HTTP on
127.0.0.1, worker and writer processes run as a user runs them. Three workers and the writer give
the single-machine crawl's result; killing a worker and the writer (SIGKILL, at random moments)
loses and repeats nothing; one host is never hit faster than the cluster's delay, whichever worker
sends."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.cluster.frontier import RECOVERED_SCORE, ClusterScheduler
from crawler.cluster.keys import Keys
from crawler.cluster.spider import ClusterOffsiteMiddleware, ClusterSpider
from crawler.site_server import SiteServer
from headcheck.analyze import Analyzer
from headcheck.cli import main
from headcheck.detectors.registry import DISABLE_ENV
from tests.crawl_helpers import (
    FAST,
    ROOT,
    SAMPLE_HOST,
    SAMPLE_SITE,
    Crawl,
    crawl_env,
    finish_crawl,
    photo_count,
    start_crawl,
)
from tests.crawler.test_crawl_site import assert_sample_stored
from tests.redis_support import redis_server

HOST_DELAY = 0.2
EXPIRY = 0.005  # Redis expires a key within a millisecond of its time
KEYS = Keys()
# Each worker: one analysis process (two cores), few requests held at once (so both workers get
# pages of the one small site), and a quick exit once the job is done.
WORKER = ["--workers", "1", "--idle-exit", "1", "-s", "CONCURRENT_REQUESTS=2",
          "-s", "HEADCHECK_CLUSTER_HEARTBEAT=3"]


@dataclass
class Cluster:
    url: str
    work: Path
    site: SiteServer
    started: list[subprocess.Popen] = field(default_factory=list)

    def seed(self) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "crawler", "--redis", self.url,
                               "--seed-only", f"{SAMPLE_HOST}/"], cwd=ROOT,
                              env=crawl_env(self.site.address), capture_output=True, text=True,
                              timeout=60)

    def worker(self, name: str, *extra: str) -> subprocess.Popen:
        proc = start_crawl(["--redis", self.url, "--files-dir", str(self.work / f"{name}.files"),
                            *WORKER, *extra], self.work / f"{name}.json",
                           proxy=self.site.address)
        self.started.append(proc)
        return proc

    def writer(self, name: str, code: str = "", idle_exit: bool = True) -> subprocess.Popen:
        with (self.work / f"{name}.out").open("w") as out, \
                (self.work / f"{name}.err").open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", f"{code}\nfrom headcheck.cli import main; main()",
                 "crawl-writer",
                 "--redis", self.url, "--db", str(self.work / "store.db"), "--batch", "4",
                 *(["--exit-when-idle"] if idle_exit else [])],
                cwd=ROOT, env=crawl_env(), stdout=out, stderr=err)
        self.started.append(proc)
        return proc

    def output(self, name: str) -> str:
        return (self.work / f"{name}.out").read_text()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with redis_server(tmp_path / "redis") as url, \
            SiteServer(SAMPLE_SITE, host_alias="sample.headcheck.test") as site:
        c = Cluster(url, tmp_path, site)
        try:
            yield c
        finally:  # a failed test leaves no worker or writer behind (they would retry Redis
            for proc in c.started:  # forever once it is gone)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)


def wait_for(check: Callable[[], bool], timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_three_workers_and_a_writer_store_what_one_machine_does(cluster: Cluster,
                                                                analyzer: Analyzer) -> None:
    """Three workers share the crawl (each sends requests) and the store holds exactly what the
    single-machine crawl stores (test_crawl_site's expectations): photos, sightings, verdicts."""
    r = redis.Redis.from_url(cluster.url)
    # All three wait for work before the seed is queued (--idle-exit 0: never stop by
    # themselves), and the site answers slowly enough that no one worker can take the whole
    # crawl before the others' next look at the queue (one a second).
    cluster.site.delay = 0.25
    workers = [cluster.worker(f"w{i}", *FAST, "--idle-exit", "0") for i in range(3)]
    wait_for(lambda: r.scard(KEYS.workers) == 3)
    seeded = cluster.seed()
    assert seeded.returncode == 0, seeded.stderr
    assert "queued 2 new requests" in seeded.stdout  # the seed and its robots.txt
    writer = cluster.writer("writer")

    def done() -> bool:  # nothing queued or leased, every result sent has been stored
        return r.zcard(KEYS.queue) == 0 and not any(
            r.hlen(KEYS.inflight(w.decode())) for w in r.smembers(KEYS.workers)) and \
            r.xlen(KEYS.results) == 0 and int(r.hget(KEYS.stats, "stored") or 0) > 0

    wait_for(done, timeout=240)
    for w in workers:
        w.send_signal(signal.SIGINT)  # they would wait for new seeds: stop them as a user does
    crawls: list[Crawl] = [finish_crawl(w, cluster.work / f"w{i}.json", timeout=60)
                           for i, w in enumerate(workers)]
    assert writer.wait(timeout=60) == 0, (cluster.work / "writer.err").read_text()
    for c in crawls:
        assert c.returncode == 130, c.stderr  # interrupted, with nothing left to hand back
        assert c.stats.get("downloader/request_count", 0) > 0, c.stats  # each took a share
    assert_sample_stored(cluster.work / "store.db", analyzer)
    assert "stored 17 results" in cluster.output("writer")
    assert sum(c.count("pages") for c in crawls) == 24  # the single crawl's page count
    assert sum(c.count("profiles") for c in crawls) == 17

    status = CliRunner().invoke(main, ["crawl-status", "--redis", cluster.url, "--json"])
    assert status.exit_code == 0, status.output
    s = json.loads(status.output)
    assert (s["queued"], s["in_flight"], s["workers"], s["results_unstored"]) == (0, 0, 0, 0)
    assert (s["pages"], s["profiles"], s["stored"], s["errors/page"]) == (24, 17, 17, 1)


def test_cluster_commands_fail_plainly(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["crawl", "--seed-only", "http://x.test/"])
    assert r.exit_code == 2 and "--seed-only and --fresh need --redis" in r.output
    r = runner.invoke(main, ["crawl", "http://x.test/"])
    assert r.exit_code == 2 and "Missing option '--db'" in r.output
    for args in (["crawl", "--redis", "redis://127.0.0.1:1/0", "--seed-only", "http://x.test/"],
                 ["crawl-writer", "--redis", "redis://127.0.0.1:1/0", "--db",
                  str(tmp_path / "s.db")],
                 ["crawl-status", "--redis", "redis://127.0.0.1:1/0"]):
        r = runner.invoke(main, args)
        assert r.exit_code == 1 and "cannot reach Redis at redis://127.0.0.1:1/0" in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)


KILL_BEFORE_ACK = """
import os, signal
from crawler.cluster.writer import Writer
def _die(self, done):
    if done and self.stats.stored >= {after}:
        os.kill(os.getpid(), signal.SIGKILL)
    _ack(self, done)
_ack, Writer.acknowledge = Writer.acknowledge, _die
"""


def test_killed_worker_and_writer_lose_and_repeat_nothing_and_politeness_holds(
        cluster: Cluster, analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cluster's delay per host also slows the crawl enough for the kills to land mid-way.
    The kill moments are drawn at random: the seed is printed (shown when the test fails), and
    HEADCHECK_TEST_SEED=N replays a run's moments. Losses, repeats and politeness are under
    test, so the workers run without the CLIP probe's encoder passes (the test above runs the
    cluster with every detector); the sample's verdicts come out the same without it."""
    monkeypatch.setenv(DISABLE_ENV, "diffusion.clip_probe")
    seed = int(os.environ.get("HEADCHECK_TEST_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    worker_after, writer1_after = rng.randint(1, 6), rng.randint(1, 8)
    print(f"HEADCHECK_TEST_SEED={seed}: w0 killed after {worker_after} results sent, writer1 "
          f"after committing {writer1_after}")
    r = redis.Redis.from_url(cluster.url)
    assert cluster.seed().returncode == 0
    polite = [*FAST, "-s", f"HEADCHECK_CLUSTER_HOST_DELAY={HOST_DELAY}"]
    w0, w1 = cluster.worker("w0", *polite), cluster.worker("w1", *polite)
    # The writer's worst moment to die: a batch committed to the store, not yet acknowledged
    # (SIGKILL to itself there). Every entry of that batch is delivered again to the next writer.
    writer = cluster.writer("writer1", KILL_BEFORE_ACK.format(after=writer1_after))

    def w0_busy() -> bool:  # w0 holds requests and results have been sent
        ids = [m.decode() for m in r.smembers(KEYS.workers) if f":{w0.pid}:" in m.decode()]
        return bool(ids) and r.hlen(KEYS.inflight(ids[0])) > 0 and \
            int(r.hget(KEYS.stats, "profiles") or 0) >= worker_after

    wait_for(w0_busy)
    os.kill(w0.pid, signal.SIGKILL)
    assert w0.wait(timeout=10) == -signal.SIGKILL
    assert writer.wait(timeout=90) == -signal.SIGKILL  # died between its commits and the XACK

    # The same command again, killed from outside at a random moment of its work (reading,
    # inside a commit, between commit and XACK): it never exits by itself, so the kill lands.
    stored = int(r.hget(KEYS.stats, "stored") or 0)  # below 8: writer1's last batch is unacked
    writer2_after = rng.randint(stored + 1, 13)
    print(f"writer2 killed once {writer2_after} results are acknowledged (then up to 0.2 s)")
    writer = cluster.writer("writer2", idle_exit=False)
    wait_for(lambda: int(r.hget(KEYS.stats, "stored") or 0) >= writer2_after)
    time.sleep(rng.uniform(0, 0.2))
    writer.kill()
    assert writer.wait(timeout=10) == -signal.SIGKILL

    writer = cluster.writer("writer3")  # w1 has taken over w0's requests meanwhile
    last = finish_crawl(w1, cluster.work / "w1.json", timeout=150)
    assert last.returncode == 0, last.stderr
    assert writer.wait(timeout=60) == 0, (cluster.work / "writer3.err").read_text()
    assert last.count("cluster/recovered") > 0  # w0's leases went back to the queue
    assert int(r.hget(KEYS.stats, "redelivered") or 0) > 0  # writer1's batch, stored once
    assert_sample_stored(cluster.work / "store.db", analyzer)  # each sighting once, none lost
    assert r.xinfo_groups(KEYS.results)[0]["pending"] == 0
    assert int(r.hget(KEYS.stats, "stored") or 0) == 17  # each result acknowledged once

    # Politeness: requests from both workers (and w0's, put back and sent again by w1) reached
    # the one host never closer together than the delay, as the site saw them (two workers with
    # no delay of their own would send at once).
    times = cluster.site.arrivals
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) > 40 and min(gaps) >= HOST_DELAY - EXPIRY, sorted(gaps)[:5]


def test_writer_sets_aside_a_result_it_cannot_read(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in the background
    with redis_server(tmp_path / "redis") as url:
        r = redis.Redis.from_url(url)
        r.xadd(KEYS.results, {"r": b"not a pickled result"})
        out = CliRunner().invoke(main, ["crawl-writer", "--redis", url, "--db",
                                        str(tmp_path / "store.db"), "--exit-when-idle"])
        assert out.exit_code == 0, out.output
        assert "stored 0 results" in out.output and "1 set aside" in out.output
        assert r.xlen(KEYS.results) == 0 and r.xlen(KEYS.bad_results) == 1
        assert photo_count(tmp_path / "store.db") == 0
    assert signal.getsignal(signal.SIGINT) is before  # the caller's Ctrl-C handling is back


def test_a_beat_registers_the_worker_again_and_puts_back_a_dead_ones_leases(
        tmp_path: Path) -> None:
    """A peer that once saw this worker registered without a heartbeat (it starts, or stalls
    past the TTL) dropped it; its next beat registers it again, or its leases would be nobody's
    to put back when it dies. The same beat puts back the leases of a worker that is gone."""
    with redis_server(tmp_path / "redis") as url:
        r = redis.Redis.from_url(url)
        crawler = get_crawler(ClusterSpider, {"REDIS_URL": url, "HEADCHECK_CLUSTER_PREFIX":
                                              KEYS.prefix, "HEADCHECK_CLUSTER_WORKER": "w1"})
        scheduler = ClusterScheduler(r, crawler)
        scheduler._heartbeat()
        assert r.smembers(KEYS.workers) == {b"w1"} and r.pttl(KEYS.heartbeat("w1")) > 0
        r.srem(KEYS.workers, "w1")  # what a peer's recover() does to a worker without a beat
        r.sadd(KEYS.workers, "gone")
        r.hset(KEYS.inflight("gone"), "0", b"a pickled request")
        scheduler._heartbeat()
        assert r.smembers(KEYS.workers) == {b"w1"}
        assert r.zrange(KEYS.queue, 0, -1, withscores=True) == [(b"a pickled request",
                                                                  RECOVERED_SCORE)]
        assert not r.exists(KEYS.inflight("gone"))


def test_a_worker_that_read_the_sites_before_the_seed_follows_the_seeds_links(
        tmp_path: Path) -> None:
    """Workers wait for work before the seed is pushed, so a worker's list of sites can be older
    than the seed it pops: the seed's page must still have its links followed (they would be
    lost for good: the page is done), and a seed of a new site must not be dropped as offsite."""
    page = (SAMPLE_SITE / "index.html").read_bytes()
    with redis_server(tmp_path / "redis") as url:
        r = redis.Redis.from_url(url)
        r.sadd(KEYS.sites, "old.example")
        crawler = get_crawler(ClusterSpider, {"REDIS_URL": url, "HEADCHECK_DEPTH": 3,
                                              "HEADCHECK_CLUSTER_PREFIX": KEYS.prefix})
        spider = ClusterSpider.from_crawler(crawler)
        assert spider.allowed_domains == ["old.example"]  # read now, kept for seconds
        r.sadd(KEYS.sites, "sample.headcheck.test")  # the seed is pushed
        response = HtmlResponse(f"{SAMPLE_HOST}/", body=page, encoding="utf-8",
                                request=Request(f"{SAMPLE_HOST}/"))
        links = [o.url for o in spider.parse(response) if isinstance(o, Request)]
        assert f"{SAMPLE_HOST}/team/" in links, links
        assert all(u.startswith(f"{SAMPLE_HOST}/") for u in links)

        r.sadd(KEYS.sites, "new.example")  # another seed, pushed while the worker runs
        offsite = ClusterOffsiteMiddleware.from_crawler(crawler)
        crawler.spider = spider
        offsite.spider_opened(spider)
        offsite.process_request(Request("http://new.example/team/"))  # not dropped
        with pytest.raises(IgnoreRequest):
            offsite.process_request(Request("http://elsewhere.example/"))
