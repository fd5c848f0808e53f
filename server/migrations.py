"""The server's own tables, kept apart from the core schema (``headcheck.store.migrations``);
their statements are the store's (``headcheck.store.feedback``), like every other.

Steps are named and recorded in ``server_migrations``, so they run once per database and the core's
``user_version`` numbering stays the core's.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from headcheck.store import now_iso
from headcheck.store.feedback import create_feedback_table
from headcheck.store.transaction import write_transaction

STEPS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("feedback_v1", create_feedback_table),
]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply the steps this database has not had; returns their names. Each step commits with
    its record or not at all, and what is done is read under the write lock (two servers
    starting at once apply each step once)."""
    applied = []
    for name, step in STEPS:
        with write_transaction(db):
            db.execute("CREATE TABLE IF NOT EXISTS server_migrations "
                       "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            if db.execute("SELECT 1 FROM server_migrations WHERE name = ?",
                          [name]).fetchone():
                continue
            step(db)
            db.execute("INSERT INTO server_migrations VALUES (?, ?)", [name, now_iso()])
        applied.append(name)
    return applied
