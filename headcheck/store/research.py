"""Aggregates for the research report (clusters, reuse, profiles, how the data were gathered) and
the derived tables it writes back for Datasette."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .base import StoreBase, in_chunks, marks
from .migrations import schema_version

# Derived tables: a snapshot of the report's verdicts, replaced whole by each report.
DERIVED_SCHEMA = (
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


class Research(StoreBase):
    # -- clusters and reuse ----------------------------------------------------------------
    def relation_edges(self, relation: str) -> Iterator[tuple[int, int]]:
        """(photo, other) of every stored relation of this kind."""
        for a, b in self.db.execute(
                "SELECT photo_id, other_id FROM matches WHERE relation = ?", [relation]):
            yield int(a), int(b)

    def member_rows(self, ids: Iterable[int], with_thumbs: bool
                    ) -> Iterator[tuple[int, str, str | None, bytes | None]]:
        """(id, sha256, phash, thumbnail or None) of each photo."""
        thumb = "thumb" if with_thumbs else "NULL"
        for part in in_chunks(ids):
            for pid, sha, phash, th in self.db.execute(
                    f"SELECT id, sha256, phash, {thumb} FROM photos WHERE id IN ({marks(part)})",
                    part):
                yield int(pid), sha, phash, th

    def page_names(self, ids: Iterable[int]) -> Iterator[tuple[int, str, str | None]]:
        """(photo, page, a profile name seen there) per distinct page, oldest sighting first."""
        for part in in_chunks(ids):
            for pid, url, name in self.db.execute(
                    f"SELECT photo_id, page_url, max(profile_name) FROM sightings "
                    f"WHERE photo_id IN ({marks(part)}) GROUP BY photo_id, page_url "
                    "ORDER BY photo_id, min(first_seen), page_url", part):
                yield int(pid), url, name

    def cluster_summary_rows(self, relation: str, limit: int = -1
                             ) -> list[tuple[int, int, int, int, int]]:
        """Clusters holding at least one ``relation``: (cluster id, photos, pages, links of that
        relation, most inliers), largest first; ``limit`` -1 for all."""
        rows = self.db.execute(
            """WITH t AS (
                   SELECT p.cluster_id AS cid, count(*) AS links, max(m.inliers) AS best
                   FROM matches m JOIN photos p ON p.id = m.photo_id
                   WHERE m.relation = ? AND p.cluster_id IS NOT NULL GROUP BY p.cluster_id)
               SELECT t.cid, count(DISTINCT p.id), count(DISTINCT s.page_url), t.links, t.best
               FROM t JOIN photos p ON p.cluster_id = t.cid
               LEFT JOIN sightings s ON s.photo_id = p.id
               GROUP BY t.cid ORDER BY count(DISTINCT p.id) DESC,
                        count(DISTINCT s.page_url) DESC, t.cid LIMIT ?""",
            [relation, limit]).fetchall()
        return [tuple(int(x or 0) for x in row) for row in rows]

    def photos_on_several_pages(self) -> list[int]:
        """Photos whose very file was seen on two or more distinct pages."""
        return [int(pid) for (pid,) in self.db.execute(
            "SELECT photo_id FROM sightings GROUP BY photo_id "
            "HAVING count(DISTINCT page_url) >= 2")]

    def distinct_pages(self, ids: Iterable[int]) -> Iterator[tuple[int, str]]:
        """(photo, page) for each distinct page each photo was seen on."""
        for part in in_chunks(ids):
            for pid, url in self.db.execute(
                    f"SELECT DISTINCT photo_id, page_url FROM sightings "
                    f"WHERE photo_id IN ({marks(part)})", part):
                yield int(pid), url

    # -- profiles and the sightings export -------------------------------------------------
    def page_photo_names(self) -> Iterator[tuple[str, int, str | None]]:
        """(page, photo, a profile name) for each photo seen on each page."""
        for page, pid, name in self.db.execute(
                "SELECT page_url, photo_id, max(profile_name) FROM sightings "
                "GROUP BY page_url, photo_id"):
            yield page, int(pid), name

    def sighting_export(self) -> Iterator[tuple]:
        """Every sighting: (photo id, sha256, page, profile name, image URL, source, first seen,
        last seen, times seen), oldest first."""
        yield from self.db.execute(
            "SELECT s.photo_id, p.sha256, s.page_url, s.profile_name, s.image_url, s.source, "
            "s.first_seen, s.last_seen, s.times_seen FROM sightings s "
            "JOIN photos p ON p.id = s.photo_id ORDER BY s.first_seen, s.photo_id")

    # -- how the data were gathered --------------------------------------------------------
    def crawl_rows(self) -> list[tuple]:
        """Crawl runs: (id, started, finished, status, seeds JSON, settings JSON, pages,
        profiles, photos new, photos known, errors, software version), oldest first."""
        if "crawls" not in self.db.table_names():
            return []
        return self.db.execute(
            "SELECT id, started_at, finished_at, status, seeds, settings, pages, profiles, "
            "photos_new, photos_known, errors, software_version FROM crawls "
            "ORDER BY started_at, id").fetchall()

    def analysis_versions(self) -> list[tuple[int, int]]:
        """(analysis version, photos analysed by it)."""
        return self.db.execute(
            "SELECT analysis_version, count(*) FROM photos GROUP BY analysis_version").fetchall()

    def detector_runs(self) -> list[tuple[str, str, int]]:
        """(detector, version recorded for it, photos), from ``photos.detectors``: the version
        that ran, or ``off:<version>`` where it applied but was off on the analysing machine.
        A photo without an entry for a detector was not checked by it (not applicable, failed,
        or analysed before it was installed or before versions were kept)."""
        return [(str(k), str(v), int(n)) for k, v, n in self.db.execute(
            "SELECT je.key, je.value, count(*) FROM photos, json_each(photos.detectors) je "
            "WHERE photos.detectors IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2")]

    def schema_version(self) -> int:
        return schema_version(self.db)

    def photo_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM photos").fetchone()[0])

    def sighting_sources(self) -> list[tuple[str, int, int]]:
        """(source, sightings, photos), most sightings first."""
        return [(s or "(none)", int(n), int(p)) for s, n, p in self.db.execute(
            "SELECT source, count(*), count(DISTINCT photo_id) FROM sightings "
            "GROUP BY source ORDER BY count(*) DESC")]

    def sighting_span(self) -> tuple[str | None, str | None, int, int]:
        """(first seen, last seen, sightings, distinct pages) over every sighting."""
        first, last, sightings, pages = self.db.execute(
            "SELECT min(first_seen), max(last_seen), count(*), count(DISTINCT page_url) "
            "FROM sightings").fetchone()
        return first, last, int(sightings), int(pages)

    # -- derived tables --------------------------------------------------------------------
    def replace_derived_tables(self, verdicts: Iterable[tuple], sites: Iterable[tuple]) -> None:
        """Replace ``verdicts`` and ``photo_sites`` (rows in ``DERIVED_SCHEMA`` column order) in
        one transaction: a reader sees the old tables or the new ones, never half of each."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")  # waits (busy_timeout) while a crawl writes
        try:
            conn.execute("DROP TABLE IF EXISTS verdicts")
            conn.execute("DROP TABLE IF EXISTS photo_sites")
            for statement in DERIVED_SCHEMA:
                conn.execute(statement)
            conn.executemany(
                "INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                verdicts)
            conn.executemany("INSERT INTO photo_sites VALUES (?, ?, ?, ?)", sites)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
