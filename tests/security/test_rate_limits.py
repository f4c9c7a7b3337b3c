"""Rate limits: per key or per IP, in memory or shared through Redis; 429 with Retry-After."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from orkestra.security.ratelimit import MemoryRateLimiter, RedisRateLimiter
from orkestra.service import Orkestra
from tests.support.configs import write_config

KEY_A = "key-a-0123456789abcdef"
KEY_B = "key-b-0123456789abcdef"


def service(tmp_path: Path, limit: str, endpoint_auth: str = "") -> Orkestra:
    names = uuid.uuid4().hex[:8]  # Redis windows of earlier runs never count
    return Orkestra(
        write_config(
            tmp_path,
            {
                "config.yaml": f"""
            auth:
              api_keys:
                - {{name: a{names}, key: {KEY_A}}}
                - {{name: b{names}, key: {KEY_B}}}
              rate_limit: {limit}
            """,
                "domains/d.yaml": f"""
            endpoints:
              e:
                method: get
                endpoint_type: direct
                response: {{ok: true}}
                {endpoint_auth}
            """,
            },
        )
    )


async def statuses(svc: Orkestra, n: int, headers: dict[str, str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=svc.app, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return [await client.get("/orchestrator/d/e", headers=headers) for _ in range(n)]


async def test_per_key_limit_gives_429_with_retry_after(tmp_path: Path) -> None:
    async with service(tmp_path, "{requests: 3, per: 60}") as svc:
        a = await statuses(svc, 4, {"X-API-Key": KEY_A})
        b = await statuses(svc, 1, {"X-API-Key": KEY_B})
    assert [r.status_code for r in a] == [200, 200, 200, 429]
    assert 1 <= int(a[3].headers["Retry-After"]) <= 20  # one token of 3-per-minute refills in 20 s
    assert a[3].json()["detail"] == "rate limit exceeded"
    assert b[0].status_code == 200  # another key has its own budget


async def test_per_ip_limit_counts_every_key_from_that_address(tmp_path: Path) -> None:
    async with service(tmp_path, "{requests: 2, per: 60, by: ip}") as svc:
        a = await statuses(svc, 2, {"X-API-Key": KEY_A})
        b = await statuses(svc, 1, {"X-API-Key": KEY_B})
    assert [r.status_code for r in a + b] == [200, 200, 429]


async def test_endpoint_limit_applies_on_top(tmp_path: Path) -> None:
    async with service(
        tmp_path, "{requests: 100, per: 60}", "auth: {rate_limit: {requests: 1, per: 60}}"
    ) as svc:
        responses = await statuses(svc, 2, {"X-API-Key": KEY_A})
    assert [r.status_code for r in responses] == [200, 429]


async def test_unauthenticated_requests_are_refused_before_they_count(tmp_path: Path) -> None:
    async with service(tmp_path, "{requests: 1, per: 60, by: ip}") as svc:
        anonymous = await statuses(svc, 3, {})
        keyed = await statuses(svc, 1, {"X-API-Key": KEY_A})
    assert [r.status_code for r in anonymous] == [401, 401, 401]
    assert keyed[0].status_code == 200


async def test_redis_limit_is_shared_between_workers(tmp_path: Path) -> None:
    limit = "{requests: 3, per: 600, backend: redis}"
    first = service(tmp_path / "w1", limit)
    names_of_first = first.fastapi.state.security.api_keys.keys
    second = Orkestra(first.config_path)  # a second worker of the same config
    assert second.fastapi.state.security.api_keys.keys == names_of_first
    async with first, second:
        one = await statuses(first, 2, {"X-API-Key": KEY_A})
        two = await statuses(second, 2, {"X-API-Key": KEY_A})
    assert [r.status_code for r in one + two] == [200, 200, 200, 429]
    assert int(two[1].headers["Retry-After"]) >= 1


def test_memory_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(2, 1.0, clock=lambda: now[0])

    async def run() -> list[float | None]:
        out = [await limiter.hit("x") for _ in range(3)]
        now[0] += 0.5  # one token back (2 per second)
        out.append(await limiter.hit("x"))
        return out

    import asyncio

    results = asyncio.run(run())
    assert results[:2] == [None, None] and results[2] == pytest.approx(0.5) and results[3] is None


def test_memory_limiter_forgets_the_oldest_identities_beyond_its_bound() -> None:
    import asyncio

    limiter = MemoryRateLimiter(1, 60, max_identities=100)

    async def flood() -> None:
        for i in range(1000):
            await limiter.hit(f"ip:{i}")

    asyncio.run(flood())
    assert len(limiter.buckets) == 100


async def test_redis_down_fails_open() -> None:
    limiter = RedisRateLimiter(1, 60, "redis://127.0.0.1:1/0", "t")
    assert await limiter.hit("x") is None
    assert await limiter.hit("x") is None


async def test_forwarded_for_is_used_only_when_trusted(tmp_path: Path) -> None:
    files = {
        "config.yaml": "auth:\n  trust_forwarded_for: TRUST\n  rate_limit: {requests: 1, per: 60, by: ip}\n",
        "domains/d.yaml": "endpoints:\n  e:\n    method: get\n    endpoint_type: direct\n    response: {ok: true}\n",
    }

    async def codes(trust: str) -> list[int]:
        config = write_config(
            tmp_path / trust, {k: v.replace("TRUST", trust) for k, v in files.items()}
        )
        async with Orkestra(config) as svc:
            out = []
            for client_ip in ("203.0.113.1", "203.0.113.2"):
                [response] = await statuses(svc, 1, {"X-Forwarded-For": f"{client_ip}, 10.0.0.1"})
                out.append(response.status_code)
            return out

    assert await codes("true") == [200, 200]  # two clients behind the proxy
    assert await codes("false") == [200, 429]  # a client cannot pick its own identity
