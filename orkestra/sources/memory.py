"""`memory`: canned answers, with optional delays and failures — for tests, demos and prototyping
an endpoint before its backend exists (httpx's MockTransport, for Orkestra)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pydantic import Field

from orkestra.errors import BindError, SourceError
from orkestra.sources.base import CallContext, Operation, SectionModel, SourceType

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec


class MemoryOperationSpec(SectionModel):
    response: Any = None  # returned as is; without it the call returns its params
    delay: float = Field(0.0, ge=0)  # seconds before answering
    error: str | None = None  # fail with this message (a 502 unless on_error says otherwise)
    timeout: float | None = Field(None, gt=0)
    retries: int = Field(0, ge=0)


class MemorySourceSpec(SectionModel):
    operations: dict[str, MemoryOperationSpec] = Field(default_factory=dict)


class MemorySection(SectionModel):
    sources: dict[str, MemorySourceSpec] = Field(default_factory=dict)


class MemoryOperation(Operation):
    def __init__(self, spec: MemoryOperationSpec) -> None:
        self.spec = spec
        self.timeout = spec.timeout
        self.retries = spec.retries
        self.calls = 0

    async def call(self, params: Any, ctx: CallContext) -> Any:
        self.calls += 1
        if self.spec.delay:
            await asyncio.sleep(self.spec.delay)
        if self.spec.error is not None:
            raise SourceError(ctx.source_name, self.spec.error)
        return params if self.spec.response is None else self.spec.response


class MemorySourceType(SourceType):
    type_name = "memory"
    section_model = MemorySection

    def bind(self, spec: DataSourceSpec) -> Operation:
        assert isinstance(self.section, MemorySection)
        source = self.section.sources.get(spec.source_id)
        if source is None:
            known = ", ".join(sorted(self.section.sources)) or "none configured"
            raise BindError(
                f"unknown memory source '{spec.source_id}' (known: {known})", "source_id"
            )
        op = source.operations.get(spec.operation or "")
        if op is None:
            known = ", ".join(sorted(source.operations)) or "none configured"
            raise BindError(
                f"unknown operation '{spec.operation}' of memory source '{spec.source_id}' (known: {known})"
            )
        return MemoryOperation(op)
