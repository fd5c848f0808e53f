"""Worker processes for image analysis (CPU-bound: tens of ms a photo, more with the diffusion
detector), so a crawl or a server analyses on every core, off its event loop.

Each worker loads the models once (``Analyzer``) and returns an ``Analysis``: no pixels, small to
pickle. Workers are spawned, not forked: forking a process that runs a reactor and threads copies
their locks in whatever state they are in. This module imports no adapter, so workers start fast.
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from PIL import Image

from . import cores
from .analyze import Analysis, Analyzer
from .errors import ImageError

log = logging.getLogger(__name__)
_analyzer: Analyzer | None = None


def _exit_with_parent(parent_pid: int) -> None:
    # A killed crawl cannot shut its pool down; without this its workers would wait forever.
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)


def _start_worker(parent_pid: int, thumbnails: bool = True, warm: bool = False,
                  busy: Any = None) -> None:
    global _analyzer
    cores.share(busy)
    # Ctrl-C reaches the whole process group: the crawl stops gracefully and still needs its
    # workers to finish the photos in flight.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    _analyzer = Analyzer(thumbnails=thumbnails)
    if warm:  # detectors' models (the diffusion encoder: seconds), before the first photo
        _analyzer.warm()
    # The first analysis pays one-off setup (~0.2 s); pay it before the first photo arrives.
    blank = io.BytesIO()
    Image.new("RGB", (256, 256), (128, 110, 100)).save(blank, format="JPEG")
    _analyzer.analyze_bytes(blank.getvalue(), lookup=True)


def analyze(data: bytes) -> Analysis:
    """Runs in a worker; raises ``ImageError`` (pickled back to the caller) for a bad image."""
    if _analyzer is None:
        raise RuntimeError("analyze() runs in a worker of make_pool()")
    with cores.busy():
        return _analyzer.analyze_bytes(data, lookup=True)


def detectors_off() -> dict[str, str]:
    """Runs in a worker: the detectors that cannot run on this machine, and why."""
    if _analyzer is None:
        raise RuntimeError("detectors_off() runs in a worker of make_pool()")
    return _analyzer.off()


def make_pool(workers: int, thumbnails: bool = True, warm: bool = False) -> ProcessPoolExecutor:
    """A pool whose workers all start now, so model loading overlaps the first downloads."""
    ctx = multiprocessing.get_context("spawn")
    busy = ctx.Value("i", 0)  # workers busy on a photo (headcheck.cores)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                               initializer=_start_worker,
                               initargs=(os.getpid(), thumbnails, warm, busy))
    for _ in range(workers):
        pool.submit(os.getpid)
    return pool


def default_workers() -> int:
    return max(1, cores.cpus())


class AnalysisPool:
    """``make_pool`` for asyncio callers, replacing workers that die.

    A worker that dies (a native crash on some input) fails every photo in flight: new workers
    are started and each photo is tried once more; the one that crashes them twice is bad."""

    def __init__(self, workers: int, thumbnails: bool = True, warm: bool = False) -> None:
        self.workers, self.thumbnails, self.warm = workers, thumbnails, warm
        self.pool = make_pool(workers, thumbnails, warm)

    async def analyze(self, data: bytes) -> Analysis:
        loop = asyncio.get_running_loop()
        for _ in range(2):  # a crash, new workers, one more try
            pool = self.pool
            try:
                return await loop.run_in_executor(pool, analyze, data)
            except BrokenProcessPool:
                if self.pool is pool:
                    log.error("an analysis worker died; starting new workers")
                    self.pool = make_pool(self.workers, self.thumbnails, self.warm)
                    pool.shutdown(wait=False)
        raise ImageError("image analysis crashed on this image")

    async def detectors_off(self) -> dict[str, str]:
        """What the workers' analysers found they cannot run (all workers share the machine)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, detectors_off)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
