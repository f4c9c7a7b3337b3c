"""A real HTTP server on 127.0.0.1 for tests: misbehaviours on demand, every request recorded.

    with http_backend() as backend:
        backend.set_json("customer", {"id": 1})
        ... call f"{backend.url}/json/customer" ...
        assert backend.calls("/json/customer") == 1

The server is aiohttp's, run on its own event loop in a daemon thread, so it serves tests that are
themselves async (their loop never blocks on the server) as well as sync ones. aiohttp rather than
uvicorn because a handler can reach its transport: `/reset` drops the connection without a response,
which an ASGI app cannot express.

Routes (any method unless noted):
    /echo, /echo/{anything}  {"method", "path", "raw_path", "query", "query_string", "headers", "json", "body"}
    /delay/{ms}              sleeps, then {"delayed_ms": ms}
    /status/{code}           answers with that status and {"status": code} (?echo: the /echo body)
    /malformed               200, content-type JSON, body that is not JSON
    /reset                   closes the connection without answering
    /hang                    answers only when the server stops (then drops the connection)
    /json/{name}             the JSON registered with set_json(name, value); 404 otherwise
    /redirect?to=URL         302 to URL
    /chunked/{size}          a JSON string of `size` bytes, sent chunked (no Content-Length)
    /cookie                  200 with `Set-Cookie: session=<the query's value, or "s1">`
Any other path is recorded and answered 404, so a test can assert where a request really went.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import orjson
from aiohttp import web

_STARTUP_TIMEOUT = 10.0
_SHUTDOWN_TIMEOUT = 5.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server saw it."""

    method: str
    target: str  # the request target as sent: raw path and query
    raw_path: str  # the target's path, still percent-encoded
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes


class HttpBackend:
    """The server; use `http_backend()` (context manager) or the `http_backend` pytest fixture."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._received: list[ReceivedRequest] = []
        self._canned: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: Exception | None = None
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- what tests read and set -------------------------------------------------------------

    def set_json(self, name: str, value: Any) -> None:
        """Serve `value` as JSON at /json/{name}."""
        with self._lock:
            self._canned[name] = value

    def calls(self, path: str) -> int:
        """How many requests arrived for `path` (decoded path, without the query string)."""
        with self._lock:
            return self._calls[path]

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self._received)

    def last(self) -> ReceivedRequest:
        """The most recent request; AssertionError if there was none."""
        with self._lock:
            assert self._received, "the backend received no request"
            return self._received[-1]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._received.clear()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name=f"http-backend-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT):
            raise RuntimeError("the test HTTP backend did not start in time")
        if self._startup_error is not None:
            raise RuntimeError("the test HTTP backend failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving; bounded: hanging handlers are released, then the thread is joined."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop closed between the check and the call
                pass
        if self._thread is not None:
            self._thread.join(_SHUTDOWN_TIMEOUT + 2)
            if self._thread.is_alive():
                raise RuntimeError("the test HTTP backend did not stop in time")
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(sock))
        except Exception as exc:  # noqa: BLE001 - handed to start(), which raises it
            self._startup_error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self, sock: socket.socket) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._record])
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_route("*", "/echo/{tail:.*}", self._echo)
        app.router.add_route("*", "/delay/{ms:\\d+}", self._delay)
        app.router.add_route("*", "/status/{code:\\d{3}}", self._status)
        app.router.add_route("*", "/malformed", self._malformed)
        app.router.add_route("*", "/reset", self._reset)
        app.router.add_route("*", "/hang", self._hang)
        app.router.add_route("*", "/json/{name}", self._json)
        app.router.add_route("*", "/redirect", self._redirect)
        app.router.add_route("*", "/chunked/{size:\\d+}", self._chunked)
        app.router.add_route("*", "/cookie", self._cookie)
        # shutdown_timeout bounds how long cleanup waits for handlers still running.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.SockSite(runner, sock, ssl_context=self._tls).start()
            self._ready.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    # -- handlers -----------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        seen = ReceivedRequest(
            method=request.method,
            target=request.raw_path,
            raw_path=request.raw_path.partition("?")[0],
            path=request.path,
            query_string=request.query_string,
            headers=_plain_headers(request),
            body=body,
        )
        with self._lock:
            self._calls[request.path] += 1
            self._received.append(seen)
        return await handler(request)

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            parsed = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = None
        return _json_response(
            {
                "method": request.method,
                "path": request.path,
                "raw_path": request.raw_path.partition("?")[0],
                "query": {str(key): request.query.getall(key) for key in request.query},
                "query_string": request.query_string,
                "headers": _plain_headers(request),
                "json": parsed,
                "body": body.decode("utf-8", "replace"),
            }
        )

    async def _delay(self, request: web.Request) -> web.Response:
        ms = int(request.match_info["ms"])
        assert self._stopping is not None
        try:  # a stopping server does not keep sleeping
            await asyncio.wait_for(self._stopping.wait(), ms / 1000)
        except TimeoutError:
            pass
        return _json_response({"delayed_ms": ms})

    async def _status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        if "echo" in request.query:  # an error body that repeats the request, as some APIs do
            echoed = await self._echo(request)
            echoed.set_status(code)
            return echoed
        return _json_response({"status": code}, status=code)

    async def _malformed(self, request: web.Request) -> web.Response:
        return web.Response(body=b'{"truncated": ', content_type="application/json")

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        _drop_connection(request)
        return web.Response()  # never written: the transport is closed

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        assert self._stopping is not None
        await self._stopping.wait()
        _drop_connection(request)
        return web.Response()

    async def _json(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        with self._lock:
            if name not in self._canned:
                return _json_response({"error": f"no JSON registered as {name!r}"}, status=404)
            value = self._canned[name]
        return _json_response(value)

    async def _cookie(self, request: web.Request) -> web.Response:
        response = _json_response({"cookie": "set"})
        response.set_cookie("session", request.query.get("value", "s1"))
        return response

    async def _chunked(self, request: web.Request) -> web.StreamResponse:
        return await _chunked_body(request, int(request.match_info["size"]))

    async def _redirect(self, request: web.Request) -> web.Response:
        target = request.query.get("to", "/echo")
        return web.Response(status=302, headers={"Location": target})


async def _chunked_body(request: web.Request, size: int) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b'"')
    remaining = max(size - 2, 0)
    while remaining > 0:
        step = min(remaining, 8192)
        await response.write(b"x" * step)
        remaining -= step
    await response.write(b'"')
    await response.write_eof()
    return response


def _plain_headers(request: web.Request) -> dict[str, str]:
    # aiohttp's header names are `istr`, a str subclass orjson refuses as a key.
    return {str(name): value for name, value in request.headers.items()}


def _json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


def _drop_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0: close sends RST, the client sees a reset rather than a clean EOF.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@contextmanager
def http_backend(tls: ssl.SSLContext | None = None) -> Iterator[HttpBackend]:
    """A started backend, stopped when the block exits; `tls`: serve HTTPS with that context."""
    backend = HttpBackend(tls).start()
    try:
        yield backend
    finally:
        backend.stop()
