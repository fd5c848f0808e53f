"""Schema migrations, numbered by SQLite's ``user_version``; each runs once, in order."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlite_utils

from .transaction import write_transaction


def _v1(db: sqlite_utils.Database) -> None:
    db["photos"].create({
        "id": int, "sha256": str, "width": int, "height": int, "format": str,
        "face": str, "face_score": float, "phash": str, "phash_mirror": str, "pdq": str,
        "pdq_mirror": str, "pdq_quality": int,
        "features": bytes, "keypoints": int, "chip": bytes, "embedding": bytes,
        "analysis_version": int, "analyzed_at": str,
    }, pk="id", not_null={"sha256"})
    db["photos"].create_index(["sha256"], unique=True)
    db["region_hashes"].create({
        "photo_id": int, "region": str, "hash": str, "mirror": str, "bits": int, "quality": float,
        "inside": float, "usable": int,
    }, pk=("photo_id", "region"), foreign_keys=[("photo_id", "photos", "id")])
    db["region_hashes"].create_index(["region", "usable"])
    db["sightings"].create({
        "id": int, "photo_id": int, "page_url": str, "image_url": str, "profile_name": str,
        "source": str, "first_seen": str, "last_seen": str, "times_seen": int,
    }, pk="id", foreign_keys=[("photo_id", "photos", "id")], not_null={"page_url"})
    db["sightings"].create_index(["photo_id", "page_url", "image_url"], unique=True)
    db["sightings"].create_index(["page_url"])
    db["signals"].create({
        "photo_id": int, "name": str, "kind": str, "score": float, "detail": str,
        "evidence": str,
    }, pk=("photo_id", "name"), foreign_keys=[("photo_id", "photos", "id")])
    db["signals"].create_index(["kind"])
    # Verified relations between two stored photos, found when the newer one was indexed.
    db["matches"].create({
        "photo_id": int, "other_id": int, "relation": str, "region": str, "distance": int,
        "inliers": int, "face_inliers": int, "face_distance": float, "found_at": str,
    }, pk=("photo_id", "other_id"), foreign_keys=[("photo_id", "photos", "id"),
                                                  ("other_id", "photos", "id")])
    db["matches"].create_index(["other_id"])


def _v2(db: sqlite_utils.Database) -> None:
    # Connected components over verified matches (same photo or same context): one id per
    # template or reused-photo cluster, kept current as photos arrive; NULL for a lone photo.
    db["photos"].add_column("cluster_id", int)
    db["photos"].create_index(["cluster_id"])


def _v3(db: sqlite_utils.Database) -> None:
    # A small JPEG per photo for reports and galleries (optional: a setting turns it off).
    db["photos"].add_column("thumb", bytes)
    # One row per crawl run: how the data were gathered, for reports.
    db["crawls"].create({
        "id": int, "started_at": str, "finished_at": str, "seeds": str, "settings": str,
        "pages": int, "profiles": int, "photos_new": int, "photos_known": int, "errors": int,
        "status": str, "software_version": str,
    }, pk="id")


def _v4(db: sqlite_utils.Database) -> None:
    # A plain-language sentence per signal, for people (older rows fall back to detail).
    db["signals"].add_column("headline", str)


def _v5(db: sqlite_utils.Database) -> None:
    # The grey context window (headcheck.dense) that verifies shared pixels; NULL for photos
    # analysed before it existed, which then support no relation until re-analysed.
    db["photos"].add_column("dense", bytes)
    # Relations remember their dense evidence, so stored verdicts can explain themselves.
    db["matches"].add_column("dense", str)


def _v6(db: sqlite_utils.Database) -> None:
    # The operator's review of feedback (headcheck feedback accept|reject), and what an accepted
    # false positive suppresses for good; keyed by sha256 so re-indexing keeps them.
    db["feedback_reviews"].create({
        "id": int, "sha256": str, "decision": str, "reviewer": str, "decided_at": str,
        "note": str, "label": str, "feedback_upto": int,
    }, pk="id", not_null={"sha256", "decision", "reviewer", "decided_at"})
    db["feedback_reviews"].create_index(["sha256"])
    db["suppressions"].create({
        "id": int, "sha256": str, "other_sha256": str, "what": str, "reviewer": str,
        "decided_at": str, "review_id": int,
    }, pk="id", not_null={"sha256", "what", "reviewer", "decided_at"})
    db["suppressions"].create_index(["sha256"])
    db["suppressions"].create_index(["other_sha256"])


def _v7(db: sqlite_utils.Database) -> None:
    # What a saved index (headcheck.index) must catch up on besides new photos: one row per
    # photo whose hashes were deleted (forget) or replaced (re-analysis), written by triggers so
    # no writer can forget to. Ids only (no hashes, nothing about the person). A new photo is
    # not logged: it is found by its id, above the last one an index holds.
    db.execute("CREATE TABLE index_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
               "photo_id INTEGER NOT NULL)")
    for name, event, row in (
            ("photo_gone", "DELETE ON photos", "old.id"),
            ("photo_hashes", "UPDATE OF phash, phash_mirror, pdq, pdq_mirror, pdq_quality "
                             "ON photos", "new.id"),
            ("regions_gone", "DELETE ON region_hashes", "old.photo_id"),
            ("regions_old", "UPDATE ON region_hashes", "old.photo_id"),
            ("regions_new", "UPDATE ON region_hashes", "new.photo_id")):
        db.execute(f"CREATE TRIGGER index_change_{name} AFTER {event} BEGIN "
                   f"INSERT INTO index_changes (photo_id) VALUES ({row}); END")
    # Which store a saved index belongs to (a file copied beside another store is not used).
    db["store_meta"].create({"key": str, "value": str}, pk="key")
    db["store_meta"].insert({"key": "store_id", "value": uuid.uuid4().hex})


def _v8(db: sqlite_utils.Database) -> None:
    # The detectors that ran on the stored analysis, as JSON {name: version}: a photo analysed by
    # another version of a detector is analysed again when its bytes are at hand. NULL for photos
    # stored before: versions unknown (headcheck.stale).
    db["photos"].add_column("detectors", str)
    # Which detector made each signal, and its version then (a signal's name does not say:
    # ``c2pa.ai_generated`` is the provenance detector's), so a stored verdict sets aside exactly
    # the signals of a detector changed since. NULL for signals stored before.
    db["signals"].add_column("detector", str)
    db["signals"].add_column("detector_version", str)


def _v9(db: sqlite_utils.Database) -> None:
    # Every detector installed when the photo was analysed, as JSON {name: version}: one that is
    # in neither this nor ``detectors`` was installed later, and the photo is analysed again
    # where its bytes are at hand. NULL for photos stored before: not known (headcheck.stale).
    db["photos"].add_column("installed", str)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9]


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema up to date; returns the version reached. Each step commits with its new
    ``user_version`` or not at all, and the version is read again under the write lock, so two
    first runs at once apply every step once and a kill mid-step leaves the previous version."""
    if schema_version(db) == len(MIGRATIONS):
        return len(MIGRATIONS)  # up to date: no write lock needed (a reader may open read-only)
    while True:
        with write_transaction(db):
            version = schema_version(db)
            if version > len(MIGRATIONS):
                raise RuntimeError(f"database schema {version} is newer than this headcheck "
                                   f"knows ({len(MIGRATIONS)}); upgrade headcheck")
            if version == len(MIGRATIONS):
                return version
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
        if version + 1 == len(MIGRATIONS):
            return version + 1
