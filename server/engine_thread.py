"""The one thread that owns the ``Headcheck``: models, its SQLite connection and the index;
and the processes that analyse uploads.

Python's sqlite3 binds a connection to the thread that opened it, and analysis holds the GIL
(two analysing threads ran no faster than one, measured), so uploads are analysed in worker
processes (``headcheck.workers``, one per CPU by default) and one dedicated thread runs the rest:
candidates, verification, verdicts and index refresh. With no workers that thread analyses too.
The event loop only waits. The queue is bounded: past ``max_pending`` lookups in progress the
caller is told to come back later instead of piling up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from headcheck.analyze import Analysis
from headcheck.engine import Headcheck
from headcheck.workers import AnalysisPool

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
    workers: int = 0  # analysis processes; 0: the engine thread analyses
    _pool: ThreadPoolExecutor = field(init=False)
    _analysis: AnalysisPool | None = field(init=False, default=None)
    _hc: Headcheck | None = field(init=False, default=None)
    _pending: int = field(init=False, default=0)  # touched on the event loop only
    status: IndexStatus | None = field(init=False, default=None)
    # Detectors that cannot run on this machine, and why (their signals are missing).
    detectors_off: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headcheck-engine")

    async def start(self) -> None:
        """Load the models and build the index from the store, on the engine thread."""
        def build() -> IndexStatus:
            t = time.perf_counter()
            self._hc = Headcheck(self.db)
            if not self.workers:
                self._hc.analyzer.warm()  # the first lookup should not pay for loading models
            return IndexStatus.of(self._hc, time.time(), time.perf_counter() - t)

        if self.workers:  # they load their models while the index is built
            self._analysis = AnalysisPool(self.workers, thumbnails=False, warm=True)
        self.status = await asyncio.wrap_future(self._pool.submit(build))
        if self._analysis is not None:
            self.detectors_off = await self._analysis.detectors_off()
        else:
            assert self._hc is not None
            self.detectors_off = self._hc.analyzer.off()

    @property
    def index_version(self) -> int:
        """Grows whenever the index gains or drops photos (a verdict computed before may be
        stale)."""
        return self._hc.index.version if self._hc else 0

    async def run(self, fn: Callable[[Headcheck], T], *, queue: bool = True) -> T:
        """Run ``fn(headcheck)`` on the engine thread; ``queue=False`` skips the bound (for
        housekeeping, which must not be starved by a burst of lookups)."""
        if self._hc is None:
            raise RuntimeError("engine not started")
        if not queue:
            return await asyncio.wrap_future(self._pool.submit(fn, self._hc))
        self._admit()
        try:
            return await asyncio.wrap_future(self._pool.submit(fn, self._hc))
        finally:
            self._pending -= 1

    async def lookup(self, data: bytes, fn: Callable[[Headcheck, Analysis], T]) -> T:
        """Analyse ``data`` (``lookup=True``) in a worker process, then run ``fn(headcheck,
        analysis)`` on the engine thread; without workers both on the engine thread. Bounded as
        ``run``; raises ``ImageError`` for bad input."""
        hc = self._hc
        if hc is None:
            raise RuntimeError("engine not started")
        self._admit()
        try:
            if self._analysis is None:
                return await asyncio.wrap_future(self._pool.submit(
                    lambda: fn(hc, hc.analyzer.analyze_bytes(data, lookup=True))))
            analysis = await self._analysis.analyze(data)
            return await asyncio.wrap_future(self._pool.submit(fn, hc, analysis))
        finally:
            self._pending -= 1

    def _admit(self) -> None:
        if self._pending >= self.max_pending:
            raise Busy(f"{self._pending} lookups are waiting for analysis")
        self._pending += 1

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
        if self._analysis is not None:
            await asyncio.to_thread(self._analysis.shutdown)
            self._analysis = None
        if self._hc is not None:
            await self.run(lambda hc: hc.close(), queue=False)
            self._hc = None
        self._pool.shutdown(wait=True)
