"""`database`: data sources that run a configured SQL operation on a pooled async engine."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orkestra.errors import BindError, SourceError
from orkestra.sources.base import (
    CallContext,
    ComponentStatus,
    Operation,
    SectionModel,
    SourceEnvironment,
    SourceType,
)
from orkestra.sources.database.config import (
    DatabaseOperationConfig,
    DatabaseSection,
    ResultMode,
)
from orkestra.sources.database.pool import DatabasePool
from orkestra.sources.database.statement import CompiledStatement, compile_statement

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec

log = logging.getLogger(__name__)

_RESULT_MODES: tuple[ResultMode, ...] = ("auto", "one", "many", "scalar")


class DatabaseOperation(Operation):
    def __init__(
        self,
        name: str,
        config: DatabaseOperationConfig,
        statement: CompiledStatement,
        pool: DatabasePool,
    ) -> None:
        self.name = name
        self.timeout = config.timeout
        self.idempotent = statement.read_only
        self._result = config.result
        self._statement = statement
        self._pool = pool

    async def call(self, params: Any, ctx: CallContext) -> Any:
        values = self._statement.bind_values(self._as_mapping(params, ctx))
        timeout = ctx.timeout if ctx.timeout is not None else self.timeout
        return await self._pool.run(
            self._statement.clause,
            values,
            self._result,
            timeout,
            source=ctx.source_name,
            what=f"operation '{self.name}'",
        )

    def _as_mapping(self, params: Any, ctx: CallContext) -> Mapping[str, Any]:
        if params is None:
            return {}
        if isinstance(params, Mapping):
            return params
        names = self._statement.param_names
        if len(names) == 1:  # `params: "$request.path_params.id"` for a one-parameter query
            return {names[0]: params}
        raise SourceError(
            ctx.source_name,
            f"operation '{self.name}' needs params as a mapping of {', '.join(names) or 'nothing'}"
            f", got {type(params).__name__}",
            retryable=False,
        )


class DatabaseSourceType(SourceType):
    """Pools are created by `start()` (connections open lazily) and disposed by `close()`."""

    type_name = "database"
    section_model = DatabaseSection

    def __init__(self, section: SectionModel, env: SourceEnvironment) -> None:
        super().__init__(section, env)
        if not isinstance(section, DatabaseSection):
            raise TypeError(
                f"the database source type needs a DatabaseSection, not {type(section).__name__}"
            )
        self.config = section
        # Relative SQLite paths resolve against the project root: `orkestra init` keeps the config
        # in ./config and the data in ./data, and writes `sqlite:///data/app.db`.
        project_root = env.config_dir.parent
        self._pools = {
            db_id: DatabasePool(db_id, cfg, project_root, env.secrets)
            for db_id, cfg in self.config.sources.items()
        }

    def source_ids(self) -> list[str]:
        return sorted(self._pools)

    def quote_identifier(self, source_id: str, name: str) -> str:
        """`name` quoted for database `source_id`'s dialect, for SQL built from validated config
        names (the Feast fallback's table and columns). KeyError for an unknown source_id."""
        return self._pools[source_id].quote_identifier(name)

    def bind(self, spec: DataSourceSpec) -> Operation:
        operations = self.config.operations
        name = spec.operation
        if name is None or name not in operations:
            known = ", ".join(sorted(operations)) or "none are configured"
            what = "needs an `operation`" if name is None else f"names unknown operation '{name}'"
            raise BindError(f"database data source {what}; known operations: {known}", "operation")
        op = operations[name]
        db_id = op.source_id or spec.source_id
        if op.source_id and "source_id" in spec.model_fields_set and spec.source_id != op.source_id:
            log.warning(
                "data source '%s': operation '%s' runs on database '%s', not source_id '%s'",
                spec.name,
                name,
                op.source_id,
                spec.source_id,
            )
        pool = self._pool_for_bind(db_id, name)
        statement = _compile(op.query)
        _check_params(name, op.params, statement)
        return DatabaseOperation(name, op, statement, pool)

    def _pool_for_bind(self, db_id: str, operation: str) -> DatabasePool:
        pool = self._pools.get(db_id)
        if pool is None:
            known = ", ".join(sorted(self._pools)) or "none are configured"
            raise BindError(
                f"operation '{operation}' runs on database '{db_id}', which is not configured; "
                f"configured databases: {known}",
                "source_id",
            )
        problem = pool.problem()
        if problem is not None:
            raise BindError(f"database '{db_id}': {problem}", "source_id")
        return pool

    async def execute(
        self,
        source_id: str,
        query: str,
        params: Mapping[str, Any],
        result: str = "many",
        timeout: float | None = None,
    ) -> Any:
        """Run trusted SQL (from config, never from a request) on database `source_id`, with the
        binding and shaping rules of an operation. `timeout=None`: no bound of its own."""
        pool = self._pools.get(source_id)
        if pool is None:
            raise SourceError(source_id, f"database '{source_id}' is not configured")
        if result not in _RESULT_MODES:
            raise ValueError(f"result must be one of {', '.join(_RESULT_MODES)}, not {result!r}")
        statement = _compile(query)
        values = statement.bind_values(params)
        return await pool.run(
            statement.clause, values, result, timeout, source=source_id, what="query"
        )

    async def start(self) -> None:
        await asyncio.gather(*(pool.start() for pool in self._pools.values()))

    async def close(self) -> None:
        await asyncio.gather(*(pool.close() for pool in self._pools.values()))

    def status(self) -> dict[str, ComponentStatus]:
        return {db_id: pool.status for db_id, pool in self._pools.items()}


@functools.lru_cache(maxsize=512)
def _compile(sql: str) -> CompiledStatement:
    # Statements are immutable; operations and fallbacks with the same SQL share one.
    return compile_statement(sql)


def _check_params(operation: str, declared: list[str] | None, statement: CompiledStatement) -> None:
    if declared is None:
        return
    in_query = set(statement.param_names)
    problems = []
    if undeclared := sorted(in_query - set(declared)):
        problems.append(f"the query uses {_names(undeclared)} but `params` does not list them")
    if unused := sorted(set(declared) - in_query):
        problems.append(
            f"`params` lists {_names(unused)} but the query has no placeholder for them"
        )
    if problems:
        raise BindError(f"operation '{operation}': {'; '.join(problems)}", "operation")


def _names(names: list[str]) -> str:
    return ", ".join(f":{n}" for n in names)
