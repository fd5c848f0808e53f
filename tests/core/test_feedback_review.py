"""The operator's side of the feedback loop: `headcheck feedback list|accept|reject`. An accepted
false positive suppresses what the flag rested on for good (re-indexing keeps it), and the
verdict says who accepted it; a rejected one keeps the flag and closes the dispute."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner, Result

from headcheck.cli import main
from server.migrations import migrate as server_migrate
from server.records import Records
from tests.server_support import IMAGES, SAMPLE, sample_store


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def sha(name: str) -> str:
    return hashlib.sha256((IMAGES / name).read_bytes()).hexdigest()


def feedback(db: Path, name: str, label: str, key: str, note: str | None = None) -> None:
    """As POST /v1/feedback stores it (the server's own table and writer)."""
    server_migrate(sqlite_utils.Database(db))
    records = Records(db)
    records.add_feedback(sha(name), label, note, key)
    records.close()


def check(db: Path, name: str) -> dict:
    r = run("check", "--db", str(db), "--json", str(IMAGES / name))
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def flagged(db: Path) -> dict[str, dict]:
    r = run("flagged", "--db", str(db), "--json")
    assert r.exit_code == 0, r.output
    return {o["sha256"]: o for o in map(json.loads, r.output.splitlines())}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return sample_store(tmp_path.parent, "full", tmp_path / "store.db")


def test_accepted_false_positive_stays_suppressed_after_reindexing(db: Path) -> None:
    feedback(db, "composite-1.jpg", "false_positive", "key:a", "this is Dana's own photo")
    before = check(db, "composite-1.jpg")
    assert before["label"] == "composited" and before["disputed"] is True
    assert before["feedback"] == {"false_positive": 1, "confirmed": 0}
    listed = [json.loads(line) for line in
              run("feedback", "list", "--db", str(db), "--json").output.splitlines()]
    assert [r["sha256"] for r in listed] == [sha("composite-1.jpg")]
    assert listed[0]["notes"] == ["this is Dana's own photo"] and listed[0]["disputed"]

    r = run("feedback", "accept", "--db", str(db), "--by", "alice", "--note", "checked",
            sha("composite-1.jpg")[:12])
    assert r.exit_code == 0, r.output
    assert "accepted" in r.output and "by alice" in r.output and "verdict now none" in r.output
    row = sqlite_utils.Database(db).execute(
        "SELECT decision, reviewer, decided_at, note FROM feedback_reviews").fetchone()
    assert row[:2] == ("accepted", "alice") and row[2] and row[3] == "checked"

    def suppressed_everywhere() -> None:
        after = check(db, "composite-1.jpg")
        assert after["label"] == "none" and after["disputed"] is False
        note = next(x for x in after["reasons"] if x["signal"] == "feedback.accepted")
        assert note["score"] == 0.0 and note["evidence"]["reviewer"] == "alice"
        assert "accepted as false positives by alice" in note["detail"]
        # The relation is gone for the other photos too; their own template still flags them.
        other = check(db, "composite-2.jpg")
        assert other["label"] == "composited"
        linked = {m["sha256"] for x in other["reasons"] if x["score"] > 0 for m in x["matches"]}
        assert sha("composite-1.jpg") not in linked and sha("composite-3.jpg") in linked
        assert sha("composite-1.jpg") not in flagged(db)
        assert sha("composite-2.jpg") in flagged(db)

    suppressed_everywhere()
    # Re-indexing: the same files again, then the photo forgotten and indexed afresh (its
    # relations are found again from the pixels): the acceptance holds by sha256.
    pages = str(SAMPLE / "pages.csv")
    assert run("index", "--db", str(db), "--pages", pages).exit_code == 0
    suppressed_everywhere()
    assert run("forget", "--db", str(db), "--sha256", sha("composite-1.jpg")).exit_code == 0
    # Forgetting drops the reviewer's words about the person; the decision stays.
    kept = sqlite_utils.Database(db).execute(
        "SELECT decision, note FROM feedback_reviews").fetchall()
    assert kept == [("accepted", None)]
    r = run("index", "--db", str(db), "--pages", pages)
    assert r.exit_code == 0 and "1 new photos" in r.output, r.output
    suppressed_everywhere()
    # Reviewed: no longer awaiting review.
    assert run("feedback", "list", "--db", str(db), "--json").output == ""


def test_rejected_feedback_keeps_the_flag_and_closes_the_dispute(db: Path) -> None:
    feedback(db, "stylegan-013.jpg", "false_positive", "key:a")
    assert check(db, "stylegan-013.jpg")["disputed"] is True
    r = run("feedback", "reject", "--db", str(db), "--by", "bob", sha("stylegan-013.jpg"))
    assert r.exit_code == 0 and "verdict now synthetic" in r.output, r.output
    after = check(db, "stylegan-013.jpg")
    assert after["label"] == "synthetic" and after["disputed"] is False
    assert after["feedback"]["false_positive"] == 1  # the answer is still counted
    assert run("feedback", "list", "--db", str(db), "--json").output == ""
    every = json.loads(run("feedback", "list", "--db", str(db), "--json", "--all").output)
    assert every["review"]["decision"] == "rejected" and every["review"]["reviewer"] == "bob"
    # Someone else marks it wrong after the review: disputed again, awaiting review again.
    feedback(db, "stylegan-013.jpg", "false_positive", "key:b")
    again = check(db, "stylegan-013.jpg")
    assert again["disputed"] is True and again["label"] == "synthetic"
    assert "1 person marked" in again["reasons"][-1]["headline"]


def test_accepting_reuse_clears_every_copy(db: Path) -> None:
    copies = ["reused-original.jpg", "reused-resize_200.jpg", "reused-mirror.jpg",
              "reused-ring.jpg"]
    assert all(flagged(db)[sha(n)]["label"] == "reused" for n in copies)
    r = run("feedback", "accept", "--db", str(db), "--by", "carol", sha("reused-ring.jpg"))
    assert r.exit_code == 0, r.output
    now = flagged(db)
    assert not any(sha(n) in now for n in copies)
    held = check(db, "reused-original.jpg")["reasons"]
    assert any(x["kind"] == "reused" and x["evidence"].get("reviewer") == "carol" for x in held)


def test_bad_requests_are_said_in_one_line(db: Path) -> None:
    plain = sha("plain-3936813347.jpg")
    r = run("feedback", "accept", "--db", str(db), plain)
    assert r.exit_code == 1 and "nothing is flagged" in r.output
    r = run("feedback", "accept", "--db", str(db), "f" * 64, "xyz")
    assert r.exit_code == 1 and "no such photo" in r.output and "at least 8 hex" in r.output
    assert "Traceback" not in r.output
    # Nothing was written for the refused ones.
    assert sqlite_utils.Database(db)["feedback_reviews"].count == 0
    assert run("feedback", "list", "--db", str(db)).output.endswith(
        f"0 photos with feedback awaiting review in {db}\n")
    assert run("feedback", "reject", "--db", str(tmp := db.parent / "none.db"), plain
               ).exit_code == 2 and not tmp.exists()
