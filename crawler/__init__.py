"""The Scrapy crawler: collects public profile headshots and records them in the headcheck store.

Entry point: ``headcheck crawl`` (``crawler.command``). This package is imported only by that
command and its worker processes; the core never imports Scrapy.
"""
