"""A saved index (``RegionIndex.save`` / ``load``) answers as one built from the store: after a
restart, after photos were added, forgotten or re-analysed since it was saved; a damaged,
stale or foreign file is set aside and the index built from the store. A save trims the store's
change log, and an index (or file) behind what was trimmed is built again, never left with a
change it missed."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from headcheck import index as index_module
from headcheck import match as M
from headcheck.analyze import Analysis, Analyzer
from headcheck.engine import Headcheck
from headcheck.fingerprint import ImageHashes, RegionHash
from headcheck.forget import forget_everywhere
from headcheck.index import IndexFileError, RegionIndex, index_path
from headcheck.store import Sighting, Store
from tests.conftest import real


@pytest.fixture(scope="module")
def face(analyzer: Analyzer) -> Analysis:
    return analyzer.analyze_bytes(real("2369151434").read_bytes(), lookup=True)


def rand_hex(rng: np.random.Generator, bits: int) -> str:
    return rng.bytes(bits // 8).hex()


def photo(face: Analysis, rng: np.random.Generator, sha: str | None = None) -> Analysis:
    """A stored photo with its own random hashes (every region usable), so every kind counts."""
    return dataclasses.replace(
        face, sha256=sha or rand_hex(rng, 256),
        image=ImageHashes(rand_hex(rng, 64), rand_hex(rng, 64), rand_hex(rng, 256),
                          rand_hex(rng, 256), 100),
        regions={r: RegionHash(r, rand_hex(rng, 64), rand_hex(rng, 64), 100.0, 1.0)
                 for r in face.regions})


def near(a: Analysis, rng: np.random.Generator) -> Analysis:
    """A lookup whose hashes are a few bits from ``a``'s (a candidate by every probed kind)."""
    def flip(h: str, n: int = 3) -> str:
        b = bytearray(bytes.fromhex(h))
        for i in rng.choice(len(b) * 8, n, replace=False):
            b[i // 8] ^= 1 << (i % 8)
        return b.hex()

    im = a.image
    return dataclasses.replace(
        a, sha256=rand_hex(rng, 256),
        image=ImageHashes(flip(im.phash), flip(im.phash_mirror), flip(im.pdq), flip(im.pdq_mirror),
                          100),
        regions={r: dataclasses.replace(h, hash=flip(h.hash), mirror=flip(h.mirror))
                 for r, h in a.regions.items()})


def add(store: Store, photos: list[Analysis]) -> list[int]:
    return [store.add(p, Sighting(page_url=f"https://example.test/{p.sha256[:8]}")).photo_id
            for p in photos]


def answers(idx: RegionIndex, lookups: list[Analysis]) -> list[dict[int, tuple[str, int]]]:
    return [M.candidates(q, idx, set()) for q in lookups]


def found(cands: dict[int, tuple[str, int]], pid: int) -> bool:
    """``pid`` among the candidates as a lookup made by ``near`` finds its photo (3 bits off;
    random hashes are that close only by a chance too small to matter)."""
    return pid in cands and cands[pid][1] <= 3


@pytest.fixture
def saved(face: Analysis, analyzer: Analyzer, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Analysis], np.random.Generator]:
    """A store of 40 photos whose ``Headcheck`` saved its index on close."""
    monkeypatch.setattr(index_module, "SAVE_MIN_PHOTOS", 0)
    monkeypatch.setattr(index_module, "TRIM_KEEP", 0)  # a save trims the whole change log
    rng = np.random.default_rng(5)
    db = tmp_path / "store.db"
    photos = [photo(face, rng) for _ in range(40)]
    add(Store(db), photos)
    hc = Headcheck(db, analyzer=analyzer)
    hc.close()
    assert (tmp_path / "store.db.index").is_file()
    return db, photos, rng


def test_a_restart_loads_the_saved_index_and_answers_as_a_rebuild(saved, caplog) -> None:
    db, photos, rng = saved
    store = Store(db)
    lookups = [near(p, rng) for p in photos]
    with caplog.at_level(logging.INFO, logger="headcheck.index"):
        loaded = RegionIndex.from_store(store, index_path(store))
    assert "loaded the saved index" in caplog.text
    assert loaded.saved == (40, 0)
    rebuilt = RegionIndex.from_store(store)
    got = answers(loaded, lookups)
    assert got == answers(rebuilt, lookups)
    assert all(found(c, i) for i, c in enumerate(got, start=1))
    for kind in RegionIndex.KINDS:
        assert len(loaded.indexes[kind]) == len(rebuilt.indexes[kind])


def test_photos_added_after_the_save_are_found(saved) -> None:
    db, photos, rng = saved
    store = Store(db)
    later = [photo(photos[0], rng) for _ in range(7)]
    ids = add(store, later)
    loaded = RegionIndex.load(index_path(store), store)
    assert loaded.last_photo_id == max(ids)
    got = answers(loaded, [near(p, rng) for p in later])
    assert all(found(c, i) for i, c in zip(ids, got, strict=True))


def test_forgotten_photos_are_not_found_after_a_restart_nor_kept_in_the_file(
        saved, tmp_path: Path) -> None:
    db, photos, rng = saved
    gone = photos[3], photos[-1]  # one inside, and the top id (which a new photo takes again)
    lookups = [near(p, rng) for p in gone]
    say = forget_everywhere(str(db), [p.sha256 for p in gone], None, None, None,
                            tmp_path / "files", [])
    assert "wrote the saved index" in say
    raw = (tmp_path / "store.db.index").read_bytes()
    for p in gone:  # the file itself holds no hash of them (stored as native words)
        pdq = np.frombuffer(bytes.fromhex(p.image.pdq), ">u8").astype(np.uint64).tobytes()
        assert pdq not in raw
    store = Store(db)
    newcomer = photo(photos[0], rng)
    (new_id,) = add(store, [newcomer])
    assert new_id == 40  # the freed top id, taken again
    loaded = RegionIndex.load(index_path(store), store)
    assert not any(found(c, i) for i, c in zip((4, 40), answers(loaded, lookups), strict=True))
    assert found(answers(loaded, [near(newcomer, rng)])[0], 40)
    assert answers(loaded, lookups + [near(newcomer, rng)]) == answers(
        RegionIndex.from_store(store), lookups + [near(newcomer, rng)])


def test_a_running_index_drops_what_another_process_forgets(saved) -> None:
    db, photos, rng = saved
    running = RegionIndex.from_store(Store(db), index_path(Store(db)))
    other = Store(db)
    other.forget([photos[5].sha256])
    version = running.version
    running.refresh(Store(db))
    assert running.version > version
    assert not found(answers(running, [near(photos[5], rng)])[0], 6)
    assert len(running) == 39


def test_a_re_analysed_photo_is_read_again(saved, monkeypatch: pytest.MonkeyPatch) -> None:
    db, photos, rng = saved
    store = Store(db)
    monkeypatch.setattr("headcheck.store.writes.ANALYSIS_VERSION", 99)
    again = photo(photos[0], rng, sha=photos[8].sha256)  # same bytes, new hashes, same id
    (pid,) = add(store, [again])
    loaded = RegionIndex.load(index_path(store), store)
    assert pid == 9
    assert not found(answers(loaded, [near(photos[8], rng)])[0], pid)
    assert found(answers(loaded, [near(again, rng)])[0], pid)


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1000])


def damage_flip(path: Path) -> None:
    b = bytearray(path.read_bytes())
    b[len(b) // 2] ^= 0x10
    path.write_bytes(bytes(b))


def damage_garbage(path: Path) -> None:
    path.write_bytes(b"not an index at all")


def damage_empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip, damage_garbage, damage_empty])
def test_a_damaged_file_is_set_aside_and_the_index_built_from_the_store(
        saved, damage, caplog) -> None:
    db, photos, rng = saved
    store = Store(db)
    path = index_path(store)
    damage(path)
    with pytest.raises(IndexFileError):
        RegionIndex.load(path, store)
    with caplog.at_level(logging.WARNING, logger="headcheck.index"):
        idx = RegionIndex.from_store(store, path)
    assert "not used" in caplog.text and "building the index from the store" in caplog.text
    lookups = [near(p, rng) for p in photos]
    assert answers(idx, lookups) == answers(RegionIndex.from_store(store), lookups)
    assert len(idx) == 40


def test_a_stale_or_foreign_file_is_set_aside(saved, tmp_path: Path, face: Analysis,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db, photos, rng = saved
    store = Store(db)
    path = index_path(store)
    other = Store(tmp_path / "other.db")
    add(other, photos)  # the same photos, but another store
    with pytest.raises(IndexFileError, match="another store"):
        RegionIndex.load(path, other)
    monkeypatch.setattr(index_module, "_kinds_key", lambda: "another version")
    with pytest.raises(IndexFileError, match="analysis version"):
        RegionIndex.load(path, store)


def test_closing_writes_the_file_again_only_when_it_is_behind(
        saved, analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    db, photos, rng = saved
    path = db.with_name("store.db.index")
    before = path.stat().st_mtime_ns
    hc = Headcheck(db, analyzer=analyzer)
    hc.close()
    assert path.stat().st_mtime_ns == before  # level: not written
    monkeypatch.setattr(index_module, "SAVE_EVERY", 2)
    hc = Headcheck(db, analyzer=analyzer)
    add(hc.store, [photo(photos[0], rng) for _ in range(2)])
    hc.close()
    assert RegionIndex.load(path, Store(db)).saved == (42, 0)


def test_a_file_that_cannot_be_written_costs_a_warning_not_the_close(
        saved, analyzer: Analyzer, tmp_path: Path, caplog) -> None:
    db, photos, rng = saved
    hc = Headcheck(db, analyzer=analyzer, index_file=tmp_path / "no such folder" / "x.index")
    with caplog.at_level(logging.WARNING, logger="headcheck.index"):
        hc.close()
    assert "could not save the index" in caplog.text
    assert not list(tmp_path.glob("**/*.tmp"))


def test_a_copy_half_written_by_a_killed_process_is_removed_at_the_next_save(saved) -> None:
    import subprocess
    import sys

    db, photos, rng = saved
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    path = db.with_name("store.db.index")
    left = path.with_name(f".store.db.index.{dead}.1.tmp")
    left.write_bytes(b"half")
    alive = path.with_name(f".store.db.index.{os.getpid()}.2.tmp")  # a save in progress
    alive.write_bytes(b"half")
    store = Store(db)
    RegionIndex.load(path, store).save(path)
    assert not left.exists() and alive.exists()
    assert RegionIndex.load(path, store).saved == (40, 0)


def test_a_file_newer_than_a_store_restored_from_a_copy_is_set_aside(saved, face: Analysis
                                                                     ) -> None:
    db, photos, rng = saved
    path = db.with_name("store.db.index")
    store = Store(db)
    first = [photo(face, rng) for _ in range(2)]
    add(store, first)
    RegionIndex.load(path, store).save(path)  # the file now holds photos 41 and 42
    # The store goes back to a copy taken at 40 photos (nothing of 41 and 42 in its log), then
    # two other photos take ids 41 and 42.
    store.forget([p.sha256 for p in first])
    store.db.execute("DELETE FROM index_changes")
    others = [photo(face, rng) for _ in range(2)]
    assert add(store, others) == [41, 42]
    with pytest.raises(IndexFileError, match="differ"):
        RegionIndex.load(path, store)
    idx = RegionIndex.from_store(store, path)
    assert all(found(c, i) for i, c in zip((41, 42), answers(idx, [near(p, rng) for p in others]),
                                           strict=True))


def log_size(store: Store) -> int:
    return store.db.execute("SELECT count(*) FROM index_changes").fetchone()[0]


def test_a_save_trims_the_change_log_up_to_the_seq_it_saved(
        saved, analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    db, photos, rng = saved
    store = Store(db)
    store.forget([p.sha256 for p in photos[:3]])
    seq = store.index_change_seq()
    assert log_size(store) >= 3 and store.index_changes_trimmed() == 0
    Headcheck(db, analyzer=analyzer).close()  # behind the log: saved again, then trimmed
    assert log_size(store) == 0
    assert store.index_changes_trimmed() == seq == store.index_change_seq()
    assert RegionIndex.load(index_path(store), store).saved == (40, seq)
    # The last TRIM_KEEP entries below the saved seq stay, for a running index just behind it.
    monkeypatch.setattr(index_module, "TRIM_KEEP", 2)
    store.forget([p.sha256 for p in photos[3:7]])
    Headcheck(db, analyzer=analyzer).close()
    top = store.index_change_seq()
    assert [r[0] for r in store.db.execute("SELECT seq FROM index_changes")] == [top - 1, top]
    assert store.index_changes_trimmed() == top - 2


def test_a_running_index_behind_the_trim_is_built_again_without_a_forgotten_photo(
        saved, tmp_path: Path, caplog) -> None:
    db, photos, rng = saved
    store = Store(db)
    running = RegionIndex.from_store(store, index_path(store))  # a server's, at change 0
    say = forget_everywhere(str(db), [photos[5].sha256], None, None, None, tmp_path / "files", [])
    assert "wrote the saved index" in say
    assert log_size(store) == 0 and store.index_changes_trimmed() > running.change_seq
    version = running.version
    with caplog.at_level(logging.WARNING, logger="headcheck.index"):
        running.refresh(store)
    assert "building the index again from the store" in caplog.text
    assert running.version > version and len(running) == 39
    assert running.change_seq == store.index_change_seq()
    lookups = [near(p, rng) for p in photos]
    got = answers(running, lookups)
    assert not found(got[5], 6)
    assert got == answers(RegionIndex.from_store(store), lookups)


def test_a_saved_file_older_than_the_trim_is_not_used(
        saved, analyzer: Analyzer, caplog) -> None:
    db, photos, rng = saved
    store = Store(db)
    path = index_path(store)
    old = path.read_bytes()  # saved at change 0, holding photo 8
    store.forget([photos[7].sha256])
    Headcheck(db, analyzer=analyzer).close()  # saved again and the log trimmed
    assert store.index_changes_trimmed() > 0 and log_size(store) == 0
    path.write_bytes(old)  # a copy from before (another HEADCHECK_INDEX_FILE, a restore)
    with pytest.raises(IndexFileError, match="older than the store's change log"):
        RegionIndex.load(path, store)
    with caplog.at_level(logging.WARNING, logger="headcheck.index"):
        idx = RegionIndex.from_store(store, path)
    assert "not used (it is older than the store's change log, trimmed up to" in caplog.text
    assert len(idx) == 39
    assert not found(answers(idx, [near(photos[7], rng)])[0], 8)


def test_the_trim_mark_never_goes_down(saved) -> None:
    db, photos, rng = saved
    store = Store(db)
    store.forget([p.sha256 for p in photos[:4]])
    top = store.index_change_seq()
    assert store.trim_index_changes(top - 1) == top - 1
    assert store.trim_index_changes(1) == 0  # a lower seq (an older save) trims nothing
    assert store.index_changes_trimmed() == top - 1
    assert store.changed_photos(top - 1, top) == {4}
    assert store.trim_index_changes(top) == 1
    # The log is empty, yet its seq does not go back: what an index applied stays below it.
    assert log_size(store) == 0 and store.index_change_seq() == top
    store.forget([photos[4].sha256])
    after = store.index_change_seq()  # new entries above the mark, none reused
    assert after > top and store.changed_photos(top, after) == {5}
    assert Store(db).index_changes_trimmed() == top  # kept in the store


def test_a_reused_id_after_a_trim_holds_the_new_photo(saved, face: Analysis) -> None:
    db, photos, rng = saved
    store = Store(db)
    path = index_path(store)
    running = RegionIndex.from_store(store, path)  # holds photo 40
    store.forget([photos[-1].sha256])
    newcomer = photo(face, rng)
    assert add(store, [newcomer]) == [40]  # the freed top id, taken again
    other = RegionIndex.load(path, store)  # level with the store, then saved: the log trimmed
    other.save(path)
    assert index_module.trim_change_log(other, store) > 0 and log_size(store) == 0
    running.refresh(store)  # ids alone say nothing changed; the trim mark says it cannot know
    assert not found(answers(running, [near(photos[-1], rng)])[0], 40)
    assert found(answers(running, [near(newcomer, rng)])[0], 40)
    loaded = RegionIndex.load(path, store)
    lookups = [near(p, rng) for p in [*photos, newcomer]]
    assert answers(running, lookups) == answers(loaded, lookups) == answers(
        RegionIndex.from_store(store), lookups)
