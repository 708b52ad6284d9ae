"""Reads a crowd makes for every visitor, with their SQL compiled once.

Django's ORM builds a query's SQL on every call, and for the small reads a
visitor's page and socket make that is nearly all the cost: on this
project's 2-core machine a room looked up by its code took 0.5-0.9 ms
through the ORM and 0.06 ms as the same SQL run directly
(docs/performance.md). A :class:`CompiledRead` asks the ORM for a
queryset's SQL once per database alias, then runs that SQL with each call's
values and builds the model objects from the rows through Django's own
converters, as the queryset's iterator would. ``test_compiled_reads.py``
checks each read against its queryset: the same SQL parameters and the same
objects, field for field.

Only querysets whose SQL does not depend on the values belong here (no
``None`` that turns ``=`` into ``IS NULL``, no lists that change an ``IN``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Field, Model, QuerySet

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class _Statement:
    sql: str
    names: list[str]
    """The attribute name of each selected column, in row order."""
    converters: list[tuple[int, list[Converter], Any]]
    """(column, its converters, the expression they are called with), for the columns that have any."""


class CompiledRead(Generic[M]):
    """``queryset(*values)``'s SQL, compiled once per database alias and run with new values.

    ``fields`` names the model field that prepares each value for the
    database, in the order the SQL takes them (a test checks that order
    against Django's own parameters); ``example`` is any one set of values,
    to compile the SQL with, and to check once, as it is compiled, that
    ``fields`` prepare them as Django does, in its order (so give each a
    different value).
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
        # Per alias; what a model's SQL is never changes while the process runs.
        self._statements: dict[str, _Statement] = {}

    def first(self, *values: Any) -> M | None:
        """The first object the queryset would give for ``values``, or None."""
        rows = self.all(*values)
        return rows[0] if rows else None

    def all(self, *values: Any) -> list[M]:
        alias = router.db_for_read(self.model)
        statement = self._statement(alias)
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, self.parameters(alias, *values))
            rows = cursor.fetchall()
        return [self._build(alias, statement, row) for row in rows]

    def parameters(self, alias: str, *values: Any) -> list[Any]:
        """``values`` as the database takes them, each prepared by its field."""
        connection = connections[alias]
        return [field.get_db_prep_value(value, connection) for field, value in zip(self.fields, values, strict=True)]

    def sql(self, alias: str) -> str:
        return self._statement(alias).sql

    def _build(self, alias: str, statement: _Statement, row: tuple[Any, ...]) -> M:
        values = list(row)
        connection = connections[alias]
        for index, converters, expression in statement.converters:
            for convert in converters:
                values[index] = convert(values[index], expression, connection)
        return self.model.from_db(alias, statement.names, values)

    def _statement(self, alias: str) -> _Statement:
        statement = self._statements.get(alias)
        if statement is None:
            statement = self._statements[alias] = self._compile(alias)
        return statement

    def _compile(self, alias: str) -> _Statement:
        # Any values do: the SQL is the same for all (see the module's docstring).
        compiler = self.queryset(*self.example).query.get_compiler(using=alias)
        sql, parameters = compiler.as_sql()
        if list(parameters) != self.parameters(alias, *self.example):
            # Django orders a filter's keyword arguments by name, whatever order they were written in.
            raise ValueError(f"{self.fields} do not prepare the values in the order the SQL takes them: {parameters}")
        selected = compiler.select
        if compiler.annotation_col_map or (compiler.klass_info or {}).get("related_klass_infos"):
            raise ValueError("a compiled read selects one model's columns only")
        names = [column.target.attname for column, _, _ in selected]
        found = compiler.get_converters([column for column, _, _ in selected])
        converters = [(index, list(converters), expression) for index, (converters, expression) in found.items()]
        return _Statement(sql, names, converters)


def _concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field
