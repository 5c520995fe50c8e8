"""One reset link submitted twice at the same moment (two tabs, two new passwords): exactly
one submission sets its password, the other is told the link is no longer valid."""

import threading

from app_helpers import INVALID_LINK_FLASH, PASSWORD, flashes, password_works

from app import models
from app.extensions import db
from app.models import User
from app.tokens import make_reset_token

RESET_DONE_FLASH = "Your password has been reset."
PASSWORDS = ("first-tab-password-1", "second-tab-password-2")


def test_the_same_link_submitted_twice_at_once_sets_exactly_one_password(app, user, monkeypatch):
    with app.app_context():
        path = f"/reset_password/{make_reset_token(db.session.get(User, user.id))}"
    # Both submissions wait here, each after checking the link and before storing its new
    # password, so that both have seen the link valid: the moment two tabs would collide.
    both_checked = threading.Barrier(2, timeout=10)
    hash_password = models.generate_password_hash

    def hash_when_both_checked(password: str) -> str:
        both_checked.wait()
        return hash_password(password)

    monkeypatch.setattr(models, "generate_password_hash", hash_when_both_checked)
    clients = [app.test_client() for _ in PASSWORDS]
    responses: dict[int, object] = {}

    def submit(index: int) -> None:
        responses[index] = clients[index].post(
            path, data={"password": PASSWORDS[index], "password2": PASSWORDS[index]}
        )

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    monkeypatch.undo()

    assert all(responses[index].status_code == 302 for index in range(2)), responses
    answers = [flashes(client) for client in clients]
    assert sorted(answers) == sorted([[RESET_DONE_FLASH], [INVALID_LINK_FLASH]])
    winner = answers.index([RESET_DONE_FLASH])
    assert password_works(app, PASSWORDS[winner])
    assert not password_works(app, PASSWORDS[1 - winner])
    assert not password_works(app, PASSWORD)
