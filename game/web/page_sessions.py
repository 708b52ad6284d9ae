"""The session a page gives its visitor: made once, kept, and the name they last played under."""

from __future__ import annotations

from django.http import HttpRequest

from game.actions import identities
from game.realtime import budgets
from game.storage import session_lifetime
from game.web.access import client_address


def store_session(request: HttpRequest, *, within: str | None = None) -> bool:
    """Give the visitor a stored session (their identity) if they have none yet; whether this request made it.

    The check reads the session once: a key the store does not hold (or that
    expired) is dropped by that read (game.storage.session_lifetime.is_stored). With
    ``within``, a per-address budget, a new session is made only while the
    visitor's address has some of it left.
    """
    session = request.session
    if session_lifetime.is_stored(session):
        session_lifetime.renew_cookie_if_kept(session)
        return False
    if within is not None and not budgets.spend_blocking(within, client_address(request)):
        return False
    session["visitor"] = True
    session_lifetime.start_idle(session)
    session.save()
    return True


def ensure_session(request: HttpRequest) -> identities.Identity:
    """The visitor's identity, giving them a stored session first if they have none."""
    made = store_session(request)
    return identities.identify(request.session, new=made)


def stored_session(request: HttpRequest) -> identities.Identity | None:
    """The visitor's stored session as an identity that knows only its key, or None; it makes none."""
    if not session_lifetime.is_stored(request.session):
        return None
    return identities.Identity(session_key=request.session.session_key)


# The name a visitor last played under, kept in their session so quick play asks only once.
NAME_SESSION_KEY = session_lifetime.PLAYER_NAME_KEY


def remembered_name(request: HttpRequest, typed: str | None = None) -> str | None:
    """``typed`` if the visitor gave a name (and remember it), else the one they gave before."""
    if typed:
        request.session[NAME_SESSION_KEY] = typed
        return typed
    name: str | None = request.session.get(NAME_SESSION_KEY)
    return name
