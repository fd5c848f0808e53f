"""The shipped Datasette metadata: it names real tables and columns, its canned queries run on a
real store (through sqlite3), and `datasette DB --metadata FILE` serves them."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml  # noqa: E402 - PyYAML comes with datasette (a dev dependency)

from headcheck.report.build import ReportOptions, build_report
from tests.conftest import ROOT
from tests.report.test_report_support import indexed_sample

METADATA = ROOT / "datasette" / "metadata.yml"
QUERIES = ("clusters_by_size", "photos_seen_on_most_profiles", "flagged_by_site_and_month")


@pytest.fixture(scope="module")
def metadata() -> dict:
    return yaml.safe_load(METADATA.read_text())["databases"]["headcheck"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The indexed sample after a report wrote its verdicts tables, named as the metadata
    expects (Datasette names a database after its file)."""
    db = indexed_sample(tmp_path_factory.mktemp("datasette") / "headcheck.db")
    build_report(db, db.parent / "report", ReportOptions(progress=False))
    return db


def run(db: Path, sql: str, params: dict[str, str]) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute(sql, params)]


def test_metadata_describes_real_tables_and_columns(metadata: dict, store: Path) -> None:
    conn = sqlite3.connect(store)
    for table, meta in metadata["tables"].items():
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        assert columns, f"no table {table}"
        assert set(meta.get("columns", {})) <= columns, table
        assert set(meta.get("facets", [])) <= columns, table
        assert set(meta["columns"]) == columns, f"{table}: undescribed columns"
    assert set(QUERIES) <= set(metadata["queries"])


def test_canned_queries_run_on_a_real_store(metadata: dict, store: Path) -> None:
    q = metadata["queries"]
    clusters = run(store, q["clusters_by_size"]["sql"], {})
    assert [(c["photos"], c["same_context_links"], c["same_photo_links"]) for c in clusters] == [
        (4, 6, 0), (4, 0, 6)]
    assert "Dana Whitfield" in clusters[0]["profile_names"]
    top = run(store, q["photos_seen_on_most_profiles"]["sql"], {"min_profiles": ""})
    assert [(r["copies"], r["profiles"], r["names"]) for r in top] == [(4, 4, 4)]
    assert set(top[0]["profile_names"].split(",")) == {
        "Sam Keller", "Samuel K", "S Keller Consulting", "Keller Sam"}
    assert run(store, q["photos_seen_on_most_profiles"]["sql"], {"min_profiles": "5"}) == []
    assert len(run(store, q["photos_seen_on_most_profiles"]["sql"], {"min_profiles": "1"})) == 12
    flagged = run(store, q["flagged_by_site_and_month"]["sql"], {"site": ""})
    assert len(flagged) == 1
    row = flagged[0]
    assert (row["site"], row["photos"], row["synthetic"], row["composited"], row["reused"],
            row["flagged"], row["flagged_pct"]) == ("people.example.org", 15, 4, 4, 4, 12, 80.0)
    assert run(store, q["flagged_by_site_and_month"]["sql"], {"site": "elsewhere.org"}) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> list | dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_datasette_serves_the_canned_queries(store: Path) -> None:
    pytest.importorskip("datasette", reason="datasette is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(store), "--metadata", str(METADATA),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"{base}/-/versions.json")
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "datasette did not start in 30 s"
                time.sleep(0.2)
        sizes = _get(f"{base}/headcheck/clusters_by_size.json?_shape=array")
        assert [c["photos"] for c in sizes] == [4, 4]
        most = _get(f"{base}/headcheck/photos_seen_on_most_profiles.json?_shape=array")
        assert most[0]["profiles"] == 4
        by_site = _get(f"{base}/headcheck/flagged_by_site_and_month.json?_shape=array"
                       "&site=people.example.org")
        assert by_site[0]["flagged"] == 12
        verdicts = _get(f"{base}/headcheck/verdicts.json?_shape=objects")
        facet = verdicts["facet_results"]
        facet = facet.get("results", facet)  # newer Datasette nests the facets
        counts = {f["value"]: f["count"] for f in facet["label"]["results"]}
        assert counts == {"synthetic": 4, "composited": 4, "reused": 4, "none": 3}
        meta = _get(f"{base}/-/metadata.json")
        assert meta["databases"]["headcheck"]["queries"]["clusters_by_size"]["title"] == (
            "Clusters by size")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
