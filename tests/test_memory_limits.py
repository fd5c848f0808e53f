"""Memory bounds: a header that lies about its size is refused before decoding, normal images
decode at full size as before, and the server bounds the upload bytes all requests hold."""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from headcheck.errors import ImageError
from headcheck.load import Limits, load_image
from server.app import create_app
from server.settings import Settings
from tests.server_support import sample_store, uvicorn_thread


def lying_jpeg(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims ``width`` x ``height`` (libjpeg would fill in the
    missing scan data as grey)."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 100, 90)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_a_lying_header_is_refused_before_decoding() -> None:
    data = lying_jpeg(7000, 7000)
    assert len(data) < 2000
    with pytest.raises(ImageError, match="too many pixels: 7000x7000") as exc:
        load_image(data)
    assert exc.value.kind == "too_large"
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(lying_jpeg(5000, 4001))  # just past 20 MP


def test_a_normal_large_photo_decodes_at_full_size() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4032, 3024), (120, 100, 90)).save(buf, "JPEG")  # a phone photo, 12 MP
    img = load_image(buf.getvalue())
    assert img.image.size == (4032, 3024)


def test_the_pixel_limit_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADCHECK_MAX_PIXELS", "1000")
    assert Limits().max_pixels == 1000
    with pytest.raises(ImageError, match="HEADCHECK_MAX_PIXELS"):
        load_image(lying_jpeg(40, 40))


def test_uploads_in_flight_are_bounded(tmp_path: Path) -> None:
    db = sample_store(tmp_path.parent, "base", tmp_path / "store.db")
    app = create_app(Settings(db=db, max_request_bytes=1_000_000, max_inflight_bytes=1_500_000,
                              rate_burst=1000, rate_per_minute=60_000))  # polling is not abuse
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:  # declares 1 MB, sends a little, then waits
        yield b"\xff" * 1000
        release.wait(60)
        yield b"\xff" * (1_000_000 - 1000)

    with uvicorn_thread(app) as base, httpx.Client(base_url=base, timeout=60) as c:
        first: list[httpx.Response] = []
        holder = threading.Thread(target=lambda: first.append(c.post(
            "/v1/lookup", content=slow_body(),
            headers={"Content-Type": "image/jpeg", "Content-Length": "1000000"})))
        holder.start()
        try:
            # Until the first request is in flight the second is answered (415: not an image);
            # once it holds its 1 MB, 600 KB more would pass the 1.5 MB total.
            for _ in range(600):
                r = c.post("/v1/lookup", content=b"x" * 600_000,
                           headers={"Content-Type": "image/jpeg"})
                if r.status_code == 503:
                    break
                threading.Event().wait(0.05)
            assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
            assert "retry" in r.json()["detail"]
        finally:
            release.set()
            holder.join(60)
        assert first[0].status_code == 415  # the slow one was served (it is not an image)
        # Its bytes are released: the same upload now fits.
        r = c.post("/v1/lookup", content=b"x" * 600_000, headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 415
