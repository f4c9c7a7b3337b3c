"""`direct`: a data source whose output is its evaluated params."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orkestra.sources.base import CallContext, Operation, SourceType

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec


class EchoOperation(Operation):
    async def call(self, params: Any, ctx: CallContext) -> Any:
        return params


class DirectSourceType(SourceType):
    type_name = "direct"

    def bind(self, spec: DataSourceSpec) -> Operation:
        return EchoOperation()
