"""Every kind of bad reset link gets the same answer on the page: the "invalid or has expired"
message and a redirect to the request page, never an error page, and the password stays."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import jwt
import pytest
from app_helpers import INVALID_LINK_FLASH, NEW_PASSWORD, PASSWORD, USERNAME, flashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask_wtf.csrf import generate_csrf
from jwt.algorithms import RSAAlgorithm

from app.extensions import db
from app.models import User
from app.tokens import make_reset_token, password_fingerprint

ATTACKER_KEY = b"the-attackers-own-key-0123456789abcdef"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(app: Flask, user_id: int, **changes: object) -> dict:
    with app.app_context():
        account = db.session.get(User, user_id)
        claims = {
            "reset_password": account.id,
            "exp": int(time.time()) + 600,
            "pwd": password_fingerprint(account),
            "purpose": "reset_password",
        }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not ...}


def _signed(app: Flask, user_id: int, **changes: object) -> str:
    return jwt.encode(_claims(app, user_id, **changes), app.config["SECRET_KEY"], "HS256")


def _genuine(app: Flask, user_id: int) -> str:
    with app.app_context():
        return make_reset_token(db.session.get(User, user_id))


def _hand_made(header: dict, claims: dict, sign: Callable[[bytes], bytes]) -> str:
    """A JWT put together by hand, for headers and keys PyJWT refuses to produce."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    return lambda data: hmac.new(key, data, hashlib.sha256).digest()


def _used(app: Flask, user_id: int) -> str:
    token = _genuine(app, user_id)
    response = app.test_client().post(
        f"/reset_password/{token}", data={"password": "first-reset-1", "password2": "first-reset-1"}
    )
    assert response.location == "/login"
    return token


def _expired(app: Flask, user_id: int) -> str:
    return _signed(app, user_id, exp=int(time.time()) - 1)


def _tampered_payload(app: Flask, user_id: int) -> str:
    # Everything genuine but a later expiry: only the signature can tell.
    header, _payload, signature = _genuine(app, user_id).split(".")
    longer = _claims(app, user_id, exp=int(time.time()) + 86400)
    return ".".join([header, _b64(json.dumps(longer).encode()), signature])


def _tampered_signature(app: Flask, user_id: int) -> str:
    token = _genuine(app, user_id)
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


def _other_key(app: Flask, user_id: int) -> str:
    return jwt.encode(_claims(app, user_id), ATTACKER_KEY.decode(), "HS256")


def _alg_none(spelling: str) -> Callable[[Flask, int], str]:
    def make(app: Flask, user_id: int) -> str:
        return _hand_made({"alg": spelling, "typ": "JWT"}, _claims(app, user_id), lambda _: b"")

    return make


def _hs256_keyed_by_a_public_key(app: Flask, user_id: int) -> str:
    # The classic confusion: an HMAC "signed" with a public key the verifier might also hold.
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _hand_made({"alg": "HS256"}, _claims(app, user_id), _hmac_sha256(public_pem))


def _hs256_with_embedded_jwk(app: Flask, user_id: int) -> str:
    header = {"alg": "HS256", "jwk": {"kty": "oct", "k": _b64(ATTACKER_KEY)}}
    return _hand_made(header, _claims(app, user_id), _hmac_sha256(ATTACKER_KEY))


def _hs256_with_kid_of_an_empty_file(app: Flask, user_id: int) -> str:
    header = {"alg": "HS256", "kid": "../../../../dev/null"}
    return _hand_made(header, _claims(app, user_id), _hmac_sha256(b""))


def _rs256_with_embedded_jwk(app: Flask, user_id: int) -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    return jwt.encode(_claims(app, user_id), private, "RS256", headers={"jwk": jwk})


def _another_purpose(app: Flask, user_id: int) -> str:
    return _signed(app, user_id, purpose="confirm_email")


def _login_claims_instead(app: Flask, user_id: int) -> str:
    # A well signed JWT of the shape another feature might issue: no reset claims at all.
    return jwt.encode(
        {"sub": str(user_id), "exp": int(time.time()) + 600}, app.config["SECRET_KEY"], "HS256"
    )


def _session_cookie(app: Flask, user_id: int) -> str:
    client = app.test_client()
    client.post("/login", data={"username": USERNAME, "password": PASSWORD})
    return client.get_cookie("session").value


def _remember_me_cookie(app: Flask, user_id: int) -> str:
    client = app.test_client()
    client.post("/login", data={"username": USERNAME, "password": PASSWORD, "remember_me": "y"})
    return client.get_cookie("remember_token").value


def _csrf_token(app: Flask, user_id: int) -> str:
    with app.test_request_context():
        return generate_csrf()


def _for_a_deleted_user(app: Flask, user_id: int) -> str:
    token = _genuine(app, user_id)
    with app.app_context():
        db.session.delete(db.session.get(User, user_id))
        db.session.commit()
    return token


def _claim(**changes: object) -> Callable[[Flask, int], str]:
    return lambda app, user_id: _signed(app, user_id, **changes)


BAD_LINKS = {
    "already used": _used,
    "expired": _expired,
    "payload tampered": _tampered_payload,
    "signature tampered": _tampered_signature,
    "signed with another key": _other_key,
    "alg none": _alg_none("none"),
    "alg None": _alg_none("None"),
    "alg NONE": _alg_none("NONE"),
    "HS256 keyed with a public key": _hs256_keyed_by_a_public_key,
    "HS256 with the attacker's key in jwk": _hs256_with_embedded_jwk,
    "HS256 with kid of an empty file": _hs256_with_kid_of_an_empty_file,
    "RS256 with the attacker's key in jwk": _rs256_with_embedded_jwk,
    "missing exp": _claim(exp=...),
    "another purpose": _another_purpose,
    "JWT of another kind": _login_claims_instead,
    "Flask session cookie": _session_cookie,
    "remember-me cookie": _remember_me_cookie,
    "CSRF token": _csrf_token,
    "deleted user": _for_a_deleted_user,
    "user id as a string": _claim(reset_password="1"),
    "user id as a huge int": _claim(reset_password=2**70),
    "user id just past 64 bits": _claim(reset_password=2**63),
    "user id as a list": _claim(reset_password=[1]),
    "user id as true": _claim(reset_password=True),
    "user id as an object": _claim(reset_password={"id": 1}),
}


@pytest.fixture(params=list(BAD_LINKS.values()), ids=list(BAD_LINKS))
def bad_token(request, app, user) -> str:
    """A reset token for susan's account that must not be accepted, made the named way."""
    return request.param(app, user.id)


def _stored_password_hash(app: Flask) -> str | None:
    with app.app_context():
        return db.session.scalar(db.select(User.password_hash).filter_by(username=USERNAME))


def test_opening_a_bad_link_sends_the_user_to_ask_again(app, bad_token):
    client = app.test_client()

    response = client.get(f"/reset_password/{bad_token}")

    assert response.status_code == 302
    assert response.location == "/reset_password_request"
    assert flashes(client) == [INVALID_LINK_FLASH]


def test_posting_a_new_password_through_a_bad_link_changes_nothing(app, bad_token):
    client = app.test_client()
    before = _stored_password_hash(app)

    response = client.post(
        f"/reset_password/{bad_token}",
        data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response.location == "/reset_password_request"
    assert flashes(client) == [INVALID_LINK_FLASH]
    assert _stored_password_hash(app) == before


def test_the_page_after_a_bad_link_shows_the_message_and_the_request_form(app, user):
    client = app.test_client()

    page = client.get(f"/reset_password/{_expired(app, user.id)}", follow_redirects=True)

    assert page.status_code == 200
    assert INVALID_LINK_FLASH in page.text
    assert "<h1>Reset Password</h1>" in page.text
