"""Guards for a server without API keys (allowed on loopback only), where any web page the user
opens could otherwise use the API through the browser:

- DNS rebinding: a page on ``attacker.example`` re-points its name at 127.0.0.1 and reads the
  answers as same-origin. The browser still sends ``Host: attacker.example``, so requests whose
  Host is not a name this server is bound to are refused (421).
- Cross-site posts: a page may send a ``multipart/form-data``, ``text/plain`` or form-encoded POST
  to any address without a CORS preflight, which could record a sighting or make the server fetch
  a URL. A POST must carry a content type no page can send without preflight (an image type,
  JSON), or the header ``X-Headcheck-Client`` (any value), which likewise needs a preflight that
  only the allowed extension origins pass.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# What a page may POST cross-site without a preflight (the CORS-safelisted content types).
SIMPLE_TYPES = frozenset({"multipart/form-data", "text/plain",
                          "application/x-www-form-urlencoded", ""})
CLIENT_HEADER = b"x-headcheck-client"


def host_name(host: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class LoopbackGuard:
    def __init__(self, app: ASGIApp, bound_host: str) -> None:
        self.app = app
        self.names = LOOPBACK_NAMES | {host_name(bound_host)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if host_name(host) not in self.names:  # a missing or empty Host too
            await JSONResponse({"detail": f"this server answers to {', '.join(sorted(self.names))}"
                                          f", not {host_name(host)!r}"}, 421)(scope, receive, send)
            return
        media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if (scope["method"] not in ("GET", "HEAD", "OPTIONS") and media in SIMPLE_TYPES
                and CLIENT_HEADER not in headers):
            await JSONResponse({"detail": "a POST with this content type could come from any web "
                                          "page: send the header X-Headcheck-Client (any value) "
                                          "or an API key"}, 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
