"""The mailbox switcher in the inbox pages' header: the mailbox a page shows, and the
mailboxes its viewer may open, each with its counts and a link to its inbox.

A mailbox with a password is listed to the admin (``--ui-auth``) alone: its name is as much a
secret as its mail. Whoever came in with one mailbox's own password sees that mailbox only,
since on a server with ``--ui-auth`` every other mailbox is closed to them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from mail_sandbox.mailboxes import DEFAULT_MAILBOX
from mail_sandbox.store.contract import MailboxInfo
from mail_sandbox.web.access import ADMIN
from mail_sandbox.web.keys import STORE
from mail_sandbox.web.scope import served_name


@dataclass(frozen=True)
class SwitcherEntry:
    """One mailbox in the switcher."""

    name: str
    url: str
    messages: int
    unread: int
    current: bool


@dataclass(frozen=True)
class Switcher:
    """What the switcher shows: the current mailbox's name and the mailboxes listed."""

    current: str
    entries: list[SwitcherEntry]


async def switcher(request: web.Request) -> Switcher:
    """The switcher for this request's page (reads the store in a thread)."""
    current = served_name(request)
    everything = await asyncio.to_thread(request.app[STORE].mailboxes)
    shown = _visible(everything, current, admin=request.get(ADMIN, False))
    return Switcher(current, [_entry(info, current) for info in shown])


def inbox_url(name: str) -> str:
    """Where a mailbox's inbox is: ``/`` for ``default``, ``/m/NAME/`` for the others."""
    return "/" if name == DEFAULT_MAILBOX else f"/m/{quote(name, safe='')}/"


def _visible(everything: list[MailboxInfo], current: str, *, admin: bool) -> list[MailboxInfo]:
    if admin:
        return everything
    if any(info.name == current and info.has_password for info in everything):
        return [info for info in everything if info.name == current]
    return [info for info in everything if not info.has_password]


def _entry(info: MailboxInfo, current: str) -> SwitcherEntry:
    return SwitcherEntry(
        name=info.name,
        url=inbox_url(info.name),
        messages=info.messages,
        unread=info.unread,
        current=info.name == current,
    )
