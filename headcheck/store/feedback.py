"""Feedback on verdicts, from the server's users. The table is the server's (its migration step is
named and run by the server), but its statements live here with every other."""

from __future__ import annotations

from collections import Counter

import sqlite_utils

from .base import StoreBase, marks, now_iso

FALSE_POSITIVE, CONFIRMED = "false_positive", "confirmed"


def create_feedback_table(db: sqlite_utils.Database) -> None:
    db["feedback"].create({
        "id": int, "sha256": str, "label": str, "note": str, "key_id": str, "created_at": str,
    }, pk="id", not_null={"sha256", "label", "created_at"})
    db["feedback"].create_index(["sha256"])


class Feedback(StoreBase):
    def feedback_labels(self, sha256: str) -> Counter[str]:
        """How often each label was given to this photo's verdict."""
        return Counter(r[0] for r in self.db.execute(
            "SELECT label FROM feedback WHERE sha256 = ?", [sha256]))

    def feedback_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM feedback").fetchone()[0])

    def feedback_keys(self, sha256s: list[str]) -> dict[str, tuple[int, int]]:
        """Per photo: distinct keys that marked its verdict wrong, and that confirmed it (one key
        counts once per photo, however often it answered)."""
        out: dict[str, list[int]] = {s: [0, 0] for s in sha256s}
        if not sha256s:
            return {}
        for sha, label, keys in self.db.execute(
                f"SELECT sha256, label, count(DISTINCT coalesce(key_id, '')) FROM feedback "
                f"WHERE sha256 IN ({marks(sha256s)}) GROUP BY sha256, label", sha256s):
            out[sha][0 if label == FALSE_POSITIVE else 1] = int(keys)
        return {s: (w, c) for s, (w, c) in out.items()}

    def add_feedback(self, sha256: str, label: str, note: str | None, key_id: str
                     ) -> tuple[int, str]:
        """Record one answer; returns (its id, when)."""
        created = now_iso()
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO feedback (sha256, label, note, key_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)", [sha256, label, note, key_id, created])
        return int(cur.lastrowid), created
