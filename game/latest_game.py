"""The read every room action starts from, compiled once: a room's latest game with both seats' players.

``Game.objects.select_related("player_x", "player_o").filter(room=…)
.order_by("-number").first()`` spends almost all of its time in Django's
query compiler, not in the database: on this project's 2-core machine
1.3 ms a call against 0.1 ms for the same SQL run directly, and a page
view, a socket's connect and a seat each make one (docs/performance.md).
:func:`read_latest_game` runs the SQL Django compiles for that query,
compiled once per database alias, and builds the same objects from each
row, through the same converters (SQLite's text datetimes, JSON fields),
as Django's own iterator would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model

from .models import Game, Player

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class _Columns:
    """Where one model's columns sit in the row, and how to turn each value into the field's."""

    model: type[Model]
    names: list[str]
    start: int
    converters: list[tuple[int, list[tuple[Converter, Any]]]]

    def build(self, alias: str, row: tuple[Any, ...]) -> Model | None:
        values = list(row[self.start : self.start + len(self.names)])
        if values[0] is None:  # the primary key: an empty seat's LEFT JOIN
            return None
        connection = connections[alias]
        for index, field_converters in self.converters:
            for convert, expression in field_converters:
                values[index] = convert(values[index], expression, connection)
        return self.model.from_db(alias, self.names, values)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    game: _Columns
    player_x: _Columns
    player_o: _Columns


def _columns(model: type[Model], alias: str, table_alias: str, start: int) -> _Columns:
    connection = connections[alias]
    fields: list[Field[Any, Any]] = list(model._meta.concrete_fields)
    converters = []
    for index, field in enumerate(fields):
        expression = field.get_col(table_alias)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if found:
            converters.append((index, [(convert, expression) for convert in found]))
    return _Columns(model, [field.attname for field in fields], start, converters)


def _compile(alias: str) -> _Compiled:
    quote = connections[alias].ops.quote_name
    game = _columns(Game, alias, "g", 0)
    player_x = _columns(Player, alias, "px", len(game.names))
    player_o = _columns(Player, alias, "po", len(game.names) + len(player_x.names))

    def select(table_alias: str, model: type[Model]) -> str:
        return ", ".join(f"{table_alias}.{quote(field.column)}" for field in model._meta.concrete_fields)

    player_table = quote(Player._meta.db_table)
    sql = (
        f"SELECT {select('g', Game)}, {select('px', Player)}, {select('po', Player)}"
        f" FROM {quote(Game._meta.db_table)} g"
        f" LEFT OUTER JOIN {player_table} px ON (g.{quote('player_x_id')} = px.{quote('id')})"
        f" LEFT OUTER JOIN {player_table} po ON (g.{quote('player_o_id')} = po.{quote('id')})"
        f" WHERE g.{quote('room_id')} = %s ORDER BY g.{quote('number')} DESC LIMIT 1"
    )
    return _Compiled(sql, game, player_x, player_o)


class CompiledStatements:
    """Per database alias, the statement and the row's layout, compiled on first use.

    They never change while the process runs. Two threads that compile the
    same alias at once store equal values, so no lock is needed.
    """

    def __init__(self) -> None:
        self._by_alias: dict[str, _Compiled] = {}

    def for_alias(self, alias: str) -> _Compiled:
        compiled = self._by_alias.get(alias)
        if compiled is None:
            compiled = self._by_alias[alias] = _compile(alias)
        return compiled

    def reset(self) -> None:
        """Hold nothing, as a new process: the next read compiles again (the tests start each from here)."""
        self._by_alias.clear()


compiled_statements = CompiledStatements()
"""The process's one set of compiled statements."""


def read_latest_game(room_id: int) -> Game | None:
    """The room's latest game with ``player_x`` and ``player_o`` loaded (None for an empty seat), or None."""
    alias = router.db_for_read(Game)
    compiled = compiled_statements.for_alias(alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(compiled.sql, [room_id])
        row = cursor.fetchone()
    if row is None:
        return None
    game = compiled.game.build(alias, row)
    assert isinstance(game, Game)
    # Assigning sets both the cached object and the key, as select_related would.
    game.player_x = compiled.player_x.build(alias, row)  # type: ignore[assignment]
    game.player_o = compiled.player_o.build(alias, row)  # type: ignore[assignment]
    return game
