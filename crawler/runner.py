"""Run one crawl in this process: settings from options, the job folder, the result.

A job folder holds the journal (what the job found and finished) and Scrapy's JOBDIR (its disk
queue, so a large frontier is not held in memory). Scrapy's copy is consistent only after a clean
stop, so it is rebuilt from the journal at every start; the journal is what resumes a job.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from .spider import HeadshotSpider

JOURNAL = "journal.sqlite"
SCRAPY_JOBDIR = "scrapy"


@dataclass
class CrawlResult:
    stats: dict[str, Any]
    started: bool

    @property
    def reason(self) -> str | None:
        return self.stats.get("finish_reason")

    def count(self, key: str) -> int:
        return int(self.stats.get(f"headcheck/{key}", 0))

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started, "reason": self.reason,
                "stats": {k: v if isinstance(v, int | float | str) else str(v)
                          for k, v in sorted(self.stats.items())}}


def user_agent(version: str, contact_url: str | None) -> str:
    contact = f"+{contact_url}" if contact_url else "profile photo research crawler"
    return f"headcheck/{version} ({contact})"


def crawl_settings(db: str | Path, *, files_dir: str | Path | None = None,
                   depth: int | None = None, max_pages: int | None = None,
                   contact_url: str | None = None, image_max_age: int | None = None,
                   workers: int | None = None, log_level: str | None = None,
                   overrides: dict[str, Any] | None = None) -> Settings:
    """The defaults of ``crawler.settings`` with the command's options on top."""
    from headcheck import __version__

    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    options = {
        "HEADCHECK_DB": str(db),
        # Kept next to the store by default: re-crawls find the images they already have.
        "FILES_STORE": str(Path(files_dir) if files_dir else Path(f"{db}.files")),
        "HEADCHECK_DEPTH": depth, "HEADCHECK_MAX_PAGES": max_pages,
        "FILES_EXPIRES": image_max_age, "HEADCHECK_ANALYSIS_WORKERS": workers,
        "LOG_LEVEL": log_level,
        "USER_AGENT": user_agent(__version__, contact_url) if contact_url else None,
    }
    s.setdict({k: v for k, v in options.items() if v is not None}, priority="cmdline")
    s.setdict(overrides or {}, priority="cmdline")
    return s


@contextmanager
def job_folder(settings: Settings, jobdir: str | Path | None) -> Iterator[Settings]:
    """Point the settings at the job's journal (a temporary one without a job folder)."""
    with tempfile.TemporaryDirectory(prefix="headcheck-job-") as tmp:
        if jobdir:
            folder = Path(jobdir)
            shutil.rmtree(folder / SCRAPY_JOBDIR, ignore_errors=True)
            settings.set("JOBDIR", str(folder / SCRAPY_JOBDIR), priority="cmdline")
        else:
            folder = Path(tmp)
        settings.set("HEADCHECK_JOURNAL", str(folder / JOURNAL), priority="cmdline")
        yield settings


def run_crawl(seeds: list[str], settings: Settings, jobdir: str | Path | None = None
              ) -> CrawlResult:
    """Crawl from ``seeds`` until done or stopped (Ctrl-C once: finish what is in flight)."""
    with job_folder(settings, jobdir) as s:
        process = AsyncCrawlerProcess(s)
        crawler = process.create_crawler(HeadshotSpider)
        process.crawl(crawler, seeds=seeds)
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        return CrawlResult(stats, started=not process.bootstrap_failed and "start_time" in stats)


def write_stats(result: CrawlResult, path: str | Path) -> None:
    Path(path).write_text(json.dumps(result.to_json(), indent=1, default=str) + "\n")
