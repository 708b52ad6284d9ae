"""Names a person cannot fake: seats and usernames compared after NFKC, case and Unicode's confusables (UTS #39)."""

from __future__ import annotations

import doctest

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from game.actions import identities, rooms, seating, write
from game.domain import confusables, names
from game.management.commands import confusables_table

PASSWORD = "correct horse battery 9"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice", "\u0430lice"),  # Cyrillic а
        ("alice", "ALICE"),
        ("alice", "\uff41\uff4c\uff49\uff43\uff45"),  # fullwidth
        ("alice", "a1ice"),  # the digit one for l
        ("alice", "al\u200bice"),  # a zero-width space inside
        ("bob", "b0b"),  # zero for o, whose prototype is a capital
        ("Player 2", "Player\u00a0 2"),  # a no-break space, and two
        ("paypal", "p\u0430yp\u0430l"),
    ],
)
def test_names_a_reader_would_take_for_one_another_have_one_key(first: str, second: str) -> None:
    assert names.name_key(first) == names.name_key(second)
    assert names.same_name(first, second)


@pytest.mark.parametrize(("first", "second"), [("alice", "alicia"), ("bob", "rob"), ("Player", "Player 2")])
def test_different_names_keep_different_keys(first: str, second: str) -> None:
    assert not names.same_name(first, second)


def test_the_skeleton_is_unicodes_and_the_examples_in_the_module_hold() -> None:
    assert names.skeleton("\u0430") == "a"
    assert names.skeleton("\u0440\u0430\u0443\u0440\u0430l") == "paypal"  # Cyrillic р, а, у
    assert doctest.testmod(names).failed == 0


def test_the_confusables_table_is_the_committed_unicode_file_and_regenerates_unchanged() -> None:
    source = confusables_table.SOURCE.read_text(encoding="utf-8")
    assert "Version: 17.0.0" in source
    assert confusables_table.parse(source) == confusables.PROTOTYPES
    assert len(confusables.PROTOTYPES) > 6000
    assert confusables_table.render(source) == confusables_table.TABLE.read_text(encoding="utf-8")


@pytest.mark.django_db
def test_a_look_alike_of_the_name_in_the_other_seat_is_taken() -> None:
    room = rooms.create_room(name="names")
    seating.join(room, identities.Identity(session_key="a" * 32), "alice")
    with pytest.raises(write.ActionRefused) as refused:
        seating.join(room, identities.Identity(session_key="b" * 32), "\u0430lice")  # Cyrillic а
    assert refused.value.code == "name_taken"
    with pytest.raises(write.ActionRefused):
        seating.join(room, identities.Identity(session_key="b" * 32), "\uff41lice")  # fullwidth a
    _, player = seating.join(room, identities.Identity(session_key="b" * 32), "alicia")
    assert player.name == "alicia"


@pytest.mark.django_db
def test_sign_up_refuses_a_username_that_looks_like_an_existing_one(client: Client) -> None:
    User.objects.create_user("alice", password=PASSWORD)
    response = client.post(
        "/accounts/signup/", {"username": "\u0430lice", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 400
    assert "looks the same" in response.content.decode()
    for look_alike in ("ALICE", "a1ice"):
        fields = {"username": look_alike, "password1": PASSWORD, "password2": PASSWORD}
        assert Client().post("/accounts/signup/", fields).status_code == 400
    assert User.objects.count() == 1
    created = Client().post("/accounts/signup/", {"username": "alicia", "password1": PASSWORD, "password2": PASSWORD})
    assert created.status_code == 302


@pytest.mark.django_db
def test_an_account_made_outside_sign_up_is_known_by_its_look_alike_key_too(client: Client) -> None:
    call_command("createsuperuser", "--noinput", username="host", email="host@example.com")
    fields = {"username": "h\u043est", "password1": PASSWORD, "password2": PASSWORD}  # Cyrillic о
    assert client.post("/accounts/signup/", fields).status_code == 400
