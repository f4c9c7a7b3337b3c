"""What one request did: the execution record the engine fills and tracking stores."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orkestra.plan.model import EndpointPlan

# Source statuses
OK = "ok"
SKIPPED = "skipped"
FAILED = "failed"
TIMED_OUT = "timed_out"
FALLBACK = "fallback"
CANCELLED = "cancelled"
PENDING = "pending"


@dataclass
class SourceRun:
    name: str
    type: str
    operation: str | None
    status: str = PENDING
    start_offset_ms: float = 0.0
    duration_ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    params_size: int | None = None
    output_size: int | None = None
    waited_for: list[str] = field(default_factory=list)
    params: Any = None  # kept only when tracking keeps payloads (redacted)
    output: Any = None
    from_cache: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "operation": self.operation,
            "status": self.status,
            "start_offset_ms": round(self.start_offset_ms, 3),
            "duration_ms": round(self.duration_ms, 3),
            "attempts": self.attempts,
            "error": self.error,
            "params_size": self.params_size,
            "output_size": self.output_size,
            "waited_for": self.waited_for,
        }
        if self.from_cache:
            out["from_cache"] = True
        if self.details:
            out["details"] = self.details
        if self.params is not None:
            out["params"] = self.params
        if self.output is not None:
            out["output"] = self.output
        return out


@dataclass
class ExecutionRecord:
    execution_id: str
    domain: str
    endpoint: str
    route: str
    method: str
    started_at: float = field(default_factory=time.time)  # epoch seconds
    started_monotonic: float = field(default_factory=time.perf_counter)
    status: str = "running"  # ok | partial | failed
    http_status: int = 200
    duration_ms: float = 0.0
    error: str | None = None
    sources: dict[str, SourceRun] = field(default_factory=dict)

    def offset_ms(self) -> float:
        return (time.perf_counter() - self.started_monotonic) * 1000.0

    def finish(self, http_status: int, error: str | None = None) -> None:
        self.duration_ms = self.offset_ms()
        self.http_status = http_status
        self.error = error
        if http_status >= 400:
            self.status = "failed"
        elif any(s.status in (FAILED, TIMED_OUT, FALLBACK) for s in self.sources.values()):
            self.status = "partial"
        else:
            self.status = "ok"

    @property
    def complete(self) -> bool:
        return not any(s.status in (FAILED, TIMED_OUT, FALLBACK) for s in self.sources.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "domain": self.domain,
            "endpoint": self.endpoint,
            "route": self.route,
            "method": self.method,
            "started_at": self.started_at,
            "status": self.status,
            "http_status": self.http_status,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
            "sources": [s.as_dict() for s in self.sources.values()],
        }


def new_record(plan: EndpointPlan, execution_id: str, method: str) -> ExecutionRecord:
    record = ExecutionRecord(execution_id, plan.domain_id, plan.name, plan.route, method)
    for node in plan.nodes.values():
        record.sources[node.name] = SourceRun(
            node.name, node.type, node.spec.operation, waited_for=list(node.deps)
        )
    return record
