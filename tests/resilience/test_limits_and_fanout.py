"""Bulkheads, for_each fan-out (order, cap, batching, list limit), endpoint deadlines over retries,
and soft failures reported to the client."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest

from orkestra.errors import RequestError, SourceError, SourceTimeout
from orkestra.service import Orkestra
from tests.resilience.scripted import script
from tests.support.configs import write_config


def build(tmp_path: Path, body: str, ops: dict[str, str]) -> Orkestra:
    for placeholder, op in ops.items():
        body = body.replace(placeholder, op)
    return Orkestra(write_config(tmp_path, {"domains/d.yaml": body}))


def op_name(prefix: str = "op") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def test_bulkhead_caps_calls_in_flight_and_spares_other_sources(tmp_path: Path) -> None:
    slow, fast = op_name(), op_name()
    slow_backend = script(slow)
    script(fast)
    slow_backend.delay = 0.3
    svc = build(
        tmp_path,
        """
endpoints:
  slow:
    data_sources: [{name: s, type: scripted, operation: SLOW, concurrency: 2, params: {n: "$request.query_params.n"}}]
  fast:
    data_sources: [{name: f, type: scripted, operation: FAST}]
""",
        {"SLOW": slow, "FAST": fast},
    )
    async with svc:
        slow_calls = [
            asyncio.ensure_future(svc.execute("d", "slow", query={"n": str(i)})) for i in range(6)
        ]
        await asyncio.sleep(0.05)
        fast_answer = await asyncio.wait_for(svc.execute("d", "fast"), 0.2)  # not stuck behind them
        await asyncio.gather(*slow_calls)
    assert slow_backend.peak == 2 and slow_backend.calls == 6
    assert fast_answer["call"] == 1


async def test_waiting_for_a_bulkhead_slot_counts_against_the_timeout(tmp_path: Path) -> None:
    slow = op_name()
    script(slow).delay = 0.4
    svc = build(
        tmp_path,
        """
endpoints:
  slow:
    data_sources: [{name: s, type: scripted, operation: SLOW, concurrency: 1, timeout: 0.6, params: {n: "$request.query_params.n"}}]
""",
        {"SLOW": slow},
    )
    async with svc:
        results = await asyncio.gather(
            *(svc.execute("d", "slow", query={"n": str(i)}) for i in range(3)),
            return_exceptions=True,
        )
    timeouts = [r for r in results if isinstance(r, SourceTimeout)]
    assert len(timeouts) >= 1 and timeouts[0].source == "s"


FOR_EACH = """
endpoints:
  orders:
    data_sources:
      - {name: orders, type: direct, params: "$request.body.orders"}
      - name: details
        type: scripted
        operation: OP
        for_each: "$orders"
        as: order
        for_each_concurrency: 3
        for_each_max_items: 50
        params: {id: "$order.id", qty: "$order.qty"}
    response_mapping: {ids: "$details", count: "len($details)"}
"""


async def test_for_each_runs_once_per_item_in_input_order_with_a_cap(tmp_path: Path) -> None:
    op = op_name()
    backend = script(op)
    backend.delays = {i: 0.02 * (10 - i) for i in range(10)}  # later items answer first
    svc = build(tmp_path, FOR_EACH, {"OP": op})
    orders = [{"id": i, "qty": i * 2} for i in range(10)]
    async with svc:
        result = await svc.execute("d", "orders", body={"orders": orders})
    assert [r["echo"] for r in result["ids"]] == [{"id": i, "qty": i * 2} for i in range(10)]
    assert result["count"] == 10
    assert backend.calls == 10 and backend.peak == 3


async def test_for_each_over_an_empty_or_missing_list_gives_an_empty_list(tmp_path: Path) -> None:
    op = op_name()
    backend = script(op)
    async with build(tmp_path, FOR_EACH, {"OP": op}) as svc:
        assert await svc.execute("d", "orders", body={"orders": []}) == {"ids": [], "count": 0}
        assert await svc.execute("d", "orders", body={}) == {"ids": [], "count": 0}
    assert backend.calls == 0


async def test_for_each_refuses_a_list_longer_than_its_limit(tmp_path: Path) -> None:
    op = op_name()
    backend = script(op)
    async with build(tmp_path, FOR_EACH, {"OP": op}) as svc:
        with pytest.raises(RequestError, match="for_each_max_items") as info:
            await svc.execute("d", "orders", body={"orders": [{"id": i} for i in range(51)]})
    assert info.value.status == 422 and backend.calls == 0


async def test_an_operation_that_batches_gets_one_call(tmp_path: Path) -> None:
    op = op_name("batch")
    backend = script(op)
    async with build(tmp_path, FOR_EACH, {"OP": op}) as svc:
        result = await svc.execute("d", "orders", body={"orders": [{"id": i} for i in range(7)]})
    assert backend.batch_calls == 1 and backend.calls == 0
    assert [r["echo"]["id"] for r in result["ids"]] == list(range(7))


def test_for_each_item_name_is_only_known_inside_its_source(tmp_path: Path) -> None:
    from orkestra.errors import ConfigError

    op = op_name()
    script(op)
    body = FOR_EACH.replace("response_mapping: {ids", 'response_mapping: {o: "$order", ids')
    with pytest.raises(
        ConfigError,
        match=r"d\.yaml:\d+ endpoints\.orders\.response_mapping.*unknown reference \$order",
    ):
        build(tmp_path, body, {"OP": op})


async def test_endpoint_deadline_bounds_timeout_times_attempts(tmp_path: Path) -> None:
    op = op_name()
    script(op).delay = 5
    svc = build(
        tmp_path,
        """
endpoints:
  slow:
    timeout: 0.5
    data_sources: [{name: s, type: scripted, operation: OP, timeout: 0.3, retry: {attempts: 5, backoff: 0}}]
""",
        {"OP": op},
    )
    async with svc:
        start = time.perf_counter()
        with pytest.raises(SourceTimeout, match="deadline of 0.5s"):
            await svc.execute("d", "slow")
        assert time.perf_counter() - start < 1.5  # 5 x 0.3 s would be 1.5 s


async def test_soft_failure_is_a_2xx_with_per_source_statuses(tmp_path: Path) -> None:
    ok, bad = op_name(), op_name()
    script(ok)
    script(bad).fail = True
    svc = build(
        tmp_path,
        """
endpoints:
  page:
    data_sources:
      - {name: main, type: scripted, operation: OK}
      - {name: extras, type: scripted, operation: BAD, on_error: default, default: {items: []}}
    response_mapping: {main: "$main.call", extras: "$extras.items"}
""",
        {"OK": ok, "BAD": bad},
    )
    async with (
        svc,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=svc.app), base_url="http://t"
        ) as client,
    ):
        response = await client.get("/orchestrator/d/page")
    assert response.status_code == 200
    assert response.json() == {"main": 1, "extras": []}
    assert response.headers["X-Orkestra-Complete"] == "false"
    assert response.headers["X-Orkestra-Sources"] == "main=ok;extras=failed"


async def test_no_retry_is_started_that_the_deadline_cannot_finish(tmp_path: Path) -> None:
    op = op_name()
    backend = script(op)
    backend.fail = True
    svc = build(
        tmp_path,
        """
endpoints:
  e:
    timeout: 0.4
    data_sources: [{name: s, type: scripted, operation: OP, retry: {attempts: 5, backoff: 1, max_backoff: 1}}]
""",
        {"OP": op},
    )
    async with svc:
        with pytest.raises(
            SourceError, match="scripted failure"
        ):  # its own error, not a deadline 504
            await svc.execute("d", "e")
    assert backend.calls == 1  # a 0.5-1 s backoff cannot fit in 0.4 s
