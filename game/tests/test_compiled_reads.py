"""The reads compiled once (game.storage.compiled_reads) give what Django's own queries give."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db.models import Model
from django.utils import timezone

from game.actions import chat, rooms, write
from game.models import ChatMessage, Room
from game.storage.compiled_reads import CompiledRead
from game.storage.session_store import SessionStore


def _fields(instance: Model | None) -> dict[str, object] | None:
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.django_db
def test_a_room_read_by_its_code_is_the_room_django_reads() -> None:
    host = get_user_model().objects.create_user("host", password="pw-host-1234")
    made = rooms.create_room(name="Tuesday club", size=5, win_length=4, time_control="budget:60+2", host_id=host.pk)
    Room.objects.filter(pk=made.pk).update(is_open=False)
    ours, djangos = write.get_room(made.code), Room.objects.get(code=made.code)
    assert ours is not None
    assert _fields(ours) == _fields(djangos)
    assert ours._state.adding is False
    assert ours._state.db == djangos._state.db
    assert ours.is_open is False
    assert write.get_room("nosuchroom") is None


@pytest.mark.django_db
def test_a_rooms_chat_reads_as_django_reads_it_newest_fifty_oldest_first() -> None:
    room = rooms.create_room(name="talk")
    other = rooms.create_room(name="elsewhere")
    chat.save_chat(other, "Eve", None, "not here")
    for number in range(chat.CHAT_KEPT + 5):
        chat.save_chat(room, "Ann", "X" if number % 2 else None, f"line {number}")
    newest = ChatMessage.objects.filter(room=room).order_by("-id")[: chat.CHAT_KEPT]
    assert chat.recent_chat(room) == [chat._chat_line(message) for message in reversed(newest)]
    assert chat.recent_chat(room)[-1]["text"] == f"line {chat.CHAT_KEPT + 4}"
    assert len(chat.recent_chat(room)) == chat.CHAT_KEPT


@pytest.mark.django_db
def test_a_session_loads_as_djangos_database_store_loads_it() -> None:
    session = SessionStore()
    session["visitor"] = True
    session["player_name"] = "Ada"
    session.create()
    key = session.session_key
    assert key is not None
    ours, djangos = SessionStore(key), db.SessionStore(key)
    assert ours.load() == djangos.load() == {"visitor": True, "player_name": "Ada"}
    assert ours.session_key == djangos.session_key == key


@pytest.mark.django_db
def test_an_expired_or_unknown_session_is_forgotten_as_django_forgets_it() -> None:
    session = SessionStore()
    session["visitor"] = True
    session.create()
    key = session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    for missing in (key, "z" * 32):
        ours, djangos = SessionStore(missing), db.SessionStore(missing)
        assert ours.load() == djangos.load() == {}
        assert ours.session_key is None
        assert djangos.session_key is None


@pytest.mark.django_db
def test_values_prepared_in_another_order_than_djangos_are_refused_when_compiled() -> None:
    # Django orders a filter's keyword arguments by name: expire_date comes before session_key.
    wrong = CompiledRead(
        Session,
        lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
        ("session_key", "expire_date"),
        ("example", timezone.now()),
    )
    with pytest.raises(ValueError, match="order"):
        wrong.first("x" * 32, timezone.now())


@pytest.mark.django_db
def test_a_read_of_a_related_models_related_model_is_refused() -> None:
    deep = CompiledRead(
        ChatMessage,
        lambda room_id: ChatMessage.objects.select_related("room__host").filter(room_id=room_id),
        ("room",),
        (1,),
    )
    with pytest.raises(ValueError, match="one level"):
        deep.first(1)


@pytest.mark.django_db
def test_a_related_model_is_loaded_and_attached_as_select_related_would() -> None:
    host = get_user_model().objects.create_user("hostess", password="pw-host-1234")
    hosted = rooms.create_room(name="hosted", host_id=host.pk)
    unhosted = rooms.create_room(name="unhosted")
    with_host = CompiledRead(
        Room, lambda code: Room.objects.select_related("host").filter(code=code), ("code",), ("x",)
    )
    ours = with_host.first(hosted.code)
    assert ours is not None
    assert Room.host.is_cached(ours)
    assert _fields(ours.host) == _fields(host)
    empty = with_host.first(unhosted.code)
    assert empty is not None
    assert Room.host.is_cached(empty)
    assert empty.host is None
