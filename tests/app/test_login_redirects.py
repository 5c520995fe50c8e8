"""After logging in, ?next= leads only to a page of this site: anything a browser would read
as another host sends the user to /index instead."""

import pytest
from app_helpers import PASSWORD, USERNAME

OFF_SITE = {
    "four slashes": "////evil.example/x",
    "three slashes": "///evil.example/x",
    "two slashes": "//evil.example/x",
    "slash backslash": "/\\evil.example",
    "two backslashes": "\\\\evil.example",
    "scheme without slashes": "http:evil.example",
    "absolute URL": "https://evil.example/",
    "javascript": "javascript:alert(1)",
    "data": "data:text/html,x",
    "encoded slashes": "/%2F%2Fevil.example",
    "encoded slash": "/%2Fevil.example",
    "encoded backslash": "/%5Cevil.example",
    "double-encoded slash": "/%252Fevil.example",
    "no leading slash": "evil.example",
    "tab between slashes": "/\t/evil.example",
    "newline between slashes": "/\n/evil.example",
    "nul between slashes": "/\x00/evil.example",
    "encoded tab between slashes": "/%09/evil.example",
    "space before": " //evil.example",
    "tab before": "\t//evil.example",
    "newline before": "\n//evil.example",
    "non-breaking space before": "\u00a0//evil.example",
}


def _log_in_with_next(client, target: str):
    return client.post(
        "/login", query_string={"next": target}, data={"username": USERNAME, "password": PASSWORD}
    )


@pytest.mark.parametrize("target", list(OFF_SITE.values()), ids=list(OFF_SITE))
def test_login_never_redirects_off_site(client, user, target):
    response = _log_in_with_next(client, target)

    assert response.status_code == 302
    assert response.location == "/index"


@pytest.mark.parametrize("target", ["/index", "/index?page=2", "/user/susan%20k"])
def test_login_returns_to_a_page_of_this_site(client, user, target):
    assert _log_in_with_next(client, target).location == target
