"""The ``mail-sandbox`` command: ``sendmail``, ``mailboxes`` or the server.

``mail-sandbox sendmail`` is run by scripts, once per message: it must not pay for importing the
server (aiohttp, aiosmtpd, the store, about 0.4 s), so each branch imports only what it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mail-sandbox`` and ``python -m mail_sandbox``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sendmail"]:
        from mail_sandbox import sendmail

        return sendmail.main(argv[1:])
    if argv[:1] == ["mailboxes"]:
        from mail_sandbox import cli_mailboxes

        return cli_mailboxes.main(argv[1:])
    from mail_sandbox import cli

    return cli.main(argv)
