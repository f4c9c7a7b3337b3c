"""How a model server comes to exist: the runtimes behind `ml.sources.<id>.models.<m>.source`.

A runtime owns a process or container that serves the model over HTTP. The ML source type starts
every runtime concurrently at service start, polls `healthy()` (never a fixed sleep), calls the model
at the base URL `start()` returned, restarts a runtime whose health check fails, and stops it at
shutdown. In-process artifacts (skops/ONNX) need no runtime.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class ModelRuntime(ABC):
    """A model server Orkestra manages.

    Built by `orkestra.sources.ml.runtimes.runtime_for` as
    `Runtime(config, *, model_id, project_dir, secrets)`: `config` is the model's `source` mapping
    with defaults filled in (unknown keys included, `health_path` set for the model's protocol).
    A runtime may also define `exit_reason() -> str | None`: why its server is gone (exit code, last
    output), which the lifecycle shows as the model's error when the server exits while starting.
    Messages it raises reach /ready, so they mask `secrets` (`runtimes.mask`).
    """

    @abstractmethod
    async def start(self) -> str:
        """Start (or reuse) the server; return its base URL (e.g. http://127.0.0.1:9001).

        Returns once the server is started, not necessarily healthy; the caller waits on
        `healthy()` with its own deadline.
        """

    @abstractmethod
    async def healthy(self) -> bool:
        """True when the server answers its health check now. Never raises."""

    @abstractmethod
    async def alive(self) -> bool:
        """True while the process/container exists (False once it died or was removed)."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the server and release what `start` acquired. Idempotent."""

    def describe(self) -> dict[str, object]:
        """Non-secret facts for /ready and the models API (pid, container id, image, ...)."""
        return {}
