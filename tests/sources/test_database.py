"""The `database` source type against real SQLite, PostgreSQL and MariaDB (see conftest.py)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from orkestra.config.models import DataSourceSpec
from orkestra.errors import SourceError, SourceTimeout
from orkestra.sources.base import CallContext, ComponentState
from orkestra.sources.database import DatabaseSourceType

if TYPE_CHECKING:
    from tests.sources.conftest import Backend, MakeSource

CTX = CallContext(execution_id="test-exec", source_name="items")


def spec(name: str, operation: str) -> DataSourceSpec:
    return DataSourceSpec.model_validate({"name": name, "operation": operation})


async def call(source: DatabaseSourceType, operation: str, params: Any = None) -> Any:
    return await source.bind(spec("items", operation)).call(params, CTX)


def item_ops(t: str) -> dict[str, Any]:
    return {
        "by_id": {"query": f"SELECT id, name FROM {t} WHERE id = :id", "params": ["id"]},
        "by_name": {"query": f"SELECT id FROM {t} WHERE name = :name", "params": ["name"]},
        "all_auto": {"query": f"SELECT id FROM {t} WHERE id <= :n ORDER BY id", "params": ["n"]},
        "all_one": {"query": f"SELECT id FROM {t} ORDER BY id", "result": "one"},
        "all_many": {"query": f"SELECT id FROM {t} WHERE id <= :n ORDER BY id", "result": "many"},
        "count": {"query": f"SELECT COUNT(*) FROM {t}", "result": "scalar"},
        "none_scalar": {"query": f"SELECT id FROM {t} WHERE id = :id", "result": "scalar"},
        "row": {"query": f"SELECT price, born, note FROM {t} WHERE id = :id", "result": "one"},
        "in_ids": {"query": f"SELECT id FROM {t} WHERE id IN :ids ORDER BY id", "result": "many"},
        "in_names": {"query": f"SELECT id FROM {t} WHERE name IN :names", "result": "many"},
        "insert": {"query": f"INSERT INTO {t} (id, name, price) VALUES (:id, :name, :price)"},
        "rename": {"query": f"UPDATE {t} SET note = :note WHERE id <= :n"},
        "insert_returning": {
            "query": f"INSERT INTO {t} (id, name) VALUES (:id, :name) RETURNING id",
            "result": "scalar",
        },
        "broken": {"query": "SELECT * FROM ork_no_such_table_at_all WHERE id = :id"},
    }


@pytest.fixture
def items(db_backend: Backend) -> DatabaseSourceType:
    return db_backend.source(item_ops(db_backend.table))


async def test_result_modes(items: DatabaseSourceType) -> None:
    assert await call(items, "all_auto", {"n": 0}) is None
    assert await call(items, "all_auto", {"n": 1}) == {"id": 1}
    assert await call(items, "all_auto", {"n": 2}) == [{"id": 1}, {"id": 2}]
    assert await call(items, "all_one") == {"id": 1}
    assert await call(items, "all_many", {"n": 1}) == [{"id": 1}]
    assert await call(items, "all_many", {"n": 0}) == []
    assert await call(items, "count") == 3
    assert await call(items, "none_scalar", {"id": 99}) is None


async def test_values_become_json_types(items: DatabaseSourceType) -> None:
    # NUMERIC(10,2) 10.00 is integral -> int; 12.50 -> float; DATE -> ISO text; NULL -> None
    assert await call(items, "row", {"id": 1}) == {"price": 10, "born": "2024-01-31", "note": None}
    assert await call(items, "row", {"id": 2}) == {
        "price": 12.5,
        "born": "2023-12-01",
        "note": "second",
    }
    assert await call(items, "row", {"id": 3}) == {"price": 7.25, "born": None, "note": None}


async def test_in_lists_expand(items: DatabaseSourceType) -> None:
    assert await call(items, "in_ids", {"ids": [3, 1]}) == [{"id": 1}, {"id": 3}]
    assert await call(items, "in_ids", {"ids": []}) == []
    assert await call(items, "in_ids", {"ids": 2}) == [{"id": 2}]  # a scalar is a one-item list


async def test_missing_param_is_null_and_matches_nothing(items: DatabaseSourceType) -> None:
    assert await call(items, "by_id", {}) is None
    assert await call(items, "by_id", None) is None
    assert await call(items, "by_id", {"other": 1}) is None


async def test_a_single_value_binds_the_only_param(items: DatabaseSourceType) -> None:
    assert await call(items, "by_id", 2) == {"id": 2, "name": "beta"}


@pytest.mark.parametrize(
    "hostile",
    ["' OR '1'='1", "alpha' OR 1=1 --", "1 OR 1=1", "alpha'; DROP TABLE {t}; --", "%", "alpha\\"],
)
async def test_values_are_bound_never_pasted(
    items: DatabaseSourceType, db_backend: Backend, hostile: str
) -> None:
    value = hostile.replace("{t}", db_backend.table)
    assert await call(items, "by_name", {"name": value}) is None
    assert await call(items, "in_names", {"names": [value, "nobody"]}) == []
    assert await call(items, "count") == 3  # the table is still there, unchanged


async def test_writes_commit_and_report_rowcount(items: DatabaseSourceType) -> None:
    insert = items.bind(spec("w", "insert"))
    assert insert.idempotent is False
    assert items.bind(spec("r", "by_id")).idempotent is True
    assert await insert.call({"id": 10, "name": "delta", "price": 1.5}, CTX) == {"rowcount": 1}
    # committed: a different pooled connection sees it
    assert await call(items, "row", {"id": 10}) == {"price": 1.5, "born": None, "note": None}
    assert await call(items, "rename", {"note": "n", "n": 2}) == {"rowcount": 2}
    assert await call(items, "insert_returning", {"id": 11, "name": "eps"}) == 11
    assert await call(items, "count") == 5


async def test_sql_error_is_a_short_non_retryable_source_error(items: DatabaseSourceType) -> None:
    with pytest.raises(SourceError) as caught:
        await call(items, "broken", {"id": 12345})
    err = caught.value
    assert type(err) is SourceError and err.retryable is False and err.source == "items"
    assert "database 'default' operation 'broken' failed" in err.message
    assert "ork_no_such_table_at_all" in err.message  # the database's reason is kept
    assert "SELECT" not in err.message and "12345" not in err.message


async def test_bound_values_are_masked_in_database_errors(items: DatabaseSourceType) -> None:
    # MariaDB answers "Duplicate entry 'alpha' for key 'name'": the value must not come back.
    with pytest.raises(SourceError) as caught:
        await call(items, "insert", {"id": 77, "name": "alpha", "price": 1})
    assert "alpha" not in str(caught.value)
    assert await call(items, "count") == 3  # the failed transaction was rolled back


async def test_database_down_fails_fast_without_the_password(
    db_backend: Backend, make_database: MakeSource, closed_port: int
) -> None:
    password = "Sup3r-S3cret-Pw"
    if db_backend.kind == "sqlite":
        url = f"sqlite:///{db_backend.db_config_dir}/missing-dir-{password}/x.db"
    else:
        scheme, user = db_backend.url.split("://")[0], db_backend.url.split("://")[1].split("@")[0]
        url = f"{scheme}://{user}:{password}@127.0.0.1:{closed_port}/test"
    source = make_database(
        {"default": {"connection_string": url}}, {"q": {"query": "SELECT 1", "timeout": 3}}
    )
    await source.start()  # never raises
    status = source.status()["default"]
    assert status.state is ComponentState.FAILED and status.error
    assert password not in status.error
    with pytest.raises(SourceError) as caught:
        await call(source, "q")
    # a plain SourceError, not a SourceTimeout: refused connections are reported at once
    assert type(caught.value) is SourceError
    assert "database 'default' unavailable" in caught.value.message
    assert password not in str(caught.value)


@pytest.mark.parametrize("db_backend", ["postgres", "mariadb"], indirect=True)
async def test_a_server_that_never_answers_times_out(
    db_backend: Backend, make_database: MakeSource, silent_port: int
) -> None:
    scheme = db_backend.url.split("://")[0]
    source = make_database(
        {"default": {"connection_string": f"{scheme}://u@127.0.0.1:{silent_port}/test"}},
        {"q": {"query": "SELECT 1", "timeout": 0.5}},
    )
    with pytest.raises(SourceTimeout, match="gave no connection within 0.5s"):
        await call(source, "q")


async def test_connect_args_reach_the_driver(make_database: MakeSource, silent_port: int) -> None:
    # asyncpg's own connect timeout (its whole handshake; aiomysql's covers only the TCP
    # connect) fires before the operation's: the database is reported unavailable
    url = f"postgresql://u@127.0.0.1:{silent_port}/test"
    source = make_database(
        {"default": {"connection_string": url, "connect_args": {"timeout": 0.3}}},
        {"q": {"query": "SELECT 1", "timeout": 10}},
    )
    with pytest.raises(SourceError) as caught:
        await call(source, "q")
    assert type(caught.value) is SourceError
    assert caught.value.message.startswith("database 'default' unavailable")


SLEEP = {"postgres": "SELECT pg_sleep(:s)", "mariadb": "SELECT SLEEP(:s)"}


@pytest.mark.parametrize("db_backend", ["postgres", "mariadb"], indirect=True)
async def test_slow_query_times_out_and_the_pool_recovers(db_backend: Backend) -> None:
    source = db_backend.source(
        {
            "slow": {"query": SLEEP[db_backend.kind], "timeout": 0.3},
            "count": {"query": f"SELECT COUNT(*) FROM {db_backend.table}", "result": "scalar"},
        },
        pool_size=1,
        max_overflow=0,
    )
    with pytest.raises(SourceTimeout) as caught:
        await call(source, "slow", {"s": 2})
    assert "timed out after 0.3s" in caught.value.message
    assert await call(source, "count") == 3  # the only pooled connection was replaced


async def test_fifty_concurrent_calls_share_a_pool_of_five(db_backend: Backend) -> None:
    session_id = {
        "sqlite": "SELECT 1 AS pid",
        "postgres": "SELECT pg_backend_pid() AS pid, pg_sleep(0.05) AS s",
        "mariadb": "SELECT CONNECTION_ID() AS pid, SLEEP(0.05) AS s",
    }[db_backend.kind]
    source = db_backend.source(
        {"who": {"query": session_id, "result": "one"}}, pool_size=5, max_overflow=0
    )
    op = source.bind(spec("who", "who"))
    rows = await asyncio.gather(*(op.call({}, CTX) for _ in range(50)))
    assert len(rows) == 50
    sessions = {row["pid"] for row in rows}
    if db_backend.kind != "sqlite":
        assert 1 < len(sessions) <= 5  # ran in parallel, on at most pool_size connections


async def test_status_and_execute(db_backend: Backend) -> None:
    source = db_backend.source({})
    assert source.status()["default"].state is ComponentState.STARTING
    await source.start()
    assert source.status()["default"].state is ComponentState.READY
    t = db_backend.table
    assert await source.execute(
        "default", f"SELECT id FROM {t} WHERE id IN :ids ORDER BY id", {"ids": [1, 2]}
    ) == [{"id": 1}, {"id": 2}]
    assert (
        await source.execute(
            "default", f"SELECT name FROM {t} WHERE id = :id", {"id": 3}, result="scalar", timeout=2
        )
        == "gamma"
    )
    assert await source.execute("default", f"SELECT name FROM {t} WHERE id = :id", {}) == []
    with pytest.raises(SourceError, match="database 'replica' is not configured"):
        await source.execute("replica", "SELECT 1", {})
    quote = "`" if db_backend.kind == "mariadb" else '"'
    assert source.quote_identifier("default", "plain_name") == "plain_name"
    assert source.quote_identifier("default", "order") == f"{quote}order{quote}"
    assert source.source_ids() == ["default"]
    await source.close()
    assert source.status()["default"].state is ComponentState.STOPPED


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_postgres_types(db_backend: Backend) -> None:
    query = (
        "SELECT CAST(:doc AS jsonb) AS doc, ARRAY[1, 2] AS arr, CAST(:u AS uuid) AS u,"
        " CAST('90 minutes' AS interval) AS iv, TIMESTAMPTZ '2024-01-31 12:00:00+00' AS ts,"
        " CAST('\\x00ff' AS bytea) AS raw"
    )
    source = db_backend.source({"types": {"query": query, "result": "one"}})
    uid = "00000000-0000-0000-0000-00000000002a"
    assert await call(source, "types", {"doc": '{"a": [1, 2.5]}', "u": uid}) == {
        "doc": {"a": [1, 2.5]},
        "arr": [1, 2],
        "u": uid,
        "iv": 5400.0,
        "ts": "2024-01-31T12:00:00+00:00",
        "raw": "AP8=",
    }


@pytest.mark.parametrize("db_backend", ["mariadb"], indirect=True)
async def test_mariadb_types(db_backend: Backend) -> None:
    query = (
        "SELECT X'00FF' AS raw, CAST(:d AS DECIMAL(6, 3)) AS d,"
        " TIMESTAMP '2024-01-31 12:00:00' AS ts, JSON_OBJECT('a', 1) AS doc"
    )
    source = db_backend.source({"types": {"query": query, "result": "one"}})
    # MariaDB's JSON is text: it arrives as the JSON string
    assert await call(source, "types", {"d": "2.125"}) == {
        "raw": "AP8=",
        "d": 2.125,
        "ts": "2024-01-31T12:00:00",
        "doc": '{"a": 1}',
    }
