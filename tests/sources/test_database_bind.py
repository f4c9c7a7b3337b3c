"""Binding data sources to database operations, connection strings and source ids (mostly on
SQLite files; the scheme aliases and pool limits on the real servers)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from orkestra.config.models import DataSourceSpec
from orkestra.errors import BindError, SourceError, SourceTimeout
from orkestra.sources.base import CallContext, ComponentState
from orkestra.sources.database import DatabaseSection, DatabaseSourceType
from orkestra.sources.registry import get_source_type

if TYPE_CHECKING:
    from tests.sources.conftest import MakeSource

CTX = CallContext(execution_id="test-exec", source_name="src")


def sqlite_file(path: Path, value: str) -> str:
    """A SQLite database at `path` whose table `t` holds one row `value`; returns its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t VALUES (1, ?)", (value,))
    conn.close()
    return f"sqlite:///{path}"


def spec(operation: str | None, **kwargs: Any) -> DataSourceSpec:
    return DataSourceSpec.model_validate({"name": "src", "operation": operation, **kwargs})


@pytest.fixture
def two_dbs(tmp_path: Path, make_database: MakeSource) -> DatabaseSourceType:
    return make_database(
        {
            "default": {"connection_string": sqlite_file(tmp_path / "a.db", "from a")},
            "b": {"connection_string": sqlite_file(tmp_path / "b.db", "from b")},
        },
        {
            "read": {
                "query": "SELECT v FROM t WHERE id = :id",
                "params": ["id"],
                "result": "scalar",
            },
            "read_b": {"source_id": "b", "query": "SELECT v FROM t", "result": "scalar"},
            "read_c": {"source_id": "c", "query": "SELECT v FROM t"},
            "undeclared": {"query": "SELECT v FROM t WHERE id = :id AND v = :v", "params": ["id"]},
            "unused": {"query": "SELECT v FROM t WHERE id = :id", "params": ["id", "extra"]},
            "inferred": {"query": "SELECT v FROM t WHERE id = :id AND v <> :v", "result": "scalar"},
        },
    )


def test_section_defaults_and_registry() -> None:
    section = DatabaseSection.model_validate(
        {
            "sources": {"default": {"connection_string": "sqlite:///data/app.db"}},
            "operations": {"q": {"query": "SELECT 1"}},
        }
    )
    src, op = section.sources["default"], section.operations["q"]
    assert (src.pool_size, src.max_overflow, src.pool_timeout, src.pool_recycle) == (
        5,
        10,
        30,
        1800,
    )
    assert src.connect_args == {} and src.echo is False
    assert (op.source_id, op.params, op.result, op.timeout) == (None, None, "auto", 5.0)
    assert get_source_type("database") is DatabaseSourceType


def test_unknown_or_missing_operation_lists_the_known_ones(two_dbs: DatabaseSourceType) -> None:
    with pytest.raises(BindError) as caught:
        two_dbs.bind(spec("get_custmer"))
    assert caught.value.key == "operation"
    assert "unknown operation 'get_custmer'" in str(caught.value)
    assert "inferred, read, read_b" in str(caught.value)
    with pytest.raises(BindError, match="needs an `operation`") as missing:
        two_dbs.bind(spec(None))
    assert missing.value.key == "operation"


def test_unknown_source_id(two_dbs: DatabaseSourceType) -> None:
    with pytest.raises(BindError) as caught:
        two_dbs.bind(spec("read_c"))
    assert caught.value.key == "source_id"
    assert "database 'c', which is not configured; configured databases: b, default" in str(
        caught.value
    )
    with pytest.raises(BindError) as from_spec:
        two_dbs.bind(spec("read", source_id="replica"))
    assert from_spec.value.key == "source_id" and "'replica'" in str(from_spec.value)


async def test_operation_source_id_wins_over_the_data_source(
    two_dbs: DatabaseSourceType, caplog: pytest.LogCaptureFixture
) -> None:
    assert await two_dbs.bind(spec("read_b", source_id="default")).call({}, CTX) == "from b"
    assert "operation 'read_b' runs on database 'b', not source_id 'default'" in caplog.text
    # an operation without its own source_id runs on the data source's
    assert await two_dbs.bind(spec("read", source_id="b")).call({"id": 1}, CTX) == "from b"
    assert await two_dbs.bind(spec("read")).call({"id": 1}, CTX) == "from a"


def test_params_must_match_the_placeholders(two_dbs: DatabaseSourceType) -> None:
    with pytest.raises(BindError, match="the query uses :v but `params` does not list") as c1:
        two_dbs.bind(spec("undeclared"))
    with pytest.raises(BindError, match="`params` lists :extra but the query has no") as c2:
        two_dbs.bind(spec("unused"))
    assert c1.value.key == c2.value.key == "operation"


async def test_params_omitted_are_read_from_the_query(two_dbs: DatabaseSourceType) -> None:
    op = two_dbs.bind(spec("inferred"))
    assert await op.call({"id": 1, "v": "x"}, CTX) == "from a"
    with pytest.raises(SourceError, match="needs params as a mapping of id, v, got int"):
        await op.call(1, CTX)


async def test_relative_sqlite_paths_resolve_against_the_project_root(
    db_config_dir: Path, make_database: MakeSource, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sqlite_file(db_config_dir.parent / "data" / "app.db", "project data")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter
    source = make_database(
        {"default": {"connection_string": "sqlite:///data/app.db"}},
        {"q": {"query": "SELECT v FROM t", "result": "scalar"}},
    )
    assert await source.bind(spec("q")).call(None, CTX) == "project data"


async def test_in_memory_sqlite(make_database: MakeSource) -> None:
    source = make_database(
        {"default": {"connection_string": "sqlite://"}},
        {"q": {"query": "SELECT :x + 1 AS n, 'at :noon' AS s -- :comment", "params": ["x"]}},
    )
    assert await source.bind(spec("q")).call({"x": 41}, CTX) == {"n": 42, "s": "at :noon"}


@pytest.mark.parametrize(
    ("url", "install_hint"),
    [
        ("postgresql://postgres@127.0.0.1:5432/test", "pip install 'orkestra[postgres]'"),
        ("postgres://u:Pw-S3cret@127.0.0.1:5432/test", "pip install 'orkestra[postgres]'"),
        ("mysql://root:Pw-S3cret@127.0.0.1:3306/test", "pip install 'orkestra[mysql]'"),
        ("postgresql+pg8000://u:Pw-S3cret@127.0.0.1/test", "pip install pg8000"),
    ],
)
async def test_a_missing_driver_names_the_install_command(
    make_database: MakeSource, monkeypatch: pytest.MonkeyPatch, url: str, install_hint: str
) -> None:
    for module in ("asyncpg", "aiomysql"):
        monkeypatch.setitem(sys.modules, module, None)  # import blocked: looks uninstalled
    source = make_database({"default": {"connection_string": url}}, {"q": {"query": "SELECT 1"}})
    with pytest.raises(BindError) as caught:
        source.bind(spec("q"))
    assert caught.value.key == "source_id" and install_hint in str(caught.value)
    assert "Pw-S3cret" not in str(caught.value)
    await source.start()  # does not raise; the status says why
    status = source.status()["default"]
    assert status.state is ComponentState.FAILED and install_hint in (status.error or "")


def test_an_unparsable_connection_string_does_not_echo_it(make_database: MakeSource) -> None:
    source = make_database(
        {"default": {"connection_string": "postgresql//admin:Pw-S3cret@db/x"}},
        {"q": {"query": "SELECT 1"}},
    )
    with pytest.raises(BindError, match="not a URL of the form") as caught:
        source.bind(spec("q"))
    assert "Pw-S3cret" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["postgres://postgres@127.0.0.1:5432/test", "mariadb://root@127.0.0.1:3306/test"]
)
async def test_scheme_aliases_pick_the_async_driver(make_database: MakeSource, url: str) -> None:
    source = make_database(
        {"default": {"connection_string": url}},
        {"q": {"query": "SELECT :x * 2", "result": "scalar"}},
    )
    await source.start()
    assert source.status()["default"].state is ComponentState.READY
    assert await source.bind(spec("q")).call({"x": 21}, CTX) == 42


async def test_secrets_from_the_environment_are_masked(
    make_database: MakeSource, closed_port: int
) -> None:
    # Pretend the host came from ${DB_HOST}: the driver's "Connect call failed ('127.0.0.1', p)"
    # must not repeat it.
    source = make_database(
        {"default": {"connection_string": f"postgresql://postgres@127.0.0.1:{closed_port}/test"}},
        {"q": {"query": "SELECT 1"}},
        secrets=frozenset({"127.0.0.1"}),
    )
    with pytest.raises(SourceError) as caught:
        await source.bind(spec("q")).call({}, CTX)
    assert "unavailable" in caught.value.message and "127.0.0.1" not in str(caught.value)


async def test_status_follows_the_database(tmp_path: Path, make_database: MakeSource) -> None:
    db_dir = tmp_path / "later"
    source = make_database(
        {"default": {"connection_string": f"sqlite:///{db_dir}/x.db"}},
        {"q": {"query": "SELECT 7", "result": "scalar"}},
    )
    await source.start()
    assert source.status()["default"].state is ComponentState.FAILED
    db_dir.mkdir()  # the database becomes reachable: the next call succeeds and says so
    assert await source.bind(spec("q")).call({}, CTX) == 7
    assert source.status()["default"].as_dict() == {"state": "ready", "driver": "sqlite+aiosqlite"}
    await source.close()
    with pytest.raises(SourceError, match="database 'default' is closed"):
        await source.bind(spec("q")).call({}, CTX)


async def test_a_full_pool_times_out_after_pool_timeout(make_database: MakeSource) -> None:
    pg = "postgresql://postgres@127.0.0.1:5432/test"
    marker = f"hold_{uuid.uuid4().hex}"
    source = make_database(
        {
            "default": {
                "connection_string": pg,
                "pool_size": 1,
                "max_overflow": 0,
                "pool_timeout": 0.2,
            },
            "observer": {"connection_string": pg},
        },
        {"hold": {"query": f"SELECT pg_sleep(1) AS {marker}"}, "q": {"query": "SELECT 1"}},
    )
    hold = asyncio.create_task(source.bind(spec("hold")).call({}, CTX))
    running = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE :q"
    for _ in range(100):  # until `hold` has the only connection (at most ~2 s)
        if await source.execute("observer", running, {"q": f"%AS {marker}"}, "scalar"):
            break
        await asyncio.sleep(0.02)
    with pytest.raises(SourceTimeout, match="no free connection after pool_timeout=0.2s"):
        await source.bind(spec("q")).call({}, CTX)
    await hold


async def test_execute_rejects_an_unknown_result_mode(two_dbs: DatabaseSourceType) -> None:
    with pytest.raises(ValueError, match="result must be one of"):
        await two_dbs.execute("default", "SELECT 1", {}, result="first")
