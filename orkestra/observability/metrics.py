"""Prometheus metrics, fed by execution records and scraped on `GET /metrics`.

Each service has its own CollectorRegistry (two services in one process, as in tests or in an app
that mounts two configs, do not mix their counts). Counters survive config reloads: they belong to
the service, not to a config. Model and pool states are read from the runtime at scrape time.

Only requests that reach the engine are counted: a 404 or a 422 from request validation has no
execution record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from orkestra.engine.record import ExecutionRecord
    from orkestra.sources.base import ComponentStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_COMPONENT_STATES = ("starting", "ready", "failed", "stopped")


class ComponentCollector(Collector):
    """`orkestra_component_state{type, component, state}`: 1 for the part's current state."""

    def __init__(self, status: Callable[[], dict[str, dict[str, ComponentStatus]]]) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "orkestra_component_state",
            "State of each model, pool and feature store (1 = the current state)",
            labels=["type", "component", "state"],
        )
        for type_name, parts in self.status().items():
            for part, status in parts.items():
                for state in _COMPONENT_STATES:
                    family.add_metric(
                        [type_name, part, state], 1.0 if status.state.value == state else 0.0
                    )
        yield family


class Metrics:
    def __init__(self, status: Callable[[], dict[str, dict[str, ComponentStatus]]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        endpoint = ["domain", "endpoint"]
        self.requests = Counter(
            "orkestra_requests",
            "Executions by endpoint and HTTP status",
            [*endpoint, "method", "code", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "orkestra_request_duration_seconds",
            "Execution time per endpoint",
            endpoint,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        source = [*endpoint, "source", "type"]
        self.source_latency = Histogram(
            "orkestra_source_duration_seconds",
            "Time per data source call (retries included)",
            source,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.source_errors = Counter(
            "orkestra_source_errors",
            "Data source calls that failed or timed out",
            [*source, "status"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "orkestra_config_reloads",
            "Config reloads by result",
            ["result"],
            registry=self.registry,
        )
        self.registry.register(ComponentCollector(status))

    def __call__(self, record: ExecutionRecord) -> None:
        """The observer: called by the service after every execution."""
        labels = (record.domain, record.endpoint)
        self.requests.labels(*labels, record.method, str(record.http_status), record.status).inc()
        self.latency.labels(*labels).observe(record.duration_ms / 1000.0)
        for run in record.sources.values():
            if run.status in ("pending", "cancelled", "skipped"):
                continue  # never called: no latency to report
            self.source_latency.labels(*labels, run.name, run.type).observe(
                run.duration_ms / 1000.0
            )
            if run.status in ("failed", "timed_out"):
                self.source_errors.labels(*labels, run.name, run.type, run.status).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
