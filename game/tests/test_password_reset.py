"""A forgotten password, reset by a mailed link; sign-up's optional email address, where that link goes."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from game.web.mailer import mailer

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 9"
NEW_PASSWORD = "a brand new secret 7"

# Every test asks from an address no other test used: the budget's windows live in the run's Redis.
_addresses = (f"10.77.{high}.{low}" for high, low in itertools.product(range(256), range(1, 255)))


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR=next(_addresses))


def _mailed() -> list[Any]:
    """The mail sent so far, once the mail thread has sent what it was handed."""
    mailer.drain()
    return list(mail.outbox)


def _link_in(message: Any) -> str:
    match = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_a_mailed_link_sets_a_new_password_that_signs_in(client: Client) -> None:
    User.objects.create_user("alice", email="alice@example.com", password=PASSWORD)
    response = client.post("/accounts/password/reset/", {"email": "Alice@Example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert "Check your mail" in client.get(response["Location"]).content.decode()

    [message] = _mailed()
    assert message.to == ["alice@example.com"]
    assert message.subject == "Your tictac password"
    link = _link_in(message)
    # Django swaps the token in the address for one in the session before showing the form.
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert 'id="new-password-form"' in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    assert "set-password" in set_password_url
    done = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/password/reset/done/"
    assert 'id="reset-sign-in"' in client.get(done["Location"]).content.decode()

    signed_in = client.post("/accounts/login/", {"username": "alice", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    assert Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 200
    assert "no longer works" in client.get(link, follow=True).content.decode()  # a link works once


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client: Client) -> None:
    User.objects.create_user("bob", email="bob@example.com", password=PASSWORD)
    known = client.post("/accounts/password/reset/", {"email": "bob@example.com"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert [message.to for message in _mailed()] == [["bob@example.com"]]


def test_an_account_without_an_address_gets_no_mail(client: Client) -> None:
    User.objects.create_user("carol", password=PASSWORD)
    assert client.post("/accounts/password/reset/", {"email": ""}).status_code == 200  # the form asks again
    assert client.post("/accounts/password/reset/", {"email": "carol@example.com"}).status_code == 302
    assert _mailed() == []


def test_reset_requests_are_budgeted_per_address_known_or_not(settings: Any) -> None:
    settings.TICTAC = {**settings.TICTAC, "BUDGETS": {**settings.TICTAC["BUDGETS"]}}
    settings.TICTAC["BUDGETS"]["password_resets_per_address"] = (2, 3600)
    User.objects.create_user("dan", email="dan@example.com", password=PASSWORD)
    address = next(_addresses)
    answers = [
        Client(REMOTE_ADDR=address).post("/accounts/password/reset/", {"email": email}).status_code
        for email in ("dan@example.com", "nobody@example.com", "dan@example.com")
    ]
    assert answers == [302, 302, 429]
    refused = Client(REMOTE_ADDR=address).post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert refused.status_code == 429  # the same refusal for an address with no account
    assert "try again later" in refused.content.decode()
    assert len(_mailed()) == 1
    elsewhere = Client(REMOTE_ADDR=next(_addresses)).post("/accounts/password/reset/", {"email": "dan@example.com"})
    assert elsewhere.status_code == 302
    assert len(_mailed()) == 2


def test_a_new_password_lifts_the_sign_in_lockout_of_that_username(client: Client) -> None:
    User.objects.create_user("erin", email="erin@example.com", password=PASSWORD)
    # Erin herself forgot it: five wrong tries lock her username at her own address.
    for _ in range(5):
        client.post("/accounts/login/", {"username": "erin", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "erin", "password": PASSWORD}).status_code == 429
    client.post("/accounts/password/reset/", {"email": "erin@example.com"})
    [message] = _mailed()
    form_page = client.get(_link_in(message), follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert client.post("/accounts/login/", {"username": "erin", "password": NEW_PASSWORD}).status_code == 302


def test_the_sign_in_page_links_to_the_reset_and_its_pages_keep_the_site_headers(client: Client) -> None:
    assert 'href="/accounts/password/reset/" id="forgot-password"' in client.get("/accounts/login/").content.decode()
    page = client.get("/accounts/password/reset/")
    assert page.status_code == 200
    assert "default-src 'self'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"


def test_sign_up_without_an_email_address_still_works(client: Client) -> None:
    response = client.post("/accounts/signup/", {"username": "frank", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert User.objects.get(username="frank").email == ""


def test_sign_up_with_an_email_address_keeps_it_for_a_reset(client: Client) -> None:
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="email"' in page
    response = client.post(
        "/accounts/signup/",
        {"username": "grace", "email": "grace@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(username="grace").email == "grace@example.com"
    bad_address = {"username": "heidi", "email": "not an address", "password1": PASSWORD, "password2": PASSWORD}
    bad = client.post("/accounts/signup/", bad_address)
    assert bad.status_code == 400
    assert not User.objects.filter(username="heidi").exists()
