"""The command line contract, end to end on a real SQLite file and the bundled sample set."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps

from headcheck.analyze import Analysis, Analyzer
from headcheck.cli import main
from tests.conftest import ROOT, jpeg, real

SAMPLE = ROOT / "data" / "sample"
PAGE = "https://people.example.org/profile/"


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def lines(result: click.testing.Result) -> list[dict]:
    return [json.loads(x) for x in result.output.splitlines() if x.strip()]


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("db") / "headcheck.db"
    r = run("index", "--db", str(db), "--pages", str(SAMPLE / "pages.csv"))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("indexed 15 files")  # "creating a new store" goes to stderr
    assert "15 new photos, 0 known, 15 new sightings, 0 errors" in r.output
    return db


def test_every_command_has_help() -> None:
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        cmd = main.get_command(ctx, name)
        assert cmd is not None and cmd.help, f"{name} has no help text"
        assert run(name, "--help").exit_code == 0


def test_analyze_json_contract(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not really a jpeg")
    r = run("analyze", "--json", str(real("3156504080")), str(bad))
    assert r.exit_code == 1  # one file failed
    good, err = lines(r)
    assert good["error"] is None and good["face"]["score"] > 0
    assert set(good["hashes"]) == {"image", "pdq", "face", "context", "body", "background"}
    assert err["file"] == str(bad) and err["error"].startswith("not an image")
    assert err["hashes"] is None and err["signals"] == []


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["analyze"]).exit_code == 2
    assert CliRunner().invoke(main, ["check", "--json", "x.jpg"]).exit_code == 2  # no --db
    assert CliRunner().invoke(main, ["index", "--db", str(tmp_path / "d.db")]).exit_code == 2


def test_sample_verdicts(sample_db: Path) -> None:
    r = run("flagged", "--db", str(sample_db), "--json")
    by_page = {p: o for o in lines(r) for p in o["pages"]}
    labels = {p.removeprefix(PAGE): o["label"] for p, o in by_page.items()}
    assert labels == {
        "stock-photo-4452457288": "composited", "dana-whitfield": "composited",
        "marc-oyelaran": "composited", "lena-brandt": "composited",
        "sam-keller": "reused", "samuel-k": "reused", "s-keller-consulting": "reused",
        "keller-sam": "reused", "jordan-hale": "synthetic", "priya-natarajan": "synthetic",
        "alex-moreau": "synthetic", "chris-tanaka": "synthetic",
    }  # and the three plain photos carry no signal
    dana = by_page[PAGE + "dana-whitfield"]["reasons"][0]
    assert dana["kind"] == "composited" and len(dana["matches"]) == 3
    assert {p for m in dana["matches"] for p in m["pages"]} == {
        PAGE + "marc-oyelaran", PAGE + "lena-brandt", PAGE + "stock-photo-4452457288"}


def test_reindexing_is_idempotent(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    analysed: list[str] = []
    analyze_bytes = Analyzer.analyze_bytes

    def counted(self: Analyzer, data: bytes, **kw: object) -> Analysis:
        a = analyze_bytes(self, data, **kw)
        analysed.append(a.sha256)
        return a

    monkeypatch.setattr(Analyzer, "analyze_bytes", counted)
    r = run("index", "--db", str(sample_db), "--pages", str(SAMPLE / "pages.csv"))
    assert "0 new photos, 15 known, 0 new sightings" in r.output
    assert analysed == []  # stored and analysed by these versions: a lookup each
    con = sqlite3.connect(sample_db)
    assert con.execute("SELECT count(*) FROM photos").fetchone()[0] == 15
    assert con.execute("SELECT count(*) FROM sightings").fetchone()[0] == 15
    assert con.execute("SELECT max(times_seen) FROM sightings").fetchone()[0] == 2
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # the template and its three composites form one cluster, the reused photo another
    sizes = sorted(n for (n,) in con.execute(
        "SELECT count(*) FROM photos WHERE cluster_id IS NOT NULL GROUP BY cluster_id"))
    assert sizes == [4, 4]

    # A photo stored before detector versions were kept is analysed again, and only that one.
    sha = con.execute("SELECT sha256 FROM photos ORDER BY id LIMIT 1").fetchone()[0]
    with con:
        con.execute("UPDATE photos SET detectors = NULL WHERE sha256 = ?", [sha])
    r = run("index", "--db", str(sample_db), "--pages", str(SAMPLE / "pages.csv"))
    assert "0 new photos, 15 known, 0 new sightings" in r.output
    assert analysed == [sha]
    assert con.execute("SELECT detectors FROM photos WHERE sha256 = ?", [sha]).fetchone()[0]


def test_check_new_copy_of_a_reused_photo(sample_db: Path, tmp_path: Path) -> None:
    src = Image.open(SAMPLE / "images" / "reused-original.jpg")
    w, h = src.size
    copy = ImageOps.mirror(src.crop((0, int(0.06 * h), int(0.93 * w), h))).resize((260, 364))
    f = tmp_path / "new-profile.jpg"
    f.write_bytes(jpeg(copy, quality=65))
    r = run("check", "--db", str(sample_db), "--json", "--page-url", "https://x.example/u/9",
            str(f))
    assert r.exit_code == 0
    (out,) = lines(r)
    assert out["label"] == "reused" and out["error"] is None
    reason = out["reasons"][0]
    assert reason["kind"] == "reused" and reason["signal"] == "match.same_photo"
    pages = {p for m in reason["matches"] for p in m["pages"]}
    assert PAGE + "sam-keller" in pages and len(pages) == 4
    # Sam Keller, Keller Sam and S Keller Consulting are one identity; Samuel K is another
    assert reason["evidence"]["identities"] == 2 and reason["page_count"] == 5
    assert "2 different names" in reason["detail"]


def test_check_unrelated_photo_has_no_signal(sample_db: Path, tmp_path: Path) -> None:
    f = tmp_path / "someone.jpg"
    f.write_bytes(real("3679345595").read_bytes())
    r = run("check", "--db", str(sample_db), "--json", str(f))
    (out,) = lines(r)
    assert (out["label"], out["confidence"], out["reasons"]) == ("none", 0.0, [])
    human = run("check", "--db", str(sample_db), str(f))
    assert human.output.strip().endswith("no signal found")
    assert "authentic" not in human.output.lower()


def test_check_the_stored_photo_itself(sample_db: Path) -> None:
    """Its own sightings count only because they are on other pages than one another."""
    r = run("check", "--db", str(sample_db), "--json", str(SAMPLE / "images" / "composite-2.jpg"))
    (out,) = lines(r)
    assert out["label"] == "composited"


def test_index_folder_with_a_broken_file(tmp_path: Path) -> None:
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "a.jpg").write_bytes(real("3156504080").read_bytes())
    (d / "b.png").write_bytes(real("3156504080").read_bytes()[:5000])  # truncated
    (d / "notes.txt").write_text("not an image, and not picked up from a folder")
    db = tmp_path / "h.db"
    r = CliRunner().invoke(main, ["index", "--db", str(db), str(d)])
    assert r.exit_code == 1
    assert "error: " in r.stderr and "b.png" in r.stderr
    assert "indexed 2 files" in r.output and "1 new photos" in r.output and "1 errors" in r.output
    con = sqlite3.connect(db)
    (page,) = con.execute("SELECT page_url FROM sightings").fetchone()
    assert page == (d / "sub" / "a.jpg").resolve().as_uri()


def test_pages_csv_rejects_rows_without_a_page(tmp_path: Path) -> None:
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("path,page_url\nimg.jpg,\n")
    r = CliRunner().invoke(main, ["index", "--db", str(tmp_path / "d.db"), "--pages",
                                  str(csv_file)])
    assert r.exit_code == 2 and "expected 'path,page_url'" in r.output


def test_hostile_inputs_never_crash(tmp_path: Path) -> None:
    files = []
    for name, data in {"empty.jpg": b"", "zip.png": b"PK\x03\x04" + b"\x00" * 100,
                       "half.webp": _webp()[:60]}.items():
        (tmp_path / name).write_bytes(data)
        files.append(str(tmp_path / name))
    r = run("analyze", "--json", *files)
    assert r.exit_code == 1
    assert all(o["error"] for o in lines(r))


def _webp() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "blue").save(buf, format="WEBP")
    return buf.getvalue()
