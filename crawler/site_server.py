"""A static site on 127.0.0.1, for the bundled sample, the tests and the benchmark.

``http.server`` with three additions a profile site needs:

- content negotiation: an extensionless path serves ``PATH.html``, or ``PATH.json`` as
  ``application/activity+json`` when the request asks for it (Mastodon-style profile URLs);
- forward-proxy requests for one made-up host, so the sample's URLs stay the same whatever port
  the server was given (point ``http_proxy`` at it; nothing is ever forwarded elsewhere);
- a delay per request (to slow a crawl enough to interrupt it) and stalled paths (timeouts).
"""

from __future__ import annotations

import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

ACTIVITY_JSON = "application/activity+json"


class SiteHandler(SimpleHTTPRequestHandler):
    site: SiteServer  # set on the per-server subclass

    def _local_path(self) -> str | None:
        """The path part of the request, or None for a proxy request to another host."""
        if self.path.startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            if parts.hostname != self.site.host_alias:
                return None
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return self.path

    def _wants_actor(self) -> bool:
        return ACTIVITY_JSON in (self.headers.get("Accept") or "")

    def translate_path(self, path: str) -> str:
        fs = super().translate_path(self._local_path() or path)
        if not Path(fs).suffix and not Path(fs).exists():
            for ext in (".json", ".html") if self._wants_actor() else (".html",):
                if Path(fs + ext).is_file():
                    return fs + ext
        return fs

    def guess_type(self, path: Any) -> str:
        if str(path).endswith(".json") and self._wants_actor():
            return ACTIVITY_JSON
        return super().guess_type(path)

    def _serve(self, method: str) -> None:
        local = self._local_path()
        self.site.record(method, local or self.path, self.headers.get("Accept") or "")
        if local is None:
            self.send_error(403, "this server proxies only its own site")
            return
        time.sleep(self.site.delay + self.site.stalled.get(urlsplit(local).path, 0.0))
        getattr(super(), f"do_{method}")()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the site's requests are in SiteServer.requests


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-response (a killed crawl) is not the server's error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SiteServer:
    """Serve ``root`` on 127.0.0.1 (an ephemeral port) in a thread, as a context manager."""

    def __init__(self, root: Path, host_alias: str | None = None, delay: float = 0.0,
                 stalled: dict[str, float] | None = None) -> None:
        self.root = Path(root)
        self.host_alias = host_alias
        self.delay = delay
        self.stalled = stalled or {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Accept)
        self.arrivals: list[float] = []  # time.monotonic() of each request, in arrival order
        self._lock = threading.Lock()

    def record(self, method: str, path: str, accept: str) -> None:
        with self._lock:
            self.requests.append((method, path, accept))
            self.arrivals.append(time.monotonic())

    def paths(self) -> list[str]:
        with self._lock:
            return [p for _, p, _ in self.requests]

    def __enter__(self) -> SiteServer:
        handler = type("Handler", (SiteHandler,), {"site": self})
        self.httpd = _QuietServer(("127.0.0.1", 0), partial(handler, directory=str(self.root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str = "/") -> str:
        """The URL a crawler uses: on the host alias (through the proxy) if there is one."""
        return f"http://{self.host_alias}{path}" if self.host_alias else self.address + path
