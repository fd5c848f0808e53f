"""The summary `make run` ends with: one finding per cluster, profile names first."""

from __future__ import annotations

from pathlib import Path

import pytest

from headcheck.findings import findings, format_findings
from headcheck.store import Store
from headcheck.verdicts import iter_verdicts
from tests.server_support import sample_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("findings")
    return Store(sample_store(root, "full", root / "store.db"))


def test_one_finding_per_cluster_with_the_names(store: Store) -> None:
    items, flagged, total = findings(store)
    assert (flagged, total) == (12, 15)
    by_label = {}
    for f in items:
        by_label.setdefault(f.label, []).append(f)
    (template,) = by_label["composited"]  # four photos, one template: one finding
    assert sorted(template.names) == ["Dana Whitfield", "Lena Brandt", "Marc Oyelaran",
                                      "Stock Photo 4452457288"]
    assert template.photos == 4 and "4 different faces" in template.headline
    (reused,) = by_label["reused"]
    assert sorted(reused.names) == ["Keller Sam", "S Keller Consulting", "Sam Keller",
                                    "Samuel K"]
    # The summary counts people as the reuse reason does (its evidence.identities: "Sam
    # Keller", "Keller Sam" and "Samuel K" read as one), not the four names as written.
    reasons = [r for pv in iter_verdicts(store) for r in pv.verdict.reasons
               if r.kind == "reused" and r.score > 0]
    identities = max(r.evidence["identities"] for r in reasons)
    assert identities == 2
    assert f"under {identities} different names (4 as written)" in reused.headline
    assert "under 4 different names" not in reused.headline
    assert sorted(n for f in by_label["synthetic"] for n in f.names) == [
        "Alex Moreau", "Chris Tanaka", "Jordan Hale", "Priya Natarajan"]
    assert [f.label for f in items][:2] == ["composited", "reused"]


def test_the_text_reads_names_first(store: Store) -> None:
    text = format_findings(*findings(store))
    lines = text.splitlines()
    assert lines[0] == "6 findings (12 of 15 photos flagged), strongest first:"
    assert lines[1].startswith("1. Composited (") and "Dana Whitfield" in lines[1]
    assert "0x" not in text and "sha256" not in text  # no hex ids


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    empty = Store(tmp_path / "empty.db")
    assert format_findings(*findings(empty)) == "No photo of the 0 in the store carries a signal."


def test_frames_of_one_shoot_are_not_summed_up_as_one_photo(tmp_path: Path) -> None:
    """Two frames of one studio shoot under two names (tests/fixtures/shoot): the group says
    it may be frames of one shoot, as its members' reasons do."""
    from headcheck.analyze import Analyzer
    from headcheck.engine import Headcheck
    from headcheck.store import Sighting

    shoot = Path(__file__).resolve().parents[1] / "fixtures" / "shoot"
    hc = Headcheck(tmp_path / "s.db", analyzer=Analyzer(detectors=[]))
    try:
        hc.add((shoot / "london_044_neutral.jpg").read_bytes(),
               Sighting("https://people.example/dana", "", "Dana Whitfield"))
        hc.add((shoot / "london_044_smiling.jpg").read_bytes(),
               Sighting("https://other.example/lee", "", "Lee Moreno"))
        (group,), flagged, total = findings(hc.store)
    finally:
        hc.close()
    assert (flagged, total, group.label) == (2, 2, "reused")
    assert group.headline == ("One photo, or frames of one shoot, used on 2 pages under 2 "
                              "different names.")
