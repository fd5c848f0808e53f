"""A keyless server (loopback only) cannot be used by the web pages its user opens: requests for
another host name (DNS rebinding) get 421, and posts any page could send without a CORS preflight
(multipart, text/plain, form-encoded) need X-Headcheck-Client or a key."""

from __future__ import annotations

from pathlib import Path

from server.app import create_app
from server.settings import Settings
from tests.server_support import TestClient, image, sample_store

KEY = "loopback-test-key-0123456789"


def test_a_rebound_host_name_is_refused(tmp_path: Path) -> None:
    db = sample_store(tmp_path.parent, "base", tmp_path / "store.db")
    with TestClient(create_app(Settings(db=db))) as c:
        assert c.get("/v1/stats").status_code == 200
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
            assert c.get("/v1/stats", headers={"Host": host}).status_code == 200, host
        r = c.get("/v1/stats", headers={"Host": "attacker.example:8000"})
        assert r.status_code == 421 and "attacker.example" in r.json()["detail"]
    # With keys a rebound page has no key: the Host is not what protects it.
    with TestClient(create_app(Settings(db=db, api_keys=[KEY]))) as c:
        r = c.get("/v1/stats", headers={"Host": "attacker.example",
                                        "Authorization": f"Bearer {KEY}"})
        assert r.status_code == 200


def test_cross_site_simple_posts_record_nothing(tmp_path: Path) -> None:
    db = sample_store(tmp_path.parent, "base", tmp_path / "store.db")
    page = {"page_url": "https://attacker.example/"}
    with TestClient(create_app(Settings(db=db, record_lookups=True)), headers={}) as c:
        before = c.get("/v1/stats").json()["sightings"]
        form = {"image": ("x.jpg", image("composite-1.jpg"), "image/jpeg")}
        r = c.post("/v1/lookup", files=form, data=page)
        assert r.status_code == 403 and "X-Headcheck-Client" in r.json()["detail"]
        r = c.post("/v1/lookup", content=image("composite-1.jpg"), params=page,
                   headers={"Content-Type": "text/plain"})
        assert r.status_code == 403
        assert c.get("/v1/stats").json()["sightings"] == before
        # What the extension and scripts send is accepted: an image type, or the header.
        r = c.post("/v1/lookup", content=image("composite-1.jpg"), params=page,
                   headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 200
        r = c.post("/v1/lookup", files=form, data={"page_url": "https://b.example/"},
                   headers={"X-Headcheck-Client": "script"})
        assert r.status_code == 200
        assert c.get("/v1/stats").json()["sightings"] == before + 2
