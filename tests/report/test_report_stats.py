"""Report statistics against values worked out by hand (Wilson bounds from the closed form with
z = 1.959964, computed independently with bc) on a hand-built store."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from headcheck.report.clusters import components
from headcheck.report.dataset import collect
from headcheck.report.stats import (
    FLAGGED,
    LOCAL_FILE,
    UNKNOWN,
    median,
    month_of,
    prevalence,
    site_of,
    wilson,
)
from headcheck.report.tables import write_tables
from headcheck.store import Store
from headcheck.verdicts import iter_verdicts
from tests.report.test_report_support import HAND_BUILT, SYNTHETIC_SCORES, hand_built_store


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (3, 10, 0.107791, 0.603222),
    (4, 15, 0.108975, 0.519504),
    (4, 5, 0.375535, 0.963776),
    (1, 10, 0.017876, 0.404150),
    (2, 3, 0.207660, 0.938508),
])
def test_wilson_interval_matches_hand_computed_values(k: int, n: int, low: float,
                                                      high: float) -> None:
    assert wilson(k, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_interval_at_zero_and_at_n() -> None:
    # k = 0: [0, z²/(n+z²)]; k = n: [n/(n+z²), 1]; z² = 3.841459
    assert wilson(0, 4) == (0.0, pytest.approx(3.841459 / 7.841459, abs=1e-6))
    assert wilson(3, 3) == (pytest.approx(3 / 6.841459, abs=1e-6), 1.0)
    assert wilson(0, 1)[0] == 0.0 and wilson(1, 1)[1] == 1.0
    assert wilson(0, 10_000) == (0.0, pytest.approx(3.841459 / 10_003.841459, abs=1e-9))


def test_wilson_interval_refuses_impossible_counts() -> None:
    for k, n in ((0, 0), (5, 4), (-1, 3)):
        with pytest.raises(ValueError):
            wilson(k, n)


def test_sites_and_months() -> None:
    assert site_of("https://www.Example.org/u/ann") == "example.org"
    assert site_of("http://people.example.org:8080/x") == "people.example.org"
    assert site_of("file:///tmp/a.jpg") == LOCAL_FILE
    assert site_of("not a url") == UNKNOWN
    assert site_of("http://[::1") == UNKNOWN  # unparsable
    assert month_of("2024-03-31T23:59:59+00:00") == "2024-03"
    assert month_of("2024-13-01") == UNKNOWN
    assert month_of(None) == UNKNOWN
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([1.0, 4.0]) == 2.5 and median([]) is None


def test_prevalence_counts_groups_and_flags() -> None:
    rows = prevalence([("a", "synthetic"), ("a", "none"), ("b", "reused")])
    assert [r.group for r in rows] == ["a", "b"]  # larger group first
    a = rows[0]
    assert a.n == 2 and a.by_label["synthetic"].k == 1 and a.by_label[FLAGGED].k == 1
    assert a.by_label["composited"].k == 0 and a.by_label["composited"].low == 0.0
    assert rows[1].by_label[FLAGGED].share == 1.0 and rows[1].by_label[FLAGGED].high == 1.0


def test_components_join_chains_and_name_them_by_lowest_id() -> None:
    assert components([(5, 9), (9, 2), (7, 8)]) == {2: 2, 5: 2, 9: 2, 7: 7, 8: 7}
    assert components([]) == {}


@pytest.fixture(scope="module")
def hand_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hand_built_store(tmp_path_factory.mktemp("hand") / "hand.db")


def test_hand_built_store_gets_the_intended_labels(hand_db: Path) -> None:
    store = Store(hand_db)
    got = {v.photo_id: v.verdict.label for v in iter_verdicts(store)}
    assert got == {pid: label for pid, (label, _) in HAND_BUILT.items()}
    # Chunk edges must not change a verdict: every chunking gives the hand-built labels, the
    # hand-set synthetic scores, and the very same verdicts.
    by_chunk = {chunk: {v.photo_id: v.verdict for v in iter_verdicts(store, chunk=chunk)}
                for chunk in (1, 3, 2000)}
    store.close()
    for verdicts in by_chunk.values():
        assert {pid: v.label for pid, v in verdicts.items()} == got
        assert {pid: verdicts[pid].confidence for pid in SYNTHETIC_SCORES} == SYNTHETIC_SCORES
    assert by_chunk[1] == by_chunk[3] == by_chunk[2000]


def _p(row, label: str) -> tuple[int, int, float, float]:
    p = row.by_label[label]
    return p.k, p.n, round(p.low, 6), round(p.high, 6)


def test_prevalence_overall_by_site_and_month_by_hand(hand_db: Path) -> None:
    store = Store(hand_db)
    data = collect(store, str(hand_db))
    store.close()
    # overall: 3 synthetic, 2 composited, 1 reused, 4 none of 10; 6 flagged
    assert _p(data.overall, "synthetic") == (3, 10, 0.107791, 0.603222)
    assert _p(data.overall, "reused") == (1, 10, 0.017876, 0.404150)
    assert data.overall.by_label[FLAGGED].k == 6
    sites = {r.group: r for r in data.by_site}
    assert list(sites) == ["b.example", "a.example"]  # 6 photos, then 5 (photo 5 is on both)
    assert _p(sites["a.example"], FLAGGED) == (4, 5, 0.375535, 0.963776)
    assert _p(sites["b.example"], "none") == (3, 6, 0.187616, 0.812384)
    months = {r.group: r for r in data.by_month}
    assert list(months) == ["2024-01", "2024-02", "2024-03"]  # chronological
    assert _p(months["2024-01"], FLAGGED) == (3, 3, 0.438503, 1.0)  # k = n
    assert _p(months["2024-03"], "composited") == (0, 4, 0.0, 0.489891)  # k = 0
    assert _p(months["2024-02"], "composited") == (2, 3, 0.207660, 0.938508)


def test_verdict_tables_hold_the_report_units(hand_db: Path, tmp_path: Path) -> None:
    store = Store(hand_db)
    data = collect(store, str(hand_db))
    for _ in range(2):  # a second report replaces the tables, never appends
        assert write_tables(store, data.photos) == 10
    store.close()
    db = sqlite3.connect(hand_db)
    labels = dict(db.execute("SELECT photo_id, label FROM verdicts"))
    assert labels == {pid: label for pid, (label, _) in HAND_BUILT.items()}
    sites = db.execute("SELECT site, first_seen, month FROM photo_sites WHERE photo_id = 5 "
                       "ORDER BY site").fetchall()
    assert sites == [("a.example", "2024-01-09T10:00:00+00:00", "2024-01"),
                     ("b.example", "2024-03-02T10:00:00+00:00", "2024-03")]
    assert db.execute("SELECT count(*) FROM photo_sites").fetchone()[0] == 11
    assert db.execute("SELECT month FROM verdicts WHERE photo_id = 5").fetchone()[0] == "2024-01"


def test_prevalence_csv_carries_the_same_figures(hand_db: Path, tmp_path: Path) -> None:
    from headcheck.report.build import ReportOptions, build_report

    build_report(hand_db, tmp_path, ReportOptions(write_tables=False, progress=False))
    with (tmp_path / "prevalence.csv").open() as fh:
        rows = {(r["scope"], r["group"], r["label"]): r for r in csv.DictReader(fh)}
    k0 = rows[("month", "2024-03", "composited")]
    assert (k0["k"], k0["n"], k0["ci95_low"], k0["ci95_high"]) == ("0", "4", "0.0", "0.489891")
    kn = rows[("month", "2024-01", FLAGGED)]
    assert (kn["k"], kn["n"], kn["ci95_low"], kn["ci95_high"]) == ("3", "3", "0.438503", "1.0")
    assert rows[("site", "a.example", FLAGGED)]["ci95_high"] == "0.963776"
    # groups (overall, 2 sites, 3 months, all profiles) x (4 labels + flagged)
    assert len(rows) == (1 + 2 + 3 + 1) * 5
