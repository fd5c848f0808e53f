"""Run one cluster worker: the single-machine crawl with the cluster's components swapped in."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from ..runner import CrawlResult
from .frontier import worker_id
from .spider import ClusterSpider

POLITE = "crawler.cluster.politeness.PoliteDownloadHandler"


def cluster_settings(settings: Settings, redis_url: str, *, prefix: str,
                     idle_exit: float) -> Settings:
    """The frontier, politeness and results in Redis; no job folder (Redis is the job)."""
    extensions = {**settings.getdict("EXTENSIONS"), "crawler.journal.CrawlJournal": None}
    spider_mw = {**settings.getdict("SPIDER_MIDDLEWARES"),
                 "crawler.journal.JournalMiddleware": None,
                 "crawler.cluster.results.PagesMiddleware": 30}
    downloader_mw = {**settings.getdict("DOWNLOADER_MIDDLEWARES"),
                     "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
                     "crawler.cluster.spider.ClusterOffsiteMiddleware": 50}
    pipelines = {**settings.getdict("ITEM_PIPELINES"),
                 "crawler.store_pipeline.StorePipeline": None,
                 "crawler.cluster.results.ResultsPipeline": 300}
    options: dict[str, Any] = {
        "REDIS_URL": redis_url,
        "HEADCHECK_CLUSTER_PREFIX": prefix,
        "HEADCHECK_CLUSTER_IDLE_EXIT": idle_exit,
        "HEADCHECK_CLUSTER_WORKER": worker_id(),
        "SCHEDULER": "crawler.cluster.frontier.ClusterScheduler",
        "DOWNLOAD_HANDLERS": {"http": POLITE, "https": POLITE},
        "EXTENSIONS": extensions, "SPIDER_MIDDLEWARES": spider_mw,
        "DOWNLOADER_MIDDLEWARES": downloader_mw, "ITEM_PIPELINES": pipelines,
    }
    settings.setdict(options, priority="cmdline")
    return settings


def run_worker(settings: Settings) -> CrawlResult:
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler(ClusterSpider)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return CrawlResult(stats, started=not process.bootstrap_failed and "start_time" in stats)
