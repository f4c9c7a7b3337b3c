"""A source type that writes its lifecycle to a file ($ORKESTRA_PROBE_FILE), so a test can see
from outside the server process when it started, served and was closed."""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from orkestra.sources.base import CallContext, Operation, SourceType

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec


def note(event: str) -> None:
    with open(os.environ["ORKESTRA_PROBE_FILE"], "a") as out:
        out.write(f"{time.time():.3f} {event}\n")


class SleepOperation(Operation):
    async def call(self, params: Any, ctx: CallContext) -> Any:
        seconds = float(params.get("seconds", 0)) if isinstance(params, dict) else 0.0
        note("call-start")
        await asyncio.sleep(seconds)
        note("call-end")
        return {"slept": seconds}


class ProbeSourceType(SourceType):
    type_name = "probe"

    def bind(self, spec: DataSourceSpec) -> Operation:
        return SleepOperation()

    async def start(self) -> None:
        note("start")

    async def close(self) -> None:
        note("close")
