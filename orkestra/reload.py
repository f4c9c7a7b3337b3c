"""Config hot reload: a file watcher (`reload.watch`) and `POST /admin/reload`.

A reload loads, validates and plans the whole config directory before anything changes. Invalid:
the old config keeps serving, and the problems (file:line, key, message) are logged and shown on
`GET /admin/config` as `last_reload_error`. Valid: source types whose section did not change are
kept running (a model is not restarted, a pool not reopened), new ones are started, then the
service swaps to the new config in one synchronous step. The old config's app finishes the requests
it had started; once it has none in flight (bounded by `server.shutdown_timeout`), the source types
it no longer shares with the new config are closed.

This is config reload. `orkestra run --reload` restarts the process on code changes (development).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from orkestra.config.loader import LoadedConfig, load_config
from orkestra.config.yaml_source import Location
from orkestra.errors import ConfigError, ConfigProblem, OrkestraError
from orkestra.observability.access import require_admin
from orkestra.resilience.guard import close_caches
from orkestra.runtime import Runtime, RuntimeBuilder, SourceScope
from orkestra.sources.base import SourceType

if TYPE_CHECKING:
    from orkestra.config.loader import Section
    from orkestra.service import Orkestra

log = logging.getLogger("orkestra.reload")

_MAX_REUSE_PASSES = 20  # each pass drops at least one candidate; configs have a handful of types


class ReusingBuilder(RuntimeBuilder):
    """Builds a Runtime that keeps the previous one's source types whose config is unchanged."""

    def __init__(
        self, loaded: LoadedConfig, strict: bool, previous: Runtime, refuse: set[int]
    ) -> None:
        super().__init__(loaded, strict)
        self.previous = previous
        self.refuse = refuse  # ids of previous instances that must not be reused
        self.reused: list[SourceType] = []

    def instantiate(
        self,
        cls: type[SourceType],
        type_name: str,
        section: Section | None,
        scope: SourceScope,
        where: Location,
    ) -> SourceType | None:
        made = super().instantiate(cls, type_name, section, scope, where)
        if made is None:
            return None
        for old in self.previous.sources:
            if id(old) not in self.refuse and old not in self.reused and _same(old, made):
                self.instances[self.instances.index(made)] = old
                self.reused.append(old)
                return old
        return made


def _reads(source: SourceType) -> tuple[str, ...]:
    return type(source).reads_siblings


def _same(old: SourceType, new: SourceType) -> bool:
    return (
        type(old) is type(new)
        and old.env.config_dir == new.env.config_dir
        and old.env.secrets == new.env.secrets
        and old.section.model_dump() == new.section.model_dump()
    )


def build_next_runtime(config_dir: Path, strict: bool, previous: Runtime) -> Runtime:
    """Load, validate and plan `config_dir`, reusing what `previous` can share. Raises ConfigError.

    A kept source type still sees its old siblings (feast reads through `database`): it is only
    kept when none of the siblings it reads would be closed."""
    loaded = load_config(config_dir, strict=strict, defer_errors=True)
    refuse: set[int] = set()
    for _ in range(_MAX_REUSE_PASSES):
        runtime = ReusingBuilder(loaded, strict, previous, refuse).build()
        kept = {id(s) for s in runtime.sources}
        closing = [s for s in previous.sources if id(s) not in kept]
        unsafe = [
            s
            for s in runtime.sources
            if id(s) in {id(p) for p in previous.sources}
            and any(s.env.sibling(c.type_name) is c for c in closing if c.type_name in _reads(s))
        ]
        if not unsafe:
            return runtime
        refuse.update(id(s) for s in unsafe)
    raise AssertionError("reuse passes did not converge")  # each pass refuses at least one more


class Reloader:
    def __init__(self, service: Orkestra) -> None:
        self.service = service
        self.generation = 1
        self.loaded_at = time.time()
        self.last_attempt: dict[str, Any] | None = None
        self.last_error: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    async def reload(self, trigger: str = "admin") -> dict[str, Any]:
        """Reload the config directory; returns what happened (also kept for GET /admin/config)."""
        async with self._lock:
            service = self.service
            old_runtime = service.runtime
            started = time.time()
            try:
                # loading reads files and compiles expressions: off the event loop, requests keep flowing
                runtime = await asyncio.to_thread(
                    build_next_runtime, service.config_path, service.strict, old_runtime
                )
            except ConfigError as exc:
                return self._refused(trigger, started, exc.problems)
            except Exception as exc:  # noqa: BLE001 - an unexpected loader failure must not take the service down
                problem = ConfigProblem(
                    str(service.config_path), None, "", f"{type(exc).__name__}: {exc}"
                )
                return self._refused(trigger, started, [problem])
            shared = {id(s) for s in old_runtime.sources}
            fresh = [s for s in runtime.sources if id(s) not in shared]
            if service.started:
                await _start_sources(fresh)
                runtime.started = True
            old_app = service.current_app
            try:
                service.swap_runtime(runtime)  # synchronous: no request sees half of each config
            except (
                OrkestraError
            ) as exc:  # e.g. auth its app refuses, a missing extra: nothing swapped
                await _close_sources(fresh)
                return self._refused(trigger, started, _problems(exc, service.config_path))
            self.generation += 1
            self.loaded_at = time.time()
            self.last_error = None
            self.last_attempt = {
                "result": "applied",
                "trigger": trigger,
                "at": self.loaded_at,
                "generation": self.generation,
                "endpoints": len(runtime.plans),
                "started_sources": [s.type_name for s in fresh],
                "kept_sources": [s.type_name for s in runtime.sources if id(s) in shared],
            }
            service.observability.metrics.reloads.labels("applied").inc()
            log.info(
                "config reloaded (%s): generation %d, %d endpoint(s)",
                trigger,
                self.generation,
                len(runtime.plans),
            )
            task = asyncio.get_running_loop().create_task(
                self._retire(old_app, old_runtime, runtime)
            )
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
            return self.last_attempt

    def _refused(self, trigger: str, at: float, problems: list[ConfigProblem]) -> dict[str, Any]:
        redact = self.service.redactor.text
        items = [
            {
                "file": p.file,
                "line": p.line,
                "key": p.key_path,
                "message": redact(p.message),
                "text": redact(str(p)),
            }
            for p in problems
            if p.severity == "error"
        ]
        self.last_error = {"trigger": trigger, "at": at, "problems": items}
        self.last_attempt = {
            "result": "refused",
            "trigger": trigger,
            "at": at,
            "generation": self.generation,
            "problems": items,
        }
        self.service.observability.metrics.reloads.labels("refused").inc()
        log.error(
            "config reload refused (%s), still serving generation %d: %s",
            trigger,
            self.generation,
            "; ".join(str(i["text"]) for i in items),
        )
        return self.last_attempt

    async def _retire(self, old_app: Any, old: Runtime, new: Runtime) -> None:
        """Close what only the old config used, once its in-flight requests are done."""
        timeout = new.settings.server.shutdown_timeout
        if not await old_app.state.in_flight.wait_idle(timeout):
            log.warning(
                "closing the previous config with %d request(s) still running after %gs",
                old_app.state.in_flight.count,
                timeout,
            )
        kept = {id(s) for s in new.sources}
        await _close_sources([s for s in old.sources if id(s) not in kept])
        await close_caches(old.plans)  # the old plans' Redis cache and rate-limit connections
        await old_app.state.security.close()
        await self.service.observability.close_replaced()

    async def drain(self) -> None:
        """Wait for previous configs to be retired (service shutdown, tests)."""
        if self._retiring:
            await asyncio.gather(*list(self._retiring), return_exceptions=True)

    # -- the watcher ---------------------------------------------------------------------------
    def sync_watch(self) -> None:
        """Start or stop the file watcher to match the current `reload.watch`."""
        wanted = self.service.settings.reload.watch
        running = self._watcher is not None and not self._watcher.done()
        if wanted and not running:
            self._stop = asyncio.Event()
            self._watcher = asyncio.get_running_loop().create_task(
                self._watch(self._stop), name="orkestra-config-watch"
            )
        elif not wanted and running and self._stop is not None:
            self._stop.set()

    async def _watch(self, stop: asyncio.Event) -> None:
        from watchfiles import awatch

        debounce_ms = int(self.service.settings.reload.debounce * 1000)
        log.info("watching %s for config changes", self.service.config_path)
        try:
            async for _changes in awatch(
                self.service.config_path,
                watch_filter=_is_config_file,
                debounce=max(debounce_ms, 1),
                step=50,
                stop_event=stop,
            ):
                await self.reload("file change")
                self.sync_watch()
        except Exception as exc:  # noqa: BLE001 - a watcher failure leaves the service serving, without reloads
            log.error("config watcher stopped: %s", exc)

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._watcher is not None:
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        await self.drain()

    def describe(self) -> dict[str, Any]:
        runtime = self.service.runtime
        watching = self._watcher is not None and not self._watcher.done()
        return {
            "config_path": str(self.service.config_path),
            "generation": self.generation,
            "loaded_at": self.loaded_at,
            "endpoints": [
                {"key": p.key, "route": p.route, "methods": list(p.methods)} for p in runtime.plans
            ],
            "watching": watching,
            "last_reload": self.last_attempt,
            "last_reload_error": self.last_error,
        }


def _problems(exc: OrkestraError, config_path: Path) -> list[ConfigProblem]:
    if isinstance(exc, ConfigError):
        return exc.problems
    return [ConfigProblem(str(config_path), None, "", str(exc))]


def _is_config_file(_change: Any, path: str) -> bool:
    return path.endswith((".yaml", ".yml"))


async def _start_sources(sources: list[SourceType]) -> None:
    results = await asyncio.gather(*(s.start() for s in sources), return_exceptions=True)
    for source, result in zip(sources, results):
        if isinstance(result, BaseException):
            log.error("source type %s failed to start: %s", source.type_name, result)


async def _close_sources(sources: list[SourceType]) -> None:
    results = await asyncio.gather(*(s.close() for s in sources), return_exceptions=True)
    for source, result in zip(sources, results):
        if isinstance(result, BaseException):
            log.warning("source type %s did not close cleanly: %s", source.type_name, result)


# -- admin routes ------------------------------------------------------------------------------
async def post_reload(request: Request) -> JSONResponse:
    """Reload the config directory now. 200 when applied, 422 (old config still serving) when not."""
    outcome = await request.app.state.service.observability.reloader.reload("admin")
    return JSONResponse(outcome, status_code=200 if outcome["result"] == "applied" else 422)


async def get_config(request: Request) -> dict[str, Any]:
    """The config in service: generation, endpoints, and the last reload (with its error, if any)."""
    described: dict[str, Any] = request.app.state.service.observability.reloader.describe()
    return described


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["orkestra"], dependencies=[Depends(require_admin)])
    router.add_api_route("/reload", post_reload, methods=["POST"])
    router.add_api_route("/config", get_config, methods=["GET"])
    return router
