"""The resilience objects of one data source (or endpoint), built once per plan at config load.

The engine asks a guard, per call: may it go (breaker), is there room (bulkhead), may it be
retried (budget), is the answer cached, is someone already asking the same thing (coalescer).
Everything that is None costs nothing on the hot path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orkestra.resilience.breaker import CircuitBreaker
from orkestra.resilience.budget import RetryBudget
from orkestra.resilience.bulkhead import Bulkhead
from orkestra.resilience.cache import (
    DEFAULT_REDIS_URL,
    Coalescer,
    MemoryCache,
    RedisCache,
    ResponseCache,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from orkestra.config.models import CacheSpec, CircuitBreakerSpec
    from orkestra.expr import Template
    from orkestra.plan.model import EndpointPlan


@dataclass
class CachePlan:
    store: ResponseCache
    ttl: float
    namespace: str  # "<domain>.<endpoint>[.<source>]": keys of two endpoints never collide
    key: Template | None  # None: the resolved params (source) or the request (endpoint)
    coalescer: Coalescer = field(default_factory=Coalescer)


@dataclass
class SourceGuard:
    breaker: CircuitBreaker | None = None
    bulkhead: Bulkhead | None = None
    budget: RetryBudget | None = None
    cache: CachePlan | None = None


def build_breaker(spec: CircuitBreakerSpec | None) -> CircuitBreaker | None:
    if spec is None:
        return None
    return CircuitBreaker(
        spec.failure_threshold, spec.failure_rate, spec.window, spec.reset_timeout
    )


def build_cache(spec: CacheSpec | None, namespace: str, key: Template | None) -> CachePlan | None:
    if spec is None:
        return None
    store: ResponseCache
    if spec.backend == "redis":
        url = (
            getattr(spec, "redis_url", None)
            or os.environ.get("ORKESTRA_REDIS_URL")
            or DEFAULT_REDIS_URL
        )
        store = RedisCache(url)
    else:
        store = MemoryCache()
    return CachePlan(store, spec.ttl, namespace, key)


async def close_caches(plans: Iterable[EndpointPlan]) -> None:
    """Release the caches' connections (Redis clients) of these plans, when a runtime stops."""
    for plan in plans:
        caches = [plan.cache] + [n.guard.cache for n in plan.nodes.values() if n.guard is not None]
        for cache in caches:
            if cache is not None:
                await cache.store.close()
