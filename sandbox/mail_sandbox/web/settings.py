"""How the web side of a capture server is set up, beyond the store it reads."""

from __future__ import annotations

from dataclasses import dataclass

from mail_sandbox import defaults


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Options of the inbox and API, their defaults in ``mail_sandbox.defaults``.

    ``link_check_hosts`` are the hosts, besides loopback ones, that a link check may contact;
    ``max_message_size`` bounds what ``POST /api/v1/send`` stores, as SMTP's size limit does;
    ``allowed_hosts`` are the names, besides loopback ones and the address a request came in
    on, that its ``Host`` may carry (``"*"`` for any; see ``mail_sandbox.web.hosts``).
    """

    label: str = ""
    link_check_hosts: frozenset[str] = frozenset()
    link_check_timeout: float = defaults.LINK_CHECK_TIMEOUT_SECONDS
    max_message_size: int = defaults.MAX_MESSAGE_SIZE
    allowed_hosts: frozenset[str] = frozenset()
