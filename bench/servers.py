"""Servers under test, each in its own process group: started on a free loopback port, waited for
by polling (bounded), stopped by their own process id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
# the same server settings for Orkestra and for every baseline
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
READY_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process. `url` is its base URL once `start()` returned."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        port: int | None = None,
        health: str = "/health",
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
        self.port = port
        self.health = health
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.ready_seconds = 0.0
        self._log = open(os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.log_path: Path | None = None

    def start(self, log_dir: Path | None = None) -> Self:
        if log_dir is not None:
            self._log.close()
            self.log_path = log_dir / f"{self.name}.log"
            self._log = open(self.log_path, "wb")  # noqa: SIM115
        began = time.monotonic()
        # A port, not `uvicorn --fd`: uvicorn takes an inherited fd for a Unix socket, so its TCP
        # connections lose TCP_NODELAY and every answer waits ~40 ms for a delayed ACK.
        if self.port is None:
            self.port = free_port()
            self.argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_ready(began)
        self.ready_seconds = time.monotonic() - began
        return self

    def _wait_ready(self, began: float) -> None:
        assert self.process is not None
        while time.monotonic() - began < READY_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before it was ready"
                    + (f" (log: {self.log_path})" if self.log_path else "")
                )
            try:
                with urllib.request.urlopen(self.url + self.health, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {READY_TIMEOUT:g}s")

    def rss_bytes(self) -> int:
        """Resident memory of the server and its children (uvicorn workers)."""
        assert self.process is not None
        pids, frontier = [self.process.pid], [self.process.pid]
        while (
            frontier
        ):  # uvicorn --workers: a supervisor, its workers, their multiprocessing helpers
            children = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", ",".join(map(str, frontier))],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            frontier = [int(c) for c in children]
            pids += frontier
        return sum(rss_of(pid) for pid in pids)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group: uvicorn workers included
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()

    def __enter__(self) -> Self:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def uvicorn(
    name: str,
    target: str,
    env: dict[str, str] | None = None,
    factory: bool = False,
    health: str = "/health",
) -> Server:
    argv = [sys.executable, "-m", "uvicorn", target, *UVICORN, *(["--factory"] if factory else [])]
    return Server(name, argv, env, health=health)


def backend() -> Server:
    return uvicorn("backend", "bench.backend:app")


def orkestra(config: Path) -> Server:
    return uvicorn(
        "orkestra",
        "orkestra.server.asgi:create_app",
        {"ORKESTRA_CONFIG_PATH": str(config)},
        factory=True,
    )


def baseline(database: Path, model: Path, backend_url: str) -> Server:
    env = {"BENCH_DATABASE": str(database), "BENCH_MODEL": str(model), "BENCH_BACKEND": backend_url}
    return uvicorn("baseline", "bench.baseline:create_app", env, factory=True, health="/direct")


def rss_of(pid: int | str) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
