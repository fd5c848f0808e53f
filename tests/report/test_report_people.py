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


def test_feedback_is_reported_with_and_without_disputed_photos(tmp_path: Path) -> None:
    import hashlib

    from headcheck.report.feedback import feedback_summary
    from headcheck.store import Store
    from server.migrations import migrate

    db = indexed_sample(tmp_path / "fb.db")
    store = Store(db)
    migrate(store.db)  # the server's feedback table, as `headcheck serve` makes it
    sample = Path(__file__).resolve().parents[2] / "data" / "sample" / "images"
    wrong = hashlib.sha256((sample / "composite-1.jpg").read_bytes()).hexdigest()
    right = hashlib.sha256((sample / "stylegan-015.jpg").read_bytes()).hexdigest()
    with store.db.conn:
        for sha, label, key in ((wrong, "false_positive", "k1"), (wrong, "false_positive", "k1"),
                                (wrong, "confirmed", "k2"), (right, "confirmed", "k1")):
            store.db.execute("INSERT INTO feedback (sha256, label, note, key_id, created_at) "
                             "VALUES (?, ?, NULL, ?, '2026-11-30T10:00:00+00:00')",
                             [sha, label, key])
    store.close()
    result = build_report(db, tmp_path / "out", ReportOptions(progress=False))
    html = result.index.read_text()
    part = html[html.index('id="feedback"'):html.index('id="method"')]
    store = Store(db)
    summary = feedback_summary(store, result.data.labels)
    store.close()
    assert summary is not None
    by_label = {r["label"]: (r["photos"], r["wrong"], r["confirmed"]) for r in summary.rows}
    # One key marking twice counts once; one photo can be both marked wrong and confirmed.
    assert by_label == {"composited": (1, 1, 1), "synthetic": (1, 0, 1), "reused": (0, 0, 0),
                        "none": (0, 0, 0)}
    assert "12 of 15 photos" in part and "11 of 15" in part  # without the one marked wrong
    assert "without the 1 flagged photo someone marked wrong" in part
    # For review: each answered photo with its thumbnail (written beside the report), disputed
    # first, with what people said.
    review = part[part.index('id="feedback-review"'):]
    assert review.index(wrong[:12]) < review.index(right[:12])
    assert f'src="thumbs/{wrong}.jpg"' in review and (result.index.parent / "thumbs" /
                                                       f"{wrong}.jpg").is_file()
    assert "1 marked wrong (disputed), 1 confirmed" in review
    assert "0 marked wrong, 1 confirmed" in review


def test_reviewed_feedback_leaves_the_disputed_share(tmp_path: Path) -> None:
    """An upheld flag (rejected feedback) is no longer disputed; an accepted one is no longer
    flagged; both are listed for review with the decision."""
    import hashlib

    from click.testing import CliRunner

    from headcheck.cli import main
    from server.migrations import migrate
    from server.records import Records

    db = indexed_sample(tmp_path / "rv.db")
    import sqlite_utils
    migrate(sqlite_utils.Database(db))
    sample = Path(__file__).resolve().parents[2] / "data" / "sample" / "images"
    shas = {n: hashlib.sha256((sample / f"{n}.jpg").read_bytes()).hexdigest()
            for n in ("stylegan-015", "declared-exif")}
    records = Records(db)
    for sha in shas.values():
        records.add_feedback(sha, "false_positive", "not generated", "k1")
    records.close()
    run = CliRunner().invoke
    assert run(main, ["feedback", "reject", "--db", str(db), "--by", "ann",
                      shas["stylegan-015"]]).exit_code == 0
    assert run(main, ["feedback", "accept", "--db", str(db), "--by", "ann",
                      shas["declared-exif"]]).exit_code == 0
    result = build_report(db, tmp_path / "out", ReportOptions(progress=False))
    html = result.index.read_text()
    part = html[html.index('id="feedback"'):html.index('id="method"')]
    assert "11 of 15 photos" in part  # the accepted one is no longer flagged
    assert "without the 0 flagged photos someone marked wrong" in part
    assert "rejected by ann on" in part and "accepted by ann on" in part
    assert "“not generated”" in part
