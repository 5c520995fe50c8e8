"""Forms of the auth blueprint."""

import unicodedata

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from app.addresses import AddressError, normalize_email
from app.models import find_user_by_username

MIN_PASSWORD_LENGTH = 8
TOO_SHORT = f"Password must be at least {MIN_PASSWORD_LENGTH} characters long."
CONTROL_CHARACTERS = "Username cannot contain line breaks or other control characters."
USERNAME_TAKEN = "Please use a different username."
# Controls (CR, LF, NUL...) and the Unicode line and paragraph separators.
_UNPRINTABLE_CATEGORIES = {"Cc", "Zl", "Zp"}


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a line break or another control character.

    Such a name could start a new header line wherever it is written into an email header,
    and it could never be typed at the login form anyway.
    """
    return any(unicodedata.category(char) in _UNPRINTABLE_CATEGORIES for char in text)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _new_password_field() -> PasswordField:
    # One rule for registration and reset, so no path accepts a weaker password.
    return PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, message=TOO_SHORT),
            Length(max=128),
        ],
    )


def _repeat_password_field() -> PasswordField:
    return PasswordField("Repeat Password", validators=[DataRequired(), EqualTo("password")])


class LoginForm(FlaskForm):
    """Username and password, with the option to stay logged in."""

    username = StringField("Username", validators=[DataRequired()], filters=[_strip])
    password = PasswordField("Password", validators=[DataRequired()])
    remember_me = BooleanField("Remember Me")
    submit = SubmitField("Sign In")


def check_username(username: str) -> None:
    """Refuse a username with control characters or one that another account has.

    Usernames are public (posts show them), so saying one is taken tells nobody a secret.
    """
    if has_control_characters(username):
        raise ValidationError(CONTROL_CHARACTERS)
    if find_user_by_username(username) is not None:
        raise ValidationError(USERNAME_TAKEN)


class RegistrationForm(FlaskForm):
    """A username, the address the link that finishes the registration goes to, a password.

    Whether the address already has an account is not checked here: the form's answer must
    not tell (the email does, to the address's owner only).
    """

    username = StringField(
        "Username", validators=[DataRequired(), Length(max=64)], filters=[_strip]
    )
    email = EmailField("Email", validators=[DataRequired(), Length(max=120)], filters=[_strip])
    password = _new_password_field()
    password2 = _repeat_password_field()
    submit = SubmitField("Register")

    def validate_username(self, username: StringField) -> None:
        """See ``check_username``."""
        check_username(username.data)

    def validate_email(self, email: EmailField) -> None:
        """Refuse an address ``normalize_email`` cannot keep, and store its normalized form."""
        try:
            email.data = normalize_email(email.data)
        except AddressError as exc:
            raise ValidationError(str(exc)) from None


class FinishRegistrationForm(FlaskForm):
    """The one button that creates the account of a registration link.

    Opening the link shows it and creates nothing: mail scanners open links by themselves.
    """

    submit = SubmitField("Finish Registering")


class ResetPasswordRequestForm(FlaskForm):
    """The address to send a reset link to."""

    email = EmailField(
        "Email", validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )
    submit = SubmitField("Request Password Reset")


class ResetPasswordForm(FlaskForm):
    """The new password, typed twice."""

    password = _new_password_field()
    password2 = _repeat_password_field()
    submit = SubmitField("Reset Password")
