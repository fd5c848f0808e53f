"""Feedback on verdicts, from the server's users (``feedback``, a table the server's migration step
creates), the operator's reviews of it (``feedback_reviews``) and what an accepted false positive
suppresses (``suppressions``). The loop's logic is ``headcheck.feedback``; its statements are
here, with every other."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from .base import MAX_VARS, StoreBase, marks, now_iso


def create_feedback_table(db: sqlite_utils.Database) -> None:
    db["feedback"].create({
        "id": int, "sha256": str, "label": str, "note": str, "key_id": str, "created_at": str,
    }, pk="id", not_null={"sha256", "label", "created_at"})
    db["feedback"].create_index(["sha256"])


def _chunks(items: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(items))
    for i in range(0, len(items), MAX_VARS):
        yield items[i:i + MAX_VARS]


class Feedback(StoreBase):
    def has_table(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               [name]).fetchone() is not None

    def feedback_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM feedback").fetchone()[0])

    def add_feedback(self, sha256: str, label: str, note: str | None, key_id: str
                     ) -> tuple[int, str]:
        """Record one answer; returns (its id, when)."""
        created = now_iso()
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO feedback (sha256, label, note, key_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)", [sha256, label, note, key_id, created])
        return int(cur.lastrowid), created

    def feedback_rows(self, sha256s: Iterable[str] | None = None) -> list[tuple]:
        """(sha256, label, key or '', id, note or '') of every answer on these photos (all when
        None), oldest first; [] when no server ever made the table."""
        if not self.has_table("feedback"):
            return []
        return self._rows_of(
            "feedback", "sha256, label, coalesce(key_id, ''), id, coalesce(note, '')", sha256s)

    def review_rows(self, sha256s: Iterable[str] | None = None) -> list[tuple]:
        """(sha256, decision, reviewer, decided_at, note, feedback_upto) of every review of these
        photos (all when None), oldest first."""
        return self._rows_of(
            "feedback_reviews",
            "sha256, decision, reviewer, decided_at, note, coalesce(feedback_upto, 0)", sha256s)

    def _rows_of(self, table: str, cols: str, sha256s: Iterable[str] | None) -> list[tuple]:
        """``cols`` of the rows of ``table`` on these photos (all when None), oldest first."""
        if sha256s is None:
            return self.db.execute(f"SELECT {cols} FROM {table} ORDER BY id").fetchall()
        rows: list[tuple] = []
        for part in _chunks(sha256s):
            rows += self.db.execute(f"SELECT {cols} FROM {table} WHERE sha256 IN "
                                    f"({marks(part)}) ORDER BY id", part).fetchall()
        return rows

    def suppression_rows(self, sha256s: Iterable[str]) -> list[tuple]:
        """(sha256, other_sha256, what, reviewer, decided_at) of every suppression at either end
        of which one of these photos stands (a row may come twice)."""
        rows: list[tuple] = []
        for part in _chunks(sha256s):
            q = marks(part)
            rows += self.db.execute(
                "SELECT sha256, other_sha256, what, reviewer, decided_at FROM suppressions "
                f"WHERE sha256 IN ({q}) OR other_sha256 IN ({q})", part + part).fetchall()
        return rows

    def record_review(self, review: dict, suppressed: list[dict]) -> int:
        """Store a review (with the last feedback id it saw) and what it suppresses, in one
        transaction; returns the review's id."""
        with self.transaction():
            upto = self.db.execute("SELECT coalesce(max(id), 0) FROM feedback").fetchone()[0] \
                if self.has_table("feedback") else 0
            rid = self.db["feedback_reviews"].insert({**review, "feedback_upto": upto}).last_pk
            self.db["suppressions"].insert_all(
                [{**r, "reviewer": review["reviewer"], "decided_at": review["decided_at"],
                  "review_id": rid} for r in suppressed])
        return int(rid)

    def reviews_version(self) -> int:
        """Grows with every review, so a verdict cached before one is known to be stale."""
        return int(self.db.execute(
            "SELECT coalesce(max(id), 0) FROM feedback_reviews").fetchone()[0])

    def sha256s_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Stored photos whose sha256 starts with ``prefix`` (lowercase hex), up to ``limit``."""
        return [r[0] for r in self.db.execute(
            "SELECT sha256 FROM photos WHERE sha256 >= ? AND sha256 < ? LIMIT ?",
            [prefix, prefix + "g", limit])]
