"""for_each: one call per item of a list, at most `concurrency` at a time, results in input order.

An operation that can batch (`call_batch(params_list, ctx) -> list`) gets one call for the whole
list instead: a database `IN`, a multi-entity Feast read, a batch predict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from orkestra.errors import SourceError


def supports_batch(operation: object) -> bool:
    return callable(getattr(operation, "call_batch", None))


async def map_in_order(
    items: Sequence[Any], call: Callable[[int, Any], Awaitable[Any]], concurrency: int
) -> list[Any]:
    """`call(index, item)` for every item; the first failure cancels the rest and is raised."""
    if not items:
        return []
    semaphore = asyncio.Semaphore(concurrency)

    async def one(index: int, item: Any) -> Any:
        async with semaphore:
            return await call(index, item)

    tasks = [asyncio.ensure_future(one(i, item)) for i, item in enumerate(items)]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def check_batch_result(source: str, result: Any, expected: int) -> list[Any]:
    if not isinstance(result, list) or len(result) != expected:
        got = f"{len(result)} results" if isinstance(result, list) else type(result).__name__
        raise SourceError(source, f"batched call returned {got} for {expected} items")
    return result
