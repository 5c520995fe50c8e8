"""Jinja templates for the inbox (autoescaped: mail content is never trusted markup)."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from mail_sandbox.store.contract import Address
from mail_sandbox.web.scope import base_path
from mail_sandbox.web.serialize import rfc3339

TEMPLATES = Path(__file__).parent / "templates"

# aiohttp_jinja2 keeps a request's template context under a string key, which aiohttp warns
# about once per process; the key is the library's to choose, not ours.
warnings.filterwarnings("ignore", category=web.NotAppKeyWarning, module="aiohttp_jinja2")

#: Fills in what every template may use (``base_path``); placed before every other middleware,
#: so that the error pages they render get it too.
template_context = aiohttp_jinja2.context_processors_middleware


def setup_templates(app: web.Application) -> None:
    """Attach the inbox's Jinja environment to ``app``."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        filters={
            "human_size": human_size,
            "mailbox": mailbox,
            "mailboxes": mailboxes,
            "sender": sender,
            "recipients": recipients,
            "iso": rfc3339,
            "when": when,
        },
    )
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = (_links,)


async def _links(request: web.Request) -> dict[str, str]:
    # Links a page renders start with base_path, so a page of /m/NAME/ stays in that mailbox.
    return {"base_path": base_path(request)}


def human_size(size: int) -> str:
    """``532 B``, ``4.2 kB``, ``1.3 MB``."""
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000 or unit == "MB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} MB"


def mailbox(address: Address | None) -> str:
    """``Name <address>``, or whichever part exists."""
    if address is None:
        return ""
    if address.name and address.address:
        return f"{address.name} <{address.address}>"
    return address.name or address.address


def mailboxes(addresses: list[Address] | None) -> str:
    """Every address, comma separated."""
    return ", ".join(mailbox(address) for address in addresses or [])


def sender(address: Address | None) -> str:
    """The short form for the list: the display name, else the address."""
    if address is None:
        return ""
    return address.name or address.address


def recipients(addresses: list[Address] | None) -> str:
    """The first two recipients, then ``+N``."""
    addresses = addresses or []
    shown = ", ".join(sender(address) for address in addresses[:2])
    return shown + (f" +{len(addresses) - 2}" if len(addresses) > 2 else "")


def when(moment: datetime | None) -> str:
    """Server-side fallback text in UTC; the page's script shows local time instead."""
    if moment is None:
        return ""
    return rfc3339(moment)[:16].replace("T", " ") + " UTC"
