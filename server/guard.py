"""SSRF guard for server-side fetches: every TCP connection goes to a vetted address (the rules
are the core's, ``headcheck.netguard``, shared with the crawler).

The guard sits in the connection layer (an httpcore network backend), so it sees every hop of a
redirect chain and every retry. It resolves the host once, refuses the whole host if any of its
addresses is non-public (loopback, private, link-local, reserved, multicast...) unless a
configured network allows it, and then connects to that vetted IP itself: the name is never
resolved again, so DNS rebinding between check and connect is not possible. TLS still verifies
the certificate against the host name, since httpcore passes the name for SNI.
"""

from __future__ import annotations

import socket
import typing
from collections.abc import Awaitable, Callable, Iterable

import anyio
import httpcore
import httpx

from headcheck.netguard import Network, Refused, Unresolvable, vet, why_not_public

Resolver = Callable[[str, int], Awaitable[list[str]]]
__all__ = ["GuardedBackend", "GuardedTransport", "Refused", "Resolver", "Unresolvable",
           "system_resolve", "vet", "why_not_public"]


async def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, allow: Iterable[Network], resolve: Resolver = system_resolve) -> None:
        self._allow = list(allow)
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        last: Exception | None = None
        for ip in vet(host, addresses, self._allow):
            try:
                return await self._inner.connect_tcp(str(ip), port, timeout, local_address,
                                                     socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[typing.Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise Refused("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on the guarded backend.

    Environment proxies are ignored: a proxy would make the connection the guard sees the proxy's.
    """

    def __init__(self, backend: GuardedBackend, max_connections: int = 20) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections, max_keepalive_connections=max_connections // 2,
            keepalive_expiry=5.0, network_backend=backend)
