"""Execution stores: bounded, filtered and paged the same way; SQLite and Redis survive a restart
and are shared by several store instances (several workers)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from orkestra.tracking.store import (
    ExecutionStore,
    MemoryStore,
    Query,
    Record,
    RedisStore,
    SqliteStore,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def record(i: int, domain: str = "shop", endpoint: str = "order", status: str = "ok") -> Record:
    return {
        "execution_id": f"exec-{i:04d}",
        "domain": domain,
        "endpoint": endpoint,
        "route": f"/orchestrator/{domain}/{endpoint}",
        "method": "GET",
        "started_at": 1_700_000_000.0 + i,
        "status": status,
        "http_status": 200 if status != "failed" else 502,
        "duration_ms": float(i),
        "error": None,
        "sources": [{"name": "a", "status": "ok", "start_offset_ms": 0.0, "duration_ms": 1.0}],
    }


StoreFactory = Callable[[int], ExecutionStore]


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    made: list[ExecutionStore] = []
    prefix = f"orkestra-test-{uuid.uuid4().hex}"

    def factory(max_records: int) -> ExecutionStore:
        store: ExecutionStore
        if request.param == "memory":
            store = MemoryStore(max_records)
        elif request.param == "sqlite":
            store = SqliteStore(tmp_path / "executions.sqlite3", max_records)
        else:
            store = RedisStore(REDIS_URL, prefix, max_records)
        made.append(store)
        return store

    yield factory
    for store in made:
        if isinstance(store, RedisStore):
            await store.clear()
        await store.close()


async def test_bounded_newest_first(make_store: StoreFactory) -> None:
    store = make_store(5)
    await store.add([record(i) for i in range(8)])
    page, total = await store.list(Query(limit=50))
    assert total == 5
    assert [r["execution_id"] for r in page] == [f"exec-{i:04d}" for i in (7, 6, 5, 4, 3)]
    assert await store.get("exec-0002") is None  # pushed out of the bound
    kept = await store.get("exec-0007")
    assert kept is not None and kept["sources"][0]["name"] == "a"


async def test_filters_and_pages(make_store: StoreFactory) -> None:
    store = make_store(100)
    await store.add(
        [
            record(
                i, endpoint="order" if i % 2 else "quote", status="failed" if i % 3 == 0 else "ok"
            )
            for i in range(12)
        ]
    )
    page, total = await store.list(Query(endpoint="order", limit=2, offset=1))
    odd = [f"exec-{i:04d}" for i in range(11, -1, -1) if i % 2]
    assert total == len(odd)
    assert [r["execution_id"] for r in page] == odd[1:3]
    failed, count = await store.list(Query(status="failed", endpoint="quote"))
    assert count == 2 and {r["execution_id"] for r in failed} == {"exec-0000", "exec-0006"}
    none, zero = await store.list(Query(domain="other"))
    assert none == [] and zero == 0


@pytest.mark.parametrize("make_store", ["sqlite", "redis"], indirect=True)
async def test_survives_restart_and_is_shared(make_store: StoreFactory) -> None:
    first = make_store(10)
    await first.add([record(1)])
    second = make_store(10)  # another worker, or the same service after a restart
    await second.add([record(2)])
    await first.close()
    third = make_store(10)
    page, total = await third.list(Query())
    assert total == 2 and [r["execution_id"] for r in page] == ["exec-0002", "exec-0001"]
