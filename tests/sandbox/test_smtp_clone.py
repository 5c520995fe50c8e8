"""A cloned SMTP protocol is set up exactly as aiosmtpd's constructor would set it up.

Every connection gets a clone of one constructed protocol (``CaptureSMTP.clone``), so these
tests hold a clone to a freshly constructed instance attribute by attribute: if a new aiosmtpd
release adds state to its constructor, they say which attribute a clone gets wrong.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from mail_sandbox.chaos import ChaosControl
from mail_sandbox.server import run_on_own_loop
from mail_sandbox.smtp import CaptureHandler, CaptureSMTP, accept_any_login
from mail_sandbox.store.sqlite import SQLiteStore
from mail_sandbox.tls import self_signed_context

# Set up per connection by asyncio itself, so a clone's are its own by construction.
STREAM_STATE = {"_stream_reader_wr", "_strong_reader", "_closed", "_source_traceback"}


@pytest.fixture()
def store():
    with SQLiteStore(":memory:") as store:
        yield store


TLS_CONTEXT = self_signed_context()


def construct(handler: CaptureHandler) -> CaptureSMTP:
    return CaptureSMTP(
        handler,
        data_size_limit=1234,
        enable_SMTPUTF8=True,
        hostname="clone-test",
        ident="clone test",
        tls_context=TLS_CONTEXT,
        timeout=17.0,
        auth_require_tls=False,
        authenticator=accept_any_login,
    )


def run(coro):
    """Run ``coro`` on a loop of its own (aiosmtpd takes the running loop at construction)."""
    return run_on_own_loop(coro)


def assert_equivalent(name: str, cloned: Any, fresh: Any, clone: object, original: object):
    """``cloned`` (held by ``clone``) is to ``clone`` what ``fresh`` is to ``original``."""
    assert type(cloned) is type(fresh), name
    if isinstance(fresh, types.MethodType):
        assert cloned.__func__ is fresh.__func__, name
        if fresh.__self__ is original:
            assert cloned.__self__ is clone, f"{name} is bound to another protocol"
        else:
            assert cloned.__self__ is fresh.__self__, name
    elif isinstance(fresh, dict):
        assert cloned.keys() == fresh.keys(), name
        for key in fresh:
            assert_equivalent(f"{name}[{key!r}]", cloned[key], fresh[key], clone, original)
    elif isinstance(fresh, tuple):
        assert len(cloned) == len(fresh), name
        for index, (a, b) in enumerate(zip(cloned, fresh, strict=True)):
            assert_equivalent(f"{name}[{index}]", a, b, clone, original)
    elif isinstance(fresh, list | set | bytearray) or type(fresh).__name__ == "deque":
        assert list(cloned) == list(fresh), name
    else:
        assert cloned == fresh, name


def test_a_clone_has_every_attribute_a_constructed_protocol_has(store):
    handler = CaptureHandler(store, chaos=ChaosControl(enabled=False))

    async def check() -> None:
        template = construct(handler)
        clone = template.clone()
        fresh = construct(handler)
        assert type(clone) is CaptureSMTP
        assert vars(clone).keys() == vars(fresh).keys()
        for name, value in vars(fresh).items():
            if name in STREAM_STATE:
                continue
            # The template and the fresh instance were built the same way: the clone must be
            # to itself what the fresh one is to itself.
            assert_equivalent(name, vars(clone)[name], value, clone, fresh)

    run(check())


def test_a_clone_shares_no_mutable_state_with_its_template(store):
    handler = CaptureHandler(store)

    async def check() -> None:
        template = construct(handler)
        clone = template.clone()
        for name, value in vars(template).items():
            if isinstance(value, dict | list | set | bytearray) or hasattr(value, "append"):
                assert vars(clone)[name] is not value, f"{name} is shared with the template"
        assert clone._stream_reader_wr() is not template._stream_reader_wr()
        assert clone._closed is not template._closed
        # What one session changes stays its own.
        clone.command_size_limits["MAIL"] += 26
        assert template.command_size_limits["MAIL"] == template.command_size_limit
        assert clone._smtp_methods["EHLO"].__self__ is clone

    run(check())


def test_clones_of_one_template_are_independent_of_each_other(store):
    handler = CaptureHandler(store)

    async def check() -> None:
        template = construct(handler)
        first, second = template.clone(), template.clone()
        first._held.append(b"250 OK")
        first._auth_methods.pop("LOGIN")
        assert second._held == []
        assert "LOGIN" in second._auth_methods
        assert first._auth_methods["PLAIN"].method.__self__ is first
        assert second._auth_methods["PLAIN"].method.__self__ is second

    run(check())
