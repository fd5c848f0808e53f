"""The SQLite store (through sqlite-utils): photos by sha256, where they were seen, their hashes
and signals. WAL mode, so a server can read while a crawl writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlite_utils

from .analyze import ANALYSIS_VERSION, Analysis
from .face import FaceModels, decode_chip
from .features import Features
from .identity import Seen
from .migrations import migrate
from .transaction import write_transaction


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hex_to_int64(h: str) -> int:
    """A 64-bit hash as SQLite's signed integer (so the index loads without parsing text)."""
    return int.from_bytes(bytes.fromhex(h), "big", signed=True)


@dataclass(frozen=True)
class AddResult:
    photo_id: int
    new_photo: bool
    new_sighting: bool


@dataclass(frozen=True)
class Sighting:
    page_url: str
    image_url: str = ""
    profile_name: str | None = None
    source: str = "file"
    seen_at: str | None = None


class Store:
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
            self.db.enable_wal()
        migrate(self.db)

    def close(self) -> None:
        self.db.close()

    # -- writing -----------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        """One unit of work (``BEGIN IMMEDIATE``); a nested one joins the outer."""
        return write_transaction(self.db)

    def add(self, a: Analysis, sighting: Sighting) -> AddResult:
        """Store the photo (once per sha256) with its hashes and signals, and record one sighting
        of it, in one transaction (a reader never sees half a photo); idempotent."""
        with self.transaction():
            photo_id, new_photo = self._upsert_photo(a)
            new_sighting = self._record_sighting(photo_id, sighting)
        return AddResult(photo_id, new_photo, new_sighting)

    def add_sighting(self, photo_id: int, sighting: Sighting) -> AddResult:
        """One more sighting of a stored photo (no analysis needed); idempotent."""
        with self.transaction():
            new_sighting = self._record_sighting(photo_id, sighting)
        return AddResult(photo_id, False, new_sighting)

    def current_photo_id(self, sha256: str) -> int | None:
        """The photo with these bytes, if this version of the analysis stored it."""
        row = self.db.execute("SELECT id FROM photos WHERE sha256 = ? AND analysis_version = ?",
                              [sha256, ANALYSIS_VERSION]).fetchone()
        return int(row[0]) if row else None

    def _upsert_photo(self, a: Analysis) -> tuple[int, bool]:
        row = self.db.execute("SELECT id, analysis_version FROM photos WHERE sha256 = ?",
                              [a.sha256]).fetchone()
        if row and row[1] == ANALYSIS_VERSION:
            return int(row[0]), False
        record = {
            "sha256": a.sha256, "width": a.width, "height": a.height, "format": a.format,
            "face": json.dumps(a.face.to_dict()) if a.face else None,
            "face_score": a.face.score if a.face else None,
            "phash": a.image.phash, "phash_mirror": a.image.phash_mirror, "pdq": a.image.pdq,
            "pdq_mirror": a.image.pdq_mirror, "pdq_quality": a.image.pdq_quality,
            "features": a.features.to_bytes(), "keypoints": len(a.features),
            "chip": a.chip, "embedding": None, "thumb": a.thumb, "dense": a.dense,
            "analysis_version": ANALYSIS_VERSION, "analyzed_at": now_iso(),
        }
        # One statement whatever another writer did since the SELECT (no UNIQUE failure).
        cols = ", ".join(record)
        photo_id = int(self.db.execute(
            f"INSERT INTO photos ({cols}) VALUES ({', '.join('?' * len(record))}) "
            f"ON CONFLICT (sha256) DO UPDATE SET "
            f"{', '.join(f'{c} = excluded.{c}' for c in record if c != 'sha256')} RETURNING id",
            list(record.values())).fetchone()[0])
        self.db.execute("DELETE FROM region_hashes WHERE photo_id = ?", [photo_id])
        self.db["region_hashes"].upsert_all(
            [{"photo_id": photo_id, "region": r, "hash": h.hash, "mirror": h.mirror,
              "bits": hex_to_int64(h.hash),
              "quality": h.quality, "inside": h.inside, "usable": int(h.usable)}
             for r, h in a.regions.items()], pk=("photo_id", "region"))
        self.db.execute("DELETE FROM signals WHERE photo_id = ?", [photo_id])
        self.db["signals"].insert_all(
            [{"photo_id": photo_id, "name": s.name, "kind": s.kind, "score": s.score,
              "detail": s.detail, "evidence": json.dumps(s.evidence, default=str),
              "headline": s.headline}
             for s in a.signals])
        return photo_id, row is None

    def _record_sighting(self, photo_id: int, s: Sighting) -> bool:
        seen = s.seen_at or now_iso()
        cur = self.db.execute(
            """INSERT INTO sightings (photo_id, page_url, image_url, profile_name, source,
                   first_seen, last_seen, times_seen)
               VALUES (?, ?, ?, ?, ?, ?, ?, 1)
               ON CONFLICT (photo_id, page_url, image_url) DO UPDATE SET
                   last_seen = excluded.last_seen, times_seen = times_seen + 1,
                   profile_name = coalesce(excluded.profile_name, profile_name)
               RETURNING times_seen""",
            [photo_id, s.page_url, s.image_url or "", s.profile_name, s.source, seen, seen])
        return cur.fetchone()[0] == 1

    # -- reading -----------------------------------------------------------------------------
    def photo_id(self, sha256: str) -> int | None:
        row = self.db.execute("SELECT id FROM photos WHERE sha256 = ?", [sha256]).fetchone()
        return int(row[0]) if row else None

    def sha256_of(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        if not ids:
            return {}
        q = ",".join("?" * len(ids))
        return {int(i): s for i, s in self.db.execute(
            f"SELECT id, sha256 FROM photos WHERE id IN ({q})", ids)}

    def pages(self, ids: Iterable[int]) -> dict[int, list[str]]:
        """Distinct page URLs each photo was seen on, oldest sighting first."""
        ids = list(ids)
        out: dict[int, list[str]] = {i: [] for i in ids}
        if not ids:
            return out
        q = ",".join("?" * len(ids))
        for pid, page in self.db.execute(
                f"SELECT photo_id, page_url FROM sightings WHERE photo_id IN ({q}) "
                "GROUP BY photo_id, page_url ORDER BY min(first_seen)", ids):
            out[int(pid)].append(page)
        return out

    def seen(self, ids: Iterable[int]) -> dict[int, list[Seen]]:
        """Each photo's sightings (page, profile name, first seen), one per page and name,
        oldest first."""
        ids = list(ids)
        out: dict[int, list[Seen]] = {i: [] for i in ids}
        for part in range(0, len(ids), 900):
            chunk = ids[part:part + 900]
            q = ",".join("?" * len(chunk))
            for pid, page, name, first in self.db.execute(
                    f"SELECT photo_id, page_url, profile_name, min(first_seen) FROM sightings "
                    f"WHERE photo_id IN ({q}) GROUP BY photo_id, page_url, profile_name "
                    "ORDER BY min(first_seen), page_url", chunk):
                out[int(pid)].append(Seen(page, name, first))
        return out

    def features(self, photo_id: int) -> Features:
        row = self.db.execute("SELECT features FROM photos WHERE id = ?", [photo_id]).fetchone()
        return Features.from_bytes(row[0] if row else None)

    def dense(self, photo_id: int) -> bytes | None:
        row = self.db.execute("SELECT dense FROM photos WHERE id = ?", [photo_id]).fetchone()
        return row[0] if row else None

    def embedding(self, photo_id: int, models: FaceModels) -> np.ndarray | None:
        """The identity embedding, computed from the stored face chip on first use and kept."""
        row = self.db.execute("SELECT embedding, chip FROM photos WHERE id = ?",
                              [photo_id]).fetchone()
        if row is None or row[1] is None:
            return None
        if row[0] is not None:
            return np.frombuffer(row[0], dtype=np.float32)
        emb = models.embed_chip(decode_chip(row[1]))
        with self.transaction():
            self.db.execute("UPDATE photos SET embedding = ? WHERE id = ?",
                            [emb.tobytes(), photo_id])
        return emb

    def max_photo_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM photos").fetchone()[0])

    def iter_hashes(self, since_id: int, upto_id: int) -> Iterator[tuple[int, str, int]]:
        """(photo_id, region, 64-bit hash as int) for every usable region hash in the id range."""
        yield from self.db.execute(
            "SELECT photo_id, region, bits FROM region_hashes "
            "WHERE usable = 1 AND photo_id > ? AND photo_id <= ?", [since_id, upto_id])

    def iter_image_hashes(self, since_id: int, upto_id: int
                          ) -> Iterator[tuple[int, str, str, int]]:
        yield from self.db.execute(
            "SELECT id, phash, pdq, pdq_quality FROM photos WHERE id > ? AND id <= ?",
            [since_id, upto_id])

    def record_matches(self, photo_id: int, rows: list[dict]) -> None:
        """Store verified relations of ``photo_id`` to older photos (replacing earlier ones)."""
        found = now_iso()
        with self.transaction():
            self.db["matches"].upsert_all(
                [{"photo_id": photo_id, "found_at": found, **r} for r in rows],
                pk=("photo_id", "other_id"))

    def join_clusters(self, photo_id: int, other_ids: Iterable[int]) -> int | None:
        """Put ``photo_id`` in one cluster with ``other_ids`` (merging their clusters); the
        cluster's id is its lowest photo id. Returns it, or None when there is nothing to join."""
        others = sorted(set(other_ids) - {photo_id})
        if not others:
            return None
        members = [photo_id, *others]
        q = ",".join("?" * len(members))
        with self.transaction():
            old = {r[0] for r in self.db.execute(
                f"SELECT cluster_id FROM photos WHERE id IN ({q}) AND cluster_id IS NOT NULL",
                members)}
            new = min([*members, *old])
            oq = ",".join("?" * len(old)) or "NULL"
            self.db.execute(
                f"UPDATE photos SET cluster_id = ? WHERE id IN ({q}) OR cluster_id IN ({oq})",
                [new, *members, *old])
        return new

    def cluster_members(self, cluster_id: int) -> list[int]:
        return [int(r[0]) for r in self.db.execute(
            "SELECT id FROM photos WHERE cluster_id = ? ORDER BY id", [cluster_id])]

    def match_rows(self, photo_id: int) -> list[dict]:
        """Verified relations in either direction, as seen from ``photo_id``."""
        cur = self.db.execute(
            """SELECT other_id AS other, relation, region, distance, inliers, face_inliers,
                      face_distance, dense FROM matches WHERE photo_id = :p
               UNION ALL
               SELECT photo_id AS other, relation, region, distance, inliers, face_inliers,
                      face_distance, dense FROM matches WHERE other_id = :p""", {"p": photo_id})
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur]

    def signal_rows(self, photo_id: int) -> list[dict]:
        return list(self.db["signals"].rows_where("photo_id = ?", [photo_id]))

    def photo_row(self, photo_id: int) -> dict | None:
        rows = list(self.db.query(
            "SELECT id, sha256, width, height, format, face, analyzed_at FROM photos "
            "WHERE id = ?", [photo_id]))
        return rows[0] if rows else None

    def photo_ids(self) -> list[int]:
        return [int(r[0]) for r in self.db.execute("SELECT id FROM photos ORDER BY id")]

    def start_crawl(self, seeds: list[str], settings: dict, version: str) -> int:
        with self.transaction():
            return int(self.db["crawls"].insert({
                "started_at": now_iso(), "seeds": json.dumps(seeds),
                "settings": json.dumps(settings, default=str), "status": "running",
                "software_version": version}).last_pk)

    def finish_crawl(self, crawl_id: int, status: str, **counts: int) -> None:
        """Close a crawl run with its outcome and any counts (pages, profiles, photos_new, ...);
        may be called again to update the outcome."""
        with self.transaction():
            self.db["crawls"].update(crawl_id, {"finished_at": now_iso(), "status": status,
                                                **counts})

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("photos", "sightings", "region_hashes", "signals")}

    # -- forgetting (privacy) ------------------------------------------------------------------
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
        identity embedding of photos not seen since ``last_seen_before`` (ISO time)."""
        conn = self.db.conn
        conn.execute("PRAGMA secure_delete = ON")
        with conn:
            cur = conn.execute(
                "UPDATE photos SET thumb = NULL, chip = NULL, embedding = NULL WHERE id IN ("
                "SELECT photo_id FROM sightings GROUP BY photo_id HAVING max(last_seen) < ?) "
                "AND (thumb IS NOT NULL OR chip IS NOT NULL OR embedding IS NOT NULL)",
                [last_seen_before])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cur.rowcount
