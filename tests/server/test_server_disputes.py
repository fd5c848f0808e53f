"""Feedback closes the loop: a verdict marked wrong by enough distinct keys is disputed in every
lookup (label kept, confidence halved, a reason naming the feedback); one key counts once."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from headcheck.cli import main
from server.app import create_app
from server.settings import Settings
from tests.server_support import TestClient, image, sample_store

KEY_A = "dispute-key-aaaaaaaaaaaaaaaa"
KEY_B = "dispute-key-bbbbbbbbbbbbbbbb"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return sample_store(tmp_path.parent, "full", tmp_path / "store.db")


def lookup(c: TestClient, data: bytes, key: str) -> dict:
    r = c.post("/v1/lookup", content=data, headers={**auth(key), "Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    return r.json()


def test_marked_wrong_by_two_keys_is_disputed_everywhere(db: Path) -> None:
    data = image("composite-1.jpg")
    sha = hashlib.sha256(data).hexdigest()
    settings = Settings(db=db, api_keys=[KEY_A, KEY_B], dispute_after=2)
    with TestClient(create_app(settings)) as c:
        before = lookup(c, data, KEY_A)
        assert before["label"] == "composited" and before["disputed"] is False
        wrong = {"sha256": sha, "label": "false_positive", "note": "her own photo"}
        for _ in range(3):  # one key, however often, counts once
            assert c.post("/v1/feedback", json=wrong, headers=auth(KEY_A)).status_code == 201
        once = lookup(c, data, KEY_A)  # answered from the cache, feedback read afresh
        assert once["cached"] is True and once["disputed"] is False
        assert once["feedback"] == {"false_positive": 1, "confirmed": 0}
        assert c.post("/v1/feedback", json=wrong, headers=auth(KEY_B)).status_code == 201
        after = lookup(c, data, KEY_B)
        assert after["disputed"] is True and after["label"] == "composited"
        assert after["confidence"] == round(before["confidence"] / 2, 3)
        last = after["reasons"][-1]
        assert last["signal"] == "feedback.disputed" and last["score"] == 0.0
        assert "2 people marked this finding wrong" in last["headline"]
        assert last["evidence"]["false_positive"] == 2
        by_hash = c.post("/v1/lookup-hashes", json={"photos": [{"sha256": sha}]},
                         headers=auth(KEY_A)).json()["results"][0]["verdict"]
        assert by_hash["disputed"] is True and by_hash["feedback"]["false_positive"] == 2


def test_a_clean_photo_is_never_disputed(db: Path) -> None:
    data = image("plain-3936813347.jpg")
    sha = hashlib.sha256(data).hexdigest()
    with TestClient(create_app(Settings(db=db))) as c:
        c.post("/v1/feedback", json={"sha256": sha, "label": "false_positive"})
        out = c.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"}).json()
        assert out["label"] == "none" and out["disputed"] is False
        assert out["feedback"]["false_positive"] == 1


def test_a_key_counts_once_per_photo_by_its_latest_answer(db: Path) -> None:
    data = image("composite-2.jpg")
    sha = hashlib.sha256(data).hexdigest()
    with TestClient(create_app(Settings(db=db, api_keys=[KEY_A]))) as c:
        for label in ("false_positive", "false_positive", "confirmed"):  # A changes its mind
            assert c.post("/v1/feedback", json={"sha256": sha, "label": label},
                          headers=auth(KEY_A)).status_code == 201
        out = lookup(c, data, KEY_A)
        assert out["feedback"] == {"false_positive": 0, "confirmed": 1}
        assert out["disputed"] is False and out["label"] == "composited"


def test_feedback_is_rate_limited_and_refused_posts_store_nothing(db: Path) -> None:
    sha = hashlib.sha256(image("composite-3.jpg")).hexdigest()
    settings = Settings(db=db, api_keys=[KEY_A, KEY_B], rate_per_minute=6, rate_burst=2)
    with TestClient(create_app(settings)) as c:
        body = {"sha256": sha, "label": "false_positive"}
        codes = [c.post("/v1/feedback", json=body, headers=auth(KEY_A)).status_code
                 for _ in range(4)]
        assert codes == [201, 201, 429, 429]
        assert c.post("/v1/feedback", json=body).status_code == 401  # no key, off a key server
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM feedback").fetchone()[0] == 2


def test_an_accepted_false_positive_reaches_cached_lookups(db: Path) -> None:
    data = image("composite-1.jpg")
    sha = hashlib.sha256(data).hexdigest()
    with TestClient(create_app(Settings(db=db))) as c:
        first = c.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"}).json()
        assert first["label"] == "composited"
        c.post("/v1/feedback", json={"sha256": sha, "label": "false_positive"})
        # The operator accepts it from the command line, in another connection.
        r = CliRunner().invoke(main, ["feedback", "accept", "--db", str(db), "--by", "op", sha])
        assert r.exit_code == 0, r.output
        after = c.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"}).json()
        assert after["label"] == "none" and after["disputed"] is False
        assert after["cached"] is False  # the review is part of the cache key
        photo = c.get(f"/v1/photos/{sha}").json()
        assert photo["verdict"]["label"] == "none"
