"""``headcheck crawl``: the click command the core CLI loads lazily (the core never imports Scrapy).

Exit status: 0 the crawl finished (bad pages and images are counted in the summary, not
failures); 1 the crawl failed (it could not start, or no page could be read, or a component
stopped it); 2 usage error; 130 interrupted (run the same command to resume with --jobdir).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from .runner import CrawlResult, crawl_settings, run_crawl, write_stats

LABELS = ("synthetic", "composited", "reused")


def read_seeds(seeds: tuple[str, ...], seeds_file: str | None) -> list[str]:
    urls = list(seeds)
    if seeds_file:
        lines = Path(seeds_file).read_text(encoding="utf-8").splitlines()
        urls += [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        raise click.UsageError(f"seeds must be http(s) URLs: {', '.join(bad[:3])}")
    return list(dict.fromkeys(urls))


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.UsageError(f"-s expects NAME=VALUE, got {pair!r}")
        try:
            out[name] = json.loads(value)  # numbers, booleans, dicts (ITEM_PIPELINES...)
        except ValueError:
            out[name] = value
    return out


def check_networks(values: tuple[str, ...]) -> list[str]:
    for v in values:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise click.UsageError(f"--allow-network expects a CIDR like 127.0.0.1/32, "
                                   f"not {v!r}") from None
    return list(values)


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def make_folders(*folders: str | Path | None) -> None:
    """Fail before the crawl starts, with a plain message, when a folder cannot be made."""
    for folder in filter(None, folders):
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.ClickException(f"cannot use {folder}: {exc.strerror or exc}") from None


def summary(result: CrawlResult, db: str) -> str:
    c = result.count
    errors = [_n(n, what) for n, what in (
        (c("errors/image_download") + c("errors/image_invalid"), "image"),
        (c("errors/page"), "page")) if n]
    flagged = [f"{c(f'flagged/{k}')} {k}" for k in LABELS if c(f"flagged/{k}")]
    robots = int(result.stats.get("robotstxt/forbidden", 0))
    resumed = (f" (resuming {_n(c('resumed/pages'), 'unfinished page')})"
               if c("resumed/pages") else "")
    return (
        f"crawled {_n(c('pages'), 'page')}, {_n(c('profiles'), 'profile')}{resumed} into {db}: "
        f"{c('photos_new')} new photos, {c('photos_known')} known"
        + (" (already stored, or met again in this crawl)" if c("photos_known") else "")
        + f", {c('sightings_new')} new "
        f"sightings; errors: {', '.join(errors) or 'none'}"
        + (f"; {robots} disallowed by robots.txt" if robots else "")
        + f"; flagged among the {_n(c('photos_seen'), 'photo')} seen: "
        + (", ".join(flagged) or "none"))


def not_checked(result: CrawlResult) -> list[str]:
    """A line for each detector that could not run on this machine (its model is missing, or
    computes other numbers than it was trained on): those photos lack its signals."""
    prefix = "headcheck/not_checked/"
    return [f"note: {_n(int(n), 'photo')} not checked by the {key[len(prefix):]} detector: it "
            "cannot run on this machine (see the log)"
            for key, n in sorted(result.stats.items()) if key.startswith(prefix)]


def exit_status(result: CrawlResult) -> tuple[int, str | None]:
    if not result.started:
        return 1, "the crawl could not start (see the log above)"
    if result.reason == "shutdown":
        return 130, "interrupted: run the same command again to resume (needs --jobdir)"
    if result.reason != "finished":
        return 1, f"the crawl stopped: {result.reason}"
    if not result.count("pages") and not result.count("resumed/pages"):
        return 1, "no page could be read (see the log above)"
    return 0, None


@click.command()
@click.argument("seeds", nargs=-1)
@click.option("--db", type=click.Path(dir_okay=False),
              help="SQLite store (required, except for a cluster worker: see --redis).")
@click.option("--jobdir", type=click.Path(file_okay=False),
              help="Job folder: an interrupted crawl (Ctrl-C, killed) resumes when the same "
                   "command runs again; a finished one starts over.")
@click.option("--max-pages", type=click.IntRange(min=1),
              help="Documents the job may fetch (pages, sitemaps, actors; not images).")
@click.option("--depth", type=click.IntRange(min=0),
              help="Link hops from a seed (default 3; sitemap entries are one hop).")
@click.option("--seeds-file", type=click.Path(exists=True, dir_okay=False),
              help="More seeds, one URL a line ('#' comments).")
@click.option("--contact-url", envvar="HEADCHECK_CONTACT_URL",
              help="Put in the user agent so site owners can reach you "
                   "(or HEADCHECK_CONTACT_URL).")
@click.option("--files-dir", type=click.Path(file_okay=False),
              help="Where original images are kept (default: DB.files next to the store).")
@click.option("--image-max-age", type=click.IntRange(min=0),
              help="Days a stored image is reused without asking the site (default 7); older "
                   "ones are revalidated, and downloaded again only if changed.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Image analysis processes (default: one per CPU).")
@click.option("--allow-network", "allow_networks", multiple=True, metavar="CIDR",
              help="Let the crawl fetch from this non-public network (e.g. 127.0.0.1/32 for a "
                   "test site); refused by default, so a page cannot point the crawler at a "
                   "local service. Repeatable.")
@click.option("--sample", is_flag=True,
              help="Crawl the bundled sample site (served on 127.0.0.1), then list what is "
                   "flagged and why.")
@click.option("--stats", "stats_file", type=click.Path(dir_okay=False),
              help="Write the crawl's counters as JSON.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
              help="Log detail on stderr (default INFO; WARNING with --sample).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Any Scrapy or crawler setting (see crawler/settings.py).")
@click.option("--redis", "redis_url", metavar="URL",
              help="Crawl as a cluster worker on this Redis (redis://HOST:6379/0): SEEDS go to "
                   "the shared queue, results to `headcheck crawl-writer` (docs/cluster.md).")
@click.option("--seed-only", is_flag=True, help="With --redis: queue SEEDS and exit.")
@click.option("--fresh", is_flag=True,
              help="With --redis: start a new job (clear the queue, fingerprints, counters).")
@click.option("--idle-exit", type=click.FloatRange(min=0), default=10, show_default=True,
              help="With --redis: stop after this many seconds with the whole job done "
                   "(0: keep waiting for new seeds).")
@click.option("--prefix", default="headcheck", show_default=True,
              help="With --redis: prefix of the job's Redis keys.")
def crawl(seeds: tuple[str, ...], db: str, jobdir: str | None,
          max_pages: int | None, depth: int | None, seeds_file: str | None,
          contact_url: str | None, files_dir: str | None, image_max_age: int | None,
          workers: int | None, allow_networks: tuple[str, ...], sample: bool,
          stats_file: str | None, log_level: str | None, overrides: tuple[str, ...],
          redis_url: str | None, seed_only: bool, fresh: bool, idle_exit: float,
          prefix: str) -> None:
    """Crawl public profile pages from SEEDS and record every headshot in the store.

    Follows on-site links (listings, pagination, sitemaps), obeys robots.txt, and analyses each
    profile photo found (JSON-LD Person, OpenGraph profile, h-card, ActivityPub actor, or a
    plain avatar image). Ends with a summary line.
    """
    from headcheck.cli import open_store_path

    urls = read_seeds(seeds, seeds_file)
    extra = parse_overrides(overrides)
    if allow_networks:
        extra["HEADCHECK_ALLOW_NETWORKS"] = [*check_networks(allow_networks),
                                             *extra.get("HEADCHECK_ALLOW_NETWORKS", [])]
    if redis_url:
        if sample or jobdir:
            raise click.UsageError("--redis cannot be used with --sample or --jobdir")
        from .cluster.command import cluster_crawl

        cluster_crawl(redis_url, urls, seed_only=seed_only, fresh=fresh, idle_exit=idle_exit,
                      prefix=prefix, files_dir=files_dir, depth=depth, max_pages=max_pages,
                      contact_url=contact_url, image_max_age=image_max_age, workers=workers,
                      log_level=log_level, stats_file=stats_file, overrides=extra)
    if seed_only or fresh:
        raise click.UsageError("--seed-only and --fresh need --redis")
    if not db:
        raise click.UsageError("Missing option '--db'.")
    if sample and urls:
        raise click.UsageError("--sample crawls the bundled site: give no SEEDS")
    if not sample and not urls:
        raise click.UsageError("nothing to crawl: give SEEDS, --seeds-file or --sample")
    if sample:
        from .sample import SAMPLE_SETTINGS

        extra = {**SAMPLE_SETTINGS, **extra,
                 "HEADCHECK_ALLOW_NETWORKS": [*SAMPLE_SETTINGS["HEADCHECK_ALLOW_NETWORKS"],
                                              *extra.get("HEADCHECK_ALLOW_NETWORKS", [])]}
        log_level = log_level or "WARNING"
    elif not contact_url:
        click.echo("note: no --contact-url; site owners cannot tell who is crawling them",
                   err=True)
    settings = crawl_settings(db, files_dir=files_dir, depth=depth, max_pages=max_pages,
                              contact_url=contact_url, image_max_age=image_max_age,
                              workers=workers, log_level=log_level, overrides=extra)
    open_store_path(db, create=True)
    make_folders(Path(db).resolve().parent, Path(settings["FILES_STORE"]), jobdir)
    if sample:
        from .sample import serve_sample

        click.echo("note: the sample site has deliberately broken images (404s) and a page "
                   "robots.txt forbids, to show how a crawl counts them: the warnings below "
                   "are expected.", err=True)
        # Each failed image is already one "Dropped: ... could not be downloaded" line of ours;
        # Scrapy's files pipeline would add two more.
        logging.getLogger("scrapy.pipelines.files").setLevel(logging.ERROR)
        with serve_sample() as site:
            result = run_crawl([site.url("/")], settings, jobdir)
    else:
        result = run_crawl(urls, settings, jobdir)
    if stats_file:
        write_stats(result, stats_file)
    status, message = exit_status(result)
    if result.started:
        click.echo(summary(result, db))
        for note in not_checked(result):
            click.echo(note, err=True)
    if message:
        click.echo(f"crawl: {message}", err=True)
    if sample and result.started:
        from headcheck.findings import findings, format_findings
        from headcheck.store import Store

        store = Store(db)
        try:
            click.echo()
            click.echo(format_findings(*findings(store)))
        finally:
            store.close()
    sys.exit(status)
