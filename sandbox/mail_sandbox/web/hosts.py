"""The Host rule: the inbox answers only requests addressed to it by a name of its own.

DNS rebinding points a name the attacker owns at 127.0.0.1 once a page of theirs has loaded; the
browser then takes the inbox for that page's own origin, free to read every message and to pass
the cross-site guard. Such a request still carries the attacker's name in ``Host``, so the inbox
serves only a Host that is a loopback name or address, the very address the connection came in
on (an IP literal cannot be rebound), or a name the developer allowed (``--allow-host``; ``*``
turns the rule off for an inbox behind a proxy that sets Host itself).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from mail_sandbox.hostnames import is_loopback_host, normalize_host
from mail_sandbox.web.errors import ApiError

log = logging.getLogger(__name__)

ANY_HOST = "*"
# Refused names are logged once each, up to this many, so a flood of them cannot fill the log.
_MAX_LOGGED = 32
# Long enough for any real name; a longer Host is not repeated back in full.
_MAX_SHOWN = 100


def parse_allowed_host(value: str) -> str:
    """An ``--allow-host`` value: a host name or IP without a port, or ``*``."""
    name = value.strip()
    if name == ANY_HOST:
        return name
    if not name or any(char.isspace() or char in "/@?#" for char in name):
        raise ValueError(f"{value!r} is not a host name")
    bare = name.strip("[]")
    if ":" in bare and not _is_ip(bare):
        raise ValueError(f"{value!r}: give the host name without a port")
    return normalize_host(name)


@dataclass(frozen=True, slots=True)
class HostRule:
    """Which ``Host`` values the inbox serves; ``names`` are normalised (see ``normalize_host``)."""

    names: frozenset[str] = frozenset()
    any_host: bool = False

    @classmethod
    def allowing(cls, hosts: Iterable[str]) -> HostRule:
        """The rule for ``--allow-host`` values and the bound address; ``*`` among them allows all.

        A wildcard bind address (``0.0.0.0``, ``::``) is no name a browser sends; requests to the
        machine's own addresses match through the connection's local address instead.
        """
        given = [host.strip() for host in hosts if host.strip()]
        if ANY_HOST in given:
            return cls(any_host=True)
        names = (normalize_host(host) for host in given)
        return cls(names=frozenset(name for name in names if not _is_unspecified(name)))

    def allows(self, host: str | None, local_address: str | None = None) -> bool:
        """Whether ``host`` (no port) names this inbox, for a connection to ``local_address``."""
        if self.any_host:
            return True
        if not host:
            return False
        if is_loopback_host(host):
            return True
        name = normalize_host(host)
        if name in self.names:
            return True
        return local_address is not None and _same_ip(name, local_address)


def host_of(header: str) -> str | None:
    """The host part of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), else None."""
    value = header.strip()
    if value.startswith("["):
        host, bracket, port = value[1:].partition("]")
        if not bracket or not _is_ip(host):
            return None
    else:
        host, colon, digits = value.partition(":")
        port = colon + digits
    # RFC 9110's port is *DIGIT: "host:" is valid, "host:80x" and "host:80:81" are not.
    if port and not (port.startswith(":") and all(char in "0123456789" for char in port[1:])):
        return None
    return host or None


def local_address(request: web.Request) -> str | None:
    """The address of ours the request's connection came in on."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(sockname, tuple) and sockname:
        return str(sockname[0])
    return None


def host_guard(rule: HostRule) -> Middleware:
    """A middleware refusing, with 421, a request whose Host the inbox does not answer to."""
    logged: set[str] = set()

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        # The raw header, never request.host: without one aiohttp looks up the machine's name.
        values = request.headers.getall(hdrs.HOST, [])
        if len(values) != 1 or not values[0].strip():
            raise ApiError(400, "the request needs exactly one Host header")
        host = host_of(values[0])
        if host is None:
            raise ApiError(400, "the Host header is not a host name or host:port")
        if not rule.allows(host, local_address(request)):
            shown = host[:_MAX_SHOWN]
            if shown not in logged and len(logged) < _MAX_LOGGED:
                logged.add(shown)
                log.warning(
                    "refused requests for Host %r (a page on another site may be trying DNS "
                    "rebinding); allow a name of yours with --allow-host",
                    shown,
                )
            raise ApiError(
                421,
                f"this inbox does not answer to the host name {shown!r}; "
                "start mail-sandbox with --allow-host NAME to allow it",
            )
        return await handler(request)

    return check_host


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_unspecified(text: str) -> bool:
    return _is_ip(text) and ipaddress.ip_address(text).is_unspecified


def _same_ip(host: str, address: str) -> bool:
    try:
        ours = ipaddress.ip_address(address.partition("%")[0])
        theirs = ipaddress.ip_address(host)
    except ValueError:
        return False
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    if isinstance(ours, ipaddress.IPv6Address) and ours.ipv4_mapped is not None:
        ours = ours.ipv4_mapped
    if isinstance(theirs, ipaddress.IPv6Address) and theirs.ipv4_mapped is not None:
        theirs = theirs.ipv4_mapped
    return ours == theirs
