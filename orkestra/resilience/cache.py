"""Response caches (in memory, or Redis shared across workers) and request coalescing.

Keys are computed from the resolved params (or a configured `key` template) and hashed, so a key
never carries request data, and secrets in params never reach Redis as key text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from orkestra.redis_clients import RedisClients

log = logging.getLogger("orkestra.cache")

MISS: Any = object()
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ResponseCache(Protocol):
    async def get(self, key: str) -> Any:
        """The cached value, or MISS."""

    async def set(self, key: str, value: Any, ttl: float) -> None: ...

    async def close(self) -> None: ...


def cache_key(namespace: str, value: Any) -> str:
    """A stable key for JSON-like `value` (dict order does not matter)."""
    try:
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        raw = repr(value).encode()
    return f"orkestra:{namespace}:{hashlib.sha256(raw).hexdigest()}"


class MemoryCache:
    """A bounded LRU with per-entry expiry, for one process."""

    def __init__(
        self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self.entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.writes = 0

    async def get(self, key: str) -> Any:
        entry = self.entries.get(key)
        if entry is None:
            return MISS
        expires, value = entry
        if self.clock() >= expires:
            del self.entries[key]
            return MISS
        self.entries.move_to_end(key)
        return value

    async def set(self, key: str, value: Any, ttl: float) -> None:
        now = self.clock()
        self.entries[key] = (now + ttl, value)
        self.entries.move_to_end(key)
        self.writes += 1
        if self.writes % 1000 == 0:  # amortized sweep: keys never read again still expire
            for stale in [k for k, (expires, _) in self.entries.items() if expires <= now]:
                del self.entries[stale]
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    async def close(self) -> None:
        self.entries.clear()


class RedisCache:
    """Values as JSON in Redis with a TTL. A Redis outage degrades to no caching, never to a 5xx."""

    def __init__(self, url: str = DEFAULT_REDIS_URL) -> None:
        self.url = url
        self._redis = RedisClients(url)

    def client(self) -> Any:
        return self._redis.get()

    async def get(self, key: str) -> Any:
        try:
            raw = await self.client().get(key)
        except Exception as exc:  # noqa: BLE001  redis errors, timeouts, a closed loop
            log.warning("cache read failed (%s); calling the source", type(exc).__name__)
            return MISS
        return MISS if raw is None else orjson.loads(raw)

    async def set(self, key: str, value: Any, ttl: float) -> None:
        try:
            raw = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
            await self.client().set(key, raw, px=max(1, int(ttl * 1000)))
        except Exception as exc:  # noqa: BLE001  same: a cache must not fail the call
            log.warning("cache write failed (%s)", type(exc).__name__)

    async def close(self) -> None:
        await self._redis.close()


class Coalescer:
    """Concurrent calls with the same key share one backend call.

    The shared call runs as its own task, shielded: a caller that gives up (its request was
    cancelled) does not cancel the call the others wait for.
    """

    def __init__(self) -> None:
        self.pending: dict[str, asyncio.Task[Any]] = {}

    async def run(self, key: str, factory: Callable[[], Awaitable[Any]]) -> tuple[Any, bool]:
        """(result, shared): `shared` is True when this caller joined another's call."""
        task = self.pending.get(key)
        # a task of another (e.g. closed) event loop cannot be awaited here: start afresh
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            return await asyncio.shield(task), True
        task = asyncio.ensure_future(factory())
        self.pending[key] = task
        task.add_done_callback(lambda t: self._forget(key, t))
        return await asyncio.shield(task), False

    def _forget(self, key: str, task: asyncio.Task[Any]) -> None:
        if self.pending.get(key) is task:
            del self.pending[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody awaited is not "never retrieved"
