"""Load generators, each in its own process: wrk (closed loop: C connections as fast as the server
answers: throughput and latency at saturation) and bench/openloop.py (a fixed arrival rate: latency
at a chosen load, which wrk cannot hold)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.servers import ROOT

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s+(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass
class Measurement:
    throughput: float  # responses per second
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers, socket errors and timeouts

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: run scripts/bench.sh (it installs Debian's wrk)")
    return found


def post_script(directory: Path, body: str) -> Path:
    """A wrk Lua script sending `body` as a JSON POST."""
    path = directory / f"post-{abs(hash(body))}.lua"
    escaped = body.replace("\\", "\\\\").replace("'", "\\'")
    path.write_text(
        "wrk.method = 'POST'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        f"wrk.body = '{escaped}'\n"
    )
    return path


def wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> Measurement:
    argv = [
        wrk_binary(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if script is not None:
        argv += ["-s", str(script)]
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    out = done.stdout
    if done.returncode != 0 or not _RPS.search(out):
        raise RuntimeError(f"wrk failed on {url}: {done.stderr.strip() or out.strip()}")
    percentiles = {p: float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(out)}
    errors = sum(int(n) for n in _NON_2XX.findall(out))
    socket_errors = _SOCKET_ERRORS.search(out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    total = _TOTAL.search(out)
    return Measurement(
        throughput=float(_RPS.search(out).group(1)),  # type: ignore[union-attr]
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        requests=int(total.group(1)) if total else 0,
        errors=errors,
    )


def open_loop(url: str, rate: float, seconds: float) -> Measurement:
    argv = [sys.executable, "-m", "bench.openloop", url, str(rate), str(seconds)]
    done = subprocess.run(
        argv, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"open-loop load on {url} failed: {done.stderr.strip()[-500:]}")
    return Measurement(**json.loads(done.stdout))
