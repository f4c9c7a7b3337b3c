"""One configured model and its life: start, serve calls, health, restart, stop.

A `ModelHandle` is one of three kinds:
  - external:   already serving at the source's `base_url`; always READY, never started or stopped;
  - in_process: a local artifact loaded once (in a thread) and predicted in the source's worker pool;
  - a runtime:  a managed process or container (ModelRuntime) called over HTTP at the URL it gives.

Calls fail fast with SourceUnavailable (503, naming the model) while a model is not READY. Starting
never raises: a failure leaves the model FAILED with its (secret-free) error. The `Supervisor` checks
managed runtimes every `health_interval`, restarts dead or persistently unhealthy ones, and retries
failed starts with exponential backoff bounded by `max_restart_backoff`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from orkestra.errors import RequestError, SourceError, SourceUnavailable
from orkestra.sources.base import CallContext, ComponentState, ComponentStatus
from orkestra.sources.ml.artifacts import load_predictor
from orkestra.sources.ml.config import LocalArtifactSource, MLSourceSpec, ModelSpec
from orkestra.sources.ml.features import extract_rows, ordered_values
from orkestra.sources.ml.http_model import HttpModel, ModelResult, ModelUnreachable
from orkestra.sources.ml.predictors import Predictor
from orkestra.sources.ml.runtime import ModelRuntime
from orkestra.sources.ml.runtimes import mask, runtime_for, runtime_kind

log = logging.getLogger("orkestra.ml")

_POLL_FIRST, _POLL_MAX = 0.05, 0.5  # health polling while a server starts: short, growing steps


def _source_config(spec: ModelSpec) -> dict[str, Any]:
    """The `source` mapping a runtime is built from, with the protocol's health path filled in."""
    assert spec.source is not None
    config = spec.source.model_dump()
    config["health_path"] = config.get("health_path") or spec.default_health_path()
    return config


class ModelHandle:
    def __init__(
        self,
        *,
        source_id: str,
        key: str,
        spec: ModelSpec,
        source_spec: MLSourceSpec,
        project_dir: Path,
        secrets: frozenset[str],
    ) -> None:
        self.model_id = f"{source_id}/{key}"
        self.spec = spec
        self.settings = source_spec
        self.project_dir = project_dir
        self.secrets = secrets
        self.http = HttpModel(spec, model_key=key, model_id=self.model_id)
        self.runtime: ModelRuntime | None = None
        self.kind = "external"
        if spec.source is not None:
            config = _source_config(spec)
            self.kind = runtime_kind(config) or "in_process"
        self.base_url = source_spec.base_url if self.kind == "external" else None
        self.predictor: Predictor | None = None
        self.executor: Executor | None = None
        self.state = ComponentState.READY if self.kind == "external" else ComponentState.STARTING
        self.error: str | None = None
        self.restarts = 0
        self._failures = 0
        self._next_attempt = 0.0
        self._unhealthy = 0
        self._ready_since = 0.0
        self._restarting: asyncio.Task[None] | None = None
        self.wake: Callable[[], None] = lambda: None  # set by the Supervisor: check now

    @property
    def managed(self) -> bool:
        return self.kind not in ("external", "in_process")

    def _fail(self, message: str) -> None:
        self.state = ComponentState.FAILED
        self.error = mask(message, self.secrets)
        self._failures += 1
        self._next_attempt = time.monotonic() + self._backoff()
        log.warning("model '%s' failed: %s", self.model_id, self.error)

    async def start(self, executor: Executor) -> None:
        """Load or start the model, bounded by `startup_timeout`; never raises."""
        self.executor = executor
        if self.kind != "external":
            await self._bring_up(restart=False)

    async def _bring_up(self, *, restart: bool) -> bool:
        """One attempt to get to READY; on failure the model is FAILED and nothing is left running."""
        self.state = ComponentState.STARTING
        try:
            if self.kind == "in_process":
                await asyncio.wait_for(self._load(), self.settings.startup_timeout)
            else:
                if self.runtime is None:
                    self.runtime = self._build_runtime()
                if restart:  # a first start may reuse a server (a container) that is already up
                    await self.runtime.stop()
                await self._start_runtime()
        except Exception as exc:  # noqa: BLE001 - a failed start must not raise
            if isinstance(exc, TimeoutError):
                message = f"not ready within startup_timeout ({self.settings.startup_timeout:g}s)"
            else:
                message = str(exc) or type(exc).__name__
            await self._stop_runtime()
            self._fail(message)
            return False
        self.state, self.error, self._unhealthy = ComponentState.READY, None, 0
        self._ready_since = time.monotonic()
        return True

    async def _stop_runtime(self) -> None:
        if self.runtime is None:
            return
        try:
            await self.runtime.stop()
        except Exception as exc:  # noqa: BLE001 - stopping is best effort; the caller goes on
            log.warning(
                "model '%s': stopping its server failed: %s",
                self.model_id,
                mask(str(exc), self.secrets),
            )

    def _build_runtime(self) -> ModelRuntime:
        runtime = runtime_for(
            _source_config(self.spec),
            model_id=self.model_id,
            project_dir=self.project_dir,
            secrets=self.secrets,
        )
        assert runtime is not None, "only managed models get here"
        return runtime

    async def _load(self) -> None:
        source = self.spec.source
        assert isinstance(source, LocalArtifactSource) and source.path is not None
        path = Path(source.path)
        path = path if path.is_absolute() else self.project_dir / path
        self.predictor = await asyncio.to_thread(load_predictor, path, source, self.spec)

    async def _start_runtime(self) -> None:
        assert self.runtime is not None
        deadline = time.monotonic() + self.settings.startup_timeout
        self.base_url = await asyncio.wait_for(self.runtime.start(), self.settings.startup_timeout)
        delay = _POLL_FIRST
        while not await self.runtime.healthy():
            if not await self.runtime.alive():
                reason = getattr(self.runtime, "exit_reason", lambda: None)()
                raise RuntimeError(reason or "the model server exited while starting")
            if time.monotonic() + delay > deadline:
                raise TimeoutError()
            await asyncio.sleep(delay)
            delay = min(_POLL_MAX, delay * 2)

    async def invoke(self, params: Any, ctx: CallContext) -> ModelResult:
        if self.state is not ComponentState.READY:
            why = (
                f"failed: {self.error}" if self.state is ComponentState.FAILED else self.state.value
            )
            raise SourceUnavailable(
                ctx.source_name, f"model '{self.model_id}' is not ready ({why})"
            )
        if self.predictor is not None:
            return await self._predict(params, ctx)
        assert self.base_url is not None
        try:
            return await self.http.call(self.base_url, params, ctx)
        except ModelUnreachable:
            if self.managed:
                assert self.runtime is not None
                if not await self.runtime.alive() and self.state is ComponentState.READY:
                    # Fail the next calls fast and have the supervisor restart it now.
                    self.state, self.error = ComponentState.STARTING, "the model server stopped"
                    self.wake()
                raise SourceUnavailable(
                    ctx.source_name,
                    f"model '{self.model_id}' is unreachable; its server is being restarted",
                ) from None
            raise SourceError(
                ctx.source_name, f"model '{self.model_id}' is unreachable (connection failed)"
            ) from None

    async def _predict(self, params: Any, ctx: CallContext) -> ModelResult:
        assert self.predictor is not None
        rows = extract_rows(params, self.model_id)
        values = ordered_values(rows, self.predictor.feature_order, self.model_id)
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self.executor, self.predictor.predict, values)
        except (ValueError, TypeError) as exc:
            # sklearn/onnxruntime reject values they cannot use (a string for a number): the input's fault.
            raise RequestError(
                f"model '{self.model_id}' cannot use these features: {mask(str(exc), self.secrets)[:300]}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - a model bug is a 502, not a crash
            raise SourceError(
                ctx.source_name, f"model '{self.model_id}' failed to predict ({type(exc).__name__})"
            ) from None
        return ModelResult(results if rows.batch else results[0], rows.batch)

    async def check(self) -> None:
        """One supervisor pass: restart a dead/unhealthy server, retry a failed start when due."""
        if not self.managed or self._restarting is not None or self.state is ComponentState.STOPPED:
            return
        now = time.monotonic()
        if self.state is ComponentState.FAILED:
            if now < self._next_attempt:
                return
            delay = 0.0  # the backoff was the wait for _next_attempt
        else:  # READY, or STARTING because a call found its server gone
            assert self.runtime is not None
            alive = await self.runtime.alive()
            if self.state is ComponentState.READY:
                if alive and await self.runtime.healthy():
                    self._unhealthy = 0
                    if now - self._ready_since >= self.settings.max_restart_backoff:
                        self._failures = 0  # it stayed up: a later crash restarts at once
                    return
                self._unhealthy += 1
                if alive and self._unhealthy < self.settings.unhealthy_threshold:
                    return  # a busy server may miss a check; restart only a persistently sick one
            reason = (
                "the model server stopped"
                if not alive
                else "the model server fails its health check"
            )
            log.warning("model '%s': %s; restarting", self.model_id, reason)
            self.state, self.error = ComponentState.STARTING, reason
            # A server that dies soon after starting is crash-looping: back off like a failed start.
            crash_loop = now - self._ready_since < self.settings.max_restart_backoff
            self._failures = self._failures + 1 if crash_loop else 0
            delay = self._backoff() if self._failures else 0.0
        self._restarting = asyncio.create_task(self._restart(delay))

    def _backoff(self) -> float:
        backoff = self.settings.restart_backoff * 2 ** max(0, self._failures - 1)
        return float(min(self.settings.max_restart_backoff, backoff))

    async def _restart(self, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            if await self._bring_up(restart=True):
                self.restarts += 1
                log.info("model '%s' restarted (%d restarts)", self.model_id, self.restarts)
        finally:
            self._restarting = None

    async def close(self) -> None:
        task, self._restarting = self._restarting, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_runtime()
        self.predictor = None
        self.state = ComponentState.STOPPED

    def status(self) -> ComponentStatus:
        details: dict[str, Any] = {"kind": self.kind}
        if self.managed:
            details["restarts"] = self.restarts
        if self.runtime is not None:
            details.update(self.runtime.describe())
        if self.predictor is not None:
            details.update(self.predictor.describe())
        return ComponentStatus(self.state, self.error, details)


class Supervisor:
    """One background task per `ml.sources.<id>`, checking its managed models every `interval`
    (and at once when a call finds a server gone)."""

    def __init__(self, handles: list[ModelHandle], interval: float) -> None:
        self.handles = [h for h in handles if h.managed]
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        for handle in self.handles:
            handle.wake = self._wake.set

    def start(self) -> None:
        if self.handles and self._task is None:
            self._task = asyncio.create_task(self._run(), name="orkestra-ml-supervisor")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            results = await asyncio.gather(
                *(h.check() for h in self.handles), return_exceptions=True
            )
            for handle, result in zip(self.handles, results):
                if isinstance(result, Exception):
                    log.warning(
                        "model '%s': health check failed: %s",
                        handle.model_id,
                        type(result).__name__,
                    )

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
