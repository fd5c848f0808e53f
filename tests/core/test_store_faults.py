"""Faults: `headcheck index` killed (SIGKILL) at every commit boundary, then run again; two
`index` runs at once; two first runs migrating one new store. The store must end exactly as one
uninterrupted run leaves it, with integrity_check ok."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from headcheck.detectors.registry import DISABLE_ENV
from headcheck.store import Store
from headcheck.store.migrations import MIGRATIONS, schema_version
from headcheck.verdicts import iter_verdicts
from tests.server_support import IMAGES, ROOT

CLI = [sys.executable, "-c", "from headcheck.cli import main; main()"]
# A reused photo and its mirror: photo, hash, signal, sighting, match and cluster rows.
FILES = [IMAGES / n for n in ("reused-original.jpg", "reused-mirror.jpg")]
# Columns that record when or how often, not what: a run after a kill sees a file again.
CLOCK = {"analyzed_at", "first_seen", "last_seen", "found_at", "times_seen"}


def index(db: Path, files: list[Path], crash_at: int | None = None
          ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HEADCHECK_CRASH_AT"}
    # What is stored, not what a detector says, is under test: without the CLIP probe's
    # encoder passes each of the many runs costs a fraction (every stored row still compared).
    env[DISABLE_ENV] = "diffusion.clip_probe"
    if crash_at is not None:
        env["HEADCHECK_CRASH_AT"] = str(crash_at)
    return subprocess.run([*CLI, "index", "--db", str(db), "--page-url",
                           "https://people.example.org/u/sam", *map(str, files)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def by_sha(db: Path) -> dict[str, object]:
    """Every stored row keyed by content (sha256s, not row ids), clock columns left out."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sha = dict(con.execute("SELECT id, sha256 FROM photos"))
    out: dict[str, object] = {}
    for table in ("photos", "region_hashes", "signals", "sightings", "matches"):
        rows = []
        for r in con.execute(f"SELECT * FROM {table}"):
            d = {k: v for k, v in dict(r).items() if k not in CLOCK | {"id"}}
            for k in ("photo_id", "other_id", "cluster_id"):
                if d.get(k) is not None:
                    d[k] = sha[d[k]]
            rows.append(tuple(sorted(d.items())))
        out[table] = sorted(rows, key=repr)
    con.close()
    store = Store(db)
    out["verdicts"] = sorted((pv.sha256, pv.verdict.label) for pv in iter_verdicts(store))
    store.close()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    db = tmp_path_factory.mktemp("reference") / "h.db"
    done = index(db, FILES)
    assert done.returncode == 0, done.stderr
    state = by_sha(db)
    assert len(state["photos"]) == len(FILES) and state["matches"]  # the pair matched
    return state


def run_until_killed(argv: list[str], k: int) -> int:
    env = {**os.environ, "HEADCHECK_CRASH_AT": str(k)}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=300).returncode


def every_kill_point(try_one: Callable[[int], bool]) -> int:
    """Call ``try_one(k)`` for k = 1, 2, ... (two at a time) until it reports that a run had
    fewer than k commit boundaries; returns how many boundaries were tried."""
    tried = 0
    with ThreadPoolExecutor(2) as pool:
        while True:
            killed = list(pool.map(try_one, (tried + 1, tried + 2)))
            tried += sum(killed)
            if not all(killed):
                return tried


def test_kill_at_every_commit_boundary_loses_nothing(reference: dict[str, object],
                                                     tmp_path: Path) -> None:
    def killed_then_rerun(k: int) -> bool:
        db = tmp_path / f"kill{k}.db"
        Store(db).close()  # migrated here: the migration kill points are the next test's
        crashed = index(db, FILES, crash_at=k)
        if crashed.returncode == 0:
            return False
        assert crashed.returncode == -9, (k, crashed.returncode, crashed.stderr)
        again = index(db, FILES)
        assert again.returncode == 0, (k, again.stderr)
        assert by_sha(db) == reference, f"killed at commit boundary {k}"
        return True

    # At least one boundary before and one after each file's COMMIT.
    assert every_kill_point(killed_then_rerun) >= 2 * len(FILES)


def test_kill_inside_a_migration_leaves_a_usable_store(tmp_path: Path) -> None:
    open_store = [sys.executable, "-c", "import sys; from headcheck.store import Store; "
                  "Store(sys.argv[1]).close()"]

    def killed_then_reopened(k: int) -> bool:
        db = tmp_path / f"kill{k}.db"
        code = run_until_killed([*open_store, str(db)], k)
        if code == 0:
            return False
        assert code == -9
        con = sqlite3.connect(db)
        # the steps before the kill are kept, the one it cut is not half-applied
        assert schema_version_of(con) == k // 2
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        store = Store(db)
        assert schema_version(store.db) == len(MIGRATIONS)
        store.close()
        return True

    assert every_kill_point(killed_then_reopened) == 2 * len(MIGRATIONS)


def schema_version_of(con: sqlite3.Connection) -> int:
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def test_two_index_runs_at_once_end_as_one(reference: dict[str, object], tmp_path: Path
                                           ) -> None:
    # Same files, new store: both migrate it and both try to store every photo.
    db = tmp_path / "same.db"
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: index(db, FILES), range(2)))
    for run in runs:
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert by_sha(db) == reference
    con = sqlite3.connect(db)  # each run recorded its sighting once
    assert [n for (n,) in con.execute("SELECT times_seen FROM sightings")] == [2] * len(FILES)
    con.close()

    # Different files, existing store: the pair is split between the runs and still matched.
    db = tmp_path / "split.db"
    Store(db).close()
    halves = [FILES[0::2], FILES[1::2]]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda files: index(db, files), halves))
    for run in runs:
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    state = by_sha(db)
    assert state["verdicts"] == reference["verdicts"]
    assert len(state["matches"]) == len(reference["matches"])


def test_two_first_runs_migrate_a_new_store_once(tmp_path: Path) -> None:
    """Both read the schema version before either could write: the second must not run a step
    the first already ran (`duplicate column name`)."""
    db = tmp_path / "new.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA journal_mode = wal")  # readers go on while it writes, as in use
    holder.execute("BEGIN IMMEDIATE")  # holds the write lock while both start
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store(db).close()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for t in threads:
        t.start()
    threading.Event().wait(1.0)  # let them read version 0 and queue on the lock
    holder.execute("COMMIT")
    holder.close()
    for t in threads:
        t.join(60)
    assert errors == []
    store = Store(db)
    assert schema_version(store.db) == len(MIGRATIONS)
    store.close()


def test_a_refresh_never_sees_half_a_photo(tmp_path: Path) -> None:
    """The root cause of the once-flaky served-index test: a reader's index refresh running
    while another connection adds photos must end with every hash of every photo, and no read
    may see a photo without its region hashes or its sighting."""
    import dataclasses

    from headcheck.analyze import Analyzer
    from headcheck.index import RegionIndex
    from headcheck.store import Sighting

    analysis = Analyzer().analyze_bytes(FILES[0].read_bytes())
    assert len(analysis.regions) >= 2  # image hashes on the photo row, region hashes apart
    db = tmp_path / "h.db"
    Store(db).close()
    done = threading.Event()

    def writer() -> None:
        store = Store(db)
        for i in range(150):
            store.add(dataclasses.replace(analysis, sha256=f"{i:064x}"), Sighting(f"https://a/{i}"))
        store.close()
        done.set()

    reader, index = Store(db), RegionIndex()
    thread = threading.Thread(target=writer)
    thread.start()
    halves = 0
    while not done.is_set():
        index.refresh(reader)
        halves += reader.db.execute(  # one statement: one consistent snapshot
            "SELECT count(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM sightings s "
            "WHERE s.photo_id = p.id) OR NOT EXISTS (SELECT 1 FROM region_hashes r "
            "WHERE r.photo_id = p.id)").fetchone()[0]
    thread.join()
    assert halves == 0
    index.refresh(reader)
    fresh = RegionIndex.from_store(reader)
    assert {k: len(v) for k, v in index.indexes.items()} == {
        k: len(v) for k, v in fresh.indexes.items()}
    reader.close()
