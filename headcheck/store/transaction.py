"""One unit of work, one SQLite transaction.

sqlite-utils commits each write when no transaction is open, so a photo stored as five writes could
be cut after any of them by a kill. ``write_transaction`` opens ``BEGIN IMMEDIATE`` (the write lock
up front: two writers queue on ``busy_timeout`` instead of one failing when its read snapshot is
upgraded); sqlite-utils calls inside it become savepoints, and a nested block joins the outer one.

``HEADCHECK_CRASH_AT=<n>`` kills the process (SIGKILL, nothing flushed) at the n-th commit
boundary of its life: odd n just before a COMMIT, even n just after it. The fault-injection test
(tests/core/test_store_faults.py) uses it to kill ``headcheck index`` at every boundary in turn.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

_boundaries = 0


def _boundary() -> None:
    global _boundaries
    at = os.environ.get("HEADCHECK_CRASH_AT")
    if not at:
        return
    _boundaries += 1
    if _boundaries == int(at):
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """All writes inside commit together or not at all."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        _boundary()
        conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    _boundary()
