"""/v1/lookup-url: the server fetches the image itself, and refuses to reach inside the network.

Nothing here leaves the machine: refused targets are refused before any connection is made, and
the one image host is a local server on 127.0.0.1 that only the tests that need it allow.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import create_app
from server.guard import Refused, vet, why_not_public
from server.settings import Settings
from tests.server_support import TestClient, image, image_host

LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]
FAKE_DNS = {
    "rebind.test": ["127.0.0.1"],  # a public-looking name that points inside
    "metadata.test": ["169.254.169.254"],
    "mixed.test": ["93.184.216.34", "10.1.2.3"],  # one bad address spoils the host
}
resolved: list[str] = []


async def fake_resolve(host: str, port: int) -> list[str]:
    resolved.append(host)
    if host in FAKE_DNS:
        return FAKE_DNS[host]
    from server.guard import system_resolve

    return await system_resolve(host, port)  # IP literals and localhost (from /etc/hosts)


@pytest.fixture(scope="module")
def guarded(db: Path) -> Iterator[TestClient]:
    """The default: no exceptions to the guard."""
    with TestClient(create_app(Settings(db=db), resolve=fake_resolve)) as c:
        yield c


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    with image_host() as url:
        yield url


@pytest.fixture(scope="module")
def allowing_host(db: Path) -> Iterator[TestClient]:
    """127.0.0.1 allowed (only here), so the local image host can be reached."""
    settings = Settings(db=db, fetch_allow_networks=LOOPBACK, fetch_max_bytes=100_000,
                        fetch_timeout_seconds=1.5, fetch_max_redirects=3)
    with TestClient(create_app(settings, resolve=fake_resolve)) as c:
        yield c


def lookup_url(c: TestClient, url: str, page_url: str | None = None):  # noqa: ANN201
    return c.post("/v1/lookup-url", json={"image_url": url, "page_url": page_url})


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/latest",
    "http://127.1.2.3:8080/x.jpg",
    "http://10.0.0.1/x.jpg",
    "http://192.168.1.1/x.jpg",
    "http://172.16.5.4/x.jpg",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/x.jpg",
    "http://0.0.0.0:8000/x.jpg",
    "http://224.0.0.1/x.jpg",
    "http://localhost/x.jpg",
    "http://[::1]/x.jpg",
    "http://[::ffff:127.0.0.1]/x.jpg",
    "http://[fe80::1]/x.jpg",
    "http://2130706433/x.jpg",  # 127.0.0.1 written as one number
    "https://rebind.test/x.jpg",
    "http://metadata.test/computeMetadata/v1/",
    "http://mixed.test/x.jpg",
])
def test_private_targets_are_refused(guarded: TestClient, url: str) -> None:
    r = lookup_url(guarded, url)
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("image_url refused")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x.jpg",
                                 "gopher://example.org/", "//example.org/x.jpg", "x.jpg"])
def test_only_http_urls_are_accepted(guarded: TestClient, url: str) -> None:
    r = lookup_url(guarded, url)
    assert r.status_code == 422 and "http" in r.json()["detail"]


def test_credentials_in_urls_are_refused_before_resolving(guarded: TestClient) -> None:
    resolved.clear()
    r = lookup_url(guarded, "http://user:secret@rebind.test/x.jpg")
    assert r.status_code == 400 and "credentials" in r.json()["detail"]
    assert resolved == []


def test_a_local_host_is_reachable_only_when_allowed(guarded: TestClient,
                                                     allowing_host: TestClient, host: str
                                                     ) -> None:
    url = f"{host}/img/composite-1.jpg"
    assert lookup_url(guarded, url).status_code == 400
    r = lookup_url(allowing_host, url, page_url="https://people.example.org/profile/x")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sha256"] == hashlib.sha256(image("composite-1.jpg")).hexdigest()
    assert body["label"] == "composited"


def test_redirects_are_followed_and_each_hop_is_checked(allowing_host: TestClient, host: str
                                                       ) -> None:
    ok = lookup_url(allowing_host, f"{host}/redirect?to=/img/declared-exif.jpg")
    assert ok.status_code == 200 and ok.json()["label"] == "synthetic"
    for target in ("http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/",
                   "http://[::1]:80/x.jpg", "http://metadata.test/x.jpg"):
        r = lookup_url(allowing_host, f"{host}/redirect?to={target}")
        assert r.status_code == 400, (target, r.text)
        assert "refused" in r.json()["detail"]
    r = lookup_url(allowing_host, f"{host}/redirect?to=file:///etc/passwd")
    assert r.status_code == 400 and "only http and https" in r.json()["detail"]
    r = lookup_url(allowing_host, f"{host}/loop")
    assert r.status_code == 422 and "redirected more than 3" in r.json()["detail"]


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/text", 422, "not an image (content type text/html)"),
    ("/big", 422, "the limit is 100000"),
    ("/endless", 422, "exceeds 100000 bytes"),
    ("/status/404", 502, "HTTP 404"),
    ("/slow", 504, "did not answer within 1.5 s"),
])
def test_fetch_limits(allowing_host: TestClient, host: str, path: str, status: int, words: str
                      ) -> None:
    r = lookup_url(allowing_host, host + path)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_the_guard_classifies_addresses() -> None:
    assert why_not_public(ipaddress.ip_address("8.8.8.8")) is None
    assert why_not_public(ipaddress.ip_address("2606:4700::1111")) is None
    assert why_not_public(ipaddress.ip_address("2002:7f00:1::1")) == "loopback"  # 6to4 wrap
    assert why_not_public(ipaddress.ip_address("fd00::1")) == "private"
    assert why_not_public(ipaddress.ip_address("64:ff9b::a9fe:a9fe")) == "link-local"  # NAT64
    with pytest.raises(Refused, match="10.9.8.7"):
        vet("cdn.test", ["8.8.8.8", "10.9.8.7"], [])
    assert [str(a) for a in vet("127.0.0.1", ["127.0.0.1"], LOOPBACK)] == ["127.0.0.1"]


def test_allowing_every_network_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="headcheck.netguard"):
        Settings(db=tmp_path / "h.db", fetch_allow_networks="127.0.0.1/32")
    assert not caplog.records
    with caplog.at_level("WARNING", logger="headcheck.netguard"):
        Settings(db=tmp_path / "h.db", fetch_allow_networks="0.0.0.0/0")
    assert "SSRF guard is off" in caplog.text
