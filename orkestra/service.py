"""The library's entry point: an Orkestra service built from a config directory.

service = Orkestra("./config")
app = service.app                                  # serve it, or mount it in a FastAPI app
result = await service.execute("model_scoring", "predict", path_params={"entity_id": "42"})
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import orjson
from starlette.requests import Request
from starlette.responses import Response

from orkestra.engine.record import ExecutionRecord
from orkestra.engine.request import execute_plan
from orkestra.engine.types import EngineOptions, ExecutionResult, RequestData
from orkestra.errors import OrkestraError, RequestError, SourceError
from orkestra.http_client import close_shared_client
from orkestra.observability.logs import bind_execution_id
from orkestra.resilience.guard import close_caches
from orkestra.runtime import Runtime, load_runtime
from orkestra.secrets import Redactor
from orkestra.server.endpoint import (
    EXECUTION_HEADER,
    check_input,
    error_response,
    new_execution_id,
)

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from orkestra.config.models import GlobalConfig
    from orkestra.plan.model import EndpointPlan

log = logging.getLogger("orkestra")


class Orkestra:
    def __init__(
        self,
        config_path: str | Path,
        *,
        strict: bool = False,
        runtime: Runtime | None = None,
        tracer_provider: Any = None,
    ) -> None:
        self.config_path = Path(config_path).resolve()
        self.strict = strict
        self.runtime = (
            runtime if runtime is not None else load_runtime(self.config_path, strict=strict)
        )
        self.started = False
        self._start_lock = asyncio.Lock()
        self.observers: list[Any] = []  # callables(record) run after each execution
        from orkestra.observability.wiring import Observability

        # tracking, metrics, tracing, logs and config reload (tracer_provider: an OTel SDK provider)
        self.observability = Observability(self, tracer_provider)
        self._configure(self.runtime)
        from orkestra.server.app import OrkestraASGI

        self.app = OrkestraASGI(self)

    @classmethod
    def from_config(cls, config_path: str | Path, *, strict: bool = False) -> Orkestra:
        return cls(config_path, strict=strict)

    def _configure(self, runtime: Runtime) -> None:
        """Build what serving `runtime` takes, then put it all in place in one synchronous step.

        Building may raise ConfigError (e.g. the auth section): then nothing has changed."""
        from orkestra.server.app import build_fastapi

        tracking = runtime.settings.tracking
        redactor = Redactor(runtime.secrets, tracking.sensitive_fields)
        tracing = self.observability.tracing_for(runtime)
        options = EngineOptions(
            redactor=redactor, keep_payloads=tracking.keep_payloads, tracer=tracing
        )
        app: FastAPI = build_fastapi(self, runtime)
        # requests already running on an older app keep that config's options (secrets, tracking)
        app.state.engine_options = options
        self.runtime, self.redactor, self.options, self.fastapi = runtime, redactor, options, app
        self.observability.configure(runtime, tracing)

    def swap_runtime(self, runtime: Runtime) -> None:
        """Put a loaded (and started) runtime in service. Synchronous, so it is atomic for requests;
        raises ConfigError, with the old config still in service, if its app cannot be built."""
        self._configure(runtime)

    async def reload(self) -> dict[str, Any]:
        """Reload the config directory (see orkestra.reload); the old config serves until it is valid."""
        return await self.observability.reloader.reload("api")

    @property
    def settings(self) -> GlobalConfig:
        return self.runtime.settings

    @property
    def current_app(self) -> FastAPI:
        return self.fastapi

    def extra_routers(self, runtime: Runtime) -> list[APIRouter]:
        """Routers other parts add to every app built (tracking, metrics, admin)."""
        return self.observability.routers(runtime)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        async with self._start_lock:
            if self.started:
                return
            await self.runtime.start()
            self.started = True
            await self.observability.start()

    async def close(self) -> None:
        if not self.started:
            return
        self.started = False
        await self.observability.close()
        await self.runtime.close()
        await close_caches(self.runtime.plans)
        await self.fastapi.state.security.close()
        await close_shared_client()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- execution -------------------------------------------------------------------------------
    async def run(
        self,
        plan: EndpointPlan,
        data: RequestData,
        execution_id: str,
        options: EngineOptions | None = None,
    ) -> ExecutionResult:
        try:
            with self.observability.execution(plan, data, execution_id):
                result = await execute_plan(plan, data, execution_id, options or self.options)
        except OrkestraError as exc:
            record = getattr(exc, "record", None)
            self.observe(record)
            raise
        self.observe(result.record)
        return result

    def observe(self, record: ExecutionRecord | None) -> None:
        if record is None:
            return
        for observer in self.observers:
            try:
                observer(record)
            except Exception as exc:  # noqa: BLE001  # an observer must never fail a request
                log.warning("execution observer failed: %s", exc)

    async def respond(
        self, plan: EndpointPlan, data: RequestData, execution_id: str, request: Request
    ) -> Response:
        options: EngineOptions = getattr(request.app.state, "engine_options", self.options)
        redact = options.redactor.text
        # set, not reset: the server's access log line is written later in this request's task,
        # and it should carry the id too (each request runs in its own task and context)
        bind_execution_id(execution_id)
        try:
            result = await self.run(plan, data, execution_id, options)
        except OrkestraError as exc:
            if isinstance(exc, SourceError):
                log.warning(
                    "%s %s failed: %s [%s]", data.method, plan.route, redact(str(exc)), execution_id
                )
            response = error_response(exc, execution_id, redact)
            record = getattr(exc, "record", None)
            if record is not None and self._debug(data):
                return _with_execution(response, options.redactor.data(record.as_dict()))
            return response
        headers = {EXECUTION_HEADER: execution_id}
        if not result.record.complete:
            # a soft failure: 2xx, but the caller must be able to tell what is missing
            headers["X-Orkestra-Complete"] = "false"
            headers["X-Orkestra-Sources"] = ";".join(
                f"{run.name}={run.status}" for run in result.record.sources.values()
            )
        # data.query_params is already parsed: request.query_params would parse the query again
        if self._debug(data):
            debug = {
                "result": result.body,
                "execution": options.redactor.data(result.record.as_dict()),
            }
            return Response(_dumps(debug), media_type="application/json", headers=headers)
        return Response(_dumps(result.body), media_type="application/json", headers=headers)

    def _debug(self, data: RequestData) -> bool:
        """`?debug=true` with `tracking.allow_debug`: the execution record goes with the answer."""
        return data.query_params.get("debug") == "true" and self.settings.tracking.allow_debug

    async def execute(
        self,
        domain: str,
        endpoint: str,
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
    ) -> Any:
        """Run an endpoint in-process, without HTTP. Raises SourceError / RequestError."""
        if not self.started:
            await self.start()
        plan = self.runtime.plan(domain, endpoint)
        if plan is None:
            raise RequestError(f"no endpoint '{endpoint}' in domain '{domain}'", 404)
        missing = [p for p in plan.path_params if p not in (path_params or {})]
        if missing:
            raise RequestError(f"missing path parameter(s): {', '.join(missing)}", 422)
        method = method.upper()
        typed_query, typed_path = check_input(
            plan,
            method,
            dict(query or {}),
            dict(path_params or {}),
            body,
        )
        data = RequestData(method, typed_path, typed_query, dict(headers or {}), body)
        result = await self.run(plan, data, new_execution_id())
        return result.body


def _with_execution(problem: Response, execution: dict[str, Any]) -> Response:
    """A problem+json answer with the execution record added (debug mode)."""
    body = orjson.loads(problem.body)
    body["execution"] = execution
    headers = {
        k: v
        for k, v in problem.headers.items()
        if k.lower() not in ("content-length", "content-type")
    }
    return Response(_dumps(body), problem.status_code, headers, media_type=problem.media_type)


def _dumps(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
