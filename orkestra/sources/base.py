"""The interface every source type implements.

A *source type* (database, api, feast, ml, or a plugin's) is built once per config load from its
top-level config section (`database:`, `api:`, ...). At load time the planner asks it to `bind` each
data source of each endpoint to an `Operation`; binding is where an unknown `source_id` or
`operation` is found, so such mistakes are config errors, never request-time surprises. Per request
the engine only calls `Operation.call`.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec


class SectionModel(BaseModel):
    """Base of a source type's config section (and of the models nested in it).

    Unknown keys are kept in `model_extra`; the loader reports them with file:line as warnings
    (errors under --strict), as it does for every other part of the config.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class EmptySection(SectionModel):
    pass


@dataclass(frozen=True)
class CallContext:
    """What an operation may know about the call it serves."""

    execution_id: str
    source_name: str  # the data source's name in the endpoint (for error messages)
    timeout: float | None = None  # seconds left for this attempt, if bounded
    headers: Mapping[str, str] = field(default_factory=dict)  # trace-context headers to propagate


@dataclass(frozen=True)
class SourceEnvironment:
    """Where a source type lives.

    `config_dir`: relative paths in its section resolve against it.
    `secrets`: values that came from ${ENV}; never put them in logs or errors.
    `sibling`: the other source types of the same scope, by type name (the feast type reads its
    database fallback through the `database` one); None when that type is not configured.
    """

    config_dir: Path
    secrets: frozenset[str] = frozenset()
    sibling: Callable[[str], SourceType | None] = field(default=lambda name: None)


class ComponentState(str, enum.Enum):
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass
class ComponentStatus:
    """The state of one long-lived part of a source type (a model, a pool, a feature store)."""

    state: ComponentState
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state.value}
        if self.error:
            out["error"] = self.error
        if self.details:
            out.update(self.details)
        return out


class Operation(ABC):
    """One configured call to a backend, bound at load time and called per request.

    `timeout` (seconds) and `retries` are the defaults the operation's config gives; the engine
    applies them (and the data source's own overrides). Only `idempotent` operations are retried.
    """

    timeout: float | None = None
    retries: int = 0
    idempotent: bool = True

    @abstractmethod
    async def call(self, params: Any, ctx: CallContext) -> Any:
        """Run the call with evaluated `params`; return JSON-compatible data.

        Raise `SourceError` (or a subclass) for backend failures; the engine names the data
        source in the response. Any other exception is reported as a 502 without its details.
        """

    def record_details(self, output: Any) -> dict[str, Any]:
        """Facts about a successful call for its execution record (e.g. which values came from a
        fallback). Must be cheap: it runs on every call."""
        return {}


class SourceType(ABC):
    """One adapter type, built from its top-level config section."""

    type_name: ClassVar[str]
    section_model: ClassVar[type[SectionModel]] = EmptySection
    # types whose operations call these siblings (SourceEnvironment.sibling); a reload that
    # changes one of them rebuilds this type too
    reads_siblings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, section: SectionModel, env: SourceEnvironment) -> None:
        self.section = section
        self.env = env

    @abstractmethod
    def bind(self, spec: DataSourceSpec) -> Operation:
        """Resolve a data source (its `source_id`, `operation`, ...) to an Operation.

        Raise `BindError(message, key)` if it names something this type does not have.
        """

    async def start(self) -> None:
        """Open pools, load models, start containers. Must not raise for a single bad part:
        record it in `status()` and fail that part's operations with SourceUnavailable."""

    async def close(self) -> None:
        """Release everything `start` acquired."""

    def status(self) -> dict[str, ComponentStatus]:
        """The state of each long-lived part, by id (shown on /ready)."""
        return {}
