"""Circuit breakers: a dead backend is failed fast once the breaker opens, and used again once it
recovers; a retry budget keeps a failing backend's load near one call per client call."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from orkestra.errors import SourceError, SourceUnavailable
from orkestra.resilience import CircuitBreaker, RetryBudget
from orkestra.service import Orkestra
from tests.resilience.scripted import script
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=5, clock=clock)
    for _ in range(3):
        breaker.before_call("s")
        breaker.record_failure()
    with pytest.raises(SourceUnavailable, match="circuit open"):
        breaker.before_call("s")
    clock.now += 5
    breaker.before_call("s")  # the probe
    with pytest.raises(SourceUnavailable):
        breaker.before_call("s")  # only one probe at a time
    breaker.record_failure()
    assert breaker.state == "open"  # a failed probe re-opens at once
    clock.now += 5
    breaker.before_call("s")
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.before_call("s")


def test_breaker_opens_on_failure_rate_without_a_streak() -> None:
    breaker = CircuitBreaker(failure_threshold=100, failure_rate=0.5, window=10, clock=FakeClock())
    for i in range(10):
        breaker.before_call("s")
        breaker.record_failure() if i % 2 else breaker.record_success()
    assert breaker.state == "open"


def test_cancelled_probe_lets_the_next_call_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, clock=clock)
    breaker.record_failure()
    clock.now += 1
    breaker.before_call("s")
    breaker.release_probe()
    breaker.before_call("s")  # not rejected: the first probe never finished


def test_retry_budget_bounds_retries_to_a_fraction_of_calls() -> None:
    budget = RetryBudget(ratio=0.2, reserve=3)
    retries = 0
    for _ in range(1000):
        budget.record_call()
        retries += sum(1 for _ in range(2) if budget.try_retry())
    assert retries <= 0.2 * 1000 + 3


def api_service(tmp_path: Path, backend: HttpBackend, extra: str, domain: str) -> Orkestra:
    files = {
        "integrations/api.yaml": f"""
            api:
              sources:
                b:
                  base_url: "{backend.url}"
                  timeout: 2
                  operations:
                    dead: {{path: /status/503}}
            """,
        "domains/d.yaml": f"""
            domain_id: {domain}
            endpoints:
              call:
                method: get
                data_sources:
                  - name: backend
                    type: api
                    source_id: b
                    operation: dead
                    {extra}
            """,
    }
    return Orkestra(write_config(tmp_path, files))


async def test_dead_backend_is_failed_fast_once_the_breaker_opens(
    tmp_path: Path, http_backend: HttpBackend
) -> None:
    svc = api_service(
        tmp_path, http_backend, "circuit_breaker: {failure_threshold: 5, reset_timeout: 60}", "cb"
    )
    statuses: list[int] = []
    async with (
        svc,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=svc.app), base_url="http://t"
        ) as client,
    ):
        for _ in range(100):
            response = await client.get("/orchestrator/cb/call")
            statuses.append(response.status_code)
            assert response.json()["source"] == "backend"
    assert http_backend.calls("/status/503") == 5  # after five failures it was never touched again
    after_open = statuses[5:]
    fast = [s for s in after_open if s == 503]
    assert len(fast) / len(after_open) >= 0.95
    assert statuses[:5] == [502] * 5


async def test_breaker_closes_after_the_backend_recovers(tmp_path: Path) -> None:
    op = f"op_{uuid.uuid4().hex[:8]}"
    backend = script(op)
    backend.fail = True
    config = write_config(
        tmp_path,
        {
            "domains/d.yaml": f"""
        endpoints:
          call:
            data_sources:
              - name: flaky
                type: scripted
                operation: {op}
                circuit_breaker: {{failure_threshold: 2, reset_timeout: 0.2}}
        """
        },
    )
    async with Orkestra(config) as svc:
        for _ in range(2):
            with pytest.raises(SourceError):
                await svc.execute("d", "call")
        with pytest.raises(SourceUnavailable, match="circuit open"):
            await svc.execute("d", "call")
        assert backend.calls == 2
        backend.fail = False
        for _ in range(50):  # bounded: the breaker lets a probe through after 0.2 s
            await asyncio.sleep(0.05)
            try:
                await svc.execute("d", "call")
                break
            except SourceUnavailable:
                continue
        results = [await svc.execute("d", "call") for _ in range(5)]
    assert all("echo" in r for r in results)
    assert backend.calls == 2 + 1 + 5  # the probe and every call after it reached the backend


async def test_retry_budget_keeps_a_failing_backend_near_one_call_per_request(
    tmp_path: Path, http_backend: HttpBackend
) -> None:
    svc = api_service(tmp_path, http_backend, "retry: {attempts: 3, backoff: 0}", "budget")
    async with svc:
        for _ in range(100):
            with pytest.raises(SourceError):
                await svc.execute("budget", "call")
    calls = http_backend.calls("/status/503")
    assert 100 < calls <= 100 * 1.2 + 3  # without the budget it would be 300


async def test_open_breaker_on_a_soft_source_gives_the_default_without_calling(
    tmp_path: Path,
) -> None:
    op = f"op_{uuid.uuid4().hex[:8]}"
    backend = script(op)
    backend.fail = True
    config = write_config(
        tmp_path,
        {
            "domains/d.yaml": f"""
        endpoints:
          call:
            data_sources:
              - name: extra
                type: scripted
                operation: {op}
                on_error: default
                default: {{fallback: true}}
                circuit_breaker: {{failure_threshold: 3, reset_timeout: 60}}
        """
        },
    )
    async with Orkestra(config) as svc:
        results = [await svc.execute("d", "call") for _ in range(20)]
    assert results == [{"fallback": True}] * 20
    assert backend.calls == 3
