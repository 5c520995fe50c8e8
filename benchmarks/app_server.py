"""The Microblog app served for the reset-request probe, in its own process.

``python -m benchmarks.app_server --smtp-port P --db PATH`` builds the app with ``create_app``
(CSRF on, mail sent in the background as in production, rate limits off so fifty requests all
send mail), registers the account ``BENCH_EMAIL``, serves it with werkzeug on a free loopback
port, prints ``serving on URL`` and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import threading
from collections.abc import Sequence

from werkzeug.serving import make_server

from app import create_app
from app.config import Config
from app.email import EXECUTOR_KEY
from app.extensions import db
from app.models import User

BENCH_EMAIL = "bench-user@example.com"


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the app until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_server")
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args(argv)
    settings = {
        "SECRET_KEY": secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{args.db}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": args.smtp_port,
        "MAIL_SEND_RETRIES": 0,
        "RESET_LIMIT_PER_EMAIL": "",
        "RESET_LIMIT_PER_CLIENT": "",
        "TRUSTED_HOSTS": None,
    }
    app = create_app(type("BenchConfig", (Config,), settings))
    with app.app_context():
        user = User(username="bench", email=BENCH_EMAIL)
        user.set_password(secrets.token_urlsafe(16))
        db.session.add(user)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)

    def stop(signum: int, frame: object) -> None:
        # shutdown() waits for serve_forever to notice, so it cannot run on serve_forever's thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serving on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
    # Queued reset emails would each wait on the slow SMTP server; nobody needs them now.
    app.extensions[EXECUTOR_KEY].shutdown(wait=False, cancel_futures=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
