"""`headcheck forget`: a person's data leaves the store, the crawl's files and the report, and
nothing of it stays readable in the database file."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from click.testing import CliRunner
from scrapy import Request
from scrapy.pipelines.files import FilesPipeline

from headcheck.cli import main
from headcheck.forget import image_files
from headcheck.report.build import ReportOptions, build_report
from headcheck.store.base import now_iso
from tests.report.test_report_support import indexed_sample

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def rows(db: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_forget_a_photo_everywhere(tmp_path: Path) -> None:
    db = indexed_sample(tmp_path / "store.db")
    report = tmp_path / "report"
    build_report(db, report, ReportOptions(progress=False))
    ring = SAMPLE / "images" / "reused-ring.jpg"
    sha = hashlib.sha256(ring.read_bytes()).hexdigest()
    (pid, image_url), = rows(db, "SELECT p.id, s.image_url FROM photos p JOIN sightings s "
                                 "ON s.photo_id = p.id WHERE p.sha256 = ?", sha)
    # The crawl keeps originals as Scrapy names them; one for this sighting, one for another.
    files = tmp_path / "store.db.files"
    (files / "full").mkdir(parents=True)
    ours = files / FilesPipeline.file_path(None, Request(image_url))  # type: ignore[arg-type]
    ours.write_bytes(ring.read_bytes())
    ours.with_name(ours.name + ".http.json").write_text("{}")
    other = files / "full" / "unrelated.jpg"
    other.write_bytes(b"x")
    assert image_files(files, image_url) == sorted([ours, ours.with_name(ours.name + ".http.json")])
    assert (report / "thumbs" / f"{sha}.jpg").is_file()
    assert "Keller Sam" in (report / "sightings.csv").read_text()

    r = run("forget", "--db", str(db), "--sha256", sha.upper(), "--report", str(report))
    assert r.exit_code == 0, r.output
    assert "forgot 1 photo" in r.output and "removed 2 files" in r.output
    for table, column in (("photos", "id"), ("sightings", "photo_id"),
                          ("region_hashes", "photo_id"), ("signals", "photo_id"),
                          ("matches", "photo_id"), ("matches", "other_id"),
                          ("verdicts", "photo_id"), ("photo_sites", "photo_id")):
        assert rows(db, f"SELECT count(*) FROM {table} WHERE {column} = ?", pid) == [(0,)], table
    assert not ours.exists() and other.exists()
    assert not (report / "thumbs" / f"{sha}.jpg").exists()
    assert "Keller Sam" not in (report / "sightings.csv").read_text()
    # Overwritten, not just unlinked: the name is nowhere in the database's bytes.
    assert b"Keller Sam" not in db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or b"Keller Sam" not in wal.read_bytes()
    # The other copies of that photo now share one page fewer.
    assert len(rows(db, "SELECT * FROM photos")) == 14


def test_forget_a_profile_or_a_page_and_pixels_after_a_while(tmp_path: Path) -> None:
    db = indexed_sample(tmp_path / "store.db")
    r = run("forget", "--db", str(db), "--profile", "Samuel K")
    assert r.exit_code == 0 and "forgot 1 photo and 1 image address" in r.output, r.output
    assert rows(db, "SELECT count(*) FROM sightings WHERE profile_name = 'Samuel K'") == [(0,)]
    page = "https://people.example.org/profile/tom-becker"
    r = run("forget", "--db", str(db), "--page", page)
    assert r.exit_code == 0 and "forgot 1 photo" in r.output, r.output
    assert rows(db, "SELECT count(*) FROM sightings WHERE page_url = ?", page) == [(0,)]
    assert rows(db, "SELECT count(*) FROM photos") == [(13,)]
    # Retention: pixels go, hashes stay. Every photo seen in this very second: "0 days" still
    # takes them all (times are stored to the second; a strict "before" missed such photos).
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE sightings SET last_seen = ?", [now_iso()])
    r = run("forget", "--db", str(db), "--pixels-older-than", "0")
    assert r.exit_code == 0 and "dropped the pixels of 13 photos" in r.output, r.output
    assert rows(db, "SELECT count(*) FROM photos WHERE thumb IS NOT NULL OR chip IS NOT NULL "
                    "OR embedding IS NOT NULL") == [(0,)]
    assert rows(db, "SELECT count(*) FROM region_hashes") != [(0,)]
    assert run("forget", "--db", str(db)).exit_code == 2  # nothing said to forget
