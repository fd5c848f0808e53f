"""The one thread that owns the ``Headcheck``: models, its SQLite connection and the index.

Python's sqlite3 binds a connection to the thread that opened it, and analysis holds the GIL
(two analysing threads ran no faster than one, measured), so one dedicated thread runs every
analysis and index refresh; the event loop only waits for it. The queue is bounded: past
``max_pending`` waiting lookups the caller is told to come back later instead of piling up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from headcheck.engine import Headcheck

T = TypeVar("T")


class Busy(Exception):
    """Too many lookups are already waiting for analysis."""


@dataclass(frozen=True)
class IndexStatus:
    photos: int
    entries: dict[str, int]
    nbytes: int
    last_photo_id: int
    checked_at: float  # when the index was last brought level with the store (epoch seconds)
    changed_at: float  # when it last gained photos
    built_seconds: float = 0.0

    @staticmethod
    def of(hc: Headcheck, changed_at: float, built_seconds: float = 0.0) -> IndexStatus:
        idx = hc.index
        return IndexStatus(len(idx), {k: len(v) for k, v in idx.indexes.items()}, idx.nbytes(),
                           idx.last_photo_id, time.time(), changed_at, built_seconds)


@dataclass
class EngineThread:
    db: Path
    max_pending: int
    _pool: ThreadPoolExecutor = field(init=False)
    _hc: Headcheck | None = field(init=False, default=None)
    _pending: int = field(init=False, default=0)  # touched on the event loop only
    status: IndexStatus | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headcheck-engine")

    async def start(self) -> None:
        """Load the models and build the index from the store, on the engine thread."""
        def build() -> IndexStatus:
            t = time.perf_counter()
            self._hc = Headcheck(self.db)
            self._hc.analyzer.warm()  # the first lookup should not pay for loading models
            return IndexStatus.of(self._hc, time.time(), time.perf_counter() - t)

        self.status = await asyncio.wrap_future(self._pool.submit(build))

    @property
    def index_version(self) -> int:
        """Grows whenever the index gains photos (a verdict computed before may be stale)."""
        return self._hc.index.last_photo_id if self._hc else 0

    async def run(self, fn: Callable[[Headcheck], T], *, queue: bool = True) -> T:
        """Run ``fn(headcheck)`` on the engine thread; ``queue=False`` skips the bound (for
        housekeeping, which must not be starved by a burst of lookups)."""
        if self._hc is None:
            raise RuntimeError("engine not started")
        if not queue:
            return await asyncio.wrap_future(self._pool.submit(fn, self._hc))
        if self._pending >= self.max_pending:
            raise Busy(f"{self._pending} lookups are waiting for analysis")
        self._pending += 1
        try:
            return await asyncio.wrap_future(self._pool.submit(fn, self._hc))
        finally:
            self._pending -= 1

    async def refresh(self) -> int:
        """Index the photos another process added to the store; returns how many."""
        def step(hc: Headcheck) -> int:
            added = hc.refresh()
            old = self.status
            assert old is not None  # set by start()
            grew = old.last_photo_id != hc.index.last_photo_id
            self.status = IndexStatus.of(hc, time.time() if grew else old.changed_at,
                                         old.built_seconds)
            return added

        return await self.run(step, queue=False)

    @property
    def pending(self) -> int:
        return self._pending

    async def close(self) -> None:
        if self._hc is not None:
            await self.run(lambda hc: hc.close(), queue=False)
            self._hc = None
        self._pool.shutdown(wait=True)
