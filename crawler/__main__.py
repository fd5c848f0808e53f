"""``python -m crawler ...`` is ``headcheck crawl ...``."""

from .command import crawl

crawl(prog_name="python -m crawler")
