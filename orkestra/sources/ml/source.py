"""The `ml` source type: `ml.sources.<id>.models.<name>` -> one Operation per bound data source.

`operation` picks the model, an unknown name falls back to the model `default`. Every strategy
(external HTTP, in-process artifact, managed process, docker, ecr) answers through the same
contract: params in, a JSON object out (a list for a batch), optionally shaped by `outputs:`.
Relative artifact paths and a process's `cwd` resolve against the project root (the config
directory's parent), like `sqlite:///data/app.db` does for databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from orkestra.errors import BindError, ExpressionError, SourceError
from orkestra.expr import EvaluationError, Template, compile_template
from orkestra.sources.base import (
    CallContext,
    ComponentStatus,
    Operation,
    SourceEnvironment,
    SourceType,
)
from orkestra.sources.ml.config import MLSection
from orkestra.sources.ml.lifecycle import ModelHandle, Supervisor

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec


class MLOperation(Operation):
    def __init__(self, handle: ModelHandle, outputs: Template | None) -> None:
        self.handle = handle
        self.outputs = outputs
        self.timeout = handle.spec.timeout

    async def call(self, params: Any, ctx: CallContext) -> Any:
        result = await self.handle.invoke(params, ctx)
        if self.outputs is None:
            return result.value
        rows = result.value if result.batch else [result.value]
        try:
            shaped = [self.outputs.evaluate({"result": row, "params": params}) for row in rows]
        except EvaluationError as exc:
            message = f"model '{self.handle.model_id}': its `outputs` template failed: {exc}"
            raise SourceError(ctx.source_name, message) from None
        return shaped if result.batch else shaped[0]

    async def call_batch(self, params_list: list[Any], ctx: CallContext) -> list[Any]:
        """for_each over single rows: one batch predict (one HTTP call or one in-process predict)
        instead of one call per row."""
        rows = [p.get("features", p) if isinstance(p, dict) else p for p in params_list]
        if not rows or not all(isinstance(row, dict) for row in rows):
            return list(await asyncio.gather(*(self.call(p, ctx) for p in params_list)))
        out = await self.call({"features": rows}, ctx)
        return out if isinstance(out, list) else [out]


class MLSourceType(SourceType):
    type_name = "ml"
    section_model = MLSection

    def __init__(self, section: MLSection, env: SourceEnvironment) -> None:
        super().__init__(section, env)
        self.section: MLSection = section
        project_dir = env.config_dir.parent
        self.handles: dict[str, dict[str, ModelHandle]] = {
            source_id: {
                key: ModelHandle(
                    source_id=source_id,
                    key=key,
                    spec=model,
                    source_spec=source,
                    project_dir=project_dir,
                    secrets=env.secrets,
                )
                for key, model in source.models.items()
            }
            for source_id, source in section.sources.items()
        }
        self._templates: dict[str, Template | None] = {}
        self._executors: list[ThreadPoolExecutor] = []
        self._supervisors: list[Supervisor] = []

    def _outputs(self, handle: ModelHandle) -> Template | None:
        """Compiled once per model, at the first bind (load time), never per request."""
        if handle.model_id not in self._templates:
            outputs = handle.spec.outputs
            if outputs is None:
                self._templates[handle.model_id] = None
            else:
                source_id, _, key = handle.model_id.partition("/")
                try:
                    self._templates[handle.model_id] = compile_template(outputs)
                except ExpressionError as exc:
                    # The message names the ml config key; the data source binding it is where
                    # the loader reports it, so key_path (relative to the template) is not kept.
                    inner = "".join(
                        f"[{k}]" if isinstance(k, int) else f".{k}" for k in exc.key_path
                    )
                    where = f"ml.sources.{source_id}.models.{key}.outputs{inner}"
                    raise ExpressionError(
                        f"{where}: {exc.message}", exc.text, exc.position
                    ) from None
        return self._templates[handle.model_id]

    def bind(self, spec: DataSourceSpec) -> Operation:
        models = self.handles.get(spec.source_id)
        if models is None:
            known = ", ".join(sorted(self.handles)) or "none configured"
            raise BindError(f"unknown ml source '{spec.source_id}' (known: {known})", "source_id")
        name = spec.operation or "default"
        handle = models.get(name) or models.get("default")
        if handle is None:
            known = ", ".join(sorted(models)) or "none"
            raise BindError(
                f"ml source '{spec.source_id}' has no model '{name}' and no 'default' model (models: {known})",
                "operation",
            )
        return MLOperation(handle, self._outputs(handle))

    async def start(self) -> None:
        """Load/start every model concurrently; each failure stays with its model (see status())."""
        starts: list[Coroutine[Any, Any, None]] = []
        for source_id, models in self.handles.items():
            settings = self.section.sources[source_id]
            executor = ThreadPoolExecutor(
                max_workers=settings.workers, thread_name_prefix=f"orkestra-ml-{source_id}"
            )
            self._executors.append(executor)
            starts.extend(handle.start(executor) for handle in models.values())
            self._supervisors.append(Supervisor(list(models.values()), settings.health_interval))
        await asyncio.gather(*starts)
        for supervisor in self._supervisors:
            supervisor.start()

    async def close(self) -> None:
        for supervisor in self._supervisors:
            await supervisor.close()
        self._supervisors.clear()
        await asyncio.gather(
            *(h.close() for models in self.handles.values() for h in models.values())
        )
        for executor in self._executors:
            executor.shutdown(wait=False, cancel_futures=True)
        self._executors.clear()

    def status(self) -> dict[str, ComponentStatus]:
        return {h.model_id: h.status() for models in self.handles.values() for h in models.values()}
