"""Real databases for the `database` source type tests.

The same suite runs on SQLite (a temporary file), PostgreSQL (127.0.0.1:5432) and MariaDB
(127.0.0.1:3306). The servers are part of the test machine: when one is unreachable its tests
FAIL with a message saying so, they are never skipped.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from orkestra.sources.base import SourceEnvironment
from orkestra.sources.database import DatabaseSection, DatabaseSourceType

SERVERS = {
    "postgres": ("postgresql://postgres@127.0.0.1:5432/test", "postgresql+asyncpg", "PostgreSQL"),
    "mariadb": ("mysql://root@127.0.0.1:3306/test", "mysql+aiomysql", "MariaDB"),
}
SEED_ROWS = (
    "(1, 'alpha', 10.00, '2024-01-31', NULL), "
    "(2, 'beta', 12.50, '2023-12-01', 'second'), "
    "(3, 'gamma', 7.25, NULL, NULL)"
)


MakeSource = Callable[..., DatabaseSourceType]


@dataclass
class Backend:
    """One database with a freshly created, uniquely named `items` table."""

    kind: str  # sqlite | postgres | mariadb
    url: str  # the connection string as a user writes it
    table: str
    db_config_dir: Path
    make_database: MakeSource

    def source(self, operations: dict[str, Any], **source_options: Any) -> DatabaseSourceType:
        """A source type with one database, `default`, on this db_backend (closed after the test)."""
        sources = {"default": {"connection_string": self.url, **source_options}}
        return self.make_database(sources, operations)


def make_source_type(
    db_config_dir: Path,
    sources: dict[str, Any],
    operations: dict[str, Any],
    secrets: frozenset[str] = frozenset(),
) -> DatabaseSourceType:
    section = DatabaseSection.model_validate({"sources": sources, "operations": operations})
    return DatabaseSourceType(section, SourceEnvironment(config_dir=db_config_dir, secrets=secrets))


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        port: int = sock.getsockname()[1]
        yield port


@pytest.fixture
def db_config_dir(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "config"
    path.mkdir(parents=True)
    return path


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
async def db_backend(
    request: pytest.FixtureRequest, db_config_dir: Path, make_database: MakeSource
) -> AsyncIterator[Backend]:
    kind: str = request.param
    table = f"ork_items_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        db_file = db_config_dir.parent / "items.db"
        url, async_url = f"sqlite:///{db_file}", f"sqlite+aiosqlite:///{db_file}"
    else:
        url, driver, label = SERVERS[kind]
        async_url = driver + url[url.index("://") :]
    engine = create_async_engine(async_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE,"
                    " price NUMERIC(10, 2), born DATE, note VARCHAR(64))"
                )
            )
            await conn.execute(text(f"INSERT INTO {table} VALUES {SEED_ROWS}"))
    except Exception as exc:
        await engine.dispose()
        if kind == "sqlite":
            raise
        pytest.fail(
            f"{label} at {url} is not reachable or not usable ({type(exc).__name__}: "
            f"{exc}); it is part of this machine's test setup",
            pytrace=False,
        )
    try:
        yield Backend(kind, url, table, db_config_dir, make_database)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()


@pytest.fixture
async def make_database(db_config_dir: Path) -> AsyncIterator[MakeSource]:
    """`make_database(sources, operations, secrets=...)`: a DatabaseSourceType whose pools are
    disposed after the test."""
    opened: list[DatabaseSourceType] = []

    def make(
        sources: dict[str, Any], operations: dict[str, Any], secrets: frozenset[str] = frozenset()
    ) -> DatabaseSourceType:
        opened.append(make_source_type(db_config_dir, sources, operations, secrets))
        return opened[-1]

    yield make
    for source in opened:
        await source.close()
