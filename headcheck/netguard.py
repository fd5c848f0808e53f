"""Which network addresses headcheck may fetch from: the SSRF rules shared by the server's URL
lookups (``server/guard.py``) and the crawler (``crawler/guard.py``).

A fetch goes only to public unicast addresses, over http(s), without credentials in the URL. A
name is resolved once and every address it gives is vetted; the caller then connects to a vetted
address itself, so a DNS answer that changes between check and connect (rebinding) is never
used. Non-public networks (a test server on loopback, say) are reachable only when a caller
allows them explicitly.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The target is not one headcheck may fetch from; the message says why."""


class Unresolvable(Exception):
    """The host name does not resolve."""


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


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an address when it is one (brackets of an IPv6 URL host removed)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str) -> None:
    """Refused unless ``url`` is http(s) with a host and no credentials (the address is
    vetted where the connection is made)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'}")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("URLs with credentials are not fetched")


def parse_networks(values: Iterable[str | Network], what: str) -> list[Network]:
    """Allowed networks from settings; a network holding every address is allowed (the caller
    asked) but logged as a warning, since it turns the guard off."""
    nets = [v if isinstance(v, ipaddress.IPv4Network | ipaddress.IPv6Network)
            else ipaddress.ip_network(str(v).strip(), strict=False) for v in values]
    for net in nets:
        if net.prefixlen == 0:
            logger.warning("%s allows %s: every address, public or not, may be fetched "
                           "(the SSRF guard is off)", what, net)
    return nets
