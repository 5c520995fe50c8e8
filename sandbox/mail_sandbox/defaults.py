"""Every default of the capture server, in one place: the command line, the settings objects,
the store and the OpenAPI description read them from here, so the documented value and the one
in force cannot drift apart."""

from __future__ import annotations

from mail_sandbox.endpoints import Endpoint

#: Where ``mail-sandbox`` listens unless told otherwise (loopback only: nothing else can reach it).
SMTP_ENDPOINT = Endpoint("127.0.0.1", 8025)
HTTP_ENDPOINT = Endpoint("127.0.0.1", 8026)

#: Messages a mailbox keeps: the newest this many, older ones pruned (0 = no limit).
MAX_MESSAGES = 10_000
#: Largest message SMTP and ``POST /api/v1/send`` accept, in bytes (25 MiB, as Mailpit's).
MAX_MESSAGE_SIZE = 25 * 1024 * 1024
#: An SMTP connection idle this long is closed (RFC 5321 4.5.3.2.7 asks for at least 5 minutes).
IDLE_TIMEOUT_SECONDS = 300.0
#: Recipients of one message; Mailpit's default: more is likelier a runaway loop than a test.
MAX_RECIPIENTS = 100

#: Messages in one page of a list or search, and the most one page may hold.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
#: How long ``GET /api/v1/wait`` waits by default, and the most it may be asked to.
WAIT_SECONDS = 30.0
MAX_WAIT_SECONDS = 300.0

#: Links one link check follows, and how long it gives each.
MAX_CHECKED_LINKS = 50
LINK_CHECK_TIMEOUT_SECONDS = 5.0

#: How long ``mail-sandbox sendmail`` waits for the server at each step.
SENDMAIL_TIMEOUT_SECONDS = 30.0

#: The mailbox that holds all mail not routed elsewhere, served at the unscoped paths.
DEFAULT_MAILBOX = "default"
#: The longest TTL a mailbox may have (ten years), in seconds.
MAX_MAILBOX_TTL_SECONDS = 10 * 366 * 24 * 3600
#: How often the server looks for idle mailboxes whose TTL has run out.
MAILBOX_EXPIRY_CHECK_SECONDS = 5.0
