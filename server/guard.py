"""SSRF guard for server-side fetches: every TCP connection goes to a vetted address.

The guard sits in the connection layer (an httpcore network backend), so it sees every hop of a
redirect chain and every retry. It resolves the host once, refuses the whole host if any of its
addresses is non-public (loopback, private, link-local, reserved, multicast...) unless a
configured network allows it, and then connects to that vetted IP itself: the name is never
resolved again, so DNS rebinding between check and connect is not possible. TLS still verifies
the certificate against the host name, since httpcore passes the name for SNI.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence

import anyio
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


class Refused(Exception):
    """The target is not one the server may fetch from; the message says why."""


class Unresolvable(Exception):
    """The host name does not resolve."""


async def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # a gateway turns these into the IPv4 they end in


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip.teredo:
            return ip.teredo[1]
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def why_not_public(ip: IPAddress) -> str | None:
    """The kind of non-public address ``ip`` is, or None for a public unicast address."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        reason = why_not_public(inner)
        if reason:
            return reason
    for kind, flag in (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
                       ("link-local", ip.is_link_local), ("private", ip.is_private),
                       ("multicast", ip.is_multicast), ("reserved", ip.is_reserved)):
        if flag:
            return kind
    return None if ip.is_global else "non-public"


def vet(host: str, addresses: Sequence[str], allow: Iterable[Network]) -> list[IPAddress]:
    """The addresses to connect to; Refused if any is non-public and not explicitly allowed."""
    allow = list(allow)
    vetted: list[IPAddress] = []
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone index
        if not any(ip in net for net in allow):
            reason = why_not_public(ip)
            if reason:
                where = host if host == str(ip) else f"{host} resolves to {ip}, which"
                raise Refused(f"{where} is a {reason} address")
        vetted.append(ip)
    if not vetted:
        raise Unresolvable(f"{host} has no address")
    return vetted


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
