"""Listen and connect addresses (``HOST:PORT``), shared by the server, ``mail-sandbox`` and
``mail-sandbox sendmail``. Kept free of the server's imports, so that sendmail starts fast."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A host and port; port 0 asks the OS for a free one."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


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
