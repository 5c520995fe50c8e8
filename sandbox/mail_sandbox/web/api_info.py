"""``GET /api/v1/info`` and ``GET /api/v1/webui``: what the server is and how it is set up."""

from __future__ import annotations

import asyncio

from aiohttp import web

from mail_sandbox import __version__
from mail_sandbox.web.keys import CHAOS, SETTINGS, STATS
from mail_sandbox.web.routing import RouteTable
from mail_sandbox.web.scope import mailbox_of


def add_routes(router: RouteTable) -> None:
    """Register the two routes."""
    router.add_get("/api/v1/info", info)
    router.add_get("/api/v1/webui", webui)


async def info(request: web.Request) -> web.Response:
    """Mailpit's ``AppInformation``: version, database, counts, tags and runtime counters."""
    store = await mailbox_of(request)
    store_info = await asyncio.to_thread(store.info)
    return web.json_response(
        {
            "Version": __version__,
            # Mailpit's answer when it is told not to look for releases; we never look.
            "LatestVersion": "disabled",
            "Database": store_info.location,
            "DatabaseSize": store_info.size,
            "Messages": store_info.total,
            "Unread": store_info.unread,
            "Tags": store_info.tags,
            "RuntimeStats": request.app[STATS].to_json(messages_deleted=store_info.deleted),
        }
    )


async def webui(request: web.Request) -> web.Response:
    """Mailpit's ``WebUIConfiguration``: the features a UI or client may offer."""
    return web.json_response(
        {
            "Label": request.app[SETTINGS].label,
            "SpamAssassin": False,
            "ChaosEnabled": request.app[CHAOS].enabled,
            "DuplicatesIgnored": False,
            "HideDeleteAllButton": False,
            # Nothing is ever relayed: the relay is off and has nowhere to go.
            "MessageRelay": {
                "Enabled": False,
                "SMTPServer": "",
                "ReturnPath": "",
                "AllowedRecipients": "",
                "BlockedRecipients": "",
                "OverrideFrom": "",
                "PreserveMessageIDs": False,
                "RecipientAllowlist": "",
            },
        }
    )
