"""The JSON shapes of the API, as OpenAPI 3.0 component schemas, in Mailpit's field names.

Responses list every field the handlers always write as required but leave the object open,
so a client may rely on each field and a field added later is not a breaking change. Request
bodies are closed: the server refuses a field it does not know rather than ignoring it.
"""

from __future__ import annotations

from typing import Any

from mail_sandbox.chaos import DEFAULT_ERROR_CODES, TRIGGERS
from mail_sandbox.mailboxes import MAX_NAME_LENGTH
from mail_sandbox.web.api_mailboxes import MAX_PASSWORD_LENGTH, MAX_TTL_SECONDS

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
COUNT: Schema = {"type": "integer", "minimum": 0}
STRINGS: Schema = {"type": "array", "items": STRING}


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def response_object(properties: dict[str, Schema], description: str = "") -> Schema:
    """An object whose every listed field is always present; other fields may follow."""
    schema: Schema = {"type": "object", "required": list(properties), "properties": properties}
    if description:
        schema["description"] = description
    return schema


def request_object(
    properties: dict[str, Schema], required: tuple[str, ...] = (), description: str = ""
) -> Schema:
    """A request body object: only the listed fields (names match case-insensitively)."""
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _described(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description}


_ADDRESS_LIST: Schema = {"type": "array", "items": ref("Address")}
_TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
_ATTACHMENTS: Schema = {"type": "array", "items": ref("Attachment")}
_SEND_ADDRESS = request_object(
    {"Email": _described(STRING, "Email address"), "Name": _described(STRING, "Optional name")},
    required=("Email",),
)
_TRIGGER_CODE: Schema = {"type": "integer", "minimum": 400, "maximum": 599}
_TRIGGER_PROBABILITY: Schema = {"type": "integer", "minimum": 0, "maximum": 100}

SCHEMAS: dict[str, Schema] = {
    "Error": response_object(
        {"Error": _described(STRING, "What was wrong, in one sentence")},
        "Every refusal and failure under /api/v1 answers this with a 4xx or 5xx status",
    ),
    "Address": response_object(
        {"Name": STRING, "Address": STRING},
        "A mailbox; an absent one is two empty strings, never null",
    ),
    "MessageSummary": response_object(
        {
            "ID": _described(STRING, "Database ID"),
            "MessageID": _described(STRING, "The Message-ID header, without angle brackets"),
            "Read": BOOLEAN,
            "From": ref("Address"),
            "To": _ADDRESS_LIST,
            "Cc": _ADDRESS_LIST,
            "Bcc": _described(_ADDRESS_LIST, "Envelope recipients not named in To or Cc"),
            "ReplyTo": _ADDRESS_LIST,
            "Subject": STRING,
            "Created": _described(_TIMESTAMP, "When the message was received"),
            "Tags": STRINGS,
            "Size": _described(COUNT, "Size of the raw message in bytes"),
            "Attachments": _described(COUNT, "Number of attachments"),
            "Snippet": _described(STRING, "The start of the text, for a list"),
        },
        "One message in a list or search, and the answer of /api/v1/wait",
    ),
    "MessagesSummary": response_object(
        {
            "total": _described(COUNT, "Messages in the mailbox"),
            "unread": _described(COUNT, "Unread messages in the mailbox"),
            "count": _described(COUNT, "Messages in this page"),
            "messages_count": _described(COUNT, "Messages matching the search (or all)"),
            "messages_unread": _described(COUNT, "Unread messages matching the search"),
            "start": _described(COUNT, "Offset of this page"),
            "tags": _described(STRINGS, "Every tag in use"),
            "messages": {"type": "array", "items": ref("MessageSummary")},
        }
    ),
    "Attachment": response_object(
        {
            "PartID": _described(STRING, "For /api/v1/message/{ID}/part/{PartID}"),
            "FileName": STRING,
            "ContentType": STRING,
            "ContentID": STRING,
            "Size": COUNT,
            "Checksums": response_object({"MD5": STRING, "SHA1": STRING, "SHA256": STRING}),
        }
    ),
    "Message": response_object(
        {
            "ID": STRING,
            "MessageID": STRING,
            "Read": BOOLEAN,
            "From": ref("Address"),
            "To": _ADDRESS_LIST,
            "Cc": _ADDRESS_LIST,
            "Bcc": _ADDRESS_LIST,
            "ReplyTo": _ADDRESS_LIST,
            "ReturnPath": _described(STRING, "The envelope sender"),
            "Subject": STRING,
            "Date": _described(_TIMESTAMP, "The Date header, else when it was received"),
            "Tags": STRINGS,
            "Text": STRING,
            "HTML": STRING,
            "Size": COUNT,
            "Inline": _ATTACHMENTS,
            "Attachments": _ATTACHMENTS,
        },
        "One message as a mail client shows it",
    ),
    "MessageHeaders": {
        "type": "object",
        "description": "Header names as Go spells them (Message-Id), sorted, each with its values",
        "additionalProperties": STRINGS,
    },
    "LinkCheckResponse": response_object(
        {
            "Errors": _described(COUNT, "Links that answered 400 or more or were unreachable"),
            "Links": {
                "type": "array",
                "items": response_object(
                    {
                        "URL": STRING,
                        "StatusCode": _described(COUNT, "0 when the link was not contacted"),
                        "Status": STRING,
                    }
                ),
            },
        }
    ),
    "ChaosTrigger": response_object(
        {"ErrorCode": _TRIGGER_CODE, "Probability": _TRIGGER_PROBABILITY},
        "Answer ErrorCode to the command, Probability percent of the time",
    ),
    "ChaosTriggers": response_object({name: ref("ChaosTrigger") for name in TRIGGERS}),
    "ChaosTriggersRequest": request_object(
        {
            name: {
                **request_object({"ErrorCode": _TRIGGER_CODE, "Probability": _TRIGGER_PROBABILITY}),
                "description": f"Default ErrorCode {DEFAULT_ERROR_CODES[name]}",
                "nullable": True,
            }
            for name in TRIGGERS
        },
        description="Triggers left out go back to never firing; {} turns them all off",
    ),
    "AppInformation": response_object(
        {
            "Version": STRING,
            "LatestVersion": _described(STRING, '"disabled": releases are never looked up'),
            "Database": STRING,
            "DatabaseSize": COUNT,
            "Messages": COUNT,
            "Unread": COUNT,
            "Tags": {"type": "object", "additionalProperties": COUNT},
            "RuntimeStats": response_object(
                {
                    name: COUNT
                    for name in (
                        "Uptime",
                        "Memory",
                        "MessagesDeleted",
                        "SMTPAccepted",
                        "SMTPAcceptedSize",
                        "SMTPRejected",
                        "SMTPIgnored",
                    )
                }
            ),
        }
    ),
    "WebUIConfiguration": response_object(
        {
            "Label": STRING,
            "SpamAssassin": BOOLEAN,
            "ChaosEnabled": BOOLEAN,
            "DuplicatesIgnored": BOOLEAN,
            "HideDeleteAllButton": BOOLEAN,
            "MessageRelay": response_object(
                {
                    "Enabled": _described(BOOLEAN, "Always false: nothing is ever relayed"),
                    "SMTPServer": STRING,
                    "ReturnPath": STRING,
                    "AllowedRecipients": STRING,
                    "BlockedRecipients": STRING,
                    "OverrideFrom": STRING,
                    "PreserveMessageIDs": BOOLEAN,
                    "RecipientAllowlist": STRING,
                }
            ),
        }
    ),
    "ChangeRequest": request_object(
        {
            "IDs": _described(STRINGS, "Message IDs; none means every message"),
            "Read": BOOLEAN,
            "Search": _described(STRING, "A search query naming the messages instead of IDs"),
        },
        required=("Read",),
    ),
    "DeleteRequest": request_object(
        {"IDs": _described(STRINGS, "Message IDs; none (or no body) means every message")}
    ),
    "SetTagsRequest": request_object(
        {"IDs": STRINGS, "Tags": _described(STRINGS, "The new tags; none clears them")},
        required=("IDs",),
    ),
    "RenameTagRequest": request_object({"Name": STRING}, required=("Name",)),
    "SendRequest": request_object(
        {
            "From": _SEND_ADDRESS,
            "To": {"type": "array", "items": _SEND_ADDRESS},
            "Cc": {"type": "array", "items": _SEND_ADDRESS},
            "Bcc": _described(STRINGS, "Addresses only; never shown in a header"),
            "ReplyTo": {"type": "array", "items": _SEND_ADDRESS},
            "Subject": STRING,
            "Text": STRING,
            "HTML": STRING,
            "Headers": {"type": "object", "additionalProperties": STRING},
            "Tags": STRINGS,
            "Attachments": {
                "type": "array",
                "items": request_object(
                    {
                        "Content": _described(STRING, "The file, base64-encoded"),
                        "Filename": STRING,
                        "ContentType": STRING,
                        "ContentID": _described(STRING, "Set: the file is attached inline"),
                    },
                    required=("Content", "Filename"),
                ),
            },
        },
        required=("From",),
        description="Stored as if it came over SMTP; never relayed",
    ),
    "SendResponse": response_object({"ID": _described(STRING, "Database ID")}),
    "Mailbox": response_object(
        {
            "Name": STRING,
            "Messages": COUNT,
            "Unread": COUNT,
            "Created": _TIMESTAMP,
            "Expires": {
                **_TIMESTAMP,
                "nullable": True,
                "description": "When it is deleted unless used before; null without a TTL",
            },
            "TTL": {
                "type": "integer",
                "minimum": 1,
                "nullable": True,
                "description": "Seconds of disuse before it is deleted; null: kept",
            },
            "HasPassword": BOOLEAN,
        },
        description="A named, isolated set of messages, served under /m/{Name}/",
    ),
    "MailboxList": response_object(
        {"Mailboxes": {"type": "array", "items": ref("Mailbox")}},
        description="default first; mailboxes with a password only for the --ui-auth user",
    ),
    "CreateMailboxRequest": request_object(
        {
            "Name": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_NAME_LENGTH,
                "description": "Letters, digits, '-', '_' and '.'; not '.' or '..'",
            },
            "Password": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_PASSWORD_LENGTH,
                "description": "HTTP Basic (user: the mailbox's name) opens it; none: open",
            },
            "TTL": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TTL_SECONDS,
                "description": "Delete it after this many seconds of disuse; none: kept",
            },
        },
        required=("Name",),
    ),
}
