"""Rate limits per caller (API key / token subject) or per client IP, in memory or in Redis.

Memory: a token bucket per identity (smooth; one process). Redis: a fixed window counter per
identity (INCR + PEXPIRE), shared by every worker. Both answer "allowed" or "retry after N s".
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from orkestra.redis_clients import RedisClients

log = logging.getLogger("orkestra.security")


class RateLimiter(Protocol):
    async def hit(self, identity: str) -> float | None:
        """None when allowed; else the seconds until the next request would be."""


class MemoryRateLimiter:
    def __init__(
        self,
        requests: int,
        per: float,
        max_identities: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(requests)
        self.rate = requests / per  # tokens per second
        self.clock = clock
        self.max_identities = max_identities
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, last refill

    async def hit(self, identity: str) -> float | None:
        now = self.clock()
        tokens, last = self.buckets.get(identity, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self.buckets[identity] = (tokens - 1.0, now)
            self.buckets.move_to_end(identity)
            while len(self.buckets) > self.max_identities:  # bounded: a flood of IPs cannot grow it
                self.buckets.popitem(last=False)
            return None
        self.buckets[identity] = (tokens, now)
        return (1.0 - tokens) / self.rate


class RedisRateLimiter:
    """A shared fixed window. If Redis is down, requests are allowed (and a warning logged):
    a limiter outage must not become a service outage."""

    def __init__(self, requests: int, per: float, url: str, namespace: str) -> None:
        self.requests = requests
        self.window_ms = max(1, int(per * 1000))
        self.url = url
        self.namespace = namespace
        self._redis = RedisClients(url)

    def client(self) -> Any:
        return self._redis.get()

    async def hit(self, identity: str) -> float | None:
        window = int(time.time() * 1000) // self.window_ms
        key = f"orkestra:rl:{self.namespace}:{identity}:{window}"
        try:
            pipe = self.client().pipeline()
            pipe.incr(key)
            pipe.pexpire(key, self.window_ms)
            count, _ = await pipe.execute()
        except Exception as exc:  # noqa: BLE001  any Redis failure: fail open, loudly
            log.warning("rate limiter unavailable (%s); request allowed", type(exc).__name__)
            return None
        if int(count) <= self.requests:
            return None
        elapsed = int(time.time() * 1000) - window * self.window_ms
        return max(0.001, (self.window_ms - elapsed) / 1000)

    async def close(self) -> None:
        await self._redis.close()


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
