"""OpenTelemetry: a request span and a child span per source, recorded with the SDK's in-memory
exporter; the source's trace context reaches a real HTTP backend as `traceparent`; an incoming
`traceparent` is continued; failures are error spans without secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend

pytest_plugins = ["tests.support.fixtures"]

TOKEN = "tok-trace-4b1d9e"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


def files(backend: str) -> dict[str, str]:
    return {
        "config.yaml": "tracing:\n  enabled: true\n",
        "integrations/api.yaml": f"""
            api:
              sources:
                partner:
                  base_url: "{backend}"
                  headers: {{Authorization: "Bearer ${{PARTNER_TOKEN}}"}}
                  operations:
                    echo: {{path: /echo/customer}}
                    down: {{path: /status/500}}
            """,
        "integrations/ml.yaml": f"""
            ml:
              sources:
                scorer:
                  base_url: "{backend}"
                  models:
                    default: {{endpoint: /echo/predict, method: post, protocol: json}}
            """,
        "integrations/memory.yaml": """
            memory:
              sources:
                default:
                  operations:
                    local: {response: {v: 1}, delay: 0.01}
            """,
        "domains/t.yaml": """
            domain_id: t
            endpoints:
              fan:
                method: get
                data_sources:
                  - {name: local, type: memory, operation: local}
                  - {name: remote, type: api, source_id: partner, operation: echo, params: {v: "$local.v"}}
                response_mapping: {headers: "$remote.headers"}
              score:
                method: get
                data_sources:
                  - {name: model, type: ml, source_id: scorer, params: {x: 1}}
              broken:
                method: get
                data_sources:
                  - {name: remote, type: api, source_id: partner, operation: down}
            """,
    }


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def client(
    tmp_path: Path,
    http_backend: HttpBackend,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("PARTNER_TOKEN", TOKEN)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = Orkestra(write_config(tmp_path, files(http_backend.url)), tracer_provider=provider)
    async with service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


def by_name(spans: Any) -> dict[str, Any]:
    return {span.name: span for span in spans}


async def test_request_and_source_spans_with_propagation(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter, http_backend: HttpBackend
) -> None:
    resp = await client.get("/orchestrator/t/fan")
    assert resp.status_code == 200
    spans = by_name(exporter.get_finished_spans())
    request, local, remote = (
        spans["GET /orchestrator/t/fan"],
        spans["source local"],
        spans["source remote"],
    )
    assert request.kind == SpanKind.SERVER and request.parent is None
    assert request.attributes["orkestra.execution_id"] == resp.headers["x-orkestra-execution-id"]
    assert request.attributes["http.response.status_code"] == 200
    for source in (local, remote):
        assert source.kind == SpanKind.CLIENT
        assert source.parent is not None and source.parent.span_id == request.context.span_id
        assert source.context.trace_id == request.context.trace_id
    assert (
        remote.attributes["orkestra.source.type"] == "api"
        and remote.attributes["orkestra.attempts"] == 1
    )
    assert remote.start_time >= local.end_time  # remote references $local: it waited

    # the backend saw the remote source's span as its parent
    traceparent = http_backend.last().headers["traceparent"]
    version, trace_id, parent_id, _flags = traceparent.split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        f"{request.context.trace_id:032x}",
        f"{remote.context.span_id:016x}",
    )


async def test_model_call_carries_the_trace(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter, http_backend: HttpBackend
) -> None:
    resp = await client.get("/orchestrator/t/score")
    assert resp.status_code == 200
    model = by_name(exporter.get_finished_spans())["source model"]
    assert http_backend.last().path == "/echo/predict"
    _v, trace_id, parent_id, _f = http_backend.last().headers["traceparent"].split("-")
    assert (trace_id, parent_id) == (
        f"{model.context.trace_id:032x}",
        f"{model.context.span_id:016x}",
    )


async def test_incoming_traceparent_is_continued(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await client.get(
        "/orchestrator/t/fan", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
    )
    request = by_name(exporter.get_finished_spans())["GET /orchestrator/t/fan"]
    assert f"{request.context.trace_id:032x}" == CALLER_TRACE
    assert request.parent is not None and f"{request.parent.span_id:016x}" == CALLER_SPAN


async def test_failure_is_an_error_span_without_secrets(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    resp = await client.get("/orchestrator/t/broken")
    assert resp.status_code == 502
    spans = by_name(exporter.get_finished_spans())
    request, remote = spans["GET /orchestrator/t/broken"], spans["source remote"]
    assert remote.status.status_code == StatusCode.ERROR and "answered 500" in (
        remote.status.description or ""
    )
    assert request.status.status_code == StatusCode.ERROR
    assert request.attributes["http.response.status_code"] == 502
    everything = repr(
        [
            (
                s.name,
                dict(s.attributes or {}),
                s.status.description,
                [e.attributes for e in s.events],
            )
            for s in exporter.get_finished_spans()
        ]
    )
    assert TOKEN not in everything
    assert not any(
        e.name == "exception" for s in exporter.get_finished_spans() for e in s.events
    )  # no stack traces


async def test_no_tracing_section_no_spans(tmp_path: Path, exporter: InMemorySpanExporter) -> None:
    plain = {
        "domains/t.yaml": "domain_id: t\nendpoints:\n  d: {endpoint_type: direct, response: {ok: true}}\n"
    }
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with Orkestra(write_config(tmp_path, plain), tracer_provider=provider) as service:
        assert await service.execute("t", "d") == {"ok": True}
    assert exporter.get_finished_spans() == ()
