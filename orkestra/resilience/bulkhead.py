"""A bulkhead: at most `limit` calls of one data source in flight, so one slow backend cannot hold
every connection and task of the process. Waiting for a slot counts against the source's timeout."""

from __future__ import annotations

import asyncio


class Bulkhead:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        # Created lazily: a plan is built outside any event loop and may serve several loops in
        # tests; one Semaphore per loop keeps it bound to the loop that uses it.
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._semaphores.get(loop)
        if sem is None:
            for old in [l for l in self._semaphores if l.is_closed()]:
                del self._semaphores[old]
            sem = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        return sem

    async def __aenter__(self) -> None:
        await self.semaphore().acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self.semaphore().release()
