"""Command-line value types shared by ``mail-sandbox`` and ``mail-sandbox sendmail``."""

from __future__ import annotations

import argparse

from mail_sandbox.server import Endpoint

DEFAULT_SMTP = Endpoint("127.0.0.1", 8025)
DEFAULT_HTTP = Endpoint("127.0.0.1", 8026)


def parse_endpoint(value: str) -> Endpoint:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host defaults to loopback); IPv6 as ``[::1]:25``."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is out of range 0-65535")
    return Endpoint(host, number)
