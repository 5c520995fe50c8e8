"""The one rule for account email addresses, shared by registration, reset and the CLI."""

from email_validator import EmailNotValidError, validate_email


class AddressError(ValueError):
    """An address the app cannot keep an account for; the message is fit to show a user."""


def normalize_email(address: str) -> str:
    """The stored, comparable form of ``address``, or AddressError saying what is wrong.

    The part before the @ must be ASCII: Flask-Mail cannot send SMTPUTF8 mail, and SQLite's
    ``lower()`` folds ASCII letters only, so two spellings of one non-ASCII address could not
    be told apart. The domain is kept in its lower-case IDNA (``xn--``) form, the one mail is
    sent to, so that every spelling of one domain compares equal.
    """
    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from None
    return result.ascii_email
