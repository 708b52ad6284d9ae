"""How long a visitor's session lives: a day until it takes part, then the full age.

Every room page gives a cookie-less visitor a stored session (their identity,
docs/protocol.md). Most never sit down or say anything, so such a session
expires ``TICTAC_IDLE_SESSION_SECONDS`` (a day) after the page made it;
``keep`` gives one that took a seat or chatted ``SESSION_COOKIE_AGE`` (a
year). ``manage.py clearsessions`` deletes the expired rows (README,
Operations).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils.module_loading import import_string

PLAYER_NAME_KEY = "player_name"
"""The session's entry for the name its visitor last played under: quick play asks for it once."""

# Set by keep(): the browser still holds the day-long cookie, so the next page view sends it again.
_RENEW_COOKIE = "renew_cookie"


def is_stored(session: SessionBase) -> bool:
    """Whether ``session`` names a session the store holds and that has not expired.

    It reads the session (once; later reads use what it read): Django's stores
    drop a key they do not hold as they read it, so the key is then None.
    """
    if not session.session_key:
        return False
    session.keys()  # the read
    return session.session_key is not None


def start_idle(session: SessionBase) -> None:
    """Make a new visitor's ``session`` expire after the idle age (call before its first save)."""
    session.set_expiry(settings.TICTAC_IDLE_SESSION_SECONDS)


def keep(session_key: str) -> None:
    """Give the session ``session_key`` the normal age, because it took a seat or chatted.

    Synchronous (one read, and one write the first time only); a key with no live
    session is ignored.
    """
    store_class: type[SessionBase] = import_string(settings.SESSION_ENGINE).SessionStore
    session = store_class(session_key)
    if "_session_expiry" not in session:  # already kept, an admin's, or no such session
        return
    session.set_expiry(None)
    session[_RENEW_COOKIE] = True
    session.save()


def renew_cookie_if_kept(session: SessionBase) -> None:
    """Have this response resend the cookie with the full age if ``keep`` ran since it was set."""
    if session.get(_RENEW_COOKIE):
        del session[_RENEW_COOKIE]  # marks the session modified: the middleware saves it and sets the cookie
