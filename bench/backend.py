"""The HTTP backend every scenario calls: `GET /delay/{ms}` answers a small JSON document after
`ms` milliseconds. A bare ASGI callable (no framework) on uvicorn, so that the backend is as
cheap as Python gets and the figures measure the caller, not the callee.

    uvicorn bench.backend:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

HEADERS = [(b"content-type", b"application/json")]
NOT_FOUND = orjson.dumps({"error": "not found"})


def document(ms: int) -> bytes:
    return orjson.dumps({"value": 42, "delay_ms": ms, "unit": "EUR", "tags": ["bench", "loopback"]})


# the answers are known in advance; caching them keeps the backend's per-request work minimal
_BODIES: dict[int, bytes] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path: str = scope["path"]
    status, body = 404, NOT_FOUND
    if path.startswith("/delay/") and path[7:].isdigit():
        ms = int(path[7:])
        if ms:
            await asyncio.sleep(ms / 1000)
        body = _BODIES.get(ms) or _BODIES.setdefault(ms, document(ms))
        status = 200
    elif path == "/health":
        status, body = 200, b"{}"
    await send({"type": "http.response.start", "status": status, "headers": HEADERS})
    await send({"type": "http.response.body", "body": body})
