"""Reading photos and what hangs off them: one photo for a lookup, or a range of photos in a few
queries for the bulk verdicts (reports, ``headcheck flagged``)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..analyze import ANALYSIS_VERSION
from ..features import Features
from ..hashkinds import IMAGE_KINDS
from ..identity import Seen
from ..signals import Signal
from .base import StoreBase, in_chunks, marks

PhotoHead = tuple[int, str, int | None, str | None]  # id, sha256, cluster_id, phash
MATCH_COLS = "relation, region, distance, inliers, face_inliers, face_distance, dense"


class Reads(StoreBase):
    # -- one photo -------------------------------------------------------------------------
    def photo_id(self, sha256: str) -> int | None:
        row = self.db.execute("SELECT id FROM photos WHERE sha256 = ?", [sha256]).fetchone()
        return int(row[0]) if row else None

    def current_photo_id(self, sha256: str) -> int | None:
        """The photo with these bytes, if this version of the analysis stored it."""
        row = self.db.execute("SELECT id FROM photos WHERE sha256 = ? AND analysis_version = ?",
                              [sha256, ANALYSIS_VERSION]).fetchone()
        return int(row[0]) if row else None

    def photo_detectors(self, photo_id: int) -> dict[str, str] | None:
        """The detectors that ran on the stored analysis (name -> version); None when not
        known (stored before they were recorded, or no such photo)."""
        return self.photo_analysed_by(photo_id)[0]

    def photo_analysed_by(self, photo_id: int
                          ) -> tuple[dict[str, str] | None, dict[str, str] | None]:
        """``photo_detectors``, and every detector installed when the photo was analysed
        (name -> version), whether or not it applied; each None when not known (stored before
        it was recorded, or no such photo)."""
        ran, installed = self.db.execute("SELECT detectors, installed FROM photos WHERE id = ?",
                                         [photo_id]).fetchone() or (None, None)
        return (json.loads(ran) if ran else None, json.loads(installed) if installed else None)

    def photo_row(self, photo_id: int) -> dict | None:
        rows = list(self.db.query(
            "SELECT id, sha256, width, height, format, face, analyzed_at FROM photos "
            "WHERE id = ?", [photo_id]))
        return rows[0] if rows else None

    def features(self, photo_id: int) -> Features:
        row = self.db.execute("SELECT features FROM photos WHERE id = ?", [photo_id]).fetchone()
        return Features.from_bytes(row[0] if row else None)

    def dense(self, photo_id: int) -> bytes | None:
        row = self.db.execute("SELECT dense FROM photos WHERE id = ?", [photo_id]).fetchone()
        return row[0] if row else None

    def signal_rows(self, photo_id: int) -> list[dict]:
        return list(self.db["signals"].rows_where("photo_id = ?", [photo_id]))

    def match_rows(self, photo_id: int) -> list[dict]:
        """Verified relations in either direction, as seen from ``photo_id``."""
        cur = self.db.execute(
            f"""SELECT other_id AS other, {MATCH_COLS} FROM matches WHERE photo_id = :p
               UNION ALL
               SELECT photo_id AS other, {MATCH_COLS} FROM matches WHERE other_id = :p""",
            {"p": photo_id})
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur]

    def sighting_summary(self, photo_id: int) -> tuple[int, str | None, str | None]:
        """(sightings, first seen, last seen) of one photo."""
        total, first, last = self.db.execute(
            "SELECT count(*), min(first_seen), max(last_seen) FROM sightings WHERE photo_id = ?",
            [photo_id]).fetchone()
        return int(total), first, last

    def sightings(self, photo_id: int, limit: int) -> list[dict]:
        """One photo's first ``limit`` sightings, oldest first."""
        return list(self.db.query(
            "SELECT page_url, image_url, profile_name, source, first_seen, last_seen, times_seen "
            "FROM sightings WHERE photo_id = ? ORDER BY first_seen, id LIMIT ?",
            [photo_id, limit]))

    def last_seen(self, photo_id: int, page_url: str, image_url: str) -> str | None:
        """When this one sighting (photo, page, image URL) was last recorded, if ever."""
        row = self.db.execute(
            "SELECT last_seen FROM sightings WHERE photo_id = ? AND page_url = ? "
            "AND image_url = ?", [photo_id, page_url, image_url]).fetchone()
        return None if row is None else row[0]

    # -- many photos -----------------------------------------------------------------------
    def sha256_of(self, ids: Iterable[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for part in in_chunks(ids):
            out.update((int(i), s) for i, s in self.db.execute(
                f"SELECT id, sha256 FROM photos WHERE id IN ({marks(part)})", part))
        return out

    def pages(self, ids: Iterable[int]) -> dict[int, list[str]]:
        """Distinct page URLs each photo was seen on, oldest sighting first."""
        ids = list(ids)
        out: dict[int, list[str]] = {i: [] for i in ids}
        for part in in_chunks(ids):
            for pid, page in self.db.execute(
                    f"SELECT photo_id, page_url FROM sightings WHERE photo_id IN ({marks(part)}) "
                    "GROUP BY photo_id, page_url ORDER BY min(first_seen)", part):
                out[int(pid)].append(page)
        return out

    def page_firsts(self, ids: Iterable[int]) -> dict[int, list[tuple[str, str | None]]]:
        """Per photo: (page, first seen there) for each distinct page, ordered by page URL."""
        out: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
        for part in in_chunks(ids):
            for pid, url, seen in self.db.execute(
                    f"SELECT photo_id, page_url, min(first_seen) FROM sightings "
                    f"WHERE photo_id IN ({marks(part)}) "
                    "GROUP BY photo_id, page_url ORDER BY photo_id, page_url", part):
                out[int(pid)].append((url, seen))
        return out

    def seen(self, ids: Iterable[int]) -> dict[int, list[Seen]]:
        """Each photo's sightings (page, profile name, first seen), one per page and name,
        oldest first."""
        ids = list(ids)
        out: dict[int, list[Seen]] = {i: [] for i in ids}
        for part in in_chunks(ids):
            for pid, page, name, first in self.db.execute(
                    f"SELECT photo_id, page_url, profile_name, min(first_seen) FROM sightings "
                    f"WHERE photo_id IN ({marks(part)}) GROUP BY photo_id, page_url, "
                    "profile_name ORDER BY min(first_seen), page_url", part):
                out[int(pid)].append(Seen(page, name, first))
        return out

    def profile_names(self, ids: Iterable[int]) -> dict[int, list[str]]:
        """Per photo: the profile names it was seen under, in order of first sighting."""
        out: dict[int, list[str]] = defaultdict(list)
        for part in in_chunks(ids):
            for pid, name in self.db.execute(
                    f"SELECT photo_id, profile_name FROM sightings WHERE photo_id IN "
                    f"({marks(part)}) AND profile_name IS NOT NULL "
                    "GROUP BY photo_id, profile_name ORDER BY min(first_seen)", part):
                out[int(pid)].append(str(name))
        return out

    def photo_heads(self, after_id: int, limit: int) -> list[PhotoHead]:
        """The next ``limit`` photos after ``after_id``, in id order."""
        return self.db.execute(
            "SELECT id, sha256, cluster_id, phash FROM photos WHERE id > ? ORDER BY id LIMIT ?",
            [after_id, limit]).fetchall()

    def photo_head(self, photo_id: int) -> PhotoHead | None:
        return self.db.execute("SELECT id, sha256, cluster_id, phash FROM photos WHERE id = ?",
                               [photo_id]).fetchone()

    def signals_between(self, lo: int, hi: int) -> dict[int, list[Signal]]:
        """The stored signals of photos ``lo``..``hi``, by photo, by name."""
        out: dict[int, list[Signal]] = defaultdict(list)
        for pid, name, kind, score, detail, evidence, headline in self.db.execute(
                "SELECT photo_id, name, kind, score, detail, evidence, headline FROM signals "
                "WHERE photo_id BETWEEN ? AND ? ORDER BY photo_id, name", [lo, hi]):
            out[int(pid)].append(Signal(name, kind, score, detail, json.loads(evidence or "{}"),
                                        headline or ""))
        return out

    def signal_sources_between(self, lo: int, hi: int
                               ) -> dict[int, dict[str, tuple[str | None, str | None]]]:
        """Per photo ``lo``..``hi``: signal name -> (detector that made it, its version then);
        None where not recorded (signals stored before migration 8)."""
        out: dict[int, dict[str, tuple[str | None, str | None]]] = defaultdict(dict)
        for pid, name, detector, version in self.db.execute(
                "SELECT photo_id, name, detector, detector_version FROM signals "
                "WHERE photo_id BETWEEN ? AND ?", [lo, hi]):
            out[int(pid)][name] = (detector, version)
        return out

    def match_rows_between(self, lo: int, hi: int) -> dict[int, list[tuple]]:
        """Relations in both directions of photos ``lo``..``hi``, as (other id, *MATCH_COLS), in
        ``match_rows`` order: those the photo found (by the other's id), then those found of it
        (in the order they were stored)."""
        found: dict[int, list[tuple]] = defaultdict(list)
        found_of: dict[int, list[tuple]] = defaultdict(list)
        for row in self.db.execute(
                f"SELECT photo_id, other_id, {MATCH_COLS} FROM matches "
                "WHERE photo_id BETWEEN ? AND ? ORDER BY photo_id, other_id", [lo, hi]):
            found[int(row[0])].append((int(row[1]), *row[2:]))
        for row in self.db.execute(
                f"SELECT other_id, photo_id, {MATCH_COLS} FROM matches "
                "WHERE other_id BETWEEN ? AND ? ORDER BY other_id, rowid", [lo, hi]):
            found_of[int(row[0])].append((int(row[1]), *row[2:]))
        return {pid: found.get(pid, []) + found_of.get(pid, []) for pid in {*found, *found_of}}

    def cluster_members(self, cluster_id: int) -> list[int]:
        return [int(r[0]) for r in self.db.execute(
            "SELECT id FROM photos WHERE cluster_id = ? ORDER BY id", [cluster_id])]

    # -- the index -------------------------------------------------------------------------
    def max_photo_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM photos").fetchone()[0])

    def photo_ids(self) -> list[int]:
        return [int(r[0]) for r in self.db.execute("SELECT id FROM photos ORDER BY id")]

    def iter_hashes(self, since_id: int, upto_id: int) -> Iterator[tuple[int, str, int]]:
        """(photo_id, region, 64-bit hash as int) for every usable region hash in the id range."""
        yield from self.db.execute(
            "SELECT photo_id, region, bits FROM region_hashes "
            "WHERE usable = 1 AND photo_id > ? AND photo_id <= ?", [since_id, upto_id])

    def iter_image_hashes(self, since_id: int, upto_id: int) -> Iterator[tuple]:
        """(photo_id, PDQ quality, then each whole-image kind's hex hash in ``IMAGE_KINDS``
        order) for every photo in the id range."""
        cols = ", ".join(k.column for k in IMAGE_KINDS)
        yield from self.db.execute(
            f"SELECT id, pdq_quality, {cols} FROM photos WHERE id > ? AND id <= ?",
            [since_id, upto_id])

    def iter_hashes_of(self, ids: Iterable[int]) -> Iterator[tuple[int, str, int]]:
        """``iter_hashes`` for the photos ``ids`` (those still stored)."""
        for part in in_chunks(ids):
            yield from self.db.execute(
                "SELECT photo_id, region, bits FROM region_hashes "
                f"WHERE usable = 1 AND photo_id IN ({marks(part)})", part)

    def iter_image_hashes_of(self, ids: Iterable[int]) -> Iterator[tuple]:
        """``iter_image_hashes`` for the photos ``ids`` (those still stored)."""
        cols = ", ".join(k.column for k in IMAGE_KINDS)
        for part in in_chunks(ids):
            yield from self.db.execute(
                f"SELECT id, pdq_quality, {cols} FROM photos WHERE id IN ({marks(part)})", part)

    def index_change_seq(self) -> int:
        """The last entry of the log of photos deleted or re-analysed (migration 7); a log
        trimmed to nothing still counts up to its mark."""
        return max(int(self.db.execute(
            "SELECT coalesce(max(seq), 0) FROM index_changes").fetchone()[0]),
            self.index_changes_trimmed())

    def index_changes_trimmed(self) -> int:
        """The highest seq of that log ever deleted (``trim_index_changes``); 0: never trimmed.
        An index that applied changes only up to a lower seq cannot know what changed."""
        row = self.db.execute(
            "SELECT value FROM store_meta WHERE key = 'index_changes_trimmed'").fetchone()
        return 0 if row is None else int(row[0])

    def changed_photos(self, after_seq: int, upto_seq: int) -> set[int]:
        """Photos deleted or re-analysed between two entries of that log."""
        return {int(r[0]) for r in self.db.execute(
            "SELECT DISTINCT photo_id FROM index_changes WHERE seq > ? AND seq <= ?",
            [after_seq, upto_seq])}

    def photos_upto(self, photo_id: int) -> int:
        """How many photos have an id up to ``photo_id``."""
        return int(self.db.execute("SELECT count(*) FROM photos WHERE id <= ?",
                                   [photo_id]).fetchone()[0])

    def image_hashes_by_id(self, column: str, ids: Iterable[int]) -> dict[int, str]:
        """One whole-image hash column (``HashKind.column``) of the photos ``ids``."""
        if column not in {k.column for k in IMAGE_KINDS}:
            raise ValueError(f"not a whole-image hash column: {column}")
        out: dict[int, str] = {}
        for part in in_chunks(ids):
            out.update((int(i), h) for i, h in self.db.execute(
                f"SELECT id, {column} FROM photos WHERE id IN ({marks(part)})", part))
        return out

    def store_id(self) -> str:
        """This store's own random id (a saved index names the store it was made from)."""
        row = self.db.execute("SELECT value FROM store_meta WHERE key = 'store_id'").fetchone()
        return str(row[0])

    def path(self) -> Path | None:
        """The database file, or None for a store in memory."""
        for _, name, file in self.db.execute("PRAGMA database_list"):
            if name == "main":
                return Path(file) if file else None
        return None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the store (a read transaction; in WAL mode writers go
        on). Inside a transaction already, that one."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("photos", "sightings", "region_hashes", "signals")}
