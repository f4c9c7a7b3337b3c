"""One configured database: its engine (a connection pool), its health, and running a statement.

The engine is created on first use (normally by `start()`); creating it opens no connection.
`status` reflects the last thing learnt about the database: the start-up `SELECT 1`, then every
call, so a database that was down at start shows READY once it answers again.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from orkestra.errors import RequestError, SourceError, SourceUnavailable
from orkestra.secrets import Redactor
from orkestra.sources.base import ComponentState, ComponentStatus
from orkestra.sources.database import failures
from orkestra.sources.database.config import DatabaseSourceConfig, ResultMode
from orkestra.sources.database.results import shape_result
from orkestra.sources.database.urls import (
    ConnectionStringError,
    check_driver,
    is_memory_sqlite,
    resolve_url,
)

START_PROBE_TIMEOUT = 5.0  # seconds; start() must not hang on an unreachable host
_PROBE = text("SELECT 1")


class DatabasePool:
    def __init__(
        self, db_id: str, config: DatabaseSourceConfig, project_root: Path, secrets: frozenset[str]
    ) -> None:
        self.db_id = db_id
        self.config = config
        self._engine: AsyncEngine | None = None
        self._closed = False
        self._url: URL | None = None
        self._url_problem: str | None = None
        hidden = set(secrets)
        try:
            self._url = resolve_url(config.connection_string, project_root)
            if self._url.password:
                password = str(self._url.password)
                hidden |= {password, quote(password, safe=""), quote_plus(password)}
        except ConnectionStringError as exc:
            self._url_problem = str(exc)
        self._secrets = Redactor(hidden)
        self.status = ComponentStatus(ComponentState.STARTING)

    def problem(self) -> str | None:
        """Why this database cannot be used at all (bad URL, missing driver), or None."""
        if self._url_problem is not None:
            return self._url_problem
        assert self._url is not None
        try:
            check_driver(self._url)
        except ConnectionStringError as exc:
            return str(exc)
        return None

    def quote_identifier(self, name: str) -> str:
        """`name` as this database's dialect writes an identifier: quoted only when it must be
        (reserved words, capitals on PostgreSQL)."""
        if self._url is None:
            return name
        dialect = self._url.get_dialect()()
        return str(dialect.identifier_preparer.quote(name))

    async def start(self) -> None:
        try:
            self._engine_for(self.db_id)
        except SourceUnavailable:
            return  # status already says why
        try:
            await self.run(
                _PROBE, {}, "scalar", START_PROBE_TIMEOUT, source=self.db_id, what="start-up check"
            )
        except SourceError:
            pass  # recorded in status; calls report their own errors

    async def close(self) -> None:
        self._closed = True
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()
        self.status = ComponentStatus(ComponentState.STOPPED)

    async def run(
        self,
        clause: Executable,
        values: Mapping[str, Any],
        mode: ResultMode,
        timeout: float | None,
        *,
        source: str,
        what: str,
    ) -> Any:
        """Run one statement in its own transaction (committed on success) and shape its rows."""
        engine = self._engine_for(source)
        connected = False
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline, engine.connect() as conn:
                connected = True
                async with conn.begin():
                    result = await conn.execute(clause, dict(values))
                    out = shape_result(result, mode)
        except PoolTimeoutError:
            raise failures.pool_exhausted(source, self.db_id, self.config.pool_timeout) from None
        except OverflowError:
            # a number the driver cannot bind (SQLite: beyond 64 bits): the request's fault
            raise RequestError(
                f"source '{source}': a parameter value is out of range for the database", 422
            ) from None
        except TimeoutError:
            if not deadline.expired():  # the driver's own timeout (connect_args), not ours
                if not connected:
                    raise self._unreachable(source, "connection attempt timed out") from None
                self._set(ComponentState.FAILED, "connection lost: the driver timed out")
                raise failures.statement_failed(
                    source, self.db_id, what, "the driver timed out", lost=True
                ) from None
            assert timeout is not None
            if not connected:
                # waiting for a pooled connection or for the server to accept one: either way
                # the statement never ran
                raise failures.no_connection_in_time(source, self.db_id, timeout) from None
            raise failures.timed_out(source, self.db_id, what, timeout) from None
        except (DBAPIError, OSError) as exc:
            retyped = _numbers_for_typed_arguments(exc, values)
            if retyped is not None:
                return await self.run(clause, retyped, mode, timeout, source=source, what=what)
            reason = self._reason(exc, values)
            if not connected:
                raise self._unreachable(source, reason) from None
            lost = not isinstance(exc, DBAPIError) or exc.connection_invalidated
            if lost:
                self._set(ComponentState.FAILED, f"connection lost: {reason}")
            raise failures.statement_failed(source, self.db_id, what, reason, lost=lost) from None
        except SQLAlchemyError as exc:
            reason = self._reason(exc, values)
            raise failures.statement_failed(source, self.db_id, what, reason, lost=False) from None
        self._set(ComponentState.READY)
        return out

    def _engine_for(self, source: str) -> AsyncEngine:
        if self._engine is not None:
            return self._engine
        if self._closed:
            raise SourceUnavailable(source, f"database '{self.db_id}' is closed")
        problem = self.problem()
        if problem is not None:
            self._set(ComponentState.FAILED, problem)
            raise SourceUnavailable(source, f"database '{self.db_id}' unavailable: {problem}")
        assert self._url is not None
        self._engine = create_async_engine(self._url, **self._engine_options())
        return self._engine

    def _engine_options(self) -> dict[str, Any]:
        cfg = self.config
        options: dict[str, Any] = {
            "echo": cfg.echo,
            "hide_parameters": True,  # bound values stay out of logs and SQLAlchemy's messages
            "connect_args": dict(cfg.connect_args),
            "pool_recycle": cfg.pool_recycle,
        }
        assert self._url is not None
        if not is_memory_sqlite(self._url):
            # An in-memory SQLite database lives in one connection (StaticPool): no pool to size.
            options.update(
                pool_size=cfg.pool_size,
                max_overflow=cfg.max_overflow,
                pool_timeout=cfg.pool_timeout,
            )
        return options

    def _reason(self, exc: BaseException, values: Mapping[str, Any]) -> str:
        return self._secrets.text(failures.mask_values(failures.short_reason(exc), values))

    def _unreachable(self, source: str, reason: str) -> SourceError:
        self._set(ComponentState.FAILED, reason)
        return failures.unavailable(source, self.db_id, reason)

    def _set(self, state: ComponentState, error: str | None = None) -> None:
        if self._closed:
            return
        details = {"driver": self._url.drivername} if self._url is not None else {}
        self.status = ComponentStatus(state, error, details)


def _numbers_for_typed_arguments(
    exc: BaseException, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Values from URLs are text; PostgreSQL (asyncpg) refuses '42' for an INT parameter before
    the statement runs. Then, and only then, numeric strings are sent again as numbers, so that
    `WHERE id = :id` with `$request.path_params.id` works as it does on SQLite and MariaDB."""
    if "invalid input for query argument" not in str(getattr(exc, "orig", exc)):
        return None
    changed = False
    out: dict[str, Any] = {}
    for key, value in values.items():
        number = _as_number(value) if isinstance(value, str) else None
        if number is not None:
            changed = True
            out[key] = number
        elif isinstance(value, list) and any(
            isinstance(v, str) and _as_number(v) is not None for v in value
        ):
            changed = True
            out[key] = [
                n if (n := _as_number(v) if isinstance(v, str) else None) is not None else v
                for v in value
            ]
        else:
            out[key] = value
    return out if changed else None


def _as_number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
