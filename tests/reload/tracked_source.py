"""A source type that records its lifecycle, to see what a reload starts, keeps and closes.

Registered as `tracked`; its section is `tracked: {label: ..., delay: ...}`; every call answers
{"label": ..., "instance": n} after `delay` seconds, and fails once the instance is closed.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

from orkestra.errors import SourceUnavailable
from orkestra.sources.base import CallContext, Operation, SectionModel, SourceType
from orkestra.sources.registry import register_source_type

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec

EVENTS: list[tuple[str, int, str]] = []  # (event, instance number, label)
_numbers = itertools.count(1)


class TrackedSection(SectionModel):
    label: str = "v1"
    delay: float = 0.0


class TrackedOperation(Operation):
    def __init__(self, owner: TrackedSource) -> None:
        self.owner = owner

    async def call(self, params: Any, ctx: CallContext) -> Any:
        if not self.owner.running:
            raise SourceUnavailable(
                ctx.source_name, f"tracked instance {self.owner.number} is closed"
            )
        section = self.owner.section
        assert isinstance(section, TrackedSection)
        await asyncio.sleep(section.delay)
        if (
            not self.owner.running
        ):  # closed while a request was using it: the bug reloads must avoid
            raise SourceUnavailable(
                ctx.source_name, f"tracked instance {self.owner.number} closed mid-call"
            )
        return {"label": section.label, "instance": self.owner.number}


@register_source_type
class TrackedSource(SourceType):
    type_name = "tracked"
    section_model = TrackedSection

    def __init__(self, section: SectionModel, env: Any) -> None:
        super().__init__(section, env)
        self.number = next(_numbers)
        self.running = False

    def bind(self, spec: DataSourceSpec) -> Operation:
        return TrackedOperation(self)

    @property
    def label(self) -> str:
        assert isinstance(self.section, TrackedSection)
        return self.section.label

    async def start(self) -> None:
        self.running = True
        EVENTS.append(("start", self.number, self.label))

    async def close(self) -> None:
        self.running = False
        EVENTS.append(("close", self.number, self.label))


@register_source_type
class TrackedReader(TrackedSource):
    """Like `tracked`, but declares that it reads its `tracked` sibling (as feast reads database)."""

    type_name = "tracked_reader"
    reads_siblings = ("tracked",)
