"""Reset tokens: only an unexpired, untampered token for the current password is accepted."""

import time

import jwt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import User
from app.tokens import make_reset_token, password_fingerprint, verify_reset_token

# Function-scoped fixtures are fine here: every example only reads the same app and user.
FUZZ = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def ctx(app, user):
    """An app context in which susan exists."""
    with app.app_context():
        yield db.session.get(User, user.id)


def _claims(account: User, **changes) -> dict:
    claims = {
        "reset_password": account.id,
        "exp": int(time.time()) + 600,
        "pwd": password_fingerprint(account),
        "purpose": "reset_password",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not ...}


def _sign(app, claims: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or app.config["SECRET_KEY"], algorithm=algorithm)


def test_token_round_trip(app, ctx):
    token = make_reset_token(ctx)

    assert isinstance(token, str)
    assert verify_reset_token(token) == ctx


def test_token_expires_after_the_configured_ttl(app, ctx):
    before = int(time.time())
    payload = jwt.decode(make_reset_token(ctx), app.config["SECRET_KEY"], algorithms=["HS256"])

    assert before + 600 <= payload["exp"] <= int(time.time()) + 600


def test_expired_token_is_refused(app, ctx):
    token = _sign(app, _claims(ctx, exp=int(time.time()) - 1))

    assert verify_reset_token(token) is None


def test_payload_does_not_reveal_the_password_hash(app, ctx):
    payload = jwt.decode(make_reset_token(ctx), options={"verify_signature": False})

    assert ctx.password_hash not in str(payload)
    assert set(payload) == {"reset_password", "exp", "pwd", "purpose"}


def test_tampered_signature_is_refused(app, ctx):
    header, payload, signature = make_reset_token(ctx).split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    forged = ".".join([header, payload, signature[:middle] + flipped + signature[middle + 1 :]])

    assert verify_reset_token(forged) is None


def test_payload_swapped_under_a_valid_signature_is_refused(app, ctx):
    other = User(username="mallory", email="mallory@example.com")
    other.set_password("mallory-password")
    db.session.add(other)
    db.session.commit()
    header, _payload, signature = make_reset_token(ctx).split(".")
    _header, payload, _signature = make_reset_token(other).split(".")

    assert verify_reset_token(".".join([header, payload, signature])) is None


def test_token_signed_with_another_key_is_refused(app, ctx):
    token = _sign(app, _claims(ctx), key="someone-elses-secret-key-0123456789")

    assert verify_reset_token(token) is None


def test_unsigned_alg_none_token_is_refused(app, ctx):
    token = jwt.encode(_claims(ctx), None, algorithm="none")

    assert verify_reset_token(token) is None


def test_token_with_another_hmac_algorithm_is_refused(app, ctx):
    token = _sign(app, _claims(ctx), algorithm="HS512")

    assert verify_reset_token(token) is None


def test_token_stops_working_once_the_password_changes(app, ctx):
    token = make_reset_token(ctx)
    ctx.set_password("a-brand-new-password")
    db.session.commit()

    assert verify_reset_token(token) is None


def test_token_for_a_deleted_user_is_refused(app, ctx):
    token = make_reset_token(ctx)
    db.session.delete(ctx)
    db.session.commit()

    assert verify_reset_token(token) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"reset_password": "1"},
        {"reset_password": True},
        {"reset_password": 1.0},
        {"reset_password": None},
        {"reset_password": [1]},
        {"reset_password": 2**70},
        {"reset_password": -1},
        {"pwd": 12345},
        {"pwd": "é" * 32},
        {"purpose": "confirm_email"},
        {"exp": "tomorrow"},
        {"exp": ...},
        {"pwd": ...},
        {"purpose": ...},
        {"reset_password": ...},
    ],
    ids=repr,
)
def test_well_signed_token_with_wrong_claims_is_refused(app, ctx, changes):
    assert verify_reset_token(_sign(app, _claims(ctx, **changes))) is None


@FUZZ
@given(token=st.text(max_size=300))
def test_any_text_is_refused_without_raising(app, ctx, token):
    assert verify_reset_token(token) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=5,
)


@FUZZ
@given(claim=st.sampled_from(["reset_password", "exp", "pwd", "purpose"]), value=json_values)
def test_any_wrong_claim_value_is_refused_without_raising(app, ctx, claim, value):
    # A genuine value, or any time at all for exp, is not a wrong claim.
    assume(value != _claims(ctx)[claim])
    assume(not (claim == "exp" and isinstance(value, int | float)))
    assert verify_reset_token(_sign(app, _claims(ctx, **{claim: value}))) is None
