"""Who is behind a request or a socket: the session's Player, never what the client says."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from channels.db import database_sync_to_async
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import SessionBase

from game.domain.protocol import DEFAULT_NAME, NAME_MAX_LENGTH
from game.models import (
    Player,
    session_hash,
)
from game.storage import session_lifetime


@dataclass(frozen=True)
class Identity:
    """Who is behind a socket, as far as the server knows: never what the client says."""

    session_key: str | None
    user_id: int | None = None
    player_id: int | None = None
    player_name: str | None = None
    user_name: str | None = None
    """The signed-in user's username: a Player made for them is named after it unless they type a name."""

    @cached_property
    def session_hash(self) -> str | None:
        """What the server keeps and shares about the session (Player rows, presence): never the key itself."""
        return None if self.session_key is None else session_hash(self.session_key)


# The session's Player id, written before a sign-in rotates the session key (game.web.account_views):
# session data survives the rotation, the key and so its hash do not.
PLAYER_SESSION_KEY = "tictac_player_id"


def identify(session: SessionBase, new: bool = False) -> Identity:
    """The identity of a request or socket's session; a key not in the store (or expired) counts as none.

    A session whose key was rotated (a sign-in) finds its Player again by the id it
    remembered, and moves that Player, seat and all, to the new key. A ``new``
    session, stored by this request, has no Player yet.
    """
    if not session_lifetime.is_stored(session):
        return Identity(session_key=None)
    session_key = session.session_key
    assert session_key is not None
    auth_user_id = session.get(SESSION_KEY)
    if new:
        return Identity(session_key=session_key)
    user_id = int(auth_user_id) if auth_user_id else None
    user_name = None
    if user_id is not None:
        user_name = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
    player = Player.objects.filter(session_hash=session_hash(session_key)).only("id", "name", "user_id").first()
    if player is None and session.get(PLAYER_SESSION_KEY):
        player = _rekeyed_player(session[PLAYER_SESSION_KEY], session_hash(session_key), user_id, user_name)
    return Identity(
        session_key=session_key,
        user_id=user_id,
        player_id=player.id if player else None,
        player_name=player.name if player else None,
        user_name=user_name,
    )


def _rekeyed_player(player_id: int, new_hash: str, user_id: int | None, user_name: str | None) -> Player | None:
    """The remembered Player, moved to the session's new key and given its user (and their name, unless typed)."""
    player = Player.objects.filter(pk=player_id).only("id", "name", "user_id").first()
    if player is None or (player.user_id is not None and player.user_id != user_id):
        return None  # someone else's player: a different account signed in on this browser
    player.session_hash = new_hash
    if user_id is not None and player.user_id is None:
        player.user_id = user_id
        if player.name == DEFAULT_NAME and user_name:
            player.name = user_name[:NAME_MAX_LENGTH]
    player.save(update_fields=["session_hash", "user", "name"])
    return player


aidentify = database_sync_to_async(identify)
