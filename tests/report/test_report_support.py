"""Stores the report tests share: a small hand-built one whose figures were worked out by hand,
and the bundled sample indexed for real (built once per session, then copied)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from headcheck.detectors.registry import versions
from headcheck.store import Store
from tests.conftest import ROOT
from tests.server_support import sample_store

SAMPLE = ROOT / "data" / "sample"

# The hand-built store: photo id -> (label it must get, [(page URL, first seen)]).
#   site a.example: photos 1 2 3 5 6          site b.example (www. stripped): 4 5 7 8 9 10
#   2024-01: 1 2 5   2024-02: 3 4 6   2024-03: 7 8 9 10   (month of the first sighting)
HAND_BUILT = {
    1: ("synthetic", [("https://a.example/u/1", "2024-01-05T10:00:00+00:00")]),
    2: ("synthetic", [("https://a.example/u/2", "2024-01-20T10:00:00+00:00")]),
    3: ("composited", [("https://a.example/u/3", "2024-02-01T10:00:00+00:00")]),
    4: ("composited", [("https://www.b.example/p/4", "2024-02-11T10:00:00+00:00")]),
    5: ("reused", [("https://a.example/u/5", "2024-01-09T10:00:00+00:00"),
                   ("https://www.b.example/p/5", "2024-03-02T10:00:00+00:00")]),
    6: ("none", [("https://a.example/u/6", "2024-02-28T23:59:59+00:00")]),
    7: ("synthetic", [("https://www.b.example/p/7", "2024-03-01T00:00:00+00:00")]),
    8: ("none", [("https://www.b.example/p/8", "2024-03-03T10:00:00+00:00")]),
    9: ("none", [("https://www.b.example/p/9", "2024-03-04T10:00:00+00:00")]),
    10: ("none", [("https://www.b.example/p/10", "2024-03-31T10:00:00+00:00")]),
}
SYNTHETIC_SCORES = {1: 0.9, 2: 0.6, 7: 0.8}


def hand_built_store(path: Path) -> Path:
    """Rows written directly (no images): labels follow from signals, matches and pages."""
    Store(path).close()  # the current schema
    db = sqlite3.connect(path)
    with db:
        for pid, (_, pages) in HAND_BUILT.items():
            db.execute("INSERT INTO photos (id, sha256, phash, cluster_id, analysis_version) "
                       "VALUES (?, ?, ?, ?, 1)",
                       [pid, f"{pid:064x}", f"{pid:016x}", 3 if pid in (3, 4) else None])
            for n, (url, seen) in enumerate(pages):
                db.execute(
                    "INSERT INTO sightings (photo_id, page_url, image_url, profile_name, source, "
                    "first_seen, last_seen, times_seen) VALUES (?, ?, ?, ?, 'crawl', ?, ?, 1)",
                    [pid, url, f"{url}/photo.jpg", f"Person {pid}{'ab'[n]}", seen, seen])
        # Made by the installed version of the geometry detector (a signal of another version,
        # or of none recorded, would be a note: headcheck.stale).
        version = versions()["geometry.stylegan"]
        for pid, score in SYNTHETIC_SCORES.items():
            db.execute("INSERT INTO signals (photo_id, name, kind, score, detail, evidence, "
                       "detector, detector_version) VALUES (?, 'geometry.stylegan_eyes', "
                       "'synthetic', ?, 'the eyes sit where StyleGAN puts them', ?, "
                       "'geometry.stylegan', ?)",
                       [pid, score, json.dumps({"distance": 1.0}), version])
            db.execute("UPDATE photos SET detectors = ? WHERE id = ?",
                       [json.dumps({"geometry.stylegan": version}), pid])
        # 4 shares 3's body and backdrop under another face: both are composited.
        db.execute("INSERT INTO matches (photo_id, other_id, relation, region, distance, "
                   "inliers, face_inliers, face_distance, found_at, dense) VALUES (4, 3, "
                   "'same_context', 'context', 4, 30, 1, 0.8, '2024-02-11T10:00:00+00:00', "
                   "'{\"context_corr\": 0.97, \"context_area\": 900}')")
    db.close()
    return path


def indexed_sample(dest: Path) -> Path:
    """The 15 sample photos indexed with thumbnails, as `headcheck index --pages` stores them
    (the server tests' "full" store: indexed once a session, then copied to ``dest``)."""
    return sample_store(dest.parent, "full", dest)
