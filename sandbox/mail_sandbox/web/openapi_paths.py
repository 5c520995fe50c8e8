"""Every operation under /api/v1, as OpenAPI 3.0 path items.

Paths and parameter names are Mailpit's (``{ID}``, ``{PartID}``, ``{Tag}``), so a client
written against Mailpit's description finds the same operations here.
"""

from __future__ import annotations

from typing import Any

from mail_sandbox.defaults import MAX_PAGE_SIZE, MAX_WAIT_SECONDS, PAGE_SIZE, WAIT_SECONDS
from mail_sandbox.web.openapi_schemas import STRING, STRINGS, Schema, ref

_OK_TEXT = {
    "description": 'The change was made: "ok"',
    "content": {"text/plain": {"schema": STRING}},
}
_BODY_ERRORS = (400, 413)


def _json(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(description, ref("Error"))


_ERRORS = {
    400: _error("The request was malformed; Error says how"),
    401: _error("The mailbox has a password, and the request did not give it"),
    403: _error("Refused: a cross-site browser request"),
    404: _error("No such message, part, tag or mailbox"),
    408: _error("Nothing matching arrived within the timeout"),
    409: _error("A mailbox of that name exists already"),
    413: _error("The request body is larger than allowed"),
    503: _error("The mail store is unavailable, or the server is shutting down"),
}


def _operation(
    operation_id: str,
    summary: str,
    ok: dict[str, Any],
    *,
    errors: tuple[int, ...] = (),
    parameters: tuple[dict[str, Any], ...] = (),
    body: str | None = None,
    body_required: bool = False,
    tag: str = "messages",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": {"200": ok, **{str(code): _ERRORS[code] for code in sorted(errors)}},
    }
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": ref(body)}},
        }
    return operation


def _query(name: str, schema: Schema, description: str, *, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _path(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": STRING,
        "example": example,
    }


_MAILBOX = _path("Mailbox", "The mailbox's name", "ci-4711")
_ID = _path("ID", 'Message database ID, or "latest" for the newest message', "latest")
_TAG = _path("Tag", "The tag's name", "orders")
_START = _query("start", {"type": "integer", "minimum": 0, "default": 0}, "Offset into the list")
_LIMIT = _query(
    "limit",
    {"type": "integer", "minimum": 0, "default": PAGE_SIZE},
    f"Messages per page; more than {MAX_PAGE_SIZE} is lowered to {MAX_PAGE_SIZE}",
)
_SEARCH = _query(
    "query", {"type": "string", "minLength": 1}, "Mailpit's search grammar", required=True
)
_FLAG = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off", ""]}
_CHANGE = (*_BODY_ERRORS, 403)

PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/messages": {
        "get": _operation(
            "GetMessages",
            "List messages, newest first",
            _json("A page of messages", ref("MessagesSummary")),
            errors=(400,),
            parameters=(_START, _LIMIT),
        ),
        "put": _operation(
            "SetReadStatus",
            "Mark messages read or unread: by IDs, by Search, or (neither) every message",
            _OK_TEXT,
            errors=_CHANGE,
            body="ChangeRequest",
            body_required=True,
        ),
        "delete": _operation(
            "DeleteMessages",
            "Delete messages by IDs; no IDs deletes every message",
            _OK_TEXT,
            errors=_CHANGE,
            body="DeleteRequest",
        ),
    },
    "/api/v1/message/{ID}": {
        "get": _operation(
            "GetMessage",
            "One message, marked read",
            _json("The message", ref("Message")),
            errors=(404,),
            parameters=(_ID,),
            tag="message",
        ),
    },
    "/api/v1/message/{ID}/raw": {
        "get": _operation(
            "GetMessageSource",
            "The exact bytes received",
            {"description": "The message source", "content": {"text/plain": {"schema": STRING}}},
            errors=(404,),
            parameters=(_ID,),
            tag="message",
        ),
    },
    "/api/v1/message/{ID}/headers": {
        "get": _operation(
            "GetMessageHeaders",
            "The message's headers",
            _json("Headers by name", ref("MessageHeaders")),
            errors=(404,),
            parameters=(_ID,),
            tag="message",
        ),
    },
    "/api/v1/message/{ID}/part/{PartID}": {
        "get": _operation(
            "GetMessagePart",
            "One decoded part of the message, as a download",
            {
                "description": "The part, with its own content type",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            errors=(404,),
            parameters=(_ID, _path("PartID", "A PartID from Inline or Attachments", "2")),
            tag="message",
        ),
    },
    "/api/v1/message/{ID}/link-check": {
        "get": _operation(
            "LinkCheck",
            "Check the message's links; only loopback and --link-check-host hosts are contacted",
            _json("Each link's status", ref("LinkCheckResponse")),
            errors=(400, 403, 404),
            parameters=(_ID, _query("follow", _FLAG, "Also check the message's images")),
            tag="message",
        ),
    },
    "/api/v1/search": {
        "get": _operation(
            "SearchMessages",
            "Messages matching a search, newest first",
            _json("A page of matching messages", ref("MessagesSummary")),
            errors=(400,),
            parameters=(_SEARCH, _START, _LIMIT),
        ),
        "delete": _operation(
            "DeleteSearch",
            "Delete every message matching a search",
            _OK_TEXT,
            errors=(400, 403),
            parameters=(_SEARCH,),
        ),
    },
    "/api/v1/wait": {
        "get": _operation(
            "WaitForMessage",
            "The next message matching a search, waiting until one arrives",
            _json("The message's summary", ref("MessageSummary")),
            errors=(400, 404, 408, 503),
            parameters=(
                _query("query", STRING, "Mailpit's search grammar; empty: any message"),
                _query(
                    "timeout",
                    {"type": "number", "minimum": 0, "default": WAIT_SECONDS},
                    f"Seconds to wait; more than {MAX_WAIT_SECONDS:g} is lowered to it",
                ),
                _query(
                    "since",
                    STRING,
                    "Absent: only mail arriving from now on; empty: any stored message; an ID: "
                    "only messages after it",
                ),
            ),
        ),
    },
    "/api/v1/send": {
        "post": _operation(
            "SendMessage",
            "Store a message built from JSON, as if it came over SMTP (never relayed)",
            _json("The stored message's ID", ref("SendResponse")),
            errors=(*_BODY_ERRORS, 403),
            body="SendRequest",
            body_required=True,
            tag="message",
        ),
    },
    "/api/v1/tags": {
        "get": _operation(
            "GetAllTags",
            "Every tag in use, sorted",
            _json("Tag names", STRINGS),
            tag="tags",
        ),
        "put": _operation(
            "SetTags",
            "Replace the tags of the messages named",
            _OK_TEXT,
            errors=(*_CHANGE, 404),
            body="SetTagsRequest",
            body_required=True,
            tag="tags",
        ),
    },
    "/api/v1/tags/{Tag}": {
        "put": _operation(
            "RenameTag",
            "Rename a tag on every message",
            _OK_TEXT,
            errors=(*_CHANGE, 404),
            parameters=(_TAG,),
            body="RenameTagRequest",
            body_required=True,
            tag="tags",
        ),
        "delete": _operation(
            "DeleteTag",
            "Remove a tag from every message; the messages stay",
            _OK_TEXT,
            errors=(403, 404),
            parameters=(_TAG,),
            tag="tags",
        ),
    },
    "/api/v1/chaos": {
        "get": _operation(
            "GetChaos",
            "The SMTP fault injection triggers (400 unless started with --enable-chaos)",
            _json("The triggers", ref("ChaosTriggers")),
            errors=(400,),
            tag="testing",
        ),
        "put": _operation(
            "SetChaos",
            "Replace the triggers; answers the new set",
            _json("The triggers now set", ref("ChaosTriggers")),
            errors=_CHANGE,
            body="ChaosTriggersRequest",
            tag="testing",
        ),
    },
    "/api/v1/info": {
        "get": _operation(
            "AppInformation",
            "Version, database, counts, tags and runtime counters",
            _json("Application information", ref("AppInformation")),
            tag="application",
        ),
    },
    "/api/v1/webui": {
        "get": _operation(
            "WebUIConfiguration",
            "The features a UI or client may offer",
            _json("Web UI configuration", ref("WebUIConfiguration")),
            tag="application",
        ),
    },
    "/api/v1/mailboxes": {
        "get": _operation(
            "ListMailboxes",
            "Every mailbox, default first (those with a password only for --ui-auth's user)",
            _json("The mailboxes", ref("MailboxList")),
            tag="mailboxes",
        ),
        "post": _operation(
            "CreateMailbox",
            "Create an empty mailbox, served under /m/{Name}/",
            _json("The new mailbox", ref("Mailbox")),
            errors=(*_CHANGE, 409),
            body="CreateMailboxRequest",
            body_required=True,
            tag="mailboxes",
        ),
    },
    "/api/v1/mailboxes/{Mailbox}": {
        "get": _operation(
            "GetMailbox",
            "One mailbox (one with a password needs it: HTTP Basic, user = its name)",
            _json("The mailbox", ref("Mailbox")),
            errors=(401, 404),
            parameters=(_MAILBOX,),
            tag="mailboxes",
        ),
        "delete": _operation(
            "DeleteMailbox",
            "Delete a mailbox and its mail (default cannot be deleted)",
            _OK_TEXT,
            errors=(400, 401, 403, 404),
            parameters=(_MAILBOX,),
            tag="mailboxes",
        ),
    },
    "/api/v1/swagger.json": {
        "get": _operation(
            "OpenAPIDescription",
            "This description",
            _json("OpenAPI 3.0 description of /api/v1", {"type": "object"}),
            tag="application",
        ),
    },
}
