"""The lookup API in process (TestClient runs the lifespan), over a store of the sample profiles."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from pydantic import ValidationError

from headcheck.cli import main
from headcheck.engine import Headcheck
from server.app import create_app
from server.settings import Settings
from tests.server_support import KEY_A, KEY_B, TestClient, image, sample_store

EXTENSION = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"


def fresh_db(tmp_path: Path) -> Path:
    return sample_store(tmp_path.parent, "full", tmp_path / "store.db")


def raw(c: TestClient, data: bytes, ctype: str = "image/jpeg", **params: str):  # noqa: ANN201
    return c.post("/v1/lookup", content=data, headers={"Content-Type": ctype}, params=params)


# -- lookups --------------------------------------------------------------------------------------
def test_lookup_answers_the_check_json_for_the_uploaded_bytes(client: TestClient, db: Path
                                                              ) -> None:
    data = image("composite-1.jpg")
    r = raw(client, data)
    assert r.status_code == 200
    body = r.json()
    hc = Headcheck(db)
    expected = hc.check(data).to_json(None)
    hc.close()
    assert body.pop("cached") is False
    # Extensions of the check JSON: feedback on this photo (none yet), not disputed.
    assert body.pop("disputed") is False
    assert body.pop("feedback") == {"false_positive": 0, "confirmed": 0}
    assert body == expected  # the exact shape and content of `headcheck check --json`
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["label"] == "composited"
    assert body["reasons"][0]["matches"], "the evidence lists the photos that share the context"


def test_reasons_and_signals_carry_a_headline_and_evidence(client: TestClient) -> None:
    data = image("declared-exif.jpg")
    (reason,) = [r for r in raw(client, data).json()["reasons"]
                 if r["signal"] == "metadata.generator_name"]
    assert reason["signal"] == "metadata.generator_name"
    assert reason["evidence"]["field"].startswith("EXIF")
    assert reason["evidence"]["generator"] in reason["headline"]  # named without parsing detail
    assert "AI image generator" in reason["headline"] and reason["headline"] != reason["detail"]
    stored = client.get(f"/v1/photos/{hashlib.sha256(data).hexdigest()}").json()
    (signal,) = [s for s in stored["signals"] if s["name"] == "metadata.generator_name"]
    assert (signal["headline"], signal["evidence"]) == (reason["headline"], reason["evidence"])
    composite = raw(client, image("composite-1.jpg")).json()["reasons"][0]
    assert composite["evidence"]["photos"] == len(composite["matches"]) == 3
    assert "3 other photos" in composite["headline"]


def test_repeated_lookup_is_answered_from_the_cache(client: TestClient) -> None:
    data = image("stylegan-013.jpg")
    first, second = raw(client, data).json(), raw(client, data).json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert {**first, "cached": True} == second
    stats = client.get("/v1/stats").json()
    assert stats["cache"]["hits"] >= 1


def test_multipart_upload_with_page_url_counts_that_page(client: TestClient) -> None:
    data = image("reused-ring.jpg")
    r = client.post("/v1/lookup", files={"image": ("ring.jpg", data, "image/jpeg")},
                    data={"page_url": "https://elsewhere.example/profile/9"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "reused"
    pages = {p for reason in body["reasons"] for m in reason["matches"] for p in m["pages"]}
    assert "https://people.example.org/profile/sam-keller" in pages


def test_lookups_are_not_stored_unless_the_settings_say_so(client: TestClient, db: Path) -> None:
    before = client.get("/v1/stats").json()
    raw(client, image("plain-3377864339.jpg"), page_url="https://new.example/u/1")
    after = client.get("/v1/stats").json()
    assert (after["photos"], after["sightings"]) == (before["photos"], before["sightings"])
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sightings WHERE page_url LIKE "
                            "'https://new.example/%'").fetchone()[0] == 0


def test_record_lookups_setting_stores_a_sighting(tmp_path: Path) -> None:
    db = fresh_db(tmp_path)
    with TestClient(create_app(Settings(db=db, record_lookups=True))) as c:
        data = image("plain-3377864339.jpg")
        sha = raw(c, data, page_url="https://new.example/u/2").json()["sha256"]
        photo = c.get(f"/v1/photos/{sha}").json()
    pages = {s["page_url"]: s["source"] for s in photo["sightings"]}
    assert pages["https://new.example/u/2"] == "lookup"


# -- the store's view of a photo -----------------------------------------------------------------
def test_photo_lists_sightings_signals_and_matches(client: TestClient) -> None:
    sha = hashlib.sha256(image("composite-2.jpg")).hexdigest()
    r = client.get(f"/v1/photos/{sha.upper()}")
    assert r.status_code == 200
    p = r.json()
    assert p["sha256"] == sha
    assert p["sightings_total"] == 1
    s = p["sightings"][0]
    assert s["page_url"] == "https://people.example.org/profile/marc-oyelaran"
    assert s["first_seen"] <= s["last_seen"] and p["first_seen"] == s["first_seen"]
    relations = {m["relation"] for ms in p["matches"].values() for m in ms}
    assert relations == {"same_context"}
    assert set(p["matches"]) <= {"context", "background", "face", "image", "pdq"}
    assert p["verdict"]["label"] == "composited"

    declared = client.get(f"/v1/photos/{hashlib.sha256(image('declared-iptc.jpg')).hexdigest()}")
    signals = declared.json()["signals"]
    assert signals and signals[0]["kind"] == "synthetic" and signals[0]["evidence"]


def test_unknown_or_malformed_photo_ids(client: TestClient) -> None:
    r = client.get("/v1/photos/" + "0" * 64)
    assert r.status_code == 404 and "no photo" in r.json()["detail"]
    r = client.get("/v1/photos/not-a-hash")
    assert r.status_code == 422 and r.json()["detail"].startswith("path.sha256")


# -- feedback ------------------------------------------------------------------------------------
def test_feedback_is_stored_with_time_and_key(tmp_path: Path) -> None:
    db = fresh_db(tmp_path)
    sha = hashlib.sha256(image("composite-3.jpg")).hexdigest()
    with TestClient(create_app(Settings(db=db, api_keys=[KEY_A]))) as c:
        auth = {"Authorization": f"Bearer {KEY_A}"}
        r = c.post("/v1/feedback", headers=auth,
                   json={"sha256": sha, "label": "false_positive", "note": "my own photo"})
        assert r.status_code == 201, r.text
        assert r.json()["known_photo"] is True
        unknown = c.post("/v1/feedback", headers=auth, json={"sha256": "a" * 64,
                                                             "label": "confirmed"})
        assert unknown.status_code == 201 and unknown.json()["known_photo"] is False
        counts = c.get(f"/v1/photos/{sha}", headers=auth).json()["feedback"]
        assert counts == {"false_positive": 1, "confirmed": 0}
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT sha256, label, note, key_id, created_at FROM feedback "
                           "ORDER BY id LIMIT 1").fetchone()
    assert row[:3] == (sha, "false_positive", "my own photo")
    assert row[3].startswith("key:") and KEY_A not in row[3]  # a fingerprint, never the key
    assert row[4][:4].isdigit()


@pytest.mark.parametrize("body", [
    {"sha256": "a" * 64, "label": "authentic"},
    {"sha256": "xyz", "label": "confirmed"},
    {"sha256": "a" * 64, "label": "confirmed", "note": "n" * 2001},
    {"sha256": "a" * 64, "label": "confirmed", "extra": 1},
    [],
])
def test_invalid_feedback_is_refused_with_the_field_named(client: TestClient, body: object
                                                          ) -> None:
    r = client.post("/v1/feedback", json=body)
    assert r.status_code == 422
    assert r.json()["detail"] and r.json()["errors"][0]["loc"]


# -- hostile input -------------------------------------------------------------------------------
def test_bad_json_and_wrong_content_types_get_4xx_with_a_message(client: TestClient) -> None:
    r = client.post("/v1/feedback", content=b'{"sha256": ', headers={"Content-Type":
                                                                      "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = client.post("/v1/feedback", content=b"label=confirmed",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    r = raw(client, image("composite-1.jpg"), ctype="text/plain")
    assert r.status_code == 415 and "multipart" in r.json()["detail"]
    r = client.post("/v1/lookup", content=image("composite-1.jpg"))
    assert r.status_code == 415
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    r = raw(client, svg, ctype="image/svg+xml")
    assert r.status_code == 415 and "vector document" in r.json()["detail"]


def make_bomb() -> bytes:
    """A tiny PNG that decodes to 60 million pixels."""
    buf = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("data", "ctype", "status", "words"), [
    (b"", "image/jpeg", 422, "empty"),
    (b"GIF89a-not-really", "image/gif", 415, "not an image"),
    (b"%PDF-1.4 hello", "application/octet-stream", 415, "not an image"),
    (image("composite-1.jpg")[:5000], "image/jpeg", 422, "truncated"),
    (None, "image/png", 413, "too many pixels"),
])
def test_broken_images_get_4xx_with_the_reason(client: TestClient, data: bytes | None,
                                               ctype: str, status: int, words: str) -> None:
    r = raw(client, make_bomb() if data is None else data, ctype=ctype)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_huge_bodies_are_refused_declared_or_streamed(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(db=fresh_db(tmp_path), max_request_bytes=50_000))) as c:
        r = raw(c, b"\xff" * 60_000)
        assert r.status_code == 413 and "50000" in r.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
            for _ in range(10):
                yield b"\xff" * 10_000

        r = c.post("/v1/lookup", content=chunks(), headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 413
        r = c.post("/v1/lookup", files={"image": ("x.jpg", b"\xff" * 60_000, "image/jpeg")})
        assert r.status_code == 413
        assert raw(c, image("declared-exif.jpg")).status_code == 200  # under the limit


def test_multipart_without_the_image_field(client: TestClient) -> None:
    r = client.post("/v1/lookup", files={"photo": ("x.jpg", b"x", "image/jpeg")})
    assert r.status_code == 422 and "'image'" in r.json()["detail"]
    r = client.post("/v1/lookup", files={"image": ("x.jpg", image("declared-exif.jpg"))},
                    data={"page_url": "javascript:alert(1)"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "page_url"]


# -- keys, rate limit, CORS ----------------------------------------------------------------------
def test_api_keys_are_required_when_configured(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(db=fresh_db(tmp_path), api_keys=[KEY_A, KEY_B]))) as c:
        r = c.get("/v1/stats")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        assert c.get("/v1/stats", headers={"Authorization": "Bearer wrong-key-123456789"}
                     ).status_code == 401
        assert c.get("/v1/stats", headers={"Authorization": f"Basic {KEY_A}"}).status_code == 401
        for key in (KEY_A, KEY_B):
            assert c.get("/v1/stats", headers={"Authorization": f"Bearer {key}"}
                         ).status_code == 200
        assert raw(c, image("declared-exif.jpg")).status_code == 401
        assert c.get("/v1/health").status_code == 200  # liveness needs no key


def test_rate_limit_per_key_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(db=fresh_db(tmp_path), api_keys=[KEY_A, KEY_B], rate_per_minute=6,
                        rate_burst=2)
    with TestClient(create_app(settings)) as c:
        a = {"Authorization": f"Bearer {KEY_A}"}
        codes = [c.get("/v1/stats", headers=a).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = c.get("/v1/stats", headers=a)
        assert r.status_code == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 10  # one token per 10 s
        assert "rate limit" in r.json()["detail"]
        # another key has its own budget
        assert c.get("/v1/stats", headers={"Authorization": f"Bearer {KEY_B}"}).status_code == 200
        # guessing keys is limited by the caller's address
        wrong = {"Authorization": "Bearer guess-guess-guess-guess"}
        codes = [c.get("/v1/stats", headers=wrong).status_code for _ in range(3)]
        assert codes == [401, 401, 429]


def test_cors_allows_only_the_configured_extension(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(db=fresh_db(tmp_path), cors_origins=[EXTENSION]))) as c:
        pre = {"Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type"}
        ok = c.options("/v1/lookup", headers={"Origin": EXTENSION, **pre})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == EXTENSION
        evil = c.options("/v1/lookup", headers={"Origin": "https://evil.example", **pre})
        assert "access-control-allow-origin" not in evil.headers
        got = c.get("/v1/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in got.headers


def test_no_cors_headers_without_configured_origins(client: TestClient) -> None:
    r = client.get("/v1/health", headers={"Origin": EXTENSION})
    assert "access-control-allow-origin" not in r.headers


def test_settings_refuse_unsafe_configurations(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="requires API keys"):
        Settings(db=tmp_path / "x.db", host="0.0.0.0")
    with pytest.raises(ValidationError, match="extension origins only"):
        Settings(db=tmp_path / "x.db", cors_origins=["https://example.org"])
    with pytest.raises(ValidationError, match="at least 16"):
        Settings(db=tmp_path / "x.db", api_keys=["short"])
    Settings(db=tmp_path / "x.db", host="0.0.0.0", api_keys=[KEY_A])  # fine with keys


def test_serve_beyond_loopback_without_keys_is_a_usage_error(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.delenv("HEADCHECK_API_KEYS", raising=False)
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "x.db"),
                                       "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "requires API keys" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before opening anything


# -- health, stats, spec -------------------------------------------------------------------------
def test_health_and_stats_describe_store_and_index(client: TestClient) -> None:
    assert client.get("/v1/health").json()["status"] == "ok"
    s = client.get("/v1/stats").json()
    assert s["photos"] == 15 and s["sightings"] >= 15
    assert s["index"]["photos"] == 15 and s["index"]["bytes"] > 0
    assert s["index"]["entries"]["pdq"] <= 15
    assert 0 <= s["index"]["age_seconds"] < 60


def test_health_names_a_detector_that_cannot_run_on_this_machine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    """Here every detector runs; where the diffusion encoder computes other features (another
    CPU), the server says so before any lookup, so a client knows "no signal" is "not checked"."""
    from headcheck.detectors import diffusion

    assert client.get("/v1/health").json()["detectors_off"] == {}
    monkeypatch.setattr(diffusion, "encoder_cosine", lambda: 0.55)
    with TestClient(create_app(Settings(db=fresh_db(tmp_path)))) as c:
        off = c.get("/v1/health").json()["detectors_off"]
    assert list(off) == ["diffusion.clip_probe"]
    assert "computes other features than the probe was trained on" in off["diffusion.clip_probe"]


def test_openapi_and_docs_are_published(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/lookup", "/v1/lookup-url", "/v1/photos/{sha256}", "/v1/feedback",
            "/v1/health", "/v1/stats"} <= set(spec["paths"])
    body = spec["paths"]["/v1/lookup"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body and "image/jpeg" in body
    assert client.get("/docs").status_code == 200
