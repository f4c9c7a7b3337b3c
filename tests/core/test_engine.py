"""The engine: concurrency from the DAG, conditions, errors naming the source, retries, deadlines."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from orkestra.errors import SourceError, SourceTimeout
from orkestra.service import Orkestra
from tests.support.configs import write_config

OPERATIONS = """
memory:
  sources:
    default:
      operations:
        slow_a: {delay: 0.3, response: {v: 1}}
        slow_b: {delay: 0.3, response: {v: 2}}
        slow_c: {delay: 0.3, response: {v: 3}}
        echo: {}
        boom: {error: "backend exploded"}
        hang: {delay: 30, timeout: 0.2, response: {}}
"""


def service(tmp_path: Path, domain: str) -> Orkestra:
    return Orkestra(
        write_config(tmp_path, {"integrations/memory.yaml": OPERATIONS, "domains/t.yaml": domain})
    )


async def timed(svc: Orkestra, endpoint: str, **kw: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await svc.execute("t", endpoint, **kw)
    return result, time.perf_counter() - start


async def test_independent_sources_overlap_and_chains_add_up(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          parallel:
            data_sources:
              - {name: a, type: memory, operation: slow_a}
              - {name: b, type: memory, operation: slow_b}
              - {name: c, type: memory, operation: slow_c}
            response_mapping: {total: "$a.v + $b.v + $c.v"}
          chain:
            data_sources:
              - {name: a, type: memory, operation: slow_a}
              - {name: b, type: memory, operation: slow_b, params: {after: "$a.v"}}
            response_mapping: {b: "$b.v"}
        """,
    )
    async with svc:
        result, parallel = await timed(svc, "parallel")
        assert result == {"total": 6}
        assert parallel < 0.55  # three 300 ms sources overlap
        result, chain = await timed(svc, "chain")
        assert result == {"b": 2}
        assert chain >= 0.6  # a chain waits for each link


async def test_condition_false_gives_null_and_dependents_still_run(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          cond:
            data_sources:
              - name: maybe
                type: memory
                operation: echo
                condition: "$request.query_params.go == 'yes'"
                params: {x: 1}
              - name: after
                type: memory
                operation: echo
                params: {seen: "$maybe.x || 'nothing'"}
            response_mapping: {maybe: "$maybe", after: "$after.seen"}
        """,
    )
    async with svc:
        assert await svc.execute("t", "cond", query={"go": "no"}) == {
            "maybe": None,
            "after": "nothing",
        }
        assert await svc.execute("t", "cond", query={"go": "yes"}) == {
            "maybe": {"x": 1},
            "after": 1,
        }


async def test_failure_names_the_source_and_cancels_the_rest(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          fails:
            data_sources:
              - {name: bad, type: memory, operation: boom}
              - {name: slow, type: memory, operation: slow_a}
        """,
    )
    async with svc:
        start = time.perf_counter()
        with pytest.raises(SourceError) as info:
            await svc.execute("t", "fails")
        assert time.perf_counter() - start < 0.25  # did not wait for the slow sibling
        assert info.value.status == 502
        assert info.value.source == "bad"
        assert "backend exploded" in str(info.value)


async def test_timeout_is_504_naming_the_source(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          hangs:
            data_sources:
              - {name: stuck, type: memory, operation: hang}
        """,
    )
    async with svc:
        with pytest.raises(SourceTimeout) as info:
            await svc.execute("t", "hangs")
        assert info.value.status == 504 and info.value.source == "stuck"


async def test_soft_failures_keep_the_response(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          soft:
            data_sources:
              - {name: skipped, type: memory, operation: boom, on_error: skip}
              - {name: defaulted, type: memory, operation: boom, on_error: default, default: {v: 0}}
              - {name: backup, type: memory, operation: slow_a}
              - {name: fell_back, type: memory, operation: boom, on_error: "fallback: backup"}
            response_mapping: {s: "$skipped", d: "$defaulted.v", f: "$fell_back.v"}
        """,
    )
    async with svc:
        assert await svc.execute("t", "soft") == {"s": None, "d": 0, "f": 1}


async def test_retries_only_as_configured(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          retried:
            data_sources:
              - {name: bad, type: memory, operation: boom, retry: 2}
        """,
    )
    async with svc:
        with pytest.raises(SourceError):
            await svc.execute("t", "retried")
        assert svc.runtime.plan("t", "retried").nodes["bad"].operation.calls == 3  # type: ignore[union-attr, attr-defined]


async def test_endpoint_deadline(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          bounded:
            timeout: 0.1
            data_sources:
              - {name: a, type: memory, operation: slow_a}
        """,
    )
    async with svc:
        with pytest.raises(SourceTimeout) as info:
            await svc.execute("t", "bounded")
        assert info.value.source == "a"


def test_plan_stages_for_dry_run(tmp_path: Path) -> None:
    svc = service(
        tmp_path,
        """
        endpoints:
          shape:
            data_sources:
              - {name: a, type: memory, operation: echo}
              - {name: b, type: memory, operation: echo}
              - {name: c, type: memory, operation: echo, params: {x: "$a", y: "$b"}}
              - {name: d, type: memory, operation: echo, depends_on: [c]}
        """,
    )
    plan = svc.runtime.plan("t", "shape")
    assert plan is not None
    assert [sorted(s) for s in plan.stages] == [["a", "b"], ["c"], ["d"]]


async def test_operation_details_reach_the_execution_record(tmp_path: Path) -> None:
    from orkestra.sources.base import CallContext, Operation, SourceType
    from orkestra.sources.registry import register_source_type

    class Filled(Operation):
        async def call(self, params: Any, ctx: CallContext) -> Any:
            return {"v": 1, "_from": "fallback"}

        def record_details(self, output: Any) -> dict[str, Any]:
            return {"database_fallback": {"values": 1}} if output.get("_from") == "fallback" else {}

    class FilledType(SourceType):
        type_name = "filled_for_test"

        def bind(self, spec: Any) -> Operation:
            return Filled()

    register_source_type(FilledType)
    svc = service(
        tmp_path, "endpoints:\n  d:\n    data_sources:\n      - {name: f, type: filled_for_test}\n"
    )
    records: list[Any] = []
    svc.observers.append(records.append)
    async with svc:
        assert await svc.execute("t", "d") == {"v": 1, "_from": "fallback"}
    assert records[-1].sources["f"].details == {"database_fallback": {"values": 1}}
