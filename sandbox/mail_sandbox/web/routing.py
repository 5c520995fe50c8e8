"""Every page and API route at two paths: as it is, for the ``default`` mailbox, and under
``/m/{mailbox}`` for one named mailbox.

Handlers are written once and learn which mailbox they serve from ``scope.mailbox_of``; the
prefix is spelt here alone, so the routes, the error pages and the links the server renders
cannot disagree about it.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler

#: The ``match_info`` key naming the mailbox a request is for.
MAILBOX_PARAM = "mailbox"
MAILBOX_PREFIX = "/m/{" + MAILBOX_PARAM + "}"

_PREFIXED = re.compile(r"^/m/[^/]+(?=/)")


class RouteTable(Protocol):
    """What a module's ``add_routes`` needs of a router."""

    def add_get(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute: ...
    def add_post(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute: ...
    def add_put(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute: ...
    def add_delete(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute: ...


class MailboxRoutes:
    """A router's ``add_get`` and friends, each registering the route at both paths.

    A named route keeps its name at the unscoped path; its twin is named ``NAME_in_mailbox``
    (aiohttp refuses one name for two resources).
    """

    def __init__(self, router: web.UrlDispatcher) -> None:
        self._router = router

    def add_get(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute:
        """``GET`` (and ``HEAD``) at ``path`` and under the mailbox prefix."""
        return self._add(self._router.add_get, path, handler, kwargs)

    def add_post(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute:
        """``POST`` at ``path`` and under the mailbox prefix."""
        return self._add(self._router.add_post, path, handler, kwargs)

    def add_put(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute:
        """``PUT`` at ``path`` and under the mailbox prefix."""
        return self._add(self._router.add_put, path, handler, kwargs)

    def add_delete(self, path: str, handler: Handler, **kwargs: Any) -> web.AbstractRoute:
        """``DELETE`` at ``path`` and under the mailbox prefix."""
        return self._add(self._router.add_delete, path, handler, kwargs)

    @staticmethod
    def _add(add: Any, path: str, handler: Handler, kwargs: dict[str, Any]) -> web.AbstractRoute:
        name = kwargs.pop("name", None)
        route = add(path, handler, name=name, **kwargs)
        add(MAILBOX_PREFIX + path, handler, name=f"{name}_in_mailbox" if name else None, **kwargs)
        return route


def is_scoped(request: web.Request) -> bool:
    """Whether the request came in under ``/m/{mailbox}`` (not merely naming a mailbox, as
    ``/api/v1/mailboxes/{mailbox}`` does)."""
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical.startswith(MAILBOX_PREFIX)


def unscoped_path(path: str) -> str:
    """``path`` without a leading ``/m/NAME``: what the route is, whichever mailbox it serves."""
    return _PREFIXED.sub("", path, count=1)
