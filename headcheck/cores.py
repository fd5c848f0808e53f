"""Whether one photo's analysis may use a second core right now.

A lone process (the CLI, the server's engine thread, the benchmarks) analyses one photo at a
time, so every core but its own is spare. The workers of an analysis pool share a counter of
those busy on a photo (``share``, ``busy``): while some are idle, a busy one may run work of the
photo beside its own thread (the diffusion detector's two encoder passes); when all are busy,
that would only take a core from another photo. The count is advisory: two workers may both see
a spare core at once and briefly share it, which costs time, never a result.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_busy: Any = None  # a multiprocessing Value('i') shared by a pool's workers, or None


def cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1


def share(counter: Any) -> None:
    """Called in each pool worker with the pool's shared counter."""
    global _busy
    _busy = counter


@contextmanager
def busy() -> Iterator[None]:
    """Counts this worker as busy on a photo for the duration."""
    if _busy is None:
        yield
        return
    with _busy.get_lock():
        _busy.value += 1
    try:
        yield
    finally:
        with _busy.get_lock():
            _busy.value -= 1


def spare_core(busy_workers: int, cpu_count: int, allowed: bool = True) -> bool:
    """Whether a core is idle for work beside this one's (pure: the decision alone)."""
    return allowed and busy_workers < cpu_count


def spare() -> bool:
    """Whether this process may run a photo's work on a second core now
    (HEADCHECK_PARALLEL_PASSES=0: never, the benchmarks' baseline)."""
    allowed = os.environ.get("HEADCHECK_PARALLEL_PASSES", "1") != "0"
    busy_workers = 1 if _busy is None else max(1, _busy.value)
    return spare_core(busy_workers, cpus(), allowed)
