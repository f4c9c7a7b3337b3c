"""Fault injection: down, slow, error, malformed, reset and hang backends, for database, API and
model sources, each as a hard dependency (defined 5xx) and a soft one (2xx, marked incomplete).

Every request must answer within its deadline plus a margin, the service keeps serving, and
afterwards no task, pooled connection, server-side query or socket is left behind.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend

SOURCE_TIMEOUT = 0.5
DEADLINE = 3.0  # the endpoint's timeout
MARGIN = 1.5  # event-loop and CI noise; a hang would blow far past it
PG = "postgresql://postgres@127.0.0.1:5432/test"

pytestmark = pytest.mark.timeout(180)


@dataclass(frozen=True)
class Fault:
    name: str
    hard_status: frozenset[int]  # what a hard dependency answers


FAULTS = [
    Fault("down", frozenset({502, 503})),
    Fault("slow", frozenset({504})),
    Fault("error", frozenset({502})),
    Fault("malformed", frozenset({502})),
    Fault("reset", frozenset({502})),
    Fault("hang", frozenset({504})),
]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def endpoints(source_type: str, source_for: dict[str, str]) -> str:
    """One endpoint per fault and mode: `<fault>_hard` / `<fault>_soft`."""
    out = ["domain_id: faults", "endpoints:"]
    for fault in FAULTS:
        source_id, operation = source_for[fault.name].split(".")
        for mode in ("hard", "soft"):
            soft = "on_error: default\n        default: {degraded: true}\n        " if mode == "soft" else ""
            out.append(f"""  {fault.name}_{mode}:
    method: post
    timeout: {DEADLINE}
    data_sources:
      - name: backend
        type: {source_type}
        source_id: {source_id}
        operation: {operation}
        timeout: {SOURCE_TIMEOUT}
        retry: 0
        {soft}params: {{sepal_length: 5.1, n: 1}}
    response_mapping: {{value: "$backend"}}""")
    return "\n".join(out) + "\n"


def api_files(backend: HttpBackend) -> dict[str, str]:
    ops = {"slow": "/delay/5000", "error": "/status/500", "malformed": "/malformed", "reset": "/reset", "hang": "/hang"}
    lines = "\n".join(f"          {name}: {{path: {path}}}" for name, path in ops.items())
    yaml = f"""api:
  sources:
    dead:
      base_url: http://127.0.0.1:{closed_port()}
      operations:
        down: {{path: /anything}}
    live:
      base_url: {backend.url}
      operations:
{lines}
"""
    source_for = {"down": "dead.down", **{name: f"live.{name}" for name in ops}}
    return {"integrations/api.yaml": yaml.replace("\n          ", "\n        "), "domains/faults.yaml": endpoints("api", source_for)}


def ml_files(backend: HttpBackend) -> dict[str, str]:
    ops = {"slow": "/delay/5000", "error": "/status/500", "malformed": "/malformed", "reset": "/reset", "hang": "/hang"}
    models = "\n".join(f"        {name}: {{endpoint: {path}}}" for name, path in ops.items())
    yaml = f"""ml:
  sources:
    dead:
      base_url: http://127.0.0.1:{closed_port()}
      models:
        down: {{endpoint: /predict}}
    live:
      base_url: {backend.url}
      models:
{models}
"""
    source_for = {"down": "dead.down", **{name: f"live.{name}" for name in ops}}
    return {"integrations/ml.yaml": yaml, "domains/faults.yaml": endpoints("ml", source_for)}


def database_files(marker: str) -> dict[str, str]:
    queries = {
        "slow": f"SELECT pg_sleep(2) AS slept /* {marker} */",
        "error": f"SELECT * FROM orkestra_fault_no_such_table /* {marker} */",
        "malformed": f"SELECT 1/0 AS broken /* {marker} */",
        "reset": f"SELECT pg_terminate_backend(pg_backend_pid()) /* {marker} */",
        "hang": f"SELECT pg_sleep(60) AS hung /* {marker} */",
    }
    ops = "\n".join(f'    {name}: {{source_id: live, query: "{q}", params: []}}' for name, q in queries.items())
    yaml = f"""database:
  sources:
    dead: {{connection_string: "postgresql://postgres@127.0.0.1:{closed_port()}/test", pool_timeout: 1}}
    live: {{connection_string: "{PG}", pool_size: 2, max_overflow: 0, pool_timeout: 1}}
  operations:
    down: {{source_id: dead, query: "SELECT 1 AS one", params: []}}
{ops}
"""
    source_for = {"down": "dead.down", **{name: f"live.{name}" for name in queries}}
    return {"database.yaml": yaml, "domains/faults.yaml": endpoints("database", source_for)}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def run_matrix(config: Path) -> list[str]:
    """Every fault x mode through the HTTP app; returns what went wrong (empty: all defined)."""
    problems: list[str] = []
    baseline_tasks = {t for t in asyncio.all_tasks()}
    svc = Orkestra(config)
    async with svc:
        transport = httpx.ASGITransport(app=svc.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as client:
            for fault in FAULTS:
                for mode in ("hard", "soft"):
                    start = time.perf_counter()
                    try:
                        response = await asyncio.wait_for(
                            client.post(f"/orchestrator/faults/{fault.name}_{mode}"), DEADLINE + MARGIN
                        )
                    except TimeoutError:
                        problems.append(f"{fault.name}/{mode}: no answer within {DEADLINE + MARGIN}s")
                        continue
                    took = time.perf_counter() - start
                    problems += check(fault, mode, response, took)
            # still serving after all of it
            health = await client.get("/health")
            if health.status_code != 200:
                problems.append(f"/health answered {health.status_code} after the faults")
        pools = [p for s in svc.runtime.sources for p in getattr(s, "_pools", {}).values()]
        for pool in pools:
            engine = getattr(pool, "_engine", None)
            if engine is not None and engine.pool.checkedout():
                problems.append(f"{engine.pool.checkedout()} database connection(s) still checked out")
    for _ in range(50):  # bounded settle: cancelled tasks finish on the next loop iterations
        leaked = [t for t in asyncio.all_tasks() - baseline_tasks if t is not asyncio.current_task() and not t.done()]
        if not leaked:
            break
        await asyncio.sleep(0.02)
    if leaked:
        problems.append(f"tasks left running: {[t.get_name() for t in leaked]}")
    return problems


def check(fault: Fault, mode: str, response: httpx.Response, took: float) -> list[str]:
    where = f"{fault.name}/{mode}"
    out = []
    if took > DEADLINE + MARGIN:
        out.append(f"{where}: took {took:.2f}s")
    if mode == "hard":
        if response.status_code not in fault.hard_status:
            out.append(f"{where}: {response.status_code} {response.text[:200]}, expected {sorted(fault.hard_status)}")
        elif response.json().get("source") != "backend":
            out.append(f"{where}: the problem does not name the source: {response.text[:200]}")
        if "Traceback" in response.text:
            out.append(f"{where}: a traceback in the body")
    else:
        if response.status_code != 200 or response.json() != {"value": {"degraded": True}}:
            out.append(f"{where}: {response.status_code} {response.text[:200]}")
        elif response.headers.get("X-Orkestra-Complete") != "false":
            out.append(f"{where}: not marked incomplete")
    return out


async def test_api_source_faults(tmp_path: Path, http_backend: HttpBackend) -> None:
    fds = open_fds()
    problems = await run_matrix(write_config(tmp_path, api_files(http_backend)))
    assert not problems, "\n".join(problems)
    assert open_fds() <= fds + 2  # sockets to the backend were closed with the service


async def test_model_source_faults(tmp_path: Path, http_backend: HttpBackend) -> None:
    fds = open_fds()
    problems = await run_matrix(write_config(tmp_path, ml_files(http_backend)))
    assert not problems, "\n".join(problems)
    assert open_fds() <= fds + 2


@pytest.mark.postgres
async def test_database_source_faults(tmp_path: Path) -> None:
    marker = f"orkestra-fault-{uuid.uuid4().hex[:10]}"
    fds = open_fds()
    problems = await run_matrix(write_config(tmp_path, database_files(marker)))
    assert not problems, "\n".join(problems)
    assert open_fds() <= fds + 2
    conn = await asyncpg.connect(PG)
    try:
        for _ in range(40):  # the server notices a cancelled statement within moments, bounded
            running = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()", f"%{marker}%"
            )
            if running == 0:
                break
            await asyncio.sleep(0.1)
        assert running == 0, "a timed-out query is still running on the server"
    finally:
        await conn.close()
