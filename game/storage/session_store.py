"""Django's database sessions, without the statements a page view does not need.

A visitor's identity is a session stored in the database (docs/protocol.md),
and every cookie-less room page makes one, so what a session costs is what
a crowd joining costs. Django's store spends three statements where one
does: it SELECTs a new key before INSERTing it, and the session middleware
saves a session again (an UPDATE in a write transaction, on SQLite a turn at
the one write lock) whenever it was marked modified, even when what it
holds is what was just stored. This store

* INSERTs a new key straight away: the INSERT fails on a clash (as likely as
  guessing a 32-character key), and ``create`` tries another, as before;
* skips a save that would store what the row already holds. The middleware
  still sets the cookie: that follows ``modified``, not the write;
* reads a session with SQL compiled once (game.storage.compiled_reads): every room
  page and socket reads one.

Use it as ``SESSION_ENGINE = "game.storage.session_store"``.
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.crypto import get_random_string

from game.storage.compiled_reads import CompiledRead

WRITTEN_FOR: Final = {"django": "5.2"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_django_internals.py checks what is used here."""

_LIVE_SESSION = CompiledRead(
    Session,
    lambda now, key: Session.objects.filter(expire_date__gt=now, session_key=key)[:1],
    ("expire_date", "session_key"),
    (timezone.now(), "example"),
)


class SessionStore(db.SessionStore):
    _stored: bytes | None = None
    """The serialized data the row holds, as this object last read or wrote it."""

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def _get_session_from_db(self) -> Session | None:
        # As Django's, which asks the ORM: the live session with this key, or None and the key forgotten.
        session = _LIVE_SESSION.first(timezone.now(), self.session_key)
        if session is None:
            self._session_key = None
        return session

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        self._stored = self._serialized(data) if self.session_key else None
        return data

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()  # as Django's does; create() comes back here with must_create
            return
        # As Django's save reads it (the stubs leave this SessionBase method out).
        data = self._serialized(self._get_session(no_load=must_create))  # type: ignore[attr-defined]
        if not must_create and data == self._stored:
            return
        super().save(must_create)
        self._stored = data

    def _serialized(self, data: dict[str, Any]) -> bytes:
        serialized: bytes = self.serializer().dumps(data)
        return serialized
