"""One Redis client per event loop, created on first use (caches and rate limits share the shape).

A client belongs to the loop it was made in; tests and workers may run several loops.
"""

from __future__ import annotations

import asyncio
from typing import Any

from orkestra.extras import require


class RedisClients:
    def __init__(self, url: str, *, timeout: float = 1.0) -> None:
        self.url = url
        self.timeout = timeout
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            redis = require("redis.asyncio", "redis")
            client = self._clients[loop] = redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
        return client

    async def close(self) -> None:
        """Close this loop's client (others close from their own loop)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
