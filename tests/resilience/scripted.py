"""A `scripted` source type for resilience tests: each operation follows a Script the test changes
while the service runs (fail or not, how slow), and counts what reached it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orkestra.errors import BindError, SourceError
from orkestra.sources.base import CallContext, Operation, SourceType
from orkestra.sources.registry import register_source_type

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec


@dataclass
class Script:
    fail: bool = False
    delay: float = 0.0
    delays: dict[Any, float] = field(default_factory=dict)  # per `id` param, to reorder answers
    calls: int = 0
    batch_calls: int = 0
    in_flight: int = 0
    peak: int = 0
    seen: list[Any] = field(default_factory=list)

    async def answer(self, params: Any, source: str) -> Any:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.seen.append(params)
        try:
            key = params.get("id") if isinstance(params, dict) else None
            await asyncio.sleep(self.delays.get(key, self.delay))
            if self.fail:
                raise SourceError(source, "scripted failure")
            return {"echo": params, "call": self.calls}
        finally:
            self.in_flight -= 1


SCRIPTS: dict[str, Script] = {}


def script(name: str) -> Script:
    """A fresh script for operation `name` (tests use unique names, so runs never share one)."""
    SCRIPTS[name] = Script()
    return SCRIPTS[name]


class ScriptedOperation(Operation):
    def __init__(self, name: str) -> None:
        self.name = name

    async def call(self, params: Any, ctx: CallContext) -> Any:
        return await SCRIPTS[self.name].answer(params, ctx.source_name)


class BatchingOperation(ScriptedOperation):
    async def call_batch(self, params_list: list[Any], ctx: CallContext) -> list[Any]:
        s = SCRIPTS[self.name]
        s.batch_calls += 1
        return [{"echo": p, "batch": s.batch_calls} for p in params_list]


class ScriptedSourceType(SourceType):
    type_name = "scripted"

    def bind(self, spec: DataSourceSpec) -> Operation:
        name = spec.operation or ""
        if name not in SCRIPTS:
            raise BindError(f"no script '{name}'")
        return BatchingOperation(name) if name.startswith("batch") else ScriptedOperation(name)


register_source_type(ScriptedSourceType)
