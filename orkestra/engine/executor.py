"""Runs the sources of one request as a graph (orkestra.engine.request is the request's entry).

Every source is a task that starts as soon as the sources it references are done, so independent
sources overlap and a chain runs in sequence. A required source that fails ends the request (502/504
naming it) and cancels the rest; soft sources (`on_error`) leave a status in the record instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from orkestra.engine import record as rec
from orkestra.engine.record import ExecutionRecord, SourceRun
from orkestra.engine.types import EngineOptions
from orkestra.errors import OrkestraError, RequestError, SourceError, SourceTimeout
from orkestra.expr import truthy
from orkestra.plan.model import EndpointPlan, SourceNode
from orkestra.resilience.breaker import counts_as_failure
from orkestra.resilience.cache import MISS, cache_key
from orkestra.resilience.fanout import check_batch_result, map_in_order, supports_batch
from orkestra.sources.base import CallContext

log = logging.getLogger("orkestra.engine")


class Execution:
    def __init__(
        self,
        plan: EndpointPlan,
        scope: dict[str, Any],
        record: ExecutionRecord,
        options: EngineOptions,
    ):
        self.plan = plan
        self.scope = scope
        self.record = record
        self.options = options
        self.deadline: float | None = None  # loop time the endpoint's timeout ends at

    def time_left(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - asyncio.get_running_loop().time()

    async def run(self) -> Any:
        nodes = self.plan.nodes
        if len(nodes) == 1:
            await self.run_node(next(iter(nodes.values())))
        elif nodes:
            await self.run_graph()
        return self.respond()

    async def run_graph(self) -> None:
        tasks: dict[str, asyncio.Task[None]] = {}
        for name in self.plan.order:
            tasks[name] = asyncio.create_task(
                self.run_after_deps(self.plan.nodes[name], tasks), name=name
            )
        try:
            done, pending = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            await _cancel(tasks.values())
            raise
        failed = [t for t in done if not t.cancelled() and t.exception() is not None]
        if failed:
            await _cancel(pending)
            for name, task in tasks.items():
                if task.cancelled() and self.record.sources[name].status == rec.PENDING:
                    self.record.sources[name].status = rec.CANCELLED
            raise _first_error([t.exception() for t in failed])  # type: ignore[misc]

    async def run_after_deps(self, node: SourceNode, tasks: dict[str, asyncio.Task[None]]) -> None:
        if node.deps:
            await asyncio.wait([tasks[d] for d in node.deps])
            if any(tasks[d].cancelled() or tasks[d].exception() is not None for d in node.deps):
                return  # the request is failing; run() reports the dependency's error
        await self.run_node(node)

    async def run_node(self, node: SourceNode) -> None:
        run = self.record.sources[node.name]
        run.start_offset_ms = self.record.offset_ms()
        try:
            output = await self.call_node_traced(node, run)
        except (SourceError, RequestError):
            raise
        except OrkestraError as exc:  # e.g. an expression that cannot be evaluated on this data
            raise SourceError(node.name, self.options.redactor.text(str(exc))) from exc
        finally:
            run.duration_ms = self.record.offset_ms() - run.start_offset_ms
        self.scope[node.name] = output
        if self.options.measure_sizes and output is not None:
            run.output_size = _size(output)
        if self.options.keep_payloads:
            run.output = self.options.redactor.data(output)

    async def call_node_traced(self, node: SourceNode, run: SourceRun) -> Any:
        tracer = self.options.tracer
        if tracer is None:
            return await self.call_node(node, run)
        with tracer.source_span(self.record, node, run):
            return await self.call_node(node, run)

    def call_headers(self) -> Mapping[str, str]:
        """Headers for the backend call: the trace context of the source's span, when tracing."""
        tracer = self.options.tracer
        if tracer is None:
            return self.options.trace_headers
        return {**self.options.trace_headers, **tracer.current_headers()}

    async def call_node(self, node: SourceNode, run: SourceRun) -> Any:
        if node.condition is not None and not truthy(node.condition.evaluate(self.scope)):
            run.status = rec.SKIPPED
            return None
        try:
            if node.for_each is not None:
                output = await self.call_for_each(node, run)
            else:
                params = node.params.evaluate(self.scope)
                if self.options.measure_sizes:
                    run.params_size = _size(params)
                if self.options.keep_payloads:
                    run.params = self.options.redactor.data(params)
                output = await self.call_cached(node, params, run, self.scope)
        except SourceError as exc:
            return await self.on_error(node, run, exc)
        run.status = rec.OK
        details = node.operation.record_details(output)
        if details:
            run.details.update(details)
        if node.transform is not None:
            output = node.transform.apply(output, self.scope)
        return output

    async def call_for_each(self, node: SourceNode, run: SourceRun) -> list[Any]:
        assert node.for_each is not None
        items = node.for_each.evaluate(self.scope)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise SourceError(node.name, f"for_each needs a list, got {type(items).__name__}")
        if len(items) > node.spec.for_each_max_items:
            raise RequestError(
                f"source '{node.name}': {len(items)} items, more than for_each_max_items "
                f"({node.spec.for_each_max_items})",
                422,
            )
        run.details["items"] = len(items)
        scopes = [{**self.scope, node.spec.as_: item} for item in items]
        params_list = [node.params.evaluate(scope) for scope in scopes]
        if (
            items
            and supports_batch(node.operation)
            and (node.guard is None or node.guard.cache is None)
        ):
            run.details["batched"] = True
            result = await self.call_with_retries(node, params_list, run, batch=True)
            return check_batch_result(node.name, result, len(items))
        return await map_in_order(
            params_list,
            lambda i, params: self.call_cached(node, params, run, scopes[i]),
            node.spec.for_each_concurrency,
        )

    async def call_cached(
        self, node: SourceNode, params: Any, run: SourceRun, scope: dict[str, Any]
    ) -> Any:
        cache = node.guard.cache if node.guard is not None else None
        if cache is None:
            return await self.call_with_retries(node, params, run)
        key = cache_key(
            cache.namespace, cache.key.evaluate(scope) if cache.key is not None else params
        )
        value = await cache.store.get(key)
        if value is not MISS:
            run.from_cache = True
            return value

        async def fetch() -> Any:
            fetched = await self.call_with_retries(node, params, run)
            await cache.store.set(key, fetched, cache.ttl)
            return fetched

        value, shared = await cache.coalescer.run(key, fetch)
        if shared:
            run.details["coalesced"] = True
        return value

    async def call_with_retries(
        self, node: SourceNode, params: Any, run: SourceRun, batch: bool = False
    ) -> Any:
        policy = node.retry
        guard = node.guard
        budget = guard.budget if guard is not None else None
        breaker = guard.breaker if guard is not None else None
        ctx = CallContext(self.record.execution_id, node.name, node.timeout, self.call_headers())
        if budget is not None:
            budget.record_call()
        for attempt in range(1, policy.attempts + 1):
            run.attempts = max(run.attempts, attempt)
            if (
                self.deadline is not None
            ):  # operations see what is really left (a statement timeout)
                left = max(0.0, self.time_left() or 0.0)
                ctx = replace(
                    ctx, timeout=left if node.timeout is None else min(node.timeout, left)
                )
            if breaker is not None:
                breaker.before_call(node.name)  # SourceUnavailable when open: the backend is spared
            try:
                result = await self.call_once(node, params, ctx, batch)
            except SourceError as exc:
                if breaker is not None and counts_as_failure(exc):
                    breaker.record_failure()
                elif breaker is not None:
                    breaker.record_success()  # the backend answered; the request was wrong
                if attempt >= policy.attempts or not exc.retryable:
                    raise
                delay = min(
                    policy.max_backoff, policy.backoff * (2 ** (attempt - 1))
                ) * random.uniform(0.5, 1.0)
                remaining = self.time_left()
                if remaining is not None and remaining <= delay:
                    raise  # a retry could not finish before the endpoint's deadline: report this error
                if budget is not None and not budget.try_retry():
                    run.details["retry_budget_exhausted"] = True
                    raise
                await asyncio.sleep(delay)
                continue
            except BaseException:
                if breaker is not None:
                    breaker.release_probe()
                raise
            if breaker is not None:
                breaker.record_success()
            return result
        raise AssertionError("unreachable: the loop returns or raises")

    async def call_once(
        self, node: SourceNode, params: Any, ctx: CallContext, batch: bool = False
    ) -> Any:
        bulkhead = node.guard.bulkhead if node.guard is not None else None
        try:
            async with asyncio.timeout(
                node.timeout
            ):  # None: unbounded (the endpoint deadline applies)
                if bulkhead is not None:
                    async with bulkhead:  # waiting for a slot counts against the timeout
                        return await self.invoke(node, params, ctx, batch)
                return await self.invoke(node, params, ctx, batch)
        except SourceError as exc:
            if exc.source != node.name:
                exc.message = self.options.redactor.text(f"{exc.source}: {exc.message}")
                exc.source = node.name
            raise
        except TimeoutError:
            raise SourceTimeout(node.name, f"no answer within {node.timeout:g}s") from None
        except (RequestError, asyncio.CancelledError):
            raise
        except OrkestraError as exc:
            raise SourceError(node.name, self.options.redactor.text(str(exc))) from exc
        except Exception as exc:
            log.error(
                "source %s (%s) raised %s: %s",
                node.name,
                node.location,
                type(exc).__name__,
                self.options.redactor.text(str(exc)),
            )
            raise SourceError(node.name, f"failed unexpectedly ({type(exc).__name__})") from exc

    @staticmethod
    async def invoke(node: SourceNode, params: Any, ctx: CallContext, batch: bool) -> Any:
        if batch:
            return await node.operation.call_batch(params, ctx)  # type: ignore[attr-defined]
        return await node.operation.call(params, ctx)

    async def on_error(self, node: SourceNode, run: SourceRun, exc: SourceError) -> Any:
        run.status = rec.TIMED_OUT if isinstance(exc, SourceTimeout) else rec.FAILED
        run.error = self.options.redactor.text(exc.message)
        policy = node.spec.on_error
        if policy == "fail":
            raise exc
        if policy == "skip":
            return None
        if policy == "default":
            return node.spec.default
        fallback = policy.split(":", 1)[1].strip()
        run.details["fallback"] = fallback
        return self.scope.get(fallback)

    def respond(self) -> Any:
        response = self.plan.response
        if response.template is not None:
            body = response.template.evaluate(self.scope)
        elif response.primary_source is not None:
            body = self.scope.get(response.primary_source)
        elif len(self.plan.nodes) == 1:
            body = self.scope.get(next(iter(self.plan.nodes)))
        else:
            body = {name: self.scope.get(name) for name in self.plan.nodes}
        if response.transform is not None:
            body = response.transform.apply(body, self.scope)
        return body


async def _cancel(tasks: Any) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


def _first_error(errors: list[BaseException]) -> BaseException:
    for error in errors:
        if isinstance(error, (SourceError, RequestError)):
            return error
    return errors[0]


def _size(value: Any) -> int:
    try:
        return len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except TypeError:
        return -1
