"""ORM subqueries compiled once per process, then bound to other ids.

Django resolves and compiles a queryset again on every use. For the review
page's correlated counts and checks (is the overlap plan open, has this
reviewer decided) that costs ~1-3 ms of Python per subquery per request,
several times the database's own time. A `CompiledSubquery` keeps the SQL the
ORM wrote for it, with the same bound parameters, and swaps in the ids of the
request: the SQL still comes from the ORM, and every value is still a bound
parameter.

Only integer ids are re-bound: the query is compiled with sentinel ids, and
the positions where they come back are the ones filled in later. Values that
database backends prepare at compile time (datetimes on SQLite, say) would
not come back as given, so they are not parameters here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BooleanField, Field, IntegerField, QuerySet
from django.db.models.expressions import RawSQL

# Far from any real id; one per parameter name.
_SENTINEL = -7_316_204_000


class CompiledSubquery:
    """`build(**ids)` returns a queryset; `sql(**ids)` its SQL and parameters."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *names: str) -> None:
        self.build = build
        self.names = names
        self._compiled: dict[str, tuple[str, list[Any], list[str | None]]] = {}

    def sql(self, **ids: int) -> tuple[str, list[Any]]:
        vendor = connections[DEFAULT_DB_ALIAS].vendor
        compiled = self._compiled.get(vendor)
        if compiled is None:
            compiled = self._compiled[vendor] = self._compile()
        sql, params, slots = compiled
        bound = [
            param if name is None else int(ids[name])
            for param, name in zip(params, slots, strict=True)
        ]
        return sql, bound

    def rows(self, **ids: int) -> list[tuple[Any, ...]]:
        """The query's rows for these ids, read without the ORM."""
        sql, params = self.sql(**ids)
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _compile(self) -> tuple[str, list[Any], list[str | None]]:
        sentinels = {name: _SENTINEL - i for i, name in enumerate(self.names)}
        by_value = {value: name for name, value in sentinels.items()}
        sql, params = self.build(**sentinels).query.sql_with_params()
        slots = [
            by_value.get(param) if type(param) is int else None for param in params
        ]
        missing = set(self.names) - set(slots)
        if missing:
            raise ValueError(f"{sorted(missing)} not bound in the compiled query")
        return sql, list(params), slots

    def column(
        self, template: str = "(%s)", output_field: Field | None = None, **ids: int
    ) -> RawSQL:
        """The subquery as an annotation: `template` wraps it (EXISTS, COUNT)."""
        sql, params = self.sql(**ids)
        return RawSQL(  # noqa: S611 - ORM-compiled SQL; values stay parameters
            template % sql, params, output_field=output_field or IntegerField()
        )

    def exists(self, **ids: int) -> RawSQL:
        return self.column("EXISTS(%s)", BooleanField(), **ids)

    def count(self, **ids: int) -> RawSQL:
        return self.column("(SELECT COUNT(*) FROM (%s) AS counted)", **ids)
