"""Typed keys for the per-application state the web handlers share."""

from __future__ import annotations

from aiohttp import web

from sandbox.chaos import ChaosControl
from sandbox.stats import RuntimeStats
from sandbox.store.base import MessageStore
from sandbox.web.events import NewMessageHub
from sandbox.web.settings import WebSettings

STORE = web.AppKey("store", MessageStore)
HUB = web.AppKey("hub", NewMessageHub)
CHAOS = web.AppKey("chaos", ChaosControl)
STATS = web.AppKey("stats", RuntimeStats)
SETTINGS = web.AppKey("settings", WebSettings)
