"""The plan of an endpoint: what the engine runs per request, built once per config load."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from orkestra.config.models import DataSourceSpec, EndpointSpec
    from orkestra.expr import Template
    from orkestra.resilience.guard import CachePlan, SourceGuard
    from orkestra.sources.base import Operation
    from orkestra.transforms import Transform

# Root names an expression may use besides the endpoint's own sources.
BUILTIN_ROOTS = frozenset({"request", "system", "env", "ENV", "this", "item", "result"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 1  # total attempts, first included
    backoff: float = 0.05
    max_backoff: float = 2.0
    budget: float = 0.2


@dataclass(frozen=True)
class SourceNode:
    name: str
    type: str
    spec: DataSourceSpec
    operation: Operation
    params: Template
    condition: Template | None
    transform: Transform | None
    deps: tuple[str, ...]
    timeout: float | None
    retry: RetryPolicy
    location: str  # "domains/x.yaml:14 endpoints.predict.data_sources[1]", for messages
    guard: SourceGuard | None = None  # breaker, bulkhead, retry budget, cache (orkestra.resilience)
    for_each: Template | None = None  # the list this source runs once per item of


@dataclass(frozen=True)
class ResponsePlan:
    """How the response body is assembled from the sources' outputs."""

    template: Template | None  # response_mapping / response
    primary_source: str | None  # when there is no template
    transform: Transform | None


@dataclass
class EndpointPlan:
    domain_id: str
    name: str
    spec: EndpointSpec
    route: str  # full path, with {param} segments
    methods: tuple[str, ...]
    path_params: tuple[str, ...]
    nodes: dict[str, SourceNode]
    order: tuple[str, ...]  # a topological order (for dry runs and sequential fallbacks)
    response: ResponsePlan
    input_validator: Validator | None
    input_types: dict[str, str]  # input_schema property -> JSON type, for query/path params
    timeout: float | None
    location: str
    stages: tuple[tuple[str, ...], ...] = field(default=())  # groups that can run together
    cache: CachePlan | None = None  # the endpoint's response cache

    @property
    def key(self) -> str:
        return f"{self.domain_id}.{self.name}"

    def describe(self) -> dict[str, Any]:
        """A dry run: what would run, in which order, waiting for what."""
        return {
            "endpoint": self.key,
            "route": self.route,
            "methods": list(self.methods),
            "stages": [list(s) for s in self.stages],
            "sources": {
                n.name: {"type": n.type, "operation": n.spec.operation, "depends_on": list(n.deps)}
                for n in self.nodes.values()
            },
        }
