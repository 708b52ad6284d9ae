"""The reads every visitor and every action make, with their SQL compiled once.

Django's ORM builds a query's SQL on every call, and for the small reads a
room page, a socket's connect and a seat make, that is nearly all the cost:
on this project's 2-core machine a room looked up by its code took
0.5-0.9 ms through the ORM and 0.06 ms as the same SQL run directly, a
room's latest game with its players 1.3 ms against 0.24 ms
(docs/performance.md). A :class:`CompiledRead` asks the ORM for a
queryset's SQL once per database alias, then runs that SQL with each call's
values and builds the model objects (and the ones ``select_related`` names)
from the rows through Django's own converters, as the queryset's iterator
would. ``test_compiled_reads.py`` and ``test_latest_game.py`` check each
read against its queryset, field for field.

Only querysets whose SQL does not depend on the values belong here (no
``None`` that turns ``=`` into ``IS NULL``, no lists that change an ``IN``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from django.db import connections, router
from django.db.models import Field, Model, QuerySet

from game.storage.per_process import kept

WRITTEN_FOR: Final = {"django": "5.2"}
"""The releases this was written for, checked at start-up (tictac.servers.written_for);
game/tests/test_upgrade_django_internals.py checks what is used here."""

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class _Columns:
    """One model's columns in the row: where they are, their attribute names, where its key is."""

    model: type[Model]
    start: int
    names: list[str]
    key_index: int


@dataclass(frozen=True)
class _Related:
    """An object ``select_related`` loads with the row's own, and how it is attached."""

    columns: _Columns
    attach: Callable[[Model, Model | None], None]


@dataclass(frozen=True)
class _Statement:
    sql: str
    converters: list[tuple[int, list[Converter], Any]]
    """(column, its converters, the expression they are called with), for the columns that have any."""
    own: _Columns
    related: list[_Related]


class CompiledRead(Generic[M]):
    """``queryset(*values)``'s SQL, compiled once per database alias and run with new values.

    ``fields`` names the model field that prepares each value for the
    database, in the order the SQL takes them; ``example`` is any one set of
    values, to compile the SQL with and to check once, as it is compiled,
    that ``fields`` prepare them as Django does and in its order (so give
    each a different value). ``select_related`` may name forward foreign
    keys, one level deep.
    """

    def __init__(
        self,
        model: type[M],
        queryset: Callable[..., QuerySet[M]],
        fields: tuple[str, ...],
        example: tuple[Any, ...],
    ) -> None:
        self.model = model
        self.queryset = queryset
        self.fields = tuple(_concrete_field(model, name) for name in fields)
        self.example = example

    def first(self, *values: Any) -> M | None:
        """The first object the queryset would give for ``values``, or None."""
        found = self.all(*values)
        return found[0] if found else None

    def all(self, *values: Any) -> list[M]:
        alias = router.db_for_read(self.model)
        statement = compiled_statements.for_read(self, alias)
        with connections[alias].cursor() as cursor:
            cursor.execute(statement.sql, self.parameters(alias, *values))
            rows = cursor.fetchall()
        return [self._build(alias, statement, row) for row in rows]

    def parameters(self, alias: str, *values: Any) -> list[Any]:
        """``values`` as the database takes them, each prepared by its field."""
        connection = connections[alias]
        return [field.get_db_prep_value(value, connection) for field, value in zip(self.fields, values, strict=True)]

    def _build(self, alias: str, statement: _Statement, row: tuple[Any, ...]) -> M:
        values = list(row)
        connection = connections[alias]
        for index, converters, expression in statement.converters:
            for convert in converters:
                values[index] = convert(values[index], expression, connection)
        built = _instance(alias, statement.own, values)
        assert isinstance(built, self.model)
        for related in statement.related:
            related.attach(built, _instance(alias, related.columns, values))
        return built

    def compile(self, alias: str) -> _Statement:
        # Any values do: the SQL is the same for all (see the module's docstring).
        compiler = self.queryset(*self.example).query.get_compiler(using=alias)
        sql, parameters = compiler.as_sql()
        if list(parameters) != self.parameters(alias, *self.example):
            # Django orders a filter's keyword arguments by name, whatever order they were written in.
            raise ValueError(f"{self.fields} do not prepare the values in the order the SQL takes them: {parameters}")
        selected = compiler.select
        info = compiler.klass_info
        if compiler.annotation_col_map or info is None:
            raise ValueError("a compiled read selects whole model objects only")
        names = [column.target.attname for column, _, _ in selected]
        related = []
        for related_info in info.get("related_klass_infos", []):
            if related_info.get("related_klass_infos") or related_info["reverse"]:
                raise ValueError("a compiled read follows forward foreign keys one level deep only")
            local_setter, remote_setter = related_info["local_setter"], related_info["remote_setter"]

            def attach(
                owner: Model, value: Model | None, local: Any = local_setter, remote: Any = remote_setter
            ) -> None:
                local(owner, value)
                if value is not None:
                    remote(value, owner)

            related.append(_Related(_columns(related_info, names), attach))
        found = compiler.get_converters([column for column, _, _ in selected])
        converters = [(index, list(converters), expression) for index, (converters, expression) in found.items()]
        return _Statement(sql, converters, _columns(info, names), related)


def _columns(klass_info: dict[str, Any], names: list[str]) -> _Columns:
    model = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    own_names = names[start:end]
    return _Columns(model, start, own_names, own_names.index(model._meta.pk.attname))


def _instance(alias: str, columns: _Columns, values: list[Any]) -> Model | None:
    own = values[columns.start : columns.start + len(columns.names)]
    if own[columns.key_index] is None:  # an empty foreign key's LEFT JOIN
        return None
    return columns.model.from_db(alias, columns.names, own)


def _concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


class CompiledStatements:
    """Every compiled read's statement, per database alias, compiled on first use.

    They never change while the process runs. Two threads that compile the
    same one at once store equal values, so no lock is needed.
    """

    def __init__(self) -> None:
        self._statements: dict[tuple[CompiledRead[Any], str], _Statement] = {}

    def for_read(self, read: CompiledRead[Any], alias: str) -> _Statement:
        key = (read, alias)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = read.compile(alias)
        return statement

    def reset(self) -> None:
        """Hold nothing, as a new process: each read compiles again (the tests start each from here)."""
        self._statements.clear()


compiled_statements = kept(CompiledStatements())
"""The process's one set of compiled statements."""
