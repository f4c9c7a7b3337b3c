"""OpenTelemetry spans: one per request, one per data source call, W3C trace context passed on.

Needs the `otel` extra (opentelemetry-api/sdk) and a `tracing:` section. A request span continues
the caller's trace (`traceparent` on the incoming request); each source span is its child, and the
source's context is injected into the headers the engine hands to HTTP and model calls
(`CallContext.headers`), so a backend's own spans join the same trace.

Exporters: `none` uses the process's global TracerProvider (what `opentelemetry-instrument` or the
application configured), `console` prints spans, `otlp` sends them to `otlp_endpoint`
(needs opentelemetry-exporter-otlp-proto-http). Span errors carry the redacted message only, never a
stack trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from orkestra import __version__
from orkestra.errors import OrkestraError, SourceError
from orkestra.extras import require

if TYPE_CHECKING:
    from orkestra.config.models import TracingSection
    from orkestra.engine.record import ExecutionRecord, SourceRun
    from orkestra.engine.types import RequestData
    from orkestra.plan.model import EndpointPlan, SourceNode
    from orkestra.secrets import Redactor


def build_provider(settings: TracingSection) -> Any:
    """The TracerProvider the settings ask for (the global one for exporter `none`)."""
    trace = require("opentelemetry.trace", "otel")
    if settings.exporter == "none":
        return trace.get_tracer_provider()
    sdk_trace = require("opentelemetry.sdk.trace", "otel")
    export = require("opentelemetry.sdk.trace.export", "otel")
    resources = require("opentelemetry.sdk.resources", "otel")
    sampling = require("opentelemetry.sdk.trace.sampling", "otel")
    provider = sdk_trace.TracerProvider(
        resource=resources.Resource.create({"service.name": settings.service_name}),
        sampler=sampling.ParentBasedTraceIdRatio(settings.sample_ratio),
    )
    if settings.exporter == "console":
        provider.add_span_processor(export.SimpleSpanProcessor(export.ConsoleSpanExporter()))
    else:
        otlp = require("opentelemetry.exporter.otlp.proto.http.trace_exporter", "otel")
        exporter = (
            otlp.OTLPSpanExporter(endpoint=settings.otlp_endpoint)
            if settings.otlp_endpoint
            else otlp.OTLPSpanExporter()
        )
        provider.add_span_processor(export.BatchSpanProcessor(exporter))
    return provider


class Tracing:
    """Span factory for the service (request spans) and the engine (source spans)."""

    def __init__(
        self, settings: TracingSection, redactor: Callable[[], Redactor], provider: Any = None
    ) -> None:
        self.settings = settings
        self.redactor = redactor
        self.provider = provider if provider is not None else build_provider(settings)
        self._trace = require("opentelemetry.trace", "otel")
        self._propagate = require("opentelemetry.propagate", "otel")
        self.tracer = self.provider.get_tracer("orkestra", __version__)

    @contextmanager
    def request_span(
        self, plan: EndpointPlan, data: RequestData, execution_id: str
    ) -> Iterator[None]:
        parent = (
            self._propagate.extract(dict(data.headers)) if self.settings.accept_incoming else None
        )
        attributes = {
            "http.request.method": data.method,
            "http.route": plan.route,
            "orkestra.domain": plan.domain_id,
            "orkestra.endpoint": plan.name,
            "orkestra.execution_id": execution_id,
        }
        with self._span(f"{data.method} {plan.route}", "SERVER", attributes, parent) as span:
            try:
                yield
            except OrkestraError as exc:
                status = getattr(exc, "status", 500)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    self._fail(span, exc)
                raise
            span.set_attribute("http.response.status_code", 200)

    @contextmanager
    def source_span(
        self, record: ExecutionRecord, node: SourceNode, run: SourceRun
    ) -> Iterator[None]:
        """A child span around one source (its attempts, cache lookups, for_each items).

        A soft failure (`on_error: skip/default/fallback`) does not raise: the span's status is
        taken from the record once the source is done."""
        attributes = {
            "orkestra.source": node.name,
            "orkestra.source.type": node.type,
            "orkestra.operation": node.spec.operation or "",
            "orkestra.execution_id": record.execution_id,
        }
        with self._span(f"source {node.name}", "CLIENT", attributes) as span:
            try:
                yield
            except SourceError as exc:
                self._fail(span, exc)
                raise
            finally:
                span.set_attribute("orkestra.attempts", run.attempts)
                span.set_attribute("orkestra.status", run.status)
                if run.status in ("failed", "timed_out") and run.error:
                    span.set_status(
                        self._trace.Status(
                            self._trace.StatusCode.ERROR, self.redactor().text(run.error)
                        )
                    )

    def current_headers(self) -> dict[str, str]:
        """The current span's context as W3C `traceparent` (and `tracestate`) headers."""
        carrier: dict[str, str] = {}
        self._propagate.inject(carrier)
        return carrier

    def _span(self, name: str, kind: str, attributes: dict[str, Any], parent: Any = None) -> Any:
        # errors are set by hand, redacted: an exception event would carry a traceback
        return self.tracer.start_as_current_span(
            name,
            context=parent,
            kind=getattr(self._trace.SpanKind, kind),
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        )

    def _fail(self, span: Any, exc: Exception) -> None:
        status = self._trace.Status(self._trace.StatusCode.ERROR, self.redactor().text(str(exc)))
        span.set_status(status)
        span.set_attribute("error.type", type(exc).__name__)

    def shutdown(self) -> None:
        if self.settings.exporter != "none" and hasattr(self.provider, "shutdown"):
            self.provider.shutdown()
