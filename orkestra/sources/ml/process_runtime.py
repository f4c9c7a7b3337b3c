"""A model server Orkestra runs as a subprocess (`source: {type: local_artifact, startup_command}`).

The command runs in its own process group (so a shell wrapper's children are stopped with it),
in `cwd` (default: the project root), with the service's environment plus `environment`.
`{host}` / `{port}` in the command and `$HOST` / `$PORT` in its environment are filled in; without a
configured `port` a free one is picked at each start. A leading `python` / `python3` runs under the
service's own interpreter, so the model server sees the same installed packages.

Its output is forwarded to the `orkestra.ml.process` logger with secret values masked; the last
lines are kept to explain an early exit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from orkestra.sources.ml.runtime import ModelRuntime
from orkestra.sources.ml.runtimes import answers_health_check, mask

log = logging.getLogger("orkestra.ml.process")

_TAIL_LINES = 20
_CHUNK = 65536


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ProcessRuntime(ModelRuntime):
    def __init__(
        self, config: dict[str, Any], *, model_id: str, project_dir: Path, secrets: frozenset[str]
    ) -> None:
        command = config.get("startup_command")
        if not command:
            raise ValueError("a managed process needs `startup_command`")
        self._argv_template = (
            shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        )
        self._host = str(config.get("host") or "127.0.0.1")
        self._fixed_port: int | None = config.get("port")
        self._environment = {str(k): str(v) for k, v in (config.get("environment") or {}).items()}
        self._health_path = "/" + str(config.get("health_path") or "/health").lstrip("/")
        cwd = Path(config.get("cwd") or ".")
        self._cwd = cwd if cwd.is_absolute() else project_dir / cwd
        self._stop_timeout = float(config.get("stop_timeout", 10.0))
        self._model_id = model_id
        self._secrets = secrets
        self._process: asyncio.subprocess.Process | None = None
        self._port: int | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._pump: asyncio.Task[None] | None = None

    def _argv(self, port: int) -> list[str]:
        argv = [
            part.replace("{host}", self._host).replace("{port}", str(port))
            for part in self._argv_template
        ]
        if argv and argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        return argv

    async def start(self) -> str:
        await self.stop()
        port = self._fixed_port or free_port(self._host)
        env = {**os.environ, **self._environment, "HOST": self._host, "PORT": str(port)}
        self._tail.clear()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._argv(port),
                cwd=self._cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() signals the whole tree
            )
        except OSError as exc:
            # The command may embed a ${SECRET}; name only the program that failed to start.
            program = mask(self._argv_template[0], self._secrets)
            raise RuntimeError(f"cannot start '{program}': {exc.strerror}") from None
        self._port = port
        self._pump = asyncio.create_task(self._forward_output(self._process))
        return f"http://{self._host}:{port}"

    async def _forward_output(self, process: asyncio.subprocess.Process) -> None:
        # Read until EOF whatever the output looks like: a pipe nobody drains would block the server.
        assert process.stdout is not None
        pending = b""
        while chunk := await process.stdout.read(_CHUNK):
            *lines, pending = (pending + chunk).replace(b"\r", b"\n").split(b"\n")
            pending = pending[-_CHUNK:]  # a progress bar without newlines must not grow forever
            for line in lines:
                self._emit(process.pid, line)
        if pending:
            self._emit(process.pid, pending)

    def _emit(self, pid: int, line: bytes) -> None:
        text = mask(line.decode(errors="replace").rstrip(), self._secrets)
        if text:
            self._tail.append(text)
            log.info("[%s pid %s] %s", self._model_id, pid, text)

    async def healthy(self) -> bool:
        if not await self.alive() or self._port is None:
            return False
        return await answers_health_check(f"http://{self._host}:{self._port}{self._health_path}")

    async def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def exit_reason(self) -> str | None:
        """Why the process is gone (exit code and its last output), for the model's status."""
        process = self._process
        if process is None or process.returncode is None:
            return None
        how = (
            f"killed by signal {-process.returncode}"
            if process.returncode < 0
            else f"exited with code {process.returncode}"
        )
        tail = " | ".join(list(self._tail)[-5:])
        return f"model server process {how}" + (f"; last output: {tail}" if tail else "")

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            await self._signal_and_wait(process)
        elif process is not None:
            # The leader exited; children it left in its group (a shell wrapper's server) go too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        pump, self._pump = self._pump, None
        if pump is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, timeout=1.0)

    async def _signal_and_wait(self, process: asyncio.subprocess.Process) -> None:
        for sig, grace in ((signal.SIGTERM, self._stop_timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), timeout=grace)
                return
            except TimeoutError:
                continue
        log.warning(
            "model '%s': process %s did not exit after SIGKILL", self._model_id, process.pid
        )

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"host": self._host}
        if self._port is not None:
            out["port"] = self._port
        if self._process is not None:
            out["pid"] = self._process.pid
            if self._process.returncode is not None:
                out["exit_code"] = self._process.returncode
        return out
