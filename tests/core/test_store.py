"""The SQLite store: idempotent, WAL, migrations, sightings as a query."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlite_utils

from headcheck.analyze import Analyzer
from headcheck.store import Sighting, Store
from headcheck.store.migrations import MIGRATIONS, migrate, schema_version
from tests.conftest import real


@pytest.fixture(scope="module")
def analysis(analyzer: Analyzer):
    return analyzer.analyze_bytes(real("3156504080").read_bytes())


def test_file_store_is_wal_and_migrated(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.db")
    assert store.db.journal_mode == "wal"
    assert schema_version(store.db) == len(MIGRATIONS)
    assert {"photos", "sightings", "region_hashes", "signals", "matches"} <= set(
        store.db.table_names())
    store.close()
    # opening again runs no migration twice
    again = Store(tmp_path / "h.db")
    assert migrate(again.db) == len(MIGRATIONS)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "h.db")
    db.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="newer"):
        Store(db=db)


def test_adding_twice_is_idempotent(analysis, tmp_path: Path) -> None:
    store = Store(tmp_path / "h.db")
    first = store.add(analysis, Sighting("https://a.example/alice"))
    second = store.add(analysis, Sighting("https://a.example/alice"))
    assert first.new_photo and first.new_sighting
    assert not second.new_photo and not second.new_sighting
    assert first.photo_id == second.photo_id
    counts = store.counts()
    assert counts["photos"] == 1 and counts["sightings"] == 1
    assert counts["region_hashes"] == 4
    row = next(store.db["sightings"].rows)
    assert row["times_seen"] == 2 and row["first_seen"] <= row["last_seen"]


def test_seen_on_n_pages_is_a_query(analysis) -> None:
    store = Store()
    for page in ("https://a/1", "https://b/2", "https://a/1", "https://c/3"):
        store.add(analysis, Sighting(page, profile_name="Alice"))
    pid = store.photo_id(analysis.sha256)
    assert store.pages([pid])[pid] == ["https://a/1", "https://b/2", "https://c/3"]


def test_embedding_is_computed_once_from_the_chip(analysis, analyzer: Analyzer) -> None:
    store = Store()
    pid = store.add(analysis, Sighting("https://a/1")).photo_id
    assert store.db["photos"].get(pid)["embedding"] is None
    emb = store.embedding(pid, analyzer.models)
    assert emb is not None and emb.shape == (128,)
    assert store.db["photos"].get(pid)["embedding"] == emb.tobytes()


def test_clusters_join_and_merge(analysis) -> None:
    store = Store()
    ids = []
    for i in range(5):  # five distinct rows: vary the sha256, the rest is irrelevant here
        row = dataclasses.replace(analysis, sha256=f"{i:064x}")
        ids.append(store.add(row, Sighting(f"https://a/{i}")).photo_id)
    a, b, c, d, e = ids
    assert store.join_clusters(b, []) is None
    assert store.join_clusters(b, [a]) == a
    assert store.join_clusters(d, [c]) == c
    assert store.cluster_members(a) == [a, b] and store.cluster_members(c) == [c, d]
    assert store.join_clusters(e, [b, d]) == a  # e links the two clusters: they merge
    assert store.cluster_members(a) == [a, b, c, d, e]
    assert store.cluster_members(c) == []
