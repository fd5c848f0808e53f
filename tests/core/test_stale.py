"""Stored signals of another detector version: kept with their version, demoted to notes in stored
verdicts, and replaced where the bytes come again (re-index, re-crawl, a recorded lookup)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from headcheck.analyze import Analyzer
from headcheck.engine import Headcheck
from headcheck.signals import COMPOSITED, SYNTHETIC, Signal
from headcheck.stale import HEADLINE, HEADLINE_GONE, demote, stale
from headcheck.store import Sighting, Store
from headcheck.store.migrations import MIGRATIONS, schema_version
from headcheck.verdicts import iter_verdicts, photo_verdict
from tests.conftest import STYLEGAN, real

PHOTO = real("2369151434")
PAGE = "https://a.example/alex"


class Toy:
    """A detector whose flag (``toy.flag``, named unlike the detector) changes with its version,
    as the diffusion probe's did from v4 to v5."""

    name, kind, needs = "toy.probe", SYNTHETIC, frozenset({"pixels"})

    def __init__(self, version: str, score: float = 0.8) -> None:
        self.version, self.score = version, score

    def detect(self, inp) -> list[Signal]:
        if not self.score:
            return []
        return [Signal("toy.flag", SYNTHETIC, self.score, f"toy v{self.version} says so",
                       {"v": self.version}, "The toy check flags this photo.")]


def engine(db: Path, version: str, score: float = 0.8) -> Headcheck:
    return Headcheck(db, analyzer=Analyzer(detectors=[Toy(version, score)]), index_file=None)


def stored(db: Path) -> tuple[str, str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        detectors, analyzed = con.execute("SELECT detectors, analyzed_at FROM photos").fetchone()
        rows = con.execute("SELECT name, score, detector, detector_version FROM signals "
                           "ORDER BY name").fetchall()
    finally:
        con.close()
    return detectors, analyzed, rows


# -- the pure rules ----------------------------------------------------------------------------
def test_stale_compares_the_detectors_both_sides_name() -> None:
    assert stale(None, {"a": "1"})  # stored before versions were kept: unknown
    assert stale({"a": "1"}, {"a": "2"})
    both = {"a": "1", "b": "7"}
    assert not stale({"a": "1"}, {"a": "1", "b": "7"}, both)  # b installed, did not apply
    assert stale({"a": "1"}, {"a": "1", "b": "7"}, {"a": "1"})  # b installed since
    assert stale({"a": "1"}, {"a": "1", "b": "7"})  # not recorded: once, to record it
    assert not stale({"a": "1", "gone": "3"}, {"a": "1"}, {"a": "1"})  # gone: cannot help
    assert not stale({}, {"a": "1"}, {"a": "1"})
    assert stale({}, {"a": "1"}, {})
    assert not stale({}, {"a": "off:1"}, {})  # off here: never a reason


def test_demote_turns_only_scored_stale_signals_into_notes() -> None:
    flag = Signal("toy.flag", SYNTHETIC, 0.8, "d", {"k": 1}, "h")
    note = Signal("toy.unsure", SYNTHETIC, 0.0, "n", {}, "u")
    other = Signal("other.flag", COMPOSITED, 0.7, "o", {}, "o")
    sources = {"toy.flag": ("toy.probe", "4"), "toy.unsure": ("toy.probe", "4"),
               "other.flag": ("other", "1")}
    current = {"toy.probe": "5", "other": "1"}
    out = demote([flag, note, other], sources, current)
    assert out[1:] == [note, other]  # a note already, and a current signal: unchanged
    assert out[0].name == "toy.flag" and out[0].score == 0.0 and out[0].headline == HEADLINE
    assert out[0].evidence == {"k": 1, "stale": True, "detector": "toy.probe",
                               "stored_version": "4", "current_version": "5",
                               "stored_score": 0.8}
    assert "version 4" in out[0].detail and "now is 5" in out[0].detail
    # Unknown version (stored before they were kept), or no source at all: the v4 case.
    (unknown,) = demote([flag], {"toy.flag": (None, None)}, current)
    (no_row,) = demote([flag], {}, current)
    assert unknown.score == no_row.score == 0.0
    assert unknown.evidence["stored_version"] is None and "not recorded" in unknown.detail
    # A detector no longer installed cannot vouch for its flag.
    (gone,) = demote([flag], sources, {"other": "1"})
    assert gone.score == 0.0 and gone.headline == HEADLINE_GONE
    assert gone.evidence["current_version"] is None


# -- through the store and the engine ----------------------------------------------------------
def test_an_older_detector_version_is_a_note_until_the_bytes_come_again(tmp_path: Path) -> None:
    db, data = tmp_path / "h.db", PHOTO.read_bytes()
    old = engine(db, "4")
    first = old.add(data, Sighting(PAGE))
    sha = first.analysis.sha256
    assert first.analysis.detectors == {"toy.probe": "4"}
    assert first.analysis.sources == {"toy.flag": "toy.probe"}
    assert old.check_stored(sha).label == "synthetic"  # current for the engine that made it
    old.close()
    assert stored(db)[0] == '{"toy.probe": "4"}'
    assert stored(db)[2] == [("toy.flag", 0.8, "toy.probe", "4")]

    # The detector is upgraded (its v4 flagged real photos): nothing is analysed yet.
    new = engine(db, "5", score=0.0)
    pid = first.added.photo_id
    assert new.stale(pid)
    for verdict in (new.check_stored(sha, page_url=PAGE),
                    new.stored_verdict(pid),
                    photo_verdict(new.store, pid, new.versions).verdict,
                    next(iter_verdicts(new.store, versions={"toy.probe": "5"})).verdict):
        assert verdict.label == "none" and verdict.confidence == 0.0
        (note,) = [r for r in verdict.reasons if r.signal == "toy.flag"]
        assert note.score == 0.0 and note.headline == HEADLINE
        assert note.evidence["stored_version"] == "4"
        assert note.evidence["current_version"] == "5" and note.evidence["stale"] is True
    # A stored verdict where the toy detector is not installed at all: the flag counts neither.
    (pv,) = iter_verdicts(new.store)
    assert pv.verdict.label == "none" and pv.verdict.reasons[0].headline == HEADLINE_GONE
    # A known-bytes shortcut would keep the old flag: it declines, so the caller analyses.
    assert new.add_known(sha, Sighting(PAGE)) is None

    # The bytes again (re-index): analysed by v5, which finds nothing, and the flag is gone.
    _, analysed_before, _ = stored(db)
    changes = new.store.index_change_seq()
    again = new.add(data, Sighting(PAGE))
    assert again.added.reanalysed and not again.added.new_photo
    assert again.added.photo_id == pid
    detectors, analysed_after, rows = stored(db)
    assert detectors == '{"toy.probe": "5"}' and rows == []
    assert analysed_after >= analysed_before
    assert new.store.index_change_seq() == changes  # hashes untouched: nothing to re-index
    assert not new.stale(pid)
    assert new.check_stored(sha).reasons == [] and new.check_stored(sha).label == "none"
    assert new.add_known(sha, Sighting(PAGE)) is not None
    new.close()


def test_current_versions_change_nothing_and_are_not_analysed_again(tmp_path: Path) -> None:
    db, data = tmp_path / "h.db", PHOTO.read_bytes()
    hc = engine(db, "5")
    first = hc.add(data, Sighting(PAGE))
    before = stored(db)
    again = hc.add(data, Sighting(PAGE))
    assert not again.added.reanalysed and not again.added.new_photo
    assert stored(db) == before  # same analysed_at, versions and signals
    assert not hc.stale(first.added.photo_id)
    known = hc.add_known(first.analysis.sha256, Sighting(PAGE))
    assert known is not None and not known.added.reanalysed
    (reason,) = hc.check_stored(first.analysis.sha256).reasons
    assert reason.signal == "toy.flag" and reason.score == 0.8 and "stale" not in reason.evidence
    assert hc.check_stored(first.analysis.sha256).label == "synthetic"
    hc.close()


def test_a_detector_that_did_not_run_is_not_a_reason_to_analyse_again(tmp_path: Path) -> None:
    """A detector that failed (or is off here) is not among the photo's detectors; its score-0
    note names it, without a version, and never makes the photo stale."""

    class Broken(Toy):
        name = "broken.probe"

        def detect(self, inp) -> list[Signal]:
            raise ValueError("a bug")

    db = tmp_path / "h.db"
    hc = Headcheck(db, analyzer=Analyzer(detectors=[Toy("5"), Broken("1")], strict=False),
                   index_file=None)
    res = hc.add(PHOTO.read_bytes(), Sighting(PAGE))
    assert res.analysis.detectors == {"toy.probe": "5"}
    assert stored(db)[2] == [("broken.probe.not_checked", 0.0, "broken.probe", None),
                             ("toy.flag", 0.8, "toy.probe", "5")]
    assert not hc.stale(res.added.photo_id)
    assert hc.check_stored(res.analysis.sha256).label == "synthetic"
    hc.close()


def test_migration_of_a_store_made_before_versions_were_kept(tmp_path: Path) -> None:
    """A store file at schema 7 (as every store before this change): its photos' versions are
    unknown, so their flags are notes until the bytes come again, which re-analyses them."""
    db, data = tmp_path / "old.db", PHOTO.read_bytes()
    hc = engine(db, "5")
    sha = hc.add(data, Sighting(PAGE)).analysis.sha256
    hc.close()
    con = sqlite3.connect(db)  # back to schema 7, the columns migrations 8 and 9 add gone
    for table, column in (("photos", "detectors"), ("signals", "detector"),
                          ("signals", "detector_version"), ("photos", "installed")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("PRAGMA user_version = 7")
    con.commit()
    con.close()

    store = Store(db)
    assert schema_version(store.db) == len(MIGRATIONS)
    pid = store.photo_id(sha)
    assert store.photo_detectors(pid) is None
    assert store.signal_sources_between(pid, pid) == {pid: {"toy.flag": (None, None)}}
    (pv,) = iter_verdicts(store, versions={"toy.probe": "5"})
    assert pv.verdict.label == "none"
    (note,) = pv.verdict.reasons
    assert note.score == 0.0 and note.evidence["stored_version"] is None
    assert note.evidence["stored_score"] == 0.8 and "not recorded" in note.detail
    store.close()

    hc = engine(db, "5")
    assert hc.stale(pid) and hc.check_stored(sha).label == "none"
    res = hc.add(data, Sighting(PAGE))  # the bytes again: analysed, versions now known
    assert res.added.reanalysed and hc.check_stored(sha).label == "synthetic"
    assert stored(db)[0] == '{"toy.probe": "5"}' and not hc.stale(pid)
    hc.close()


def test_flagged_lists_no_flag_of_another_version_of_a_builtin(tmp_path: Path) -> None:
    """``headcheck flagged`` judges with the installed detectors: a StyleGAN-geometry flag
    stored by another version of that detector is not listed; by the installed one, it is."""
    from click.testing import CliRunner

    from headcheck.cli import main
    from headcheck.detectors.stylegan import StyleGanGeometry

    face = sorted(STYLEGAN.glob("*.jpg"))[1].read_bytes()

    def flagged_after(version: str) -> list[dict]:
        db = tmp_path / f"v{version}.db"
        det = StyleGanGeometry()
        det.version = version
        hc = Headcheck(db, analyzer=Analyzer(detectors=[det]), index_file=None)
        assert hc.add(face, Sighting(PAGE)).analysis.signals[0].score > 0
        hc.close()
        out = CliRunner().invoke(main, ["flagged", "--db", str(db), "--json"])
        assert out.exit_code == 0, out.output
        return [json.loads(line) for line in out.output.splitlines()]

    assert [o["label"] for o in flagged_after(StyleGanGeometry.version)] == ["synthetic"]
    assert flagged_after("0") == []


def test_a_detector_off_is_a_version_only_where_it_was_off() -> None:
    from headcheck.stale import stale
    # stored where it was off, running here: analyse again; off here too: nothing would change
    assert stale({"diffusion.clip_probe": "off:5"}, {"diffusion.clip_probe": "5"})
    assert not stale({"diffusion.clip_probe": "off:5"}, {"diffusion.clip_probe": "off:5"})
    # stored where it ran, off here: keep what is stored
    assert not stale({"diffusion.clip_probe": "5"}, {"diffusion.clip_probe": "off:5"})


# -- a detector installed after the photo was stored -------------------------------------------
class Later(Toy):
    """A plug-in installed after the photos were stored; it needs a face."""

    name, needs = "later.probe", frozenset({"pixels", "face"})

    def detect(self, inp) -> list[Signal]:
        return [Signal("later.flag", SYNTHETIC, 0.0, f"later v{self.version} looked",
                       {"v": self.version}, "The later check looked at this photo.")]


def faceless_jpeg() -> bytes:
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((320, 240)).save(buf, "JPEG")
    return buf.getvalue()


def installed_col(db: Path) -> list:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT installed FROM photos ORDER BY id")]
    finally:
        con.close()


def test_a_detector_installed_later_looks_at_photos_stored_before_it(tmp_path: Path) -> None:
    db, face, faceless = tmp_path / "h.db", PHOTO.read_bytes(), faceless_jpeg()
    hc = engine(db, "5")
    with_face = hc.add(face, Sighting(PAGE)).added.photo_id
    without = hc.add(faceless, Sighting(PAGE + "/2")).added.photo_id
    assert installed_col(db) == ['{"toy.probe": "5"}'] * 2
    hc.close()

    hc = Headcheck(db, analyzer=Analyzer(detectors=[Toy("5"), Later("1")]), index_file=None)
    assert hc.stale(with_face) and hc.stale(without)  # neither was looked at by later.probe
    again = hc.add(face, Sighting(PAGE))
    assert again.added.reanalysed and again.analysis.detectors["later.probe"] == "1"
    # Only the photo with a face has later.probe's signal; both keep toy.probe's.
    assert sorted(s[0] for s in stored(db)[2]) == ["later.flag", "toy.flag", "toy.flag"]
    # No face: later.probe does not apply, so nothing is replaced, but the store now knows it
    # was installed, and the photo is not analysed again at every sighting.
    assert not hc.add(faceless, Sighting(PAGE + "/2")).added.reanalysed
    assert not hc.stale(with_face) and not hc.stale(without)
    assert hc.add_known(again.analysis.sha256, Sighting(PAGE)) is not None
    hc.close()


def test_a_store_without_the_record_is_analysed_once_to_record_it(tmp_path: Path) -> None:
    db, faceless = tmp_path / "h.db", faceless_jpeg()
    hc = Headcheck(db, analyzer=Analyzer(detectors=[Toy("5"), Later("1")]), index_file=None)
    pid = hc.add(faceless, Sighting(PAGE)).added.photo_id
    hc.store.db.execute("UPDATE photos SET installed = NULL")  # as stored before migration 9
    hc.store.db.conn.commit()
    assert hc.stale(pid)  # later.probe did not run: not applying or not installed, unknown
    assert hc.add_known(hc.store.sha256_of([pid])[pid], Sighting(PAGE)) is None
    hc.add(faceless, Sighting(PAGE))
    assert installed_col(db) == ['{"later.probe": "1", "toy.probe": "5"}']
    assert not hc.stale(pid)
    hc.close()


def test_a_version_that_only_added_findings_keeps_the_earlier_flags() -> None:
    flag = Signal("metadata.generator_name", SYNTHETIC, 0.85, "d", {}, "h")
    current = {"provenance": "2"}
    keeps = {"provenance": frozenset({"1"})}
    for version, counts in (("1", True), ("2", True), ("0", False), (None, False)):
        (out,) = demote([flag], {flag.name: ("provenance", version)}, current, keeps)
        assert (out.score > 0) is counts, version
    # Not installed any more: nothing vouches for the flag, whatever it kept.
    (gone,) = demote([flag], {flag.name: ("provenance", "1")}, {}, keeps)
    assert gone.score == 0.0 and gone.headline == HEADLINE_GONE


def test_stored_provenance_flags_of_version_1_still_count(tmp_path: Path) -> None:
    """Provenance 2 only added generator names: a store's flags made by 1 still count in stored
    verdicts, while the photo is analysed again where its bytes come (to find the new names)."""
    from headcheck.detectors.provenance import ProvenanceDetector
    from headcheck.detectors.registry import keeps
    from tests.conftest import ROOT

    assert keeps()["provenance"] == ProvenanceDetector.keeps
    db = tmp_path / "h.db"
    data = (ROOT / "tests" / "fixtures" / "provenance" / "exif_midjourney.jpg").read_bytes()
    hc = Headcheck(db, analyzer=Analyzer(detectors=[ProvenanceDetector()]), index_file=None)
    first = hc.add(data, Sighting(PAGE))
    sha, pid = first.analysis.sha256, first.added.photo_id

    def stored_as(version: str) -> str:
        with sqlite3.connect(db) as con:
            con.execute("UPDATE signals SET detector_version = ?", [version])
            con.execute("UPDATE photos SET detectors = ?", [json.dumps({"provenance": version})])
        return photo_verdict(hc.store, pid, hc.versions).verdict.label

    assert stored_as("1") == "synthetic" and hc.check_stored(sha).label == "synthetic"
    assert hc.stale(pid)  # still analysed again where the bytes come
    assert stored_as("0") == "none"  # a version it does not keep: a note
    assert stored_as(ProvenanceDetector.version) == "synthetic"
    hc.close()
