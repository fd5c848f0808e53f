"""Forgetting a person and retention: deleted content is overwritten (``secure_delete``) and the
WAL truncated, so it is gone from the file too."""

from __future__ import annotations

from collections.abc import Iterable

from .base import StoreBase


class Privacy(StoreBase):
    def forget(self, sha256s: Iterable[str] = (), page_url: str | None = None,
               profile_name: str | None = None) -> tuple[list[str], list[str]]:
        """Remove photos by sha256 from every table, and the sightings on a page or under a
        profile name (with the photos left without any sighting). Deleted content is overwritten
        (secure_delete) and the WAL truncated. Returns (sha256s removed, image URLs of the
        sightings removed, for the files folder)."""
        conn = self.db.conn
        conn.execute("PRAGMA secure_delete = ON")
        tables = set(self.db.table_names())
        ids = {int(r[0]) for s in sha256s
               for r in conn.execute("SELECT id FROM photos WHERE sha256 = ?", [s])}
        where = " OR ".join(c for c, v in (("page_url = ?", page_url),
                                           ("profile_name = ?", profile_name)) if v)
        args = [v for v in (page_url, profile_name) if v]
        with conn:
            urls: list[str] = []
            if where:
                rows = conn.execute(f"SELECT photo_id, image_url FROM sightings WHERE {where}",
                                    args).fetchall()
                conn.execute(f"DELETE FROM sightings WHERE {where}", args)
                urls += [u for _, u in rows]
                ids |= {int(p) for p, _ in rows if conn.execute(
                    "SELECT 1 FROM sightings WHERE photo_id = ?", [p]).fetchone() is None}
            q = ",".join("?" * len(ids))
            urls += [u for (u,) in conn.execute(
                f"SELECT image_url FROM sightings WHERE photo_id IN ({q})", list(ids))]
            gone = [s for (s,) in conn.execute(f"SELECT sha256 FROM photos WHERE id IN ({q})",
                                               list(ids))]
            for table, column in (("sightings", "photo_id"), ("region_hashes", "photo_id"),
                                  ("signals", "photo_id"), ("matches", "photo_id"),
                                  ("matches", "other_id"), ("verdicts", "photo_id"),
                                  ("photo_sites", "photo_id"), ("photos", "id")):
                if table in tables:
                    conn.execute(f"DELETE FROM {table} WHERE {column} IN ({q})", list(ids))
            if "feedback" in tables and gone:  # the server's table
                conn.execute(f"DELETE FROM feedback WHERE sha256 IN ({','.join('?' * len(gone))})",
                             gone)
            if "feedback_reviews" in tables and gone:
                # The decision and its suppression stay (a cleared photo is not flagged again if
                # crawled again); the reviewer's words about the person go.
                conn.execute("UPDATE feedback_reviews SET note = NULL WHERE sha256 IN "
                             f"({','.join('?' * len(gone))})", gone)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return gone, sorted(set(urls))

    def drop_pixels(self, last_seen_before: str) -> int:
        """Retention: keep hashes, signals and sightings, but drop the thumbnail, face chip and
        identity embedding of photos last seen at or before ``last_seen_before`` (ISO time, to the
        second: with a cutoff of now, a photo seen earlier in this second counts as old)."""
        conn = self.db.conn
        conn.execute("PRAGMA secure_delete = ON")
        with conn:
            cur = conn.execute(
                "UPDATE photos SET thumb = NULL, chip = NULL, embedding = NULL WHERE id IN ("
                "SELECT photo_id FROM sightings GROUP BY photo_id HAVING max(last_seen) <= ?) "
                "AND (thumb IS NOT NULL OR chip IS NOT NULL OR embedding IS NOT NULL)",
                [last_seen_before])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cur.rowcount
