"""The session a WebSocket's handshake names (game/web/socket_session.py)."""

from __future__ import annotations

from django.conf import settings

from game.storage.session_store import SessionStore
from game.web.socket_session import session_from_headers

KEY = "k" * 32


def test_the_session_cookie_names_the_session_in_the_configured_store() -> None:
    session = session_from_headers([(b"origin", b"http://localhost"), (b"cookie", f"sessionid={KEY}".encode())])
    assert isinstance(session, SessionStore)
    assert settings.SESSION_COOKIE_NAME == "sessionid"
    assert session.session_key == KEY


def test_cookies_split_over_several_headers_are_read_as_one_list() -> None:
    headers = [(b"cookie", b"csrftoken=abc"), (b"cookie", f"theme=dark; sessionid={KEY}".encode())]
    assert session_from_headers(headers).session_key == KEY


def test_a_handshake_without_the_session_cookie_has_no_session() -> None:
    assert session_from_headers([]).session_key is None
    assert session_from_headers([(b"cookie", b"csrftoken=abc")]).session_key is None


def test_a_session_key_too_short_to_be_one_counts_as_none() -> None:
    assert session_from_headers([(b"cookie", b"sessionid=abc")]).session_key is None
