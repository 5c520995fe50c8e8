"""Typed keys for the per-application state the web handlers share."""

from __future__ import annotations

from aiohttp import web

from mail_sandbox.chaos import ChaosControl
from mail_sandbox.stats import RuntimeStats
from mail_sandbox.store.contract import MessageStore
from mail_sandbox.web.events import NewMessageHub
from mail_sandbox.web.settings import WebSettings

STORE = web.AppKey("store", MessageStore)
HUB = web.AppKey("hub", NewMessageHub)
CHAOS = web.AppKey("chaos", ChaosControl)
STATS = web.AppKey("stats", RuntimeStats)
SETTINGS = web.AppKey("settings", WebSettings)
