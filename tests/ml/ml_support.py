"""Helpers of the ml tests that are not fixtures: ports, bounded waits, reference predictions."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SERVER_SCRIPT = Path(__file__).with_name("model_server.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """Poll `url` with growing steps until it answers 200, the process dies, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"model server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(delay)
        delay = min(0.5, delay * 2)
    raise TimeoutError(f"{url} not healthy within {timeout}s")


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    """Await `check()` until true, polling with growing steps, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout}s")
        await asyncio.sleep(delay)
        delay = min(0.25, delay * 2)


def reference(model: Any, rows: list[dict[str, float]]) -> tuple[list[Any], list[list[float]]]:
    """The model's own predictions on `rows` (labels and class probabilities)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=[str(f) for f in model.feature_names_in_])
    return list(model.predict(frame)), model.predict_proba(frame).tolist()
