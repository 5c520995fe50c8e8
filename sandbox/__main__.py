"""``python -m sandbox`` runs the capture server, as ``mail-sandbox`` does."""

from sandbox.cli import main

raise SystemExit(main())
