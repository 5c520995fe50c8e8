"""Typed keys for the per-application state the web handlers share."""

from __future__ import annotations

from aiohttp import web

from sandbox.store.base import MessageStore
from sandbox.web.events import NewMessageHub

STORE = web.AppKey("store", MessageStore)
HUB = web.AppKey("hub", NewMessageHub)
