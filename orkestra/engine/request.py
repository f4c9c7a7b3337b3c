"""One request through an endpoint plan: its scope, its response cache, its deadline, its record.

The sources themselves run as a graph in orkestra.engine.executor.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

from orkestra.engine import record as rec
from orkestra.engine.executor import Execution
from orkestra.engine.record import new_record
from orkestra.engine.types import EngineOptions, ExecutionResult, RequestData
from orkestra.errors import RequestError, SourceError, SourceTimeout
from orkestra.plan.model import EndpointPlan
from orkestra.resilience.cache import MISS, cache_key
from orkestra.resilience.guard import CachePlan


def build_scope(request: RequestData, execution_id: str) -> dict[str, Any]:
    return {
        "request": request.as_scope(),
        "system": {
            "timestamp": datetime.now(UTC).isoformat(),
            "request_id": execution_id,
            "execution_id": execution_id,
        },
        "env": os.environ,
        "ENV": os.environ,
    }


async def execute_plan(
    plan: EndpointPlan,
    request: RequestData,
    execution_id: str,
    options: EngineOptions | None = None,
) -> ExecutionResult:
    """Run `plan` for `request`. Raises SourceError (502/503/504) or RequestError (4xx)."""
    options = options or EngineOptions()
    if plan.cache is not None:
        return await _execute_cached(plan, plan.cache, request, execution_id, options)
    return await _execute(plan, request, execution_id, options)


async def _execute_cached(
    plan: EndpointPlan,
    cache: CachePlan,
    request: RequestData,
    execution_id: str,
    options: EngineOptions,
) -> ExecutionResult:
    """The endpoint's response cache. Only complete answers are stored: a soft failure is not."""
    scope = build_scope(request, execution_id)
    default_key = {k: v for k, v in scope["request"].items() if k != "headers"}
    key = cache_key(
        cache.namespace, cache.key.evaluate(scope) if cache.key is not None else default_key
    )
    body = await cache.store.get(key)
    if body is MISS:

        async def fetch() -> ExecutionResult:
            result = await _execute(plan, request, execution_id, options, scope)
            if result.record.complete:
                await cache.store.set(key, result.body, cache.ttl)
            return result

        leader, shared = await cache.coalescer.run(key, fetch)
        if not shared:
            return leader  # type: ignore[no-any-return]
        body, statuses = leader.body, {n: r.status for n, r in leader.record.sources.items()}
    else:
        statuses = {}
    record = new_record(plan, execution_id, request.method)
    for name, run in record.sources.items():
        run.from_cache = True
        run.status = statuses.get(name, rec.OK)
    record.finish(200)
    return ExecutionResult(body, record)


async def _execute(
    plan: EndpointPlan,
    request: RequestData,
    execution_id: str,
    options: EngineOptions,
    scope: dict[str, Any] | None = None,  # already built by the response cache
) -> ExecutionResult:
    record = new_record(plan, execution_id, request.method)
    if scope is None:
        scope = build_scope(request, execution_id)
    execution = Execution(plan, scope, record, options)
    if plan.timeout is not None:
        execution.deadline = asyncio.get_running_loop().time() + plan.timeout
    try:
        if plan.timeout is None:
            body = await execution.run()
        else:
            async with asyncio.timeout(plan.timeout):
                body = await execution.run()
    except TimeoutError:
        late = [r.name for r in record.sources.values() if r.status == rec.PENDING]
        for name in late:
            record.sources[name].status = rec.TIMED_OUT
        error = SourceTimeout(
            late[0] if late else plan.name, f"endpoint deadline of {plan.timeout:g}s exceeded"
        )
        record.finish(error.status, str(error))
        error.record = record  # type: ignore[attr-defined]
        raise error from None
    except (SourceError, RequestError) as exc:
        record.finish(exc.status, options.redactor.text(str(exc)))
        exc.record = record  # type: ignore[union-attr]  # observers still see failed executions
        raise
    record.finish(200)
    return ExecutionResult(body, record)
