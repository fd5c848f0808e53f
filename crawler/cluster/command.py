"""The cluster's commands: ``crawl --redis`` (a worker, or ``--seed-only``), ``crawl-writer`` and
``crawl-status``. Exit status as ``headcheck crawl``: 0 done, 1 failed, 2 usage, 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click
import redis

from .keys import PREFIX, WRITERS, Keys, connect


def _connect(url: str) -> redis.Redis:
    try:
        return connect(url)
    except (redis.RedisError, ValueError) as exc:
        raise click.ClickException(f"cannot reach Redis at {url}: {exc}") from None


def default_files_dir() -> Path:
    return Path.home() / ".cache" / "headcheck" / "worker-files"


def cluster_crawl(url: str, seeds: list[str], *, seed_only: bool, fresh: bool,
                  idle_exit: float, prefix: str, files_dir: str | None, depth: int | None,
                  max_pages: int | None, contact_url: str | None, image_max_age: int | None,
                  workers: int | None, log_level: str | None, stats_file: str | None,
                  overrides: dict) -> None:
    """``headcheck crawl --redis URL``: push seeds, and (unless ``--seed-only``) be a worker."""
    from .spider import push_seeds

    server = _connect(url)
    keys = Keys(prefix)
    if fresh:
        server.delete(*keys.job())
        click.echo(f"cleared the job in {url} (queue, fingerprints, sites, counters)", err=True)
    if seeds:
        added = push_seeds(server, keys, seeds, max_pages or 0)
        click.echo(f"queued {added} new requests from {len(seeds)} seeds "
                   f"({server.zcard(keys.queue)} in the queue)")
    if seed_only:
        sys.exit(0)

    from ..command import _n, make_folders
    from ..runner import crawl_settings, write_stats
    from .worker import cluster_settings, run_worker

    folder = Path(files_dir) if files_dir else default_files_dir()
    settings = crawl_settings("", files_dir=folder, depth=depth, max_pages=max_pages,
                              contact_url=contact_url, image_max_age=image_max_age,
                              workers=workers, log_level=log_level, overrides=overrides)
    settings = cluster_settings(settings, url, prefix=prefix, idle_exit=idle_exit)
    make_folders(folder)
    result = run_worker(settings)
    if stats_file:
        write_stats(result, stats_file)
    c = result.count
    errors = c("errors/page") + c("errors/image_download") + c("errors/image_invalid")
    if result.started:
        click.echo(f"worker {settings['HEADCHECK_CLUSTER_WORKER']}: crawled "
                   f"{_n(c('pages'), 'page')}, sent {_n(c('profiles'), 'result')} to the "
                   f"writer; {_n(errors, 'error')}")
    if not result.started:
        click.echo("crawl: the worker could not start (see the log above)", err=True)
        sys.exit(1)
    if result.reason == "shutdown":
        click.echo("crawl: interrupted; unfinished requests went back to the queue", err=True)
        sys.exit(130)
    if result.reason != "finished":
        click.echo(f"crawl: the worker stopped: {result.reason}", err=True)
        sys.exit(1)
    sys.exit(0)


@click.command("crawl-writer")
@click.option("--redis", "url", required=True, metavar="URL",
              help="The cluster's Redis, redis://HOST:6379/0.")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite store.")
@click.option("--exit-when-idle", is_flag=True,
              help="Stop once the crawl is over: no worker left, nothing queued, every result "
                   "stored (default: wait for results until stopped).")
@click.option("--batch", type=click.IntRange(min=1), default=50, show_default=True,
              help="Results read (and acknowledged) at a time.")
@click.option("--consumer", help="Name in the stream's consumer group (default writer@HOST).")
@click.option("--prefix", default=PREFIX, show_default=True, help="Prefix of the job's keys.")
def crawl_writer(url: str, db: str, exit_when_idle: bool, batch: int, consumer: str | None,
                 prefix: str) -> None:
    """Store the results the cluster's workers send: the one process writing the store.

    Each result is matched against the photos stored before it and committed, then acknowledged
    in Redis; a writer killed mid-batch is restarted with the same command and stores the rest.
    """
    from .writer import run_writer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = _connect(url)
    Path(db).resolve().parent.mkdir(parents=True, exist_ok=True)
    stats = run_writer(server, db, Keys(prefix), exit_when_idle=exit_when_idle,
                       consumer=consumer, batch=batch)
    click.echo(f"stored {stats.stored} results into {db}: {stats.photos_new} new photos, "
               f"{stats.photos_known} known; {stats.repeated} already stored (redelivered); "
               f"{stats.bad} set aside (unreadable or failed, in {prefix}:results:bad)")


def status(server: redis.Redis, keys: Keys) -> dict:
    workers = sorted(w.decode() for w in server.smembers(keys.workers))
    alive = [w for w in workers if server.exists(keys.heartbeat(w))]
    try:
        groups = server.xinfo_groups(keys.results)
    except redis.ResponseError:
        groups = []
    group = next((g for g in groups if g["name"] in (WRITERS, WRITERS.encode())), {})
    counters = {k.decode(): int(v) for k, v in server.hgetall(keys.stats).items()}
    return {
        "queued": server.zcard(keys.queue),
        "in_flight": sum(server.hlen(keys.inflight(w)) for w in workers),
        "workers": len(alive), "workers_gone": len(workers) - len(alive),
        "fingerprints": server.scard(keys.dupefilter),
        "results_unstored": server.xlen(keys.results),  # stored ones are deleted
        "results_in_writer": int(group.get("pending") or 0),  # read, not yet committed
        "redis_memory": int(server.info("memory")["used_memory"]),
        **counters,
    }


@click.command("crawl-status")
@click.option("--redis", "url", required=True, metavar="URL",
              help="The cluster's Redis, redis://HOST:6379/0.")
@click.option("--prefix", default=PREFIX, show_default=True, help="Prefix of the job's keys.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--watch", type=click.FloatRange(min=0.5), metavar="SECONDS",
              help="Print a line every SECONDS, with pages/s since the last line.")
def crawl_status(url: str, prefix: str, as_json: bool, watch: float | None) -> None:
    """How the cluster's crawl is going: queue, workers, results waiting, counters."""
    server = _connect(url)
    keys = Keys(prefix)
    last: tuple[float, int] | None = None
    while True:
        s = status(server, keys)
        now = time.monotonic()
        if last and now > last[0]:
            s["pages_per_s"] = round((s.get("pages", 0) - last[1]) / (now - last[0]), 1)
        last = (now, s.get("pages", 0))
        if as_json:
            click.echo(json.dumps(s, sort_keys=True))
        else:
            click.echo(" ".join(f"{k}={v}" for k, v in s.items()))
        if not watch:
            return
        time.sleep(watch)
