"""`database_fallback`: fill the values Feast has not got from a table, through the database type.

One SELECT serves every entity of a read (`WHERE key IN :keys`, which the database type expands
into bound values). Table and column names were checked to be plain identifiers when the config
loaded, and are quoted for the database's dialect where it needs it (reserved words, capitals).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from orkestra.sources.feast.config import DatabaseFallbackSpec

FEAST = "feast"
DATABASE = "database"

Origins = list[dict[str, str | None]]  # per entity: ref -> "feast" | "database" | None


@runtime_checkable
class SqlExecutor(Protocol):
    """What the fallback needs of `orkestra.sources.database:DatabaseSourceType`."""

    async def execute(
        self,
        source_id: str,
        query: str,
        params: Mapping[str, Any],
        result: str = "many",
        timeout: float | None = None,
    ) -> Any: ...


def identifier_quoter(db: SqlExecutor, source_id: str) -> Callable[[str], str]:
    """How database `source_id` wants identifiers written: the database type's own answer if it
    has one, else SQLAlchemy's rule for the dialect of its connection string (quote only names
    that need it), else the validated name as it is."""
    own = getattr(db, "quote_identifier", None)
    if callable(own):
        return lambda name: str(own(source_id, name))
    sources = getattr(getattr(db, "section", None), "sources", None)
    config = sources.get(source_id) if isinstance(sources, Mapping) else None
    connection_string = getattr(config, "connection_string", None)
    if isinstance(connection_string, str):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            dialect = make_url(connection_string).get_dialect()()
        except ArgumentError:  # an unknown dialect: the plain identifier is still safe SQL
            return lambda name: name
        return lambda name: str(dialect.identifier_preparer.quote(name))
    return lambda name: name


class DatabaseFallback:
    def __init__(self, spec: DatabaseFallbackSpec) -> None:
        self.spec = spec
        self._sql: str | None = None

    def query(self, db: SqlExecutor) -> str:
        """The SELECT, built on first use (the database type is started by then)."""
        if self._sql is None:
            quote = identifier_quoter(db, self.spec.source_id)
            table = ".".join(quote(part) for part in self.spec.table.split("."))
            key = quote(self.spec.entity_key)
            columns = ", ".join(quote(c) for c in dict.fromkeys(self.spec.mapping.values()))
            self._sql = f"SELECT {key}, {columns} FROM {table} WHERE {key} IN :keys"
        return self._sql

    async def fill(
        self,
        db: SqlExecutor,
        keys: Sequence[Any],
        values: dict[str, list[Any]],
        timeout: float | None,
    ) -> Origins:
        """Fill None values of mapped refs in place; return where each value came from."""
        origins: Origins = [
            {ref: FEAST if column[i] is not None else None for ref, column in values.items()}
            for i in range(len(keys))
        ]
        mapping = {ref: col for ref, col in self.spec.mapping.items() if ref in values}
        missing = [i for i in range(len(keys)) if any(values[ref][i] is None for ref in mapping)]
        if not missing:
            return origins
        wanted = list(dict.fromkeys(keys[i] for i in missing))
        rows = await db.execute(
            self.spec.source_id, self.query(db), {"keys": wanted}, result="many", timeout=timeout
        )
        # Keys are matched by their text, so "3" from a path param finds the INTEGER 3.
        by_key = {str(row[self.spec.entity_key]): row for row in rows or []}
        for i in missing:
            row = by_key.get(str(keys[i]))
            if row is None:
                continue
            for ref, column in mapping.items():
                if values[ref][i] is None and row.get(column) is not None:
                    values[ref][i] = row[column]
                    origins[i][ref] = DATABASE
        return origins
