"""The crawl's analysis processes: ``headcheck.workers`` (shared with the server)."""

from headcheck.workers import AnalysisPool, analyze, default_workers, make_pool

__all__ = ["AnalysisPool", "analyze", "default_workers", "make_pool"]
