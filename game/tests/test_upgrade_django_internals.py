"""What tictac uses of Django beyond its public API, checked against the installed release.

Run this first when Django moves to another release series, then change the
WRITTEN_FOR of the modules named here (tictac.servers.written_for stops the
server until then): game/storage/compiled_reads.py (a compiler's private
parts), game/storage/cached_games.py (models rebuilt without __init__),
game/storage/session_store.py (the database store's private read) and
tictac/servers/one_thread.py (a copy of ASGIHandler.__call__).
"""

from __future__ import annotations

import inspect
import textwrap

import pytest
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import SessionBase
from django.core.handlers.asgi import ASGIHandler
from django.db import connection
from django.db.models.base import ModelState
from django.test.utils import CaptureQueriesContext

from game.actions import rooms, seating, write
from game.actions.identities import Identity
from game.models import Game
from game.storage import cached_games, compiled_reads, session_store
from tictac.servers import one_thread

pytestmark = pytest.mark.django_db

# Django 5.2's ASGIHandler.__call__, which one_thread's handler repeats less `async with ThreadSensitiveContext()`.
COPIED_CALL = '''
async def __call__(self, scope, receive, send):
    """
    Async entrypoint - parses the request and hands off to get_response.
    """
    # Serve only HTTP connections.
    # FIXME: Allow to override this.
    if scope["type"] != "http":
        raise ValueError(
            "Django can only handle ASGI/HTTP connections, not %s." % scope["type"]
        )

    async with ThreadSensitiveContext():
        await self.handle(scope, receive, send)
'''


def test_every_module_here_is_written_for_the_installed_django() -> None:
    import django

    installed = ".".join(str(part) for part in django.VERSION[:2])
    for module in (compiled_reads, cached_games, session_store, one_thread):
        assert module.WRITTEN_FOR["django"] == installed, module.__file__


def test_the_asgi_handlers_call_is_still_the_one_one_thread_copied() -> None:
    assert textwrap.dedent(inspect.getsource(ASGIHandler.__call__)).strip() == COPIED_CALL.strip()
    assert inspect.getsource(one_thread.OneThreadASGIHandler.__call__).count("await self.handle(") == 1


def test_a_compiler_still_describes_its_select_as_compiled_reads_reads_it() -> None:
    queryset = Game.objects.select_related("room", "player_x").filter(room__code="abcd")
    compiler = queryset.query.get_compiler(using="default")
    compiler.as_sql()
    info = compiler.klass_info
    assert info is not None
    assert {"model", "select_fields", "related_klass_infos"} <= set(info)
    assert not compiler.annotation_col_map
    related = info["related_klass_infos"]
    assert {"model", "select_fields", "local_setter", "remote_setter", "reverse"} <= set(related[0])
    assert all(hasattr(column.target, "attname") for column, _, _ in compiler.select)
    assert isinstance(compiler.get_converters([column for column, _, _ in compiler.select]), dict)


def test_a_model_rebuilt_without_init_reads_its_related_objects_from_its_fields_cache() -> None:
    room = rooms.create_room(name="Cached")
    seating.join(room, Identity(session_key="k" * 32), "alice")
    game = write.current_game(room)
    assert isinstance(game._state, ModelState)
    assert isinstance(game._state.fields_cache, dict)
    rebuilt = Game.__new__(Game)
    rebuilt.__dict__ = {key: value for key, value in game.__dict__.items() if key != "_state"}
    rebuilt._state = ModelState()
    rebuilt._state.adding, rebuilt._state.db = False, game._state.db
    rebuilt._state.fields_cache = {"room": room, "player_x": game.player_x, "player_o": None}
    with CaptureQueriesContext(connection) as queries:
        assert rebuilt.room is room
        assert rebuilt.player_x is game.player_x
        assert rebuilt.player_o is None
    assert len(queries) == 0


def test_the_database_session_store_still_loads_through_get_session_from_db() -> None:
    assert "self._get_session_from_db()" in inspect.getsource(db.SessionStore.load)
    assert "no_load" in inspect.signature(SessionBase._get_session).parameters
    store = session_store.SessionStore()
    store["visitor"] = True
    store.save()
    again = session_store.SessionStore(store.session_key)
    assert again.load() == {"visitor": True}
    unknown = session_store.SessionStore("x" * 32)
    assert unknown.load() == {}
    assert unknown._session_key is None  # forgotten, as Django's own read forgets it
