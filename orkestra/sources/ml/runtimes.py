"""Which ModelRuntime serves a model: a registry keyed by `source.type`, imported lazily.

Every runtime class is built as `Runtime(config, *, model_id, project_dir, secrets)` where `config`
is the model's `source` mapping with defaults filled in (docs/sources/ml.md lists the keys), so the
core never imports docker or boto3 until such a model is configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from orkestra.http_client import HttpTransportError, shared_client
from orkestra.secrets import Redactor
from orkestra.sources.ml.runtime import ModelRuntime

HEALTH_TIMEOUT = 2.0  # seconds; a health check is one quick GET, never a long wait


class RuntimeFactory(Protocol):
    def __call__(
        self, config: dict[str, Any], *, model_id: str, project_dir: Path, secrets: frozenset[str]
    ) -> ModelRuntime: ...


_BUILTIN: dict[str, str] = {
    "process": "orkestra.sources.ml.process_runtime:ProcessRuntime",
    "docker": "orkestra.sources.ml.docker_runtime:DockerRuntime",
    "ecr": "orkestra.sources.ml.ecr:EcrRuntime",
}
_registered: dict[str, RuntimeFactory] = {}


def register_runtime(kind: str, factory: RuntimeFactory) -> None:
    """Add (or replace) the runtime used for `source.type == kind`."""
    _registered[kind] = factory


def runtime_kind(config: dict[str, Any]) -> str | None:
    """`process` for a local artifact with a startup command, None for an in-process artifact."""
    kind = str(config.get("type"))
    if kind == "local_artifact":
        return "process" if config.get("startup_command") else None
    return kind


def runtime_for(
    config: dict[str, Any], *, model_id: str, project_dir: Path, secrets: frozenset[str]
) -> ModelRuntime | None:
    """Build the runtime for a model's `source` config; None when it is loaded in-process."""
    kind = runtime_kind(config)
    if kind is None:
        return None
    if kind not in _registered:
        if kind not in _BUILTIN:
            raise ValueError(f"no model runtime for source type '{kind}'")
        from orkestra.plugins import import_object

        loaded = import_object(_BUILTIN[kind])
        if not (isinstance(loaded, type) and issubclass(loaded, ModelRuntime)):
            raise TypeError(f"{_BUILTIN[kind]} is not a ModelRuntime")
        _registered[kind] = loaded  # type: ignore[assignment]  # an ABC subclass; concrete at runtime
    return _registered[kind](config, model_id=model_id, project_dir=project_dir, secrets=secrets)


def mask(text: str, secrets: frozenset[str]) -> str:
    """`text` with every secret value (from ${ENV}) replaced by ***, for logs and errors."""
    return Redactor(secrets).text(text) if secrets else text


async def answers_health_check(url: str, timeout: float = HEALTH_TIMEOUT) -> bool:
    """True when GET `url` answers 2xx within `timeout`; the runtimes' `healthy()`. Never raises."""
    try:
        response = await shared_client().request("GET", url, timeout=timeout)
    except HttpTransportError:
        return False
    return 200 <= response.status < 300
