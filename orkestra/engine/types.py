"""What an execution takes and gives: the request, the engine's options, the result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orkestra.engine.record import ExecutionRecord
from orkestra.secrets import Redactor


@dataclass
class RequestData:
    method: str = "GET"
    path_params: dict[str, Any] = field(default_factory=dict)
    query_params: dict[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    def as_scope(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path_params": self.path_params,
            "query_params": self.query_params,
            "headers": self.headers,
            "body": self.body,
        }


@dataclass
class EngineOptions:
    redactor: Redactor = field(default_factory=lambda: Redactor(()))
    measure_sizes: bool = True
    keep_payloads: bool = False
    trace_headers: Mapping[str, str] = field(default_factory=dict)
    tracer: Any = (
        None  # orkestra.observability.tracing.Tracing: a span per source, its context passed on
    )


@dataclass
class ExecutionResult:
    body: Any
    record: ExecutionRecord
