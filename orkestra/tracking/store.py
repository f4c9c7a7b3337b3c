"""Where execution records are kept: a bounded store behind a small async interface.

`MemoryStore` (the default) is a ring buffer of one process. `SqliteStore` and `RedisStore` keep
records across restarts and share them between workers; both trim to `max_records`.
Records arrive as the JSON-ready dicts of `ExecutionRecord.as_dict()`, already redacted.
"""

from __future__ import annotations

import abc
import asyncio
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

Record = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """A page of recent executions, newest first."""

    domain: str | None = None
    endpoint: str | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0

    def matches(self, record: Record) -> bool:
        return (
            (self.domain is None or record.get("domain") == self.domain)
            and (self.endpoint is None or record.get("endpoint") == self.endpoint)
            and (self.status is None or record.get("status") == self.status)
        )


class ExecutionStore(abc.ABC):
    """The plugin interface: add a batch, read one, read a page."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records

    @abc.abstractmethod
    async def add(self, records: list[Record]) -> None: ...

    @abc.abstractmethod
    async def get(self, execution_id: str) -> Record | None: ...

    @abc.abstractmethod
    async def list(self, query: Query) -> tuple[list[Record], int]:
        """The page and the number of matching records."""

    async def close(self) -> None:
        return None


class MemoryStore(ExecutionStore):
    def __init__(self, max_records: int) -> None:
        super().__init__(max_records)
        self._records: OrderedDict[str, Record] = OrderedDict()

    def add_now(self, record: Record) -> None:
        self._records[record["execution_id"]] = record
        while len(self._records) > self.max_records:
            self._records.popitem(last=False)

    async def add(self, records: list[Record]) -> None:
        for record in records:
            self.add_now(record)

    async def get(self, execution_id: str) -> Record | None:
        return self._records.get(execution_id)

    async def list(self, query: Query) -> tuple[list[Record], int]:
        matching = [r for r in reversed(self._records.values()) if query.matches(r)]
        return matching[query.offset : query.offset + query.limit], len(matching)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS orkestra_executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL UNIQUE,
    started_at REAL NOT NULL,
    domain TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS orkestra_executions_filter ON orkestra_executions (domain, endpoint, status);
"""


class SqliteStore(ExecutionStore):
    """One SQLite file (WAL mode, so several workers can write it). Calls run in a thread: the
    stdlib driver is synchronous and a batch is small."""

    def __init__(self, path: Path, max_records: int) -> None:
        super().__init__(max_records)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = asyncio.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=5.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def _add(self, records: list[Record]) -> None:
        rows = [
            (
                r["execution_id"],
                r["started_at"],
                r["domain"],
                r["endpoint"],
                r["status"],
                orjson.dumps(r),
            )
            for r in records
        ]
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO orkestra_executions"
                " (execution_id, started_at, domain, endpoint, status, record) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._conn.execute(
                "DELETE FROM orkestra_executions WHERE seq <= (SELECT MAX(seq) FROM orkestra_executions) - ?",
                (self.max_records,),
            )

    def _get(self, execution_id: str) -> Record | None:
        row = self._conn.execute(
            "SELECT record FROM orkestra_executions WHERE execution_id = ?", (execution_id,)
        ).fetchone()
        return None if row is None else _loads(row[0])

    def _list(self, query: Query) -> tuple[list[Record], int]:
        where, args = [], []
        for column in ("domain", "endpoint", "status"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = self._conn.execute(
            f"SELECT COUNT(*) FROM orkestra_executions{clause}", args
        ).fetchone()[0]
        rows = self._conn.execute(
            f"SELECT record FROM orkestra_executions{clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*args, query.limit, query.offset],
        ).fetchall()
        return [_loads(r[0]) for r in rows], int(total)

    async def _run(self, fn: Any, *args: Any) -> Any:
        async with self._lock:  # one connection: one statement at a time
            return await asyncio.to_thread(fn, *args)

    async def add(self, records: list[Record]) -> None:
        await self._run(self._add, records)

    async def get(self, execution_id: str) -> Record | None:
        found: Record | None = await self._run(self._get, execution_id)
        return found

    async def list(self, query: Query) -> tuple[list[Record], int]:
        page: tuple[list[Record], int] = await self._run(self._list, query)
        return page

    async def close(self) -> None:
        await self._run(self._conn.close)


class RedisStore(ExecutionStore):
    """A sorted set of ids by time plus one key per record, trimmed to `max_records`.

    Filters are applied to the newest `max_records` in Python: the set is bounded, and this keeps
    the store one structure rather than one index per filter."""

    def __init__(self, url: str, prefix: str, max_records: int) -> None:
        super().__init__(max_records)
        from orkestra.extras import require

        redis_asyncio = require("redis.asyncio", "redis")
        self._redis = redis_asyncio.from_url(url)
        self._index = f"{prefix}:executions"
        self._prefix = f"{prefix}:execution:"

    async def add(self, records: list[Record]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for r in records:
                pipe.set(self._prefix + r["execution_id"], orjson.dumps(r))
                pipe.zadd(self._index, {r["execution_id"]: r["started_at"]})
            await pipe.execute()
        excess = await self._redis.zrange(self._index, 0, -(self.max_records + 1))
        if excess:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrem(self._index, *excess)
                pipe.delete(*(self._prefix + _text(i) for i in excess))
                await pipe.execute()

    async def get(self, execution_id: str) -> Record | None:
        raw = await self._redis.get(self._prefix + execution_id)
        return None if raw is None else _loads(raw)

    async def list(self, query: Query) -> tuple[list[Record], int]:
        ids = await self._redis.zrevrange(self._index, 0, self.max_records - 1)
        if not ids:
            return [], 0
        raws = await self._redis.mget([self._prefix + _text(i) for i in ids])
        matching = [r for r in (_loads(raw) for raw in raws if raw is not None) if query.matches(r)]
        return matching[query.offset : query.offset + query.limit], len(matching)

    async def clear(self) -> None:
        """Delete every record of this prefix (tests, and operators starting afresh)."""
        ids = await self._redis.zrange(self._index, 0, -1)
        if ids:
            await self._redis.delete(*(self._prefix + _text(i) for i in ids))
        await self._redis.delete(self._index)

    async def close(self) -> None:
        await self._redis.aclose()


def _loads(raw: bytes | str) -> Record:
    value: Record = orjson.loads(raw)
    return value


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
