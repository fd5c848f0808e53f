"""What people meet first: the bare address, keys pasted one a line, names sent with lookups,
and a photo the store already holds answered from its stored analysis."""

from __future__ import annotations

from pathlib import Path

import pytest

from headcheck.engine import Headcheck
from server.app import create_app
from server.settings import Settings
from tests.server_support import IMAGES, KEY_A, KEY_B, TestClient, image

PAGE = "https://example.net/u/someone"


def test_the_bare_address_points_to_the_docs_and_health(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    body = r.json()
    assert body["docs"] == "/docs" and body["health"] == "/v1/health"
    assert client.get(body["health"]).json()["status"] == "ok"


def test_api_keys_one_a_line_all_work(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADCHECK_API_KEYS", f"{KEY_A}\n{KEY_B}\n")  # as "$(cat keys.txt)"
    settings = Settings(db=db)
    assert settings.key_values() == [KEY_A, KEY_B]
    with TestClient(create_app(settings)) as c:
        for key in (KEY_A, KEY_B):
            assert c.get("/v1/stats", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert c.get("/v1/stats", headers={"Authorization": "Bearer x" * 3}).status_code == 401


def test_lookups_take_a_profile_name_everywhere(client: TestClient) -> None:
    data = image("reused-ring.jpg")
    raw = client.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"},
                      params={"page_url": PAGE, "name": "Keller Sam"})
    form = client.post("/v1/lookup", files={"image": ("a.jpg", data, "image/jpeg")},
                       data={"page_url": PAGE, "name": "Keller Sam"})
    assert raw.status_code == form.status_code == 200, (raw.text, form.text)
    assert raw.json()["label"] == form.json()["label"] == "reused"
    too_long = client.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"},
                           params={"name": "x" * 201})
    assert too_long.status_code == 422
    spec = client.get("/openapi.json").json()
    assert "name" in spec["components"]["schemas"]["LookupUrlIn"]["properties"]
    params = {p["name"] for p in spec["paths"]["/v1/lookup"]["post"]["parameters"]}
    assert {"page_url", "image_url", "name"} <= params


@pytest.mark.parametrize("name", sorted(p.name for p in IMAGES.glob("*.jpg")))
def test_a_stored_photo_gets_the_verdict_a_full_check_gives(db: Path, name: str) -> None:
    """The shortcut for bytes the store holds answers what analysing them answers: the same
    label, reasons and pages (keypoint counts were verified when the photo was indexed, so a
    fresh verification may differ by a few, and the confidence by a hair)."""
    hc = Headcheck(db)
    try:
        data = (IMAGES / name).read_bytes()
        full = hc.check(data, page_url=PAGE)
        stored = hc.check_stored(full.analysis.sha256, page_url=PAGE)
        assert stored is not None
        assert stored.label == full.verdict.label
        assert stored.confidence == pytest.approx(full.verdict.confidence, abs=0.02)
        assert [(r.kind, r.signal, r.page_count) for r in stored.reasons] == [
            (r.kind, r.signal, r.page_count) for r in full.verdict.reasons]
        assert hc.check_stored("0" * 64) is None  # bytes the store does not hold
    finally:
        hc.close()


def test_lookup_by_hashes_answers_known_bytes_and_names_the_rest(client: TestClient) -> None:
    import hashlib

    data = image("reused-ring.jpg")
    sha = hashlib.sha256(data).hexdigest()
    r = client.post("/v1/lookup-hashes", json={"photos": [
        {"sha256": sha, "page_url": PAGE, "name": "Keller Sam"}, {"sha256": "ab" * 32}]})
    assert r.status_code == 200, r.text
    known, unknown = r.json()["results"]
    assert known["known"] is True and known["verdict"]["label"] == "reused"
    assert known["verdict"]["sha256"] == sha
    full = client.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"},
                       params={"page_url": PAGE}).json()
    assert known["verdict"]["label"] == full["label"]
    assert [x["kind"] for x in known["verdict"]["reasons"]] == [x["kind"] for x in full["reasons"]]
    assert unknown == {"sha256": "ab" * 32, "known": False, "verdict": None}
    assert client.post("/v1/lookup-hashes", json={"photos": []}).status_code == 422
    many = [{"sha256": sha}] * 101
    assert client.post("/v1/lookup-hashes", json={"photos": many}).status_code == 422


def test_stored_flags_of_unknown_detector_versions_are_notes_until_a_lookup_records_the_bytes(
        tmp_path: Path) -> None:
    """A store from before detector versions were kept (the diffusion probe v4 case): a lookup
    by sha256 does not flag on its stored signals; a recorded lookup with the bytes analyses
    them again, and from then on the lookup by sha256 flags on the current ones."""
    import hashlib
    import sqlite3

    from headcheck.store import Sighting

    data = image("stylegan-013.jpg")
    sha = hashlib.sha256(data).hexdigest()
    db = tmp_path / "old.db"
    hc = Headcheck(db, index_file=None)
    hc.add(data, Sighting("https://people.example.org/profile/jordan-hale",
                          profile_name="Jordan Hale"))
    hc.close()
    con = sqlite3.connect(db)  # as migration 8 leaves a store made before it
    con.execute("UPDATE photos SET detectors = NULL")
    con.execute("UPDATE signals SET detector = NULL, detector_version = NULL")
    con.commit()
    con.close()

    def by_hash(c: TestClient) -> dict:
        r = c.post("/v1/lookup-hashes", json={"photos": [{"sha256": sha}]})
        assert r.status_code == 200, r.text
        return r.json()["results"][0]["verdict"]

    with TestClient(create_app(Settings(db=db, record_lookups=True))) as c:
        old = by_hash(c)
        assert old["label"] == "none" and old["confidence"] == 0.0
        notes = [x for x in old["reasons"] if x["evidence"].get("stale")]
        assert notes and all(x["score"] == 0.0 for x in old["reasons"])
        assert notes[0]["headline"].startswith("Flagged by an older version of this check")
        assert notes[0]["evidence"]["stored_version"] is None
        photo = c.get(f"/v1/photos/{sha}").json()
        assert photo["detectors"] is None and photo["verdict"]["label"] == "none"
        assert {x["detector_version"] for x in photo["signals"]} == {None}
        full = c.post("/v1/lookup", content=data, headers={"Content-Type": "image/jpeg"},
                      params={"page_url": PAGE}).json()
        assert full["label"] == "synthetic"
        now = by_hash(c)
        assert now["label"] == "synthetic"
        assert not [x for x in now["reasons"] if x["evidence"].get("stale")]
        photo = c.get(f"/v1/photos/{sha}").json()
        assert photo["detectors"]["geometry.stylegan"] == "1"
        assert photo["verdict"]["label"] == "synthetic"
        assert all(x["detector"] in photo["detectors"] and x["detector_version"]
                   for x in photo["signals"] if x["score"] > 0)
