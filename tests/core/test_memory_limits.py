"""Memory bounds: a header that lies about its size is refused before decoding, normal images
decode at full size as before, and the server bounds the upload bytes all requests hold."""

from __future__ import annotations

import asyncio
import io
import struct

import pytest
from PIL import Image
from starlette.responses import PlainTextResponse

from headcheck.errors import ImageError
from headcheck.load import Limits, load_image
from server.limits import BodyLimit


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


def test_a_normal_large_photo_is_accepted_and_decoded_at_the_working_size() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4032, 3024), (120, 100, 90)).save(buf, "JPEG")  # a phone photo, 12 MP
    img = load_image(buf.getvalue())
    # Decoded at half size (still >= WORK_SIDE), reported at its own size.
    assert img.image.size == (2016, 1512) and img.scale == 2.0
    assert img.full_size == (4032, 3024)
    assert load_image(buf.getvalue(), work_side=None).image.size == (4032, 3024)


def test_the_pixel_limit_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADCHECK_MAX_PIXELS", "1000")
    assert Limits().max_pixels == 1000
    with pytest.raises(ImageError, match="HEADCHECK_MAX_PIXELS"):
        load_image(lying_jpeg(40, 40))


def test_uploads_in_flight_are_bounded() -> None:
    """Two requests at once through the body limit (a real ASGI call, an app that holds the
    first request open): the second would pass the total, so it gets 503 and Retry-After; once
    the first is done its bytes are released."""
    release = asyncio.Event()
    entered = asyncio.Event()

    async def app(scope: dict, receive: object, send: object) -> None:
        entered.set()
        await release.wait()  # the first request holds its 1 MB until released
        await PlainTextResponse("done")(scope, receive, send)  # type: ignore[arg-type]

    limit = BodyLimit(app, max_bytes=1_000_000, max_inflight_bytes=1_500_000)

    def scope(length: int) -> dict:
        return {"type": "http", "method": "POST", "path": "/v1/lookup",
                "headers": [(b"content-length", str(length).encode()),
                            (b"content-type", b"image/jpeg")]}

    async def call(length: int) -> tuple[int, dict[bytes, bytes]]:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await limit(scope(length), receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        return start["status"], dict(start["headers"])

    async def scenario() -> None:
        first = asyncio.create_task(call(1_000_000))
        await entered.wait()
        status, headers = await asyncio.wait_for(call(600_000), 30)  # unbounded: it would wait
        assert status == 503 and headers[b"retry-after"] == b"1"
        assert limit.inflight == 1_000_000
        release.set()
        assert (await first)[0] == 200
        assert limit.inflight == 0
        assert (await call(600_000))[0] == 200  # released: the same upload now fits

    asyncio.run(scenario())
