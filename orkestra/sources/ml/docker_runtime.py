"""A model server Orkestra runs as a Docker container (`source: {type: docker, image, ...}`).

Keys (docs/sources/ml-docker-ecr.md): `image`, `pull` (always | missing | never; `if_missing` and
booleans accepted), `host_port` (None: Docker picks a free port, read back after start),
`container_port` (8080), `environment`, `volumes` (`{host: container[:ro]}` or
`["host:container[:ro]"]`, host paths relative to the project root), `health_path`, `name`
(default `orkestra-<model id>`), `command`, `reuse`, `stop_timeout`, `init` (true), `labels`.

Ownership decides what `stop()` does: a container this runtime created is stopped and removed; a
running container it adopted through `reuse: true` (same name, same image) was started by someone
else and is left running. Only the first start adopts: a restart after the adopted container died or
turned unhealthy replaces it with one of Orkestra's own.

Ports are published on 127.0.0.1 only. The docker SDK is blocking, so every call runs in a thread;
`docker` is imported on first use (extra `orkestra[docker]`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orkestra.errors import SourceUnavailable
from orkestra.extras import require
from orkestra.sources.ml.docker_pull import PullProgress, pull_image
from orkestra.sources.ml.runtime import ModelRuntime
from orkestra.sources.ml.runtimes import answers_health_check, mask

log = logging.getLogger("orkestra.ml.docker")

MANAGED_LABEL = "org.orkestra.managed"
MODEL_LABEL = "org.orkestra.model"
_PORT_WAIT_STEPS = 50  # x 0.1 s: how long a started container may take to publish its port
_PULL_POLICIES = {
    "always": "always",
    "missing": "missing",
    "if_missing": "missing",
    "never": "never",
}
_NAME_INVALID = re.compile(r"[^a-zA-Z0-9_.-]+")


@dataclass(frozen=True)
class Volume:
    host: str  # absolute
    container: str
    mode: str  # "rw" | "ro"


@dataclass(frozen=True)
class DockerSettings:
    image: str
    pull: str
    host_port: int | None
    container_port: int
    environment: dict[str, str]
    volumes: tuple[Volume, ...]
    health_path: str
    name: str
    command: str | list[str] | None
    reuse: bool
    stop_timeout: int
    init: bool
    labels: dict[str, str] = field(default_factory=dict)


def container_name(model_id: str) -> str:
    """`orkestra-<model id>` with what Docker refuses in a name (the `/` of source/model) as `-`."""
    return "orkestra-" + _NAME_INVALID.sub("-", model_id).strip("-.")


def _pull_policy(value: Any) -> str:
    if isinstance(value, bool):
        return "always" if value else "never"
    policy = _PULL_POLICIES.get(str(value if value is not None else "missing"))
    if policy is None:
        raise ValueError(f"pull must be always, missing or never, not {value!r}")
    return policy


def _volume(host: str, target: str, project_dir: Path) -> Volume:
    container, _, mode = target.partition(":")
    if mode not in ("", "ro", "rw") or not container.startswith("/"):
        raise ValueError(f"volume target must be /absolute/path[:ro|:rw], not {target!r}")
    path = Path(host).expanduser()
    path = path if path.is_absolute() else project_dir / path
    return Volume(str(path.resolve()), container, mode or "rw")


def parse_volumes(raw: Any, project_dir: Path) -> tuple[Volume, ...]:
    if not raw:
        return ()
    if isinstance(raw, dict):
        return tuple(_volume(str(h), str(t), project_dir) for h, t in raw.items())
    if isinstance(raw, list):
        volumes = []
        for item in raw:
            host, sep, target = str(item).partition(":")
            if not sep:
                raise ValueError(f"volume must be 'host:container[:ro]', not {item!r}")
            volumes.append(_volume(host, target, project_dir))
        return tuple(volumes)
    raise ValueError("volumes must be a mapping {host: container} or a list 'host:container[:ro]'")


def docker_settings(config: dict[str, Any], *, model_id: str, project_dir: Path) -> DockerSettings:
    """The container settings from a model's `source` mapping; ValueError names a bad key."""
    image = config.get("image")
    if not image:
        raise ValueError("a docker model needs `image`")
    command = config.get("command")
    return DockerSettings(
        image=str(image),
        pull=_pull_policy(config.get("pull")),
        host_port=int(config["host_port"]) if config.get("host_port") else None,
        container_port=int(config.get("container_port") or 8080),
        environment={str(k): str(v) for k, v in (config.get("environment") or {}).items()},
        volumes=parse_volumes(config.get("volumes"), project_dir),
        health_path="/" + str(config.get("health_path") or "/health").lstrip("/"),
        name=str(config.get("name") or container_name(model_id)),
        command=command
        if command is None or isinstance(command, str)
        else [str(c) for c in command],
        reuse=bool(config.get("reuse", False)),
        stop_timeout=int(config.get("stop_timeout", 10)),
        init=bool(config.get("init", True)),
        labels={
            **{str(k): str(v) for k, v in (config.get("labels") or {}).items()},
            MANAGED_LABEL: "true",
            MODEL_LABEL: model_id,
        },
    )


class DockerRuntime(ModelRuntime):
    def __init__(
        self,
        config: dict[str, Any],
        *,
        model_id: str,
        project_dir: Path,
        secrets: frozenset[str],
        progress: Callable[[PullProgress], None] | None = None,
    ) -> None:
        self.settings = docker_settings(config, model_id=model_id, project_dir=project_dir)
        self.model_id = model_id
        self.progress = progress  # called from a worker thread while an image is pulled
        self._secrets = secrets
        self._client: Any = None
        self._container: Any = None
        self._owned = False
        self._port: int | None = None
        self._starts = 0
        self._exit_reason: str | None = None
        self._pull: PullProgress | None = None

    # -- the ModelRuntime interface ------------------------------------------------------------

    async def start(self) -> str:
        await self.stop()
        self._starts += 1
        self._exit_reason = None
        try:
            await asyncio.to_thread(self._start_sync)
        except SourceUnavailable as exc:
            raise SourceUnavailable(self.model_id, mask(exc.message, self._secrets)) from None
        except Exception as exc:  # noqa: BLE001 - docker/requests errors become one clear message
            raise self._error(f"cannot start container '{self.settings.name}'", exc) from None
        return f"http://127.0.0.1:{self._port}"

    async def healthy(self) -> bool:
        if self._port is None:
            return False
        return await answers_health_check(
            f"http://127.0.0.1:{self._port}{self.settings.health_path}"
        )

    async def alive(self) -> bool:
        if self._container is None:
            return False
        try:
            return await asyncio.to_thread(self._alive_sync)
        except Exception:  # noqa: BLE001 - an engine we cannot ask is not a live container
            return False

    async def stop(self) -> None:
        container, owned = self._container, self._owned
        self._container, self._owned, self._port = None, False, None
        if container is not None and owned:
            await asyncio.to_thread(self._remove_sync, container)
        elif container is not None:
            log.info(
                "model '%s': leaving reused container %s running", self.model_id, container.name
            )

    def exit_reason(self) -> str | None:
        """Why the container is gone (exit code and its last output), once `alive()` saw it stop."""
        return self._exit_reason

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {
            "runtime": "docker",
            "image": self.settings.image,
            "container_name": self.settings.name,
        }
        if self._container is not None:
            out["container_id"] = self._container.short_id
            out["reused"] = not self._owned
        if self._port is not None:
            out["port"] = self._port
        elif self._pull is not None:
            out["pull"] = self._pull.line()
        return out

    # -- hooks for registries that need credentials (EcrRuntime) -------------------------------

    def registry_auth(self, client: Any) -> dict[str, str] | None:
        """Credentials for pulling `settings.image`; None: the engine's own (or none)."""
        return None

    # -- blocking parts, run in a worker thread ------------------------------------------------

    def _docker_client(self) -> Any:
        if self._client is None:
            docker = require("docker", "docker")
            try:
                self._client = docker.from_env()
                self._client.ping()
            except Exception as exc:  # noqa: BLE001
                self._client = None
                raise self._error(
                    "cannot reach the Docker engine (DOCKER_HOST or /var/run/docker.sock)", exc
                ) from None
        return self._client

    def _start_sync(self) -> None:
        client = self._docker_client()
        self._ensure_image(client)
        existing = self._existing_container(client)
        if existing is not None and self._may_adopt(client, existing):
            log.info("model '%s': reusing running container %s", self.model_id, existing.name)
            self._container, self._owned = existing, False
        else:
            if existing is not None:
                self._replace(existing)
            self._container, self._owned = self._run(client), True
        self._port = self._published_port()

    def _ensure_image(self, client: Any) -> None:
        errors = require("docker.errors", "docker")
        image, policy = self.settings.image, self.settings.pull
        if policy != "always":
            try:
                client.images.get(image)
                return
            except errors.ImageNotFound:
                if policy == "never":
                    raise SourceUnavailable(
                        self.model_id, f"image '{image}' is not present locally and pull is 'never'"
                    ) from None

        def record(state: PullProgress) -> None:
            self._pull = state  # describe() shows a pull in progress on /ready
            if self.progress is not None:
                self.progress(state)

        auth = self.registry_auth(client)
        pull_image(client, image, auth=auth, model_id=self.model_id, progress=record)

    def _existing_container(self, client: Any) -> Any:
        errors = require("docker.errors", "docker")
        try:
            return client.containers.get(self.settings.name)
        except errors.NotFound:
            return None

    def _may_adopt(self, client: Any, container: Any) -> bool:
        if not (self.settings.reuse and self._starts == 1):
            return False
        container.reload()
        if container.status != "running":
            return False
        if container.attrs.get("Config", {}).get("Image") == self.settings.image:
            return True
        return bool(container.attrs.get("Image") == client.images.get(self.settings.image).id)

    def _replace(self, container: Any) -> None:
        # A container under our name that we may not reuse: a leftover of an earlier run of ours,
        # or (reuse: true) one the operator dedicated to this model. Anything else is not ours.
        if container.labels.get(MANAGED_LABEL) != "true" and not self.settings.reuse:
            raise SourceUnavailable(
                self.model_id,
                f"a container named '{self.settings.name}' exists and was not started by Orkestra; "
                "remove it, choose another `name`, or set `reuse: true`",
            )
        log.info("model '%s': removing old container %s", self.model_id, container.short_id)
        container.remove(force=True)

    def _run(self, client: Any) -> Any:
        s = self.settings
        for volume in s.volumes:
            # Docker would create a missing host path as an empty root-owned directory.
            if not Path(volume.host).exists():
                raise SourceUnavailable(
                    self.model_id, f"volume host path '{volume.host}' does not exist"
                )
        binding = ("127.0.0.1", s.host_port) if s.host_port else ("127.0.0.1",)
        log.info("model '%s': starting container %s from %s", self.model_id, s.name, s.image)
        return client.containers.run(
            s.image,
            command=s.command,
            name=s.name,
            detach=True,
            environment=s.environment,
            ports={f"{s.container_port}/tcp": binding},
            volumes={v.host: {"bind": v.container, "mode": v.mode} for v in s.volumes},
            labels=s.labels,
            # An init as PID 1 forwards `docker stop`'s SIGTERM: a server that is PID 1 itself gets
            # no default signal handlers and would sit out the whole stop_timeout.
            init=s.init,
        )

    def _published_port(self) -> int:
        container, key = self._container, f"{self.settings.container_port}/tcp"
        for _ in range(_PORT_WAIT_STEPS):
            container.reload()
            bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(key)
            for binding in bindings or []:
                if binding.get("HostIp") in ("127.0.0.1", "0.0.0.0", "") and binding.get(
                    "HostPort"
                ):
                    return int(binding["HostPort"])
            if container.status not in ("created", "running"):
                self._record_exit(container)
                raise SourceUnavailable(self.model_id, self._exit_reason or "the container exited")
            if not self._owned and container.status == "running":
                break  # a reused container started without publishing this port: nothing to wait for
            time.sleep(0.1)
        raise SourceUnavailable(
            self.model_id,
            f"container '{self.settings.name}' publishes no host port for {key}",
        )

    def _alive_sync(self) -> bool:
        errors = require("docker.errors", "docker")
        try:
            self._container.reload()
        except errors.NotFound:
            self._exit_reason = f"container '{self.settings.name}' was removed"
            return False
        if self._container.status == "running":
            return True
        self._record_exit(self._container)
        return False

    def _record_exit(self, container: Any) -> None:
        state = container.attrs.get("State", {})
        tail = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
        how = f"exited with code {state.get('ExitCode')}" + (
            " (killed for exceeding its memory limit)" if state.get("OOMKilled") else ""
        )
        reason = f"container '{self.settings.name}' {how}" + (
            f"; last output: {tail}" if tail else ""
        )
        self._exit_reason = mask(reason, self._secrets)

    def _remove_sync(self, container: Any) -> None:
        errors = require("docker.errors", "docker")
        try:
            container.stop(timeout=self.settings.stop_timeout)
            container.remove(force=True)
        except errors.NotFound:
            pass  # already gone (killed and removed by hand, or auto-removed)
        log.info("model '%s': removed container %s", self.model_id, container.short_id)

    def _error(self, what: str, exc: BaseException) -> SourceUnavailable:
        explanation = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
        return SourceUnavailable(self.model_id, mask(f"{what}: {explanation}", self._secrets))
