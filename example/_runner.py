"""Shared by the example scripts: serve a config directory on a free port, call it, stop it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT = 120.0  # a cold import of scikit-learn + skops on a busy machine is slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, body: Any = None, method: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@contextmanager
def serve(config_dir: Path) -> Iterator[str]:
    """Run `orkestra run` on the config in a subprocess; yield its base URL once it is ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orkestra",
            "run",
            "--config-path",
            str(config_dir),
            "--port",
            str(port),
        ],
        cwd=config_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the service exited:\n{proc.stdout.read() if proc.stdout else ''}"
                )
            try:
                status, _ = call(f"{base}/ready")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not ready within {STARTUP_TIMEOUT:.0f}s")
            time.sleep(0.3)
        print(f"service ready at {base} (docs: {base}/docs)\n")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def show(title: str, status: int, body: Any) -> None:
    print(f"── {title}  [{status}]")
    print(json.dumps(body, indent=2))
    print()
