"""Caches: keyed on resolved params (or a key template), expire after ttl, coalesce concurrent
identical calls, shared across workers through Redis, and never store a soft-failed response."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from orkestra.resilience import MISS, MemoryCache, RedisCache
from orkestra.service import Orkestra
from tests.resilience.scripted import Script, script
from tests.support.configs import write_config


def scripted_service(tmp_path: Path, body: str, name: str = "d") -> tuple[Orkestra, Script, str]:
    op = f"op_{uuid.uuid4().hex[:8]}"
    backend = script(op)
    domain = f"{name}_{uuid.uuid4().hex[:8]}"  # Redis keys of earlier runs never match
    text = f"domain_id: {domain}\n" + body.replace("OP", op)
    config = write_config(tmp_path / domain, {f"domains/{name}.yaml": text})
    return Orkestra(config), backend, domain


SOURCE_CACHE = """
endpoints:
  get:
    data_sources:
      - name: s
        type: scripted
        operation: OP
        params: {id: "$request.query_params.id"}
        cache: {ttl: TTL, backend: BACKEND}
"""


async def test_memory_cache_hits_on_same_params_and_expires(tmp_path: Path) -> None:
    svc, backend, d = scripted_service(
        tmp_path, SOURCE_CACHE.replace("TTL", "0.3").replace("BACKEND", "memory")
    )
    async with svc:
        first = await svc.execute(d, "get", query={"id": "1"})
        again = await svc.execute(d, "get", query={"id": "1"})
        other = await svc.execute(d, "get", query={"id": "2"})
        assert first == again and other != first
        assert backend.calls == 2
        await asyncio.sleep(0.35)
        await svc.execute(d, "get", query={"id": "1"})
        assert backend.calls == 3


async def test_concurrent_identical_calls_are_coalesced(tmp_path: Path) -> None:
    svc, backend, d = scripted_service(
        tmp_path, SOURCE_CACHE.replace("TTL", "30").replace("BACKEND", "memory")
    )
    backend.delay = 0.2
    async with svc:
        results = await asyncio.gather(
            *(svc.execute(d, "get", query={"id": "7"}) for _ in range(20))
        )
    assert backend.calls == 1
    assert all(r == results[0] for r in results)


async def test_redis_cache_is_shared_between_workers(tmp_path: Path) -> None:
    svc, backend, d = scripted_service(
        tmp_path, SOURCE_CACHE.replace("TTL", "30").replace("BACKEND", "redis")
    )
    other_worker = Orkestra(svc.config_path)  # a second process would load the same config
    async with svc, other_worker:
        first = await svc.execute(d, "get", query={"id": "x"})
        second = await other_worker.execute(d, "get", query={"id": "x"})
    assert first == second
    assert backend.calls == 1


async def test_redis_outage_degrades_to_no_cache() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert await cache.get("k") is MISS
    await cache.set("k", {"v": 1}, 10)  # logged, not raised
    await cache.close()


async def test_memory_cache_is_bounded() -> None:
    cache = MemoryCache(max_entries=3)
    for i in range(10):
        await cache.set(f"k{i}", i, 60)
    assert len(cache.entries) == 3
    assert await cache.get("k9") == 9 and await cache.get("k0") is MISS


async def test_endpoint_cache_never_stores_a_soft_failure(tmp_path: Path) -> None:
    body = """
endpoints:
  get:
    cache: {ttl: 60}
    data_sources:
      - {name: s, type: scripted, operation: OP, on_error: skip}
    response_mapping: {value: "$s.call"}
"""
    svc, backend, d = scripted_service(tmp_path, body)
    backend.fail = True
    async with svc:
        assert await svc.execute(d, "get") == {"value": None}
        backend.fail = False
        fresh = await svc.execute(d, "get")
        assert fresh == {"value": 2}  # the failed answer was not served from cache
        assert await svc.execute(d, "get") == fresh  # the complete one is
    assert backend.calls == 2


async def test_cache_key_template_decides_what_is_shared(tmp_path: Path) -> None:
    body = """
endpoints:
  get:
    data_sources:
      - name: s
        type: scripted
        operation: OP
        params: {id: "$request.query_params.id", trace: "$request.query_params.trace"}
        cache: {ttl: 60, key: "$request.query_params.id"}
"""
    svc, backend, d = scripted_service(tmp_path, body)
    async with svc:
        await svc.execute(d, "get", query={"id": "1", "trace": "a"})
        await svc.execute(d, "get", query={"id": "1", "trace": "b"})
    assert backend.calls == 1


@pytest.mark.parametrize("key", ["$nope", "id-$other.x"])
def test_bad_cache_key_is_a_config_error(tmp_path: Path, key: str) -> None:
    from orkestra.errors import ConfigError

    body = SOURCE_CACHE.replace("TTL", "1").replace("BACKEND", "memory")
    body = body.replace("backend: memory}", f'backend: memory, key: "{key}"}}')
    with pytest.raises(
        ConfigError, match=r"d\.yaml:\d+ endpoints\.get\.data_sources\[0\]\.cache\.key"
    ):
        scripted_service(tmp_path, body)


async def test_memory_cache_sweeps_expired_keys_nobody_reads() -> None:
    now = [0.0]
    cache = MemoryCache(max_entries=100_000, clock=lambda: now[0])
    for i in range(999):
        await cache.set(f"old{i}", i, 1)
    now[0] = 5.0
    await cache.set("fresh", 1, 60)  # the 1000th write sweeps
    assert list(cache.entries) == ["fresh"]
