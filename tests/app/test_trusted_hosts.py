"""Requests naming another host get 400: a page whose name an attacker has pointed at this
machine (DNS rebinding) cannot read or post the app's pages."""

import pytest

from app import create_app
from app.config import Config


@pytest.fixture
def dev_app(monkeypatch, tmp_path):
    """The app as `flask run` builds it in development, linking to http://blog.test:5000."""
    for name in ("SECRET_KEY", "TRUSTED_HOSTS", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MICROBLOG_ENV", "development")
    monkeypatch.setenv("APP_BASE_URL", "http://blog.test:5000")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hosts.db'}")

    def build():
        return create_app(Config)

    return build


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:5000", "blog.test.evil.example", "127.0.0.2:5000"]
)
def test_another_host_is_refused(dev_app, host):
    response = dev_app().test_client().get("/login", headers={"Host": host})

    assert response.status_code == 400
    assert "Sign In" not in response.text


@pytest.mark.parametrize(
    "host", ["blog.test:5000", "blog.test", "localhost:5000", "127.0.0.1:5000", "127.0.0.1"]
)
def test_the_configured_host_and_loopback_names_are_served(dev_app, host):
    response = dev_app().test_client().get("/login", headers={"Host": host})

    assert response.status_code == 200
    assert "<h1>Sign In</h1>" in response.text


def test_trusted_hosts_setting_replaces_the_default(dev_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_HOSTS", "www.blog.test")
    client = dev_app().test_client()

    assert client.get("/login", headers={"Host": "www.blog.test"}).status_code == 200
    assert client.get("/login", headers={"Host": "blog.test:5000"}).status_code == 400


def test_a_star_accepts_any_host(dev_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_HOSTS", "*")

    response = dev_app().test_client().get("/login", headers={"Host": "proxy.internal:8080"})

    assert response.status_code == 200
