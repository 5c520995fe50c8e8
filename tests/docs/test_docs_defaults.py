"""Every default of the capture server is written in docs/ with the value in force."""

from __future__ import annotations

import pytest
from markdown_doc import doc

from mail_sandbox import defaults

#: Defaults no option or OpenAPI default shows, and the sentence in docs/ that gives each.
SENTENCES = {
    "MAX_PAGE_SIZE": ("api.md", "messages in the page; more than {0} is lowered to {0}"),
    "MAX_WAIT_SECONDS": ("api.md", "more than {0} is lowered to {0}"),
    "MAX_CHECKED_LINKS": ("security.md", "at most {} links are contacted"),
    "LINK_CHECK_TIMEOUT_SECONDS": ("security.md", "Each link gets {} seconds in all"),
    "SENDMAIL_TIMEOUT_SECONDS": ("cli.md", "Each step waits at most {} seconds for the server"),
    "DEFAULT_MAILBOX": ("store.md", "every mailbox: the `{}` mailbox"),
    "MAILBOX_EXPIRY_CHECK_SECONDS": ("store.md", "The server looks every {} seconds"),
    "MAX_MAILBOX_TTL_SECONDS": ("store.md", "at most {} seconds (ten years)"),
}
#: Defaults that test_docs_cli (the options' defaults) or test_docs_api (the parameters'
#: defaults of the OpenAPI description) hold to the docs.
CHECKED_ELSEWHERE = {
    "SMTP_ENDPOINT",
    "HTTP_ENDPOINT",
    "MAX_MESSAGES",
    "MAX_MESSAGE_SIZE",
    "IDLE_TIMEOUT_SECONDS",
    "MAX_RECIPIENTS",
    "PAGE_SIZE",
    "WAIT_SECONDS",
}


def test_every_default_is_documented_somewhere() -> None:
    names = {name for name in vars(defaults) if name.isupper()}
    assert sorted(names - set(SENTENCES) - CHECKED_ELSEWHERE) == [], "defaults not in docs/"


@pytest.mark.parametrize("name", sorted(SENTENCES))
def test_the_documented_value_is_the_one_in_force(name: str) -> None:
    page, sentence = SENTENCES[name]
    value = getattr(defaults, name)
    written = f"{value:g}" if isinstance(value, float) else str(value)
    assert sentence.format(written) in " ".join(doc(page).split())
