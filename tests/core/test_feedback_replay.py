"""bench/feedback_replay.py: reviewed feedback replayed as labelled pairs under other thresholds
(the script as run, on a real store with a real review)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner

from headcheck.cli import main
from tests.core.test_feedback_review import feedback, sha
from tests.server_support import ROOT, sample_store

SCRIPT = ROOT / "bench" / "feedback_replay.py"


def replay(db: Path, *args: str) -> dict:
    done = subprocess.run([sys.executable, str(SCRIPT), "--db", str(db), "--json", *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_threshold_change_shows_what_it_does_to_reviewed_pairs(tmp_path: Path) -> None:
    db = sample_store(tmp_path.parent, "full", tmp_path / "store.db")
    feedback(db, "composite-2.jpg", "confirmed", "key:b")
    feedback(db, "composite-1.jpg", "false_positive", "key:a")
    r = CliRunner().invoke(main, ["feedback", "accept", "--db", str(db), "--by", "op",
                                  sha("composite-1.jpg")])
    assert r.exit_code == 0, r.output
    relations = sqlite_utils.Database(db).execute(
        "SELECT count(*) FROM suppressions WHERE other_sha256 IS NOT NULL").fetchone()[0]
    assert relations == 3  # composite-1's links to the other three photos of its template

    same = replay(db)
    fp, ok = same["accepted_false_positives"], same["confirmed_relations"]
    # Without a change, the stored decisions are reproduced: each pair was claimed.
    assert fp == {"n": 3, "claimed_at_baseline": 3, "claimed_with_change": 3}
    assert ok["n"] == 2 and ok["claimed_at_baseline"] == ok["claimed_with_change"] == 2
    assert {p["source"] for p in same["pairs"]} == {"accepted", "confirmed"}
    assert all(p["relation"] == "same_context" for p in same["pairs"])

    strict = replay(db, "--context-corr", "0.999")  # no real template correlates so well
    assert strict["accepted_false_positives"]["claimed_with_change"] == 0
    assert strict["confirmed_relations"]["claimed_with_change"] == 0  # and it loses them all
    assert strict["accepted_false_positives"]["claimed_at_baseline"] == 3

    text = subprocess.run([sys.executable, str(SCRIPT), "--db", str(db)], capture_output=True,
                          text=True, timeout=300).stdout
    assert "accepted false positives: 3 relations" in text
    gone = subprocess.run([sys.executable, str(SCRIPT), "--db", str(tmp_path / "no.db")],
                          capture_output=True, text=True, timeout=60)
    assert gone.returncode == 2 and "no store at" in gone.stderr
