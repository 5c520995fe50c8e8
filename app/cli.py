"""Command line tools: ``flask --app app init-db`` and ``flask --app app create-user``."""

import click
from flask import Flask
from flask.cli import with_appcontext

from app.addresses import AddressError, normalize_email
from app.auth.forms import CONTROL_CHARACTERS, MIN_PASSWORD_LENGTH, has_control_characters
from app.extensions import db
from app.models import User, find_user_by_email, find_user_by_username


def register_commands(app: Flask) -> None:
    """Add this module's commands to ``app.cli``."""
    app.cli.add_command(init_db)
    app.cli.add_command(create_user)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database tables that do not exist yet."""
    db.create_all()
    click.echo("Database tables created.")


@click.command("create-user")
@click.argument("username")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new user's password; asked for (hidden) when left out.",
)
@click.option(
    "--exist-ok",
    is_flag=True,
    help="Succeed without changes when USERNAME already exists with EMAIL (for scripts).",
)
@with_appcontext
def create_user(username: str, email: str, password: str, exist_ok: bool) -> None:
    """Create the user USERNAME with address EMAIL (the tables are created if missing)."""
    if has_control_characters(username):
        raise click.BadParameter(CONTROL_CHARACTERS, param_hint="USERNAME")
    try:
        email = normalize_email(email.strip())
    except AddressError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(
            f"must be at least {MIN_PASSWORD_LENGTH} characters long", param_hint="--password"
        )
    db.create_all()
    existing = find_user_by_username(username)
    if exist_ok and existing is not None and existing.email == email:
        click.echo(f"User {username!r} <{email}> already exists.")
        return
    if existing is not None:
        raise click.ClickException(f"A user named {username!r} already exists.")
    if find_user_by_email(email) is not None:
        raise click.ClickException(f"A user with the email {email!r} already exists.")
    user = User(username=username, email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created user {username!r} <{email}>.")
