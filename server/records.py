"""Reads (photo details, counts) and small writes (feedback) on per-thread store connections.

These run in the request thread pool, beside the engine thread, so a photo page or the stats never
wait behind an analysis. SQLite in WAL mode lets them read while a crawl writes; each thread gets
its own connection because a connection belongs to one thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlite_utils

from headcheck.feedback import NO_COUNTS, Counts, feedback_counts
from headcheck.store import Store
from headcheck.verdicts import photo_verdict, stored_matches

MAX_SIGHTINGS = 200  # listed per photo; the total is always given


class Records:
    def __init__(self, db: Path) -> None:
        self._path = str(db)
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    def _store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            # Used by its own thread only; check_same_thread is off so close() can run elsewhere.
            conn = sqlite3.connect(self._path, check_same_thread=False)
            store = Store(db=sqlite_utils.Database(conn))
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()

    def photo(self, sha256: str) -> dict[str, Any] | None:
        """Everything the store knows about one photo, or None."""
        store = self._store()
        pid = store.photo_id(sha256)
        if pid is None:
            return None
        row = store.photo_row(pid) or {}
        total, first, last = store.sighting_summary(pid)
        sightings = store.sightings(pid, MAX_SIGHTINGS)
        signals = [{"name": s["name"], "kind": s["kind"], "score": s["score"],
                    "detail": s["detail"], "evidence": json.loads(s["evidence"] or "{}"),
                    "headline": s.get("headline") or s["detail"],
                    "detector": s.get("detector"), "detector_version": s.get("detector_version")}
                   for s in store.signal_rows(pid)]
        by_region: dict[str, list[dict]] = {}
        for m in stored_matches(store, pid):
            by_region.setdefault(m.region, []).append(m.to_dict())
        feedback = feedback_counts(store, [sha256]).get(sha256, NO_COUNTS)
        return {
            "sha256": sha256, "width": row.get("width"), "height": row.get("height"),
            "format": row.get("format"),
            "face": json.loads(row["face"]) if row.get("face") else None,
            "analyzed_at": row.get("analyzed_at"), "detectors": store.photo_detectors(pid),
            "first_seen": first, "last_seen": last, "sightings_total": total,
            "sightings": sightings, "signals": signals, "matches": by_region,
            "verdict": photo_verdict(store, pid).verdict.to_dict(),
            "feedback": feedback.as_json(),
        }

    def counts(self) -> dict[str, int]:
        store = self._store()
        c = store.counts()
        c["feedback"] = store.feedback_count()
        return c

    def feedback_keys(self, sha256s: list[str]) -> dict[str, Counts]:
        """Per photo with feedback: distinct keys that marked its verdict wrong, and that
        confirmed it (one key counts once per photo: its latest answer), and how many of those
        came after the operator's last review."""
        return feedback_counts(self._store(), sha256s)

    def reviews_version(self) -> int:
        """Grows with every operator review (``headcheck feedback accept|reject``), so a cached
        verdict from before an accepted false positive is not served after it."""
        return self._store().reviews_version()

    def add_feedback(self, sha256: str, label: str, note: str | None, key_id: str
                     ) -> dict[str, Any]:
        store = self._store()
        feedback_id, created = store.add_feedback(sha256, label, note, key_id)
        return {"id": feedback_id, "sha256": sha256, "label": label, "created_at": created,
                "known_photo": store.photo_id(sha256) is not None}
