"""Resilience: circuit breakers, retry budgets, bulkheads, caches with coalescing, for_each fan-out.

All of it is built once per plan (see `orkestra.plan.build`) and consulted by the engine per call.
"""

from orkestra.resilience.breaker import CircuitBreaker as CircuitBreaker
from orkestra.resilience.budget import RetryBudget as RetryBudget
from orkestra.resilience.bulkhead import Bulkhead as Bulkhead
from orkestra.resilience.cache import MISS as MISS
from orkestra.resilience.cache import Coalescer as Coalescer
from orkestra.resilience.cache import MemoryCache as MemoryCache
from orkestra.resilience.cache import RedisCache as RedisCache
from orkestra.resilience.cache import cache_key as cache_key
from orkestra.resilience.guard import CachePlan as CachePlan
from orkestra.resilience.guard import SourceGuard as SourceGuard
