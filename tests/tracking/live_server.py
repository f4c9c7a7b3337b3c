"""A real uvicorn server for an Orkestra service, on 127.0.0.1 with an ephemeral port, in a thread.

    with live_server(service) as url:
        httpx.get(f"{url}/health")

The server runs the service's lifespan (start/close) on its own event loop, as `orkestra run` does.
`call(coro_fn)` runs a coroutine on that loop (e.g. `service.reload`), for tests that act on the
service from outside.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvicorn

T = TypeVar("T")
_STARTUP_TIMEOUT = 20.0


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=10
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="live-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    def call(self, fn: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(_as_coro(fn), self.loop).result(timeout)


async def _as_coro(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()


@contextmanager
def live_server(app: Any) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()
