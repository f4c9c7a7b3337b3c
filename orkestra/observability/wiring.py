"""What tracking, metrics, tracing, logs and reload add to a service, in one place.

The service calls this at a handful of points (built, configured, started, closed, around each
execution); everything else lives in orkestra.tracking, orkestra.observability and orkestra.reload.
Tracker, metrics and tracing belong to the service and outlive config reloads; a reload that changes
the `tracking:` or `tracing:` section replaces the tracker or the tracer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from orkestra.observability import logs
from orkestra.observability.metrics import CONTENT_TYPE, Metrics
from orkestra.tracking.api import tracking_router
from orkestra.tracking.tracker import Tracker, build_store

if TYPE_CHECKING:
    from orkestra.engine.types import RequestData
    from orkestra.observability.tracing import Tracing
    from orkestra.plan.model import EndpointPlan
    from orkestra.reload import Reloader
    from orkestra.runtime import Runtime
    from orkestra.service import Orkestra

log = logging.getLogger("orkestra")


class Observability:
    def __init__(self, service: Orkestra, tracer_provider: Any = None) -> None:
        from orkestra.reload import Reloader

        self.service = service
        self.tracer_provider = (
            tracer_provider  # tests pass an SDK provider with an in-memory exporter
        )
        self.metrics = Metrics(lambda: self.service.runtime.status())
        self.tracker: Tracker | None = None
        self.tracing: Tracing | None = None
        self.reloader: Reloader = Reloader(service)
        self._closing: list[Any] = []
        service.observers.extend([self._track, self.metrics])

    def _track(self, record: Any) -> None:
        if self.tracker is not None:
            self.tracker(record)

    # -- per config ---------------------------------------------------------------------------
    def tracing_for(self, runtime: Runtime) -> Tracing | None:
        """The tracer for `runtime`: the current one while the `tracing:` section is unchanged."""
        tracing = runtime.settings.tracing
        if not tracing.enabled:
            return None
        if self.tracing is not None and self.tracing.settings.model_dump() == tracing.model_dump():
            return self.tracing
        from orkestra.observability.tracing import Tracing

        return Tracing(tracing, lambda: self.service.redactor, self.tracer_provider)

    def configure(self, runtime: Runtime, tracing: Tracing | None) -> None:
        """Called (synchronously, as part of the swap) once a config is in service."""
        settings = runtime.settings
        redactor = self.service.redactor
        logs.set_redactor(redactor)
        self.tracing = tracing
        tracker = self.tracker
        if tracker is None or tracker.settings.model_dump() != settings.tracking.model_dump():
            if tracker is not None:
                self._closing.append(tracker)
            store = build_store(settings.tracking, runtime.config_dir)
            self.tracker = Tracker(settings.tracking, store, redactor)
        else:
            tracker.redactor = redactor

    def routers(self, runtime: Runtime) -> list[APIRouter]:
        from orkestra.reload import admin_router

        router = APIRouter(tags=["orkestra"])
        router.add_api_route(
            "/metrics", self.render_metrics, methods=["GET"], include_in_schema=False
        )
        return [router, tracking_router(), admin_router()]

    async def render_metrics(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    @contextmanager
    def execution(self, plan: EndpointPlan, data: RequestData, execution_id: str) -> Iterator[None]:
        """Around one execution: the id for log lines, the request span."""
        with ExitStack() as stack:
            stack.enter_context(logs.execution_context(execution_id))
            if self.tracing is not None:
                stack.enter_context(self.tracing.request_span(plan, data, execution_id))
            yield

    def source_tracer(self) -> Tracing | None:
        return self.tracing

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        logs.configure_from_env()
        await self.close_replaced()
        self.reloader.sync_watch()

    async def close_replaced(self) -> None:
        """Close trackers a reload replaced (their pending records are written first)."""
        closing, self._closing = self._closing, []
        for tracker in closing:
            await tracker.close()

    async def close(self) -> None:
        await self.reloader.stop()
        await self.close_replaced()
        if self.tracker is not None:
            await self.tracker.close()
            self.tracker = None
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)
