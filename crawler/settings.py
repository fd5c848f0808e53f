"""Every default of the crawler, in one place (a Scrapy settings module).

``headcheck crawl`` overrides a few from its options (database, job folder, limits, contact URL);
anything else can be changed with ``-s NAME=VALUE``.
"""

from headcheck import __version__

BOT_NAME = "headcheck"

# -- politeness ----------------------------------------------------------------------------------
# The command adds the contact URL: "headcheck/0.1.0 (+https://your.org/crawler)".
USER_AGENT = f"headcheck/{__version__} (profile photo research crawler)"
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "headcheck"
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 0.5  # the least AutoThrottle will wait between requests to one site
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024  # under the analyser's own 30 MB limit
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 20
RETRY_TIMES = 2
# No sessions: public pages only. (Scrapy's cookie middleware would also fetch the public
# suffix list from the network on first use.)
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# -- what is crawled -----------------------------------------------------------------------------
# Breadth-first, so a page limit keeps the pages closest to the seeds.
DEPTH_PRIORITY = 1
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.AcceptAwareFingerprinter"
# The page depth is enforced by the spider (links only), so a profile at the last level still
# gets its ActivityPub actor fetched.
DEPTH_LIMIT = 0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.RobotsTxtMiddleware": 100,  # the same, fixed for concurrent requests
    "crawler.guard.GuardMiddleware": 760,  # SSRF rules, after the proxy middleware (750)
    "crawler.budget.PageBudgetMiddleware": 770,  # --max-pages counts every document fetch
}
# Names are resolved once, vetted, and that address is the one connected to (crawler/guard.py).
TWISTED_DNS_RESOLVER = "crawler.guard.GuardedResolver"
# Non-public networks the crawler may fetch from anyway (CIDRs; --allow-network). Empty: a page
# can never make the crawler reach a loopback or private address.
HEADCHECK_ALLOW_NETWORKS: list[str] = []
EXTENSIONS = {"crawler.journal.CrawlJournal": 0}
SPIDER_MIDDLEWARES = {"crawler.journal.JournalMiddleware": 30}
ITEM_PIPELINES = {
    "crawler.files.HeadshotFilesPipeline": 100,
    "crawler.store_pipeline.StorePipeline": 300,
}

# -- images --------------------------------------------------------------------------------------
FILES_URLS_FIELD = "file_urls"
FILES_RESULT_FIELD = "files"
FILES_EXPIRES = 7  # days a stored image is reused without asking; then it is revalidated

# -- headcheck -----------------------------------------------------------------------------------
HEADCHECK_DB = None  # the store (required)
HEADCHECK_JOURNAL = None  # the job's journal (a temporary file without --jobdir)
HEADCHECK_MAX_PAGES = 0  # documents the job may fetch (pages, sitemaps, actors); 0 = no limit
HEADCHECK_DEPTH = 3  # link hops from a seed (sitemap entries count as one hop)
HEADCHECK_ANALYSIS_WORKERS = 0  # processes analysing images; 0 = one per CPU
HEADCHECK_ANALYSIS_CACHE = 512  # analyses kept by sha256 during a crawl
HEADCHECK_THUMBNAILS = True  # keep a 128 px thumbnail per photo for reports and galleries

LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformat.HeadcheckLogFormatter"
