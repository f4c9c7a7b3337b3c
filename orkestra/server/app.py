"""The ASGI application: one FastAPI app per loaded config, behind a wrapper that can swap it.

Configured endpoints are plain Starlette routes (no FastAPI dependency machinery on the hot path);
the OpenAPI document describes them from the config (see openapi.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from orkestra import __version__
from orkestra.security.guard import Security
from orkestra.server.builtin import builtin_router
from orkestra.server.endpoint import EndpointHandler
from orkestra.server.openapi import build_openapi
from orkestra.server.problems import problem
from orkestra.server.routing import EndpointTable

if TYPE_CHECKING:
    from orkestra.runtime import Runtime
    from orkestra.service import Orkestra


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        detail = f"no endpoint at {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg"))}
        for e in exc.errors()
    ]
    return problem(422, "invalid request", errors=errors)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return problem(500, "internal error")


def build_fastapi(service: Orkestra, runtime: Runtime) -> FastAPI:
    settings = runtime.settings
    app = FastAPI(
        title=settings.app.name,
        version=settings.app.version or __version__,
        description=settings.app.description or "",
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url="/openapi.json",
    )
    app.state.service = service
    app.state.security = Security(settings.auth, runtime)  # ConfigError: the config is refused
    app.state.in_flight = InFlight()
    app.include_router(builtin_router(settings.app.api_base_path))
    for router in service.extra_routers(runtime):
        app.include_router(router)
    endpoints = [
        Route(
            plan.route,
            EndpointHandler(plan, service, app.state.security).handle,
            methods=list(plan.methods),
            name=plan.key,
        )
        for plan in runtime.plans
    ]
    # first: configured endpoints are the hot path; a dict lookup finds them (server/routing.py)
    app.router.routes.insert(0, EndpointTable(endpoints))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
    if settings.cors.enabled:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors.allow_origins,
            allow_methods=settings.cors.allow_methods,
            allow_headers=settings.cors.allow_headers,
            allow_credentials=settings.cors.allow_credentials,
        )
    schema: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not schema:
            schema.update(
                build_openapi(app, runtime.plans, app.title, app.version, app.description)
            )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class InFlight:
    """Requests one app is serving. A reload closes the old config's sources only once its app
    has none left, so in-flight requests finish on the config they started with."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def exit(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


class OrkestraASGI:
    """The app users serve or mount. Delegates to the current config's FastAPI app, so a reload
    swaps one reference; requests already running keep the app they started with."""

    def __init__(self, service: Orkestra) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if not self.service.started:
            await self.service.start()  # mounted apps get no lifespan events: start on first use
        app = self.service.current_app  # read once: the request stays on this config
        in_flight: InFlight = app.state.in_flight
        in_flight.enter()
        try:
            await app(scope, receive, send)
        finally:
            in_flight.exit()

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.service.start()
                except Exception as exc:  # noqa: BLE001  # reported to the server, which exits cleanly
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.service.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
