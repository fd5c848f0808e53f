"""Writing photos, sightings, relations, clusters and crawl runs: each call one transaction, so a
reader (or a kill) never sees half of one."""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np

from ..analyze import ANALYSIS_VERSION, Analysis
from ..face import FaceModels, decode_chip
from ..stale import stale
from .base import AddResult, Sighting, StoreBase, hex_to_int64, marks, now_iso


class Writes(StoreBase):
    def add(self, a: Analysis, sighting: Sighting) -> AddResult:
        """Store the photo (once per sha256) with its hashes and signals, and record one sighting
        of it, in one transaction (a reader never sees half a photo); idempotent. A photo stored
        by another version of the analysis, or of a detector that ran on it, takes this
        analysis's signals (``AddResult.reanalysed``)."""
        with self.transaction():
            photo_id, new_photo, reanalysed = self._upsert_photo(a)
            new_sighting = self._record_sighting(photo_id, sighting)
        return AddResult(photo_id, new_photo, new_sighting, reanalysed)

    def add_sighting(self, photo_id: int, sighting: Sighting) -> AddResult:
        """One more sighting of a stored photo (no analysis needed); idempotent."""
        with self.transaction():
            new_sighting = self._record_sighting(photo_id, sighting)
        return AddResult(photo_id, False, new_sighting)

    def _upsert_photo(self, a: Analysis) -> tuple[int, bool, bool]:
        """(photo id, new photo, stored photo re-analysed)."""
        row = self.db.execute(
            "SELECT id, analysis_version, detectors, installed FROM photos WHERE sha256 = ?",
            [a.sha256]).fetchone()
        installed = _installed(a)
        if row and row[1] == ANALYSIS_VERSION:
            photo_id = int(row[0])
            if not stale(json.loads(row[2]) if row[2] else None, a.detectors,
                         json.loads(row[3]) if row[3] else None):
                if installed is not None and row[3] != installed:
                    # Nothing to replace, but which detectors looked at it is known now.
                    self.db.execute("UPDATE photos SET installed = ? WHERE id = ?",
                                    [installed, photo_id])
                return photo_id, False, False
            # The same analysis but other detector versions (or unknown ones): the hashes,
            # keypoints and pixels are what this analysis computed again, so only the signals
            # and the detectors' versions are replaced (the index has nothing to catch up on).
            self.db.execute(
                "UPDATE photos SET detectors = ?, installed = ?, analyzed_at = ? WHERE id = ?",
                [json.dumps(a.detectors, sort_keys=True), installed, now_iso(), photo_id])
            self._replace_signals(photo_id, a)
            return photo_id, False, True
        record = {
            "sha256": a.sha256, "width": a.width, "height": a.height, "format": a.format,
            "face": json.dumps(a.face.to_dict()) if a.face else None,
            "face_score": a.face.score if a.face else None,
            "phash": a.image.phash, "phash_mirror": a.image.phash_mirror, "pdq": a.image.pdq,
            "pdq_mirror": a.image.pdq_mirror, "pdq_quality": a.image.pdq_quality,
            "features": a.features.to_bytes(), "keypoints": len(a.features),
            "chip": a.chip, "embedding": None, "thumb": a.thumb, "dense": a.dense,
            "analysis_version": ANALYSIS_VERSION, "analyzed_at": now_iso(),
            "detectors": json.dumps(a.detectors, sort_keys=True),
            "installed": installed,
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
        self._replace_signals(photo_id, a)
        return photo_id, row is None, row is not None

    def _replace_signals(self, photo_id: int, a: Analysis) -> None:
        """The photo's signals, each with the detector that made it and that one's version."""
        self.db.execute("DELETE FROM signals WHERE photo_id = ?", [photo_id])
        self.db["signals"].insert_all(
            [{"photo_id": photo_id, "name": s.name, "kind": s.kind, "score": s.score,
              "detail": s.detail, "evidence": json.dumps(s.evidence, default=str),
              "headline": s.headline, "detector": a.sources.get(s.name),
              "detector_version": a.detectors.get(a.sources.get(s.name, ""))}
             for s in a.signals])

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

    def embedding(self, photo_id: int, models: FaceModels) -> np.ndarray | None:
        """The identity embedding, computed from the stored face chip on first use and kept."""
        row = self.db.execute("SELECT embedding, chip FROM photos WHERE id = ?",
                              [photo_id]).fetchone()
        if row is None or row[1] is None:
            return None
        if row[0] is not None:
            return np.frombuffer(row[0], dtype=np.float32)
        emb = models.embed_chip(decode_chip(row[1]))
        self.set_embedding(photo_id, emb.tobytes())
        return emb

    def set_embedding(self, photo_id: int, embedding: bytes) -> None:
        with self.transaction():
            self.db.execute("UPDATE photos SET embedding = ? WHERE id = ?",
                            [embedding, photo_id])

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
        q = marks(members)
        with self.transaction():
            old = {r[0] for r in self.db.execute(
                f"SELECT cluster_id FROM photos WHERE id IN ({q}) AND cluster_id IS NOT NULL",
                members)}
            new = min([*members, *old])
            oq = marks(list(old)) or "NULL"
            self.db.execute(
                f"UPDATE photos SET cluster_id = ? WHERE id IN ({q}) OR cluster_id IN ({oq})",
                [new, *members, *old])
        return new

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

    def trim_index_changes(self, upto_seq: int) -> int:
        """Delete the log of photos deleted or re-analysed (``index_changes``) up to ``upto_seq``
        and record the highest seq ever trimmed (``store_meta`` ``index_changes_trimmed``; it
        never goes down), in one transaction. An index whose change seq is below that mark can
        no longer know what changed and must be rebuilt (``RegionIndex.refresh`` / ``load``).
        Returns how many entries were deleted."""
        with self.transaction():
            mark = max(self.index_changes_trimmed(), int(upto_seq))
            gone = self.db.execute("DELETE FROM index_changes WHERE seq <= ?", [mark]).rowcount
            self.db.execute(
                "INSERT INTO store_meta (key, value) VALUES ('index_changes_trimmed', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [str(mark)])
        return int(gone)


def _installed(a: Analysis) -> str | None:
    """The analysis's installed detectors as stored JSON; None from an analysis made before it
    recorded them (a cluster's result pickled by an older worker)."""
    installed = getattr(a, "installed", None)
    return None if installed is None else json.dumps(installed, sort_keys=True)
