"""``python -m mail_sandbox`` runs the capture server, as ``mail-sandbox`` does."""

from mail_sandbox.command import main

raise SystemExit(main())
