"""The command line: init-db and create-user."""

from app_helpers import EMAIL, USERNAME, password_works

from app.extensions import db
from app.models import User


def _users(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(u.username, u.email) for u in db.session.scalars(db.select(User))]


def test_create_user_with_password_option_can_log_in(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", USERNAME, EMAIL, "--password", "cli-password-1"]
    )

    assert result.exit_code == 0, result.output
    assert _users(app) == [(USERNAME, EMAIL)]
    assert password_works(app, "cli-password-1")


def test_create_user_prompts_for_a_hidden_password_twice(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", USERNAME, EMAIL], input="prompted-pw-1\nprompted-pw-1\n"
    )

    assert result.exit_code == 0, result.output
    assert "prompted-pw-1" not in result.output
    assert password_works(app, "prompted-pw-1")


def test_create_user_refuses_a_taken_username_or_email(app, user):
    runner = app.test_cli_runner()

    taken_name = runner.invoke(
        args=["create-user", USERNAME, "new@example.com", "--password", "x" * 8]
    )
    taken_email = runner.invoke(
        args=["create-user", "newbie", EMAIL.upper(), "--password", "x" * 8]
    )

    assert taken_name.exit_code != 0
    assert f"A user named '{USERNAME}' already exists." in taken_name.output
    assert taken_email.exit_code != 0
    assert "already exists" in taken_email.output
    assert _users(app) == [(USERNAME, EMAIL)]


def test_create_user_refuses_a_bad_email_or_short_password(app):
    runner = app.test_cli_runner()

    bad_email = runner.invoke(args=["create-user", "ann", "not-an-email", "--password", "x" * 8])
    short = runner.invoke(args=["create-user", "ann", "ann@example.com", "--password", "short"])

    assert bad_email.exit_code == 2
    assert "EMAIL" in bad_email.output
    assert short.exit_code == 2
    assert "at least 8 characters" in short.output
    assert _users(app) == []


def test_init_db_creates_the_tables_on_an_empty_database(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    app = make_app()
    with app.app_context():
        db.drop_all()

    result = app.test_cli_runner().invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    assert _users(app) == []


def test_create_user_exist_ok_leaves_an_existing_user_alone(app, user):
    runner = app.test_cli_runner()

    again = runner.invoke(
        args=["create-user", USERNAME, EMAIL, "--password", "other-pass-1", "--exist-ok"]
    )
    clash = runner.invoke(
        args=["create-user", USERNAME, "else@example.com", "--password", "x" * 8, "--exist-ok"]
    )

    assert again.exit_code == 0, again.output
    assert "already exists" in again.output
    assert not password_works(app, "other-pass-1")
    assert clash.exit_code != 0
    assert _users(app) == [(USERNAME, EMAIL)]
