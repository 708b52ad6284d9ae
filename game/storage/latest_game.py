"""The read every room action starts from: a room's latest game with both seats' players.

Every page view, socket connect, seat and presence note makes it, so its
SQL is compiled once (game.storage.compiled_reads): through the ORM it cost 1.3 ms
a call on this project's 2-core machine, compiled 0.24 ms
(docs/performance.md). ``test_latest_game.py`` compares what it builds
with Django's own query, field for field.
"""

from __future__ import annotations

from game.models import Game
from game.storage.compiled_reads import CompiledRead

_LATEST_GAME = CompiledRead(
    Game,
    lambda room_id: Game.objects.select_related("player_x", "player_o").filter(room_id=room_id).order_by("-number")[:1],
    ("room",),
    (1,),
)


def read_latest_game(room_id: int) -> Game | None:
    """The room's latest game with ``player_x`` and ``player_o`` loaded (None for an empty seat), or None."""
    return _LATEST_GAME.first(room_id)
