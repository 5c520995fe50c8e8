"""The token of an emailed link never appears whole in the app's logs: whoever reads a log
line holding it could use the link."""

import http.client
import logging
import threading

import pytest
from werkzeug.serving import make_server

from app.auth import routes
from app.extensions import db
from app.models import User
from app.tokens import make_reset_token

MASKED = "/reset_password/eyJ…[masked]"


def _token(app, user) -> str:
    with app.app_context():
        return make_reset_token(db.session.get(User, user.id))


@pytest.fixture
def served(app):
    """``app`` on werkzeug's development server (the one `flask run` uses): its port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_access_log_masks_a_reset_token(app, user, served, caplog, method):
    token = _token(app, user)
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=10)

    with caplog.at_level(logging.INFO, logger="werkzeug"):
        connection.request(method, f"/reset_password/{token}")
        status = connection.getresponse().status
    connection.close()

    access_lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert status in (200, 302)
    assert any(f"{method} {MASKED} HTTP/1.1" in line for line in access_lines), access_lines
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_an_error_on_a_token_page_is_logged_without_the_token(make_app, user, caplog, monkeypatch):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    token = _token(app, user)

    def broken(_token: str):
        raise RuntimeError("database gone")

    monkeypatch.setattr(routes, "verify_reset_token", broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get(f"/reset_password/{token}")

    assert response.status_code == 500
    assert f"Exception on {MASKED} [GET]" in caplog.text
    assert token not in caplog.text
