"""Derived tables the report writes into the store, so Datasette (and plain SQL) can filter and
count by label, site and month without re-running the judge:

- ``verdicts``: one row per photo with its label, confidence and leading reason;
- ``photo_sites``: one row per photo and site it was seen on, with the month first seen there.

They are a snapshot (``computed_at``): each report replaces both in one transaction, so a reader
sees the old tables or the new ones, never half of each.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import __version__
from ..store import Store, now_iso
from .dataset import PhotoRow
from .stats import month_of

_SCHEMA = (
    """CREATE TABLE verdicts (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id),
        sha256 TEXT NOT NULL,
        label TEXT NOT NULL,
        confidence REAL NOT NULL,
        top_signal TEXT,
        detail TEXT,
        reasons INTEGER NOT NULL,
        cluster_id INTEGER,
        same_photo_group INTEGER,
        pages INTEGER NOT NULL,
        first_seen TEXT,
        month TEXT NOT NULL,
        computed_at TEXT NOT NULL,
        software_version TEXT NOT NULL)""",
    "CREATE INDEX idx_verdicts_label ON verdicts (label)",
    "CREATE INDEX idx_verdicts_month ON verdicts (month)",
    "CREATE INDEX idx_verdicts_same_photo_group ON verdicts (same_photo_group)",
    """CREATE TABLE photo_sites (
        photo_id INTEGER NOT NULL REFERENCES photos(id),
        site TEXT NOT NULL,
        first_seen TEXT,
        month TEXT NOT NULL,
        PRIMARY KEY (photo_id, site))""",
    "CREATE INDEX idx_photo_sites_site_month ON photo_sites (site, month)",
)


def write_tables(store: Store, photos: Iterable[PhotoRow]) -> int:
    """Replace ``verdicts`` and ``photo_sites``; returns the number of photos written."""
    conn = store.db.conn
    stamp = now_iso()
    photos = list(photos)
    conn.execute("BEGIN IMMEDIATE")  # waits (busy_timeout) while a crawl writes
    try:
        conn.execute("DROP TABLE IF EXISTS verdicts")
        conn.execute("DROP TABLE IF EXISTS photo_sites")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((p.photo_id, p.sha256, p.label, p.confidence, p.top_signal, p.detail, p.reasons,
              p.cluster_id, p.same_photo_group, p.pages, p.first_seen, p.month, stamp,
              __version__) for p in photos))
        conn.executemany(
            "INSERT INTO photo_sites VALUES (?, ?, ?, ?)",
            ((p.photo_id, site, seen, month_of(seen))
             for p in photos for site, seen in p.sites.items()))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return len(photos)
