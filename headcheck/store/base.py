"""The connection every part of the store shares, and the small value types it hands out."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from .migrations import migrate
from .transaction import write_transaction

MAX_VARS = 900  # ids per IN (...) list, under SQLite's smallest variable limit


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hex_to_int64(h: str) -> int:
    """A 64-bit hash as SQLite's signed integer (so the index loads without parsing text)."""
    return int.from_bytes(bytes.fromhex(h), "big", signed=True)


def in_chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), MAX_VARS):
        yield ids[i:i + MAX_VARS]


def marks(values: list) -> str:
    """``?, ?, ...`` for an ``IN (...)`` list of ``values``."""
    return ",".join("?" * len(values))


@dataclass(frozen=True)
class AddResult:
    photo_id: int
    new_photo: bool
    new_sighting: bool
    # A stored photo analysed again: by another version of the analysis or of a detector.
    reanalysed: bool = False


@dataclass(frozen=True)
class Sighting:
    page_url: str
    image_url: str = ""
    profile_name: str | None = None
    source: str = "file"
    seen_at: str | None = None


WAL_WAIT_S = 30.0  # as long as busy_timeout


def enable_wal(db: sqlite_utils.Database, wait_s: float = WAL_WAIT_S) -> None:
    """Switch the store to WAL. The switch needs the file to itself, and SQLite answers
    "database is locked" at once, without the busy timeout, to a second process opening a new
    store while the first switches or migrates it (two cron jobs, two `index` runs): wait and
    try again until the other is done, as busy_timeout does for writes."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class StoreBase:
    """Opens (and migrates) the database; the store's parts add their statements to it."""

    def __init__(self, path: str | Path | None = None, db: sqlite_utils.Database | None = None):
        if db is None:
            if path is None:
                db = sqlite_utils.Database(memory=True)
            else:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                db = sqlite_utils.Database(path)
        self.db = db
        self.db.conn.execute("PRAGMA busy_timeout = 30000")
        if path is not None:
            enable_wal(self.db)
        migrate(self.db)

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> AbstractContextManager[None]:
        """One unit of work (``BEGIN IMMEDIATE``); a nested one joins the outer."""
        return write_transaction(self.db)
