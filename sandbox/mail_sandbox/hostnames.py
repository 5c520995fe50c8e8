"""Host names that mean this machine, decided from the text alone, and a resolver that honours them.

RFC 6761 reserves ``localhost`` and every name under it for loopback, yet the system resolver
hands some spellings (``localhost.`` with its trailing dot, ``app.localhost``) to the network's
DNS server, whose answer can point anywhere. Both the link check and the inbox's Host rule
therefore treat these names as loopback by their spelling, and the link check connects to them
through ``LoopbackResolver``, which answers them itself: a name accepted as loopback can only
ever reach this machine.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

LOOPBACK_IPV4 = "127.0.0.1"
LOOPBACK_IPV6 = "::1"

# What aiohttp's own resolvers put in ``flags``: the address is numeric, never to be looked up.
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


def normalize_host(host: str) -> str:
    """``host`` as URLs spell it, for comparison: lower case, IDNA, no trailing dot or brackets."""
    host = host.strip().lower().removesuffix(".").strip("[]")
    try:
        raw = URL.build(scheme="http", host=host).raw_host
    except ValueError:
        return host
    return (raw or host).strip("[]")


def is_loopback_name(host: str) -> bool:
    """``localhost`` or a name under it (``app.localhost``), trailing dot or not."""
    name = normalize_host(host)
    return name == "localhost" or name.endswith(".localhost")


def loopback_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells if it is a literal loopback IP (``::ffff:127.0.0.1`` too)."""
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        # Shorthands such as "127.1" or "2130706433" are not literals here, whatever
        # inet_aton makes of them: they are refused rather than guessed at.
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address if address.is_loopback else None


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` (a URL or Host header's host) names this machine, without any lookup."""
    if not host:
        return False
    return loopback_ip(host) is not None or is_loopback_name(host)


@functools.cache
def _has_ipv6_loopback() -> bool:
    # Offering ::1 where IPv6 is off would turn "connection refused" into a list of errors.
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK_IPV6, 0))
    except OSError:
        return False
    return True


class LoopbackResolver(AbstractResolver):
    """Answers loopback names with 127.0.0.1 (and ::1), never asking DNS; others go to ``fallback``.

    Both addresses are offered because a dev server started on "localhost" may listen on either.
    """

    def __init__(self, fallback: AbstractResolver) -> None:
        self._fallback = fallback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Loopback addresses for a loopback name; the fallback's answer for any other."""
        if not is_loopback_name(host):
            return await self._fallback.resolve(host, port, family)
        candidates = [(socket.AF_INET, LOOPBACK_IPV4)]
        if _has_ipv6_loopback():
            candidates.append((socket.AF_INET6, LOOPBACK_IPV6))
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=kind, proto=0, flags=_NUMERIC
            )
            for kind, address in candidates
            if family in (socket.AF_UNSPEC, kind)
        ]

    async def close(self) -> None:
        """Close the fallback resolver."""
        await self._fallback.close()
