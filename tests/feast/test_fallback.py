"""database_fallback: values Feast has not got come from a real table, through the database type."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Double, Integer, MetaData, Table
from sqlalchemy.ext.asyncio import create_async_engine

from orkestra.errors import SourceError
from orkestra.sources.base import SourceEnvironment, SourceType
from orkestra.sources.database import DatabaseSection, DatabaseSourceType
from orkestra.sources.feast import FeastSourceType
from tests.feast.feast_support import (
    FEATURES,
    REFS,
    FeastRepo,
    call_context,
    data_source,
    make_feast,
    sdk_source,
)

pytestmark = pytest.mark.feast

# Column names as a pandas `to_sql` would leave them: capitals force quoting in PostgreSQL.
COLUMNS = {
    "sepal_length": "SepalLength",
    "sepal_width": "sepal_width",
    "petal_length": "PetalLength",
    "petal_width": "petal_width",
}
MAPPING = {f"iris:{feature}": column for feature, column in COLUMNS.items()}
SERVERS: dict[str, tuple[str, str] | None] = {
    "sqlite": None,
    "postgres": (
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    ),
    "mariadb": ("mysql://root@127.0.0.1:3306/test", "mysql+aiomysql://root@127.0.0.1:3306/test"),
}


@dataclass
class IrisTable:
    connection_string: str  # as a user writes it in database.yaml
    table: str


@asynccontextmanager
async def iris_table_in(
    kind: str, tmp_path: Path, iris_rows: list[dict[str, Any]]
) -> AsyncIterator[IrisTable]:
    """All 150 iris rows in a uniquely named table of database `kind`, dropped afterwards."""
    server = SERVERS[kind]
    if server is None:
        user_url = f"sqlite:///{tmp_path / 'iris.db'}"
        driver_url = f"sqlite+aiosqlite:///{tmp_path / 'iris.db'}"
    else:
        user_url, driver_url = server
    name = f"iris_fallback_{uuid.uuid4().hex[:10]}"
    table = Table(
        name,
        MetaData(),
        Column("iris_id", Integer, primary_key=True, autoincrement=False),
        *(Column(column, Double) for column in COLUMNS.values()),
    )
    engine = create_async_engine(driver_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.create)
            await conn.execute(
                table.insert(),
                [
                    {"iris_id": r["iris_id"], **{COLUMNS[f]: r[f] for f in FEATURES}}
                    for r in iris_rows
                ],
            )
        yield IrisTable(user_url, name)
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(table.drop, checkfirst=True)
        await engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
async def iris_table(
    request: pytest.FixtureRequest, tmp_path: Path, iris_rows: list[dict[str, Any]]
) -> AsyncIterator[IrisTable]:
    async with iris_table_in(request.param, tmp_path, iris_rows) as table:
        yield table


@dataclass
class Wired:
    feast: FeastSourceType
    database: DatabaseSourceType
    queries: list[str]


def wire(repo: FeastRepo, table: IrisTable, source: dict[str, Any]) -> Wired:
    """A feast and a database source type that see each other, as one config scope would."""
    types: dict[str, SourceType] = {}
    sibling: Callable[[str], SourceType | None] = types.get
    env = SourceEnvironment(config_dir=repo.project_dir / "config", sibling=sibling)
    database = DatabaseSourceType(
        DatabaseSection.model_validate(
            {"sources": {"default": {"connection_string": table.connection_string}}}
        ),
        env,
    )
    feast = make_feast(repo.project_dir, {"iris": source}, sibling=sibling)
    types.update(database=database, feast=feast)
    queries: list[str] = []
    execute = database.execute

    async def counted(source_id: str, query: str, *args: Any, **kwargs: Any) -> Any:
        queries.append(query)
        return await execute(source_id, query, *args, **kwargs)

    database.execute = counted  # type: ignore[method-assign]
    return Wired(feast, database, queries)


def fallback(table: IrisTable, **extra: Any) -> dict[str, Any]:
    return {
        "source_id": "default",
        "table": table.table,
        "entity_key": "iris_id",
        "mapping": MAPPING,
        **extra,
    }


@pytest.fixture
async def started() -> AsyncIterator[list[Wired]]:
    wired: list[Wired] = []
    yield wired
    for w in wired:
        await w.feast.close()
        await w.database.close()


async def start(w: Wired, started: list[Wired]) -> Wired:
    started.append(w)
    await w.database.start()
    await w.feast.start()
    return w


async def test_missing_entities_are_filled_in_one_query(
    sqlite_repo: FeastRepo,
    iris_table: IrisTable,
    iris_rows: list[dict[str, Any]],
    started: list[Wired],
) -> None:
    source = sdk_source(sqlite_repo, database_fallback=fallback(iris_table))
    w = await start(wire(sqlite_repo, iris_table, source), started)
    op = w.feast.bind(data_source(operation="iris_all"))

    rows = await op.call({"iris_id": [3, 145, 10_000, 149]}, call_context())

    assert {ref: rows[0][ref] for ref in REFS} == sqlite_repo.expected([3])[0]
    assert rows[0]["_sources"] == {ref: "feast" for ref in REFS}
    for row, iris_id in ((rows[1], 145), (rows[3], 149)):  # only in the table
        assert {ref: row[ref] for ref in REFS} == {
            f"iris:{f}": iris_rows[iris_id][f] for f in FEATURES
        }
        assert row["_sources"] == {ref: "database" for ref in REFS}
    assert rows[2] == {
        "iris_id": 10_000,
        **{ref: None for ref in REFS},
        "_sources": {ref: None for ref in REFS},
    }
    assert len(w.queries) == 1 and " IN " in w.queries[0]
    assert op.record_details(rows) == {  # type: ignore[attr-defined]
        "database_fallback": {"entities": 2, "values": 8, "features": sorted(REFS)}
    }

    # every entity in Feast: no query at all
    await op.call({"iris_id": [1, 2]}, call_context())
    assert len(w.queries) == 1


async def test_fallback_in_feature_server_mode_with_a_path_param_string(
    sqlite_repo: FeastRepo,
    feature_server: str,
    tmp_path: Path,
    iris_rows: list[dict[str, Any]],
    started: list[Wired],
) -> None:
    async with iris_table_in("sqlite", tmp_path, iris_rows) as table:
        source = {
            "feature_server_url": feature_server,
            "entity_key": "iris_id",
            "database_fallback": fallback(table),
        }
        w = await start(wire(sqlite_repo, table, source), started)
        op = w.feast.bind(data_source(features=["iris:petal_width"]))

        row = await op.call({"iris_id": "146"}, call_context())

        assert row == {
            "iris_id": "146",
            "iris:petal_width": iris_rows[146]["petal_width"],
            "_sources": {"iris:petal_width": "database"},
        }
        await w.database.close()


async def test_disabled_fallback_leaves_nulls(
    sqlite_repo: FeastRepo,
    tmp_path: Path,
    iris_rows: list[dict[str, Any]],
    started: list[Wired],
) -> None:
    table = IrisTable(f"sqlite:///{tmp_path / 'unused.db'}", "iris_flowers")
    source = sdk_source(sqlite_repo, database_fallback=fallback(table, enabled=False))
    w = await start(wire(sqlite_repo, table, source), started)
    op = w.feast.bind(data_source(operation="iris_all"))

    row = await op.call(145, call_context())

    assert row == {"iris_id": 145, **{ref: None for ref in REFS}}
    assert w.queries == []


async def test_broken_fallback_table_is_a_source_error(
    sqlite_repo: FeastRepo, tmp_path: Path, started: list[Wired]
) -> None:
    table = IrisTable(f"sqlite:///{tmp_path / 'empty.db'}", "no_such_table")
    source = sdk_source(sqlite_repo, database_fallback=fallback(table))
    w = await start(wire(sqlite_repo, table, source), started)
    op = w.feast.bind(data_source(operation="iris_all"))

    from_feast = await op.call(3, call_context())
    assert from_feast["_sources"] == {ref: "feast" for ref in REFS}
    assert op.record_details(from_feast) == {}  # type: ignore[attr-defined]
    with pytest.raises(SourceError) as caught:
        await op.call(145, call_context())

    assert caught.value.source == "features"
    assert "feast source 'iris'" in caught.value.message
    assert "database fallback" in caught.value.message
