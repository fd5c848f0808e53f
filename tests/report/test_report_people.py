"""The report as researchers read it: prevalence per profile with its denominators, the
sightings behind every figure, the limits of each detector, the synthetic photos to check by eye,
and figures and tables that show every series and fit their box."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from headcheck.report import plots
from headcheck.report.build import ReportOptions, build_report
from headcheck.report.stats import prevalence
from tests.report.test_report_support import hand_built_store, indexed_sample


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hand-report")
    db = hand_built_store(root / "hand.db")
    return build_report(db, root / "out", ReportOptions(progress=False)), root / "out", db


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("sample-report")
    db = indexed_sample(root / "sample.db")
    return build_report(db, root / "out", ReportOptions(progress=False)), root / "out"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_prevalence_per_profile_counts_pages_worked_out_by_hand(hand) -> None:
    # 11 profile pages: photo 5 is on two of them (both reused); a page takes the label of
    # its strongest photo. Per photo, reused is 1 of 10; per profile, 2 of 11.
    result, out, _ = hand
    prof = {r["label"]: (int(r["k"]), int(r["n"])) for r in rows(out / "prevalence.csv")
            if r["scope"] == "profiles"}
    assert prof == {"synthetic": (3, 11), "composited": (2, 11), "reused": (2, 11),
                    "none": (4, 11), "flagged": (7, 11)}
    per_page = {r["page_url"]: r["label"] for r in rows(out / "profiles.csv")}
    assert per_page["https://a.example/u/5"] == per_page["https://www.b.example/p/5"] == "reused"
    html = result.index.read_text()
    assert 'id="by-profile"' in html and "n = 11 profile pages" in html


def test_every_sighting_is_in_the_csv(hand) -> None:
    _, out, db = hand
    got = rows(out / "sightings.csv")
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM sightings").fetchone()[0]
    assert len(got) == stored == 11
    assert set(got[0]) == {"sha256", "label", "page_url", "profile_name", "image_url", "source",
                           "first_seen", "last_seen", "times_seen"}
    assert sorted(r["label"] for r in got if r["page_url"].endswith("/5")) == ["reused", "reused"]


def test_limits_and_denominators_stand_next_to_the_figures(sample) -> None:
    result, _ = sample
    html = result.index.read_text()
    prevalence_part = html[html.index('id="prevalence"'):html.index('id="by-site"')]
    assert "Denominators." in prevalence_part and "n = 15 distinct photos" in prevalence_part
    assert "sampling error only" in prevalence_part and "lower bound" in prevalence_part
    assert "text-to-image" in prevalence_part and "recall 90%" in prevalence_part
    # One label per photo, and the counts per reason kind beside it.
    assert 'id="reason-kinds"' in prevalence_part


def test_synthetic_photos_are_shown_to_be_checked_by_eye(sample) -> None:
    result, out = sample
    html = result.index.read_text()
    part = html[html.index('id="synthetic"'):html.index('id="clusters"')]
    for name in ("Jordan Hale", "Priya Natarajan", "Alex Moreau", "Chris Tanaka"):
        assert f"on the profile {name}" in part  # its thumbnail's alt text
    thumbs = [s.split('"')[0] for s in part.split('<img src="')[1:]]
    assert len(thumbs) == 4
    assert all((out / t).read_bytes().startswith(b"\xff\xd8") for t in thumbs)
    assert "people.example.org/profile/jordan-hale" in part


def test_facts_say_one_site_not_one_sites(sample) -> None:
    html = sample[0].index.read_text()
    assert "<b>1</b>site</div>" in html and "1 sites" not in html


def test_one_month_plot_shows_every_series(tmp_path: Path) -> None:
    """Equal shares in a single month used to sit on one point: only the last colour showed.
    Over few months the series now sit side by side."""
    for months in (1, 2, 3):
        offsets = plots.series_offsets(months)
        assert len(set(offsets)) == len(plots.FLAG_LABELS)
        assert max(offsets) - min(offsets) < 0.5  # still within the month's slot
    assert set(plots.series_offsets(12)) == {0.0}  # a long series is drawn as lines
    units = [("2026-11", lab) for lab in ("synthetic", "composited", "reused", "none")] * 3
    assert plots.by_month(prevalence(units), tmp_path / "m.png") == "m.png"
