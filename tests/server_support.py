"""Shared parts of the server tests: stores built from the sample profiles, a uvicorn server in a
thread, a local HTTP server that plays an image host, and the TestClient import."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import uvicorn

from headcheck.cli import read_pages_csv
from headcheck.engine import Headcheck
from headcheck.store import Sighting

with warnings.catch_warnings():
    # starlette suggests its httpx2 backend for TestClient; the httpx one works the same here.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as _StarletteTestClient


class TestClient(_StarletteTestClient):
    """Starlette's test client as a local client of a keyless server sends: to 127.0.0.1 (the
    server checks the Host) and with X-Headcheck-Client (so multipart posts are accepted)."""

    __test__ = False

    def __init__(self, app: object, **kw: object) -> None:
        kw.setdefault("base_url", "http://127.0.0.1")
        kw.setdefault("headers", {"X-Headcheck-Client": "tests"})
        super().__init__(app, **kw)  # type: ignore[arg-type]


ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
IMAGES = SAMPLE / "images"
# The four copies of one photo on four profiles: left out of the "base" store, so a test can add
# one while a server runs and see the verdict of another change.
REUSED = ("reused-original.jpg", "reused-resize_200.jpg", "reused-mirror.jpg",
          "reused-ring.jpg")
_built: dict[str, Path] = {}

# API keys for tests that need two callers (they are keys only where a test configures them).
KEY_A = "test-key-aaaaaaaaaaaaaaaa"
KEY_B = "test-key-bbbbbbbbbbbbbbbb"


def image(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def build_store(path: Path, skip: tuple[str, ...] = ()) -> Path:
    """Index the sample profiles (data/sample/pages.csv) into a new store, as `headcheck index`
    does (thumbnails too, its default)."""
    hc = Headcheck(path, thumbnails=True)
    for f, page, name in read_pages_csv(SAMPLE / "pages.csv"):
        if f.name in skip:
            continue
        hc.add(f.read_bytes(), Sighting(page_url=page, image_url=f.resolve().as_uri(),
                                        profile_name=name))
    hc.close()
    return path


def sample_store(tmp_root: Path, variant: str, dest: Path) -> Path:
    """A copy of the "full" (all sample photos) or "base" (without REUSED) store at ``dest``;
    each variant is built once per test session."""
    if variant not in _built:
        skip = REUSED if variant == "base" else ()
        _built[variant] = build_store(tmp_root / f"{variant}.db", skip)
    shutil.copy(_built[variant], dest)
    return dest


@contextlib.contextmanager
def uvicorn_thread(app: object) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn on 127.0.0.1 (a free port); yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


class _ImageHost(BaseHTTPRequestHandler):
    """/img/NAME, /redirect?to=URL, /status/CODE, /text, /big, /endless, /slow."""

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
              ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts[0] == "img" and len(parts) == 2 and (IMAGES / parts[1]).is_file():
            self._send(200, image(parts[1]), "image/jpeg")
        elif parts[0] == "redirect":
            target = parse_qs(url.query)["to"][0]
            self._send(302, b"", "text/plain", {"Location": target})
        elif parts[0] == "loop":
            self._send(302, b"", "text/plain", {"Location": "/loop"})
        elif parts[0] == "status":
            self._send(int(parts[1]), b"no", "text/plain")
        elif parts[0] == "text":
            self._send(200, b"<html>not an image</html>", "text/html")
        elif parts[0] == "big":
            self._send(200, b"\xff" * 200_000, "image/jpeg")
        elif parts[0] == "endless":  # no Content-Length: the limit must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(100):
                    self.wfile.write(b"\xff" * 65536)
        elif parts[0] == "slow":
            time.sleep(3)
            self._send(200, image("composite-1.jpg"), "image/jpeg")
        else:
            self._send(404, b"not found", "text/plain")


@contextlib.contextmanager
def image_host() -> Iterator[str]:
    """A local image host on 127.0.0.1 (a free port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHost)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

SERVE_CLI = [sys.executable, "-c", "from headcheck.cli import main; main()"]


@contextlib.contextmanager
def headcheck_server(db: Path, api_key: str | None = None, port: int = 0,
                     refresh_seconds: float = 5,
                     extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`headcheck serve` on 127.0.0.1 (at a free port unless given) in a child process; yields
    its base URL once it answers, and stops it afterwards."""
    env = {**os.environ, "HEADCHECK_REFRESH_SECONDS": str(refresh_seconds), **(extra_env or {})}
    if api_key:
        env["HEADCHECK_API_KEYS"] = api_key
    proc = subprocess.Popen([*SERVE_CLI, "serve", "--db", str(db), "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found: list[str] = []
    lines: list[str] = []

    def drain() -> None:  # keep reading, or a full pipe would stall the server
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if m:
                found.append(m.group(1))

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 60
    while not found:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("headcheck serve did not start:\n" + "".join(lines))
        time.sleep(0.05)
    try:
        yield found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
