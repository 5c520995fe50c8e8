"""Settings from the environment, and refusing to start without a secret key outside dev."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import Config

ENV_NAMES = ["SECRET_KEY", "FLASK_DEBUG", "MICROBLOG_ENV"]
ROOT = Path(__file__).resolve().parents[2]
UNSET_KEY = (
    "SECRET_KEY is not set: export SECRET_KEY=... "
    "(or run with --debug / MICROBLOG_ENV=development for local use)"
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No secret key, no debug or development flag, and a throwaway database."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'config.db'}")
    return monkeypatch


def test_missing_secret_key_outside_development_refuses_to_start(clean_env):
    with pytest.raises(RuntimeError) as error:
        create_app(Config)

    assert str(error.value) == UNSET_KEY


def _flask_run(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """``flask --app app run`` on a free loopback port, as a developer would start it."""
    environ = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    environ.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}", **env)
    command = [sys.executable, "-m", "flask", "--app", "app", "run"]
    # Without the check the server would start and keep running: the timeout ends the test.
    return subprocess.run(
        [*command, "--host", "127.0.0.1", "--port", "0"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_flask_run_without_secret_key_or_debug_stops_with_one_clear_line(tmp_path):
    result = _flask_run(tmp_path)

    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {UNSET_KEY}"
    assert result.stdout == ""


def test_flask_run_with_a_malformed_setting_names_it(tmp_path):
    result = _flask_run(tmp_path, SECRET_KEY="k" * 40, MAIL_PORT="smtp")

    assert result.returncode == 1
    assert result.stderr.strip() == "Error: MAIL_PORT must be a whole number, got 'smtp'"


@pytest.mark.parametrize(
    ("name", "value"), [("FLASK_DEBUG", "1"), ("MICROBLOG_ENV", "development")]
)
def test_development_without_secret_key_gets_a_random_one_and_a_warning(
    clean_env, caplog, name, value
):
    clean_env.setenv(name, value)

    with caplog.at_level(logging.WARNING):
        first = create_app(Config).config["SECRET_KEY"]
        second = create_app(Config).config["SECRET_KEY"]

    assert len(first) >= 32
    assert first != second
    assert "SECRET_KEY is not set" in caplog.text


def test_secret_key_from_the_environment_is_used(clean_env):
    clean_env.setenv("SECRET_KEY", "from-the-environment")

    assert create_app(Config).config["SECRET_KEY"] == "from-the-environment"


def test_settings_are_read_from_the_environment(clean_env):
    for name, value in {
        "SECRET_KEY": "k" * 40,
        "MAIL_SERVER": "smtp.internal",
        "MAIL_PORT": "2525",
        "MAIL_USE_TLS": "true",
        "MAIL_USERNAME": "mailer",
        "ADMINS": "first@example.com, second@example.com",
        "RESET_PASSWORD_TOKEN_TTL": "120",
        "APP_BASE_URL": "https://blog.example/",
        "TRUSTED_HOSTS": "blog.example,www.blog.example",
        "MAIL_SEND_RETRIES": "5",
        "MAIL_RETRY_BACKOFF": "0.25",
    }.items():
        clean_env.setenv(name, value)

    config = create_app(Config).config

    assert config["MAIL_SERVER"] == "smtp.internal"
    assert config["MAIL_PORT"] == 2525
    assert config["MAIL_USE_TLS"] is True
    assert config["MAIL_USE_SSL"] is False
    assert config["MAIL_USERNAME"] == "mailer"
    assert config["ADMINS"] == ["first@example.com", "second@example.com"]
    assert config["RESET_PASSWORD_TOKEN_TTL"] == 120
    assert config["APP_BASE_URL"] == "https://blog.example"
    assert config["TRUSTED_HOSTS"] == ["blog.example", "www.blog.example"]
    assert config["MAIL_SEND_RETRIES"] == 5
    assert config["MAIL_RETRY_BACKOFF"] == 0.25


def test_defaults(clean_env):
    for name in ["MAIL_SERVER", "MAIL_PORT", "ADMINS", "APP_BASE_URL", "RESET_PASSWORD_TOKEN_TTL"]:
        clean_env.delenv(name, raising=False)
    clean_env.setenv("SECRET_KEY", "k" * 40)

    config = create_app(Config).config

    assert (config["MAIL_SERVER"], config["MAIL_PORT"]) == ("localhost", 8025)
    assert config["ADMINS"] == ["no-reply@microblog.example"]
    assert config["APP_BASE_URL"] == "http://127.0.0.1:5000"
    assert config["RESET_PASSWORD_TOKEN_TTL"] == 600


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAIL_PORT", "smtp", "MAIL_PORT must be a whole number, got 'smtp'"),
        ("MAIL_USE_TLS", "maybe", "MAIL_USE_TLS must be one of"),
        ("RESET_LIMIT_PER_EMAIL", "lots", "RESET_LIMIT_PER_EMAIL must look like"),
    ],
)
def test_bad_setting_is_a_clear_error(clean_env, name, value, message):
    clean_env.setenv("SECRET_KEY", "k" * 40)
    clean_env.setenv(name, value)

    with pytest.raises(RuntimeError, match=message):
        create_app(Config)
