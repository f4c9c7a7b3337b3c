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
            soft = (
                "on_error: default\n        default: {degraded: true}\n        "
                if mode == "soft"
                else ""
            )
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
    ops = {
        "slow": "/delay/5000",
        "error": "/status/500",
        "malformed": "/malformed",
        "reset": "/reset",
        "hang": "/hang",
    }
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
    return {
        "integrations/api.yaml": yaml.replace("\n          ", "\n        "),
        "domains/faults.yaml": endpoints("api", source_for),
    }


def ml_files(backend: HttpBackend) -> dict[str, str]:
    ops = {
        "slow": "/delay/5000",
        "error": "/status/500",
        "malformed": "/malformed",
        "reset": "/reset",
        "hang": "/hang",
    }
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


MARIADB = "mysql://root@127.0.0.1:3306/test"

QUERIES = {
    "postgresql": {
        "slow": "SELECT pg_sleep(2) AS slept",
        "error": "SELECT * FROM orkestra_fault_no_such_table",
        "malformed": "SELECT 1/0 AS broken",
        "reset": "SELECT pg_terminate_backend(pg_backend_pid())",
        "hang": "SELECT pg_sleep(60) AS hung",
    },
    "mysql": {
        "slow": "SELECT SLEEP(2) AS slept",
        "error": "SELECT * FROM orkestra_fault_no_such_table",
        "malformed": "SELECT (SELECT 1 UNION SELECT 2) AS broken",  # more than one row: a data error
        "reset": "KILL CONNECTION_ID()",
        "hang": "SELECT SLEEP(60) AS hung",
    },
}


def database_files(marker: str, url: str = PG) -> dict[str, str]:
    scheme = url.split(":", 1)[0]
    queries = {name: f"{q} /* {marker} */" for name, q in QUERIES[scheme].items()}
    host = url.split("@", 1)[1].split("/", 1)[0].split(":")[0]
    dead = url.replace(url.split("@", 1)[1].split("/", 1)[0], f"{host}:{closed_port()}")
    ops = "\n".join(
        f'    {name}: {{source_id: live, query: "{q}", params: []}}' for name, q in queries.items()
    )
    yaml = f"""database:
  sources:
    dead: {{connection_string: "{dead}", pool_timeout: 1}}
    live: {{connection_string: "{url}", pool_size: 2, max_overflow: 0, pool_timeout: 1}}
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
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", timeout=30
        ) as client:
            for fault in FAULTS:
                for mode in ("hard", "soft"):
                    start = time.perf_counter()
                    try:
                        response = await asyncio.wait_for(
                            client.post(f"/orchestrator/faults/{fault.name}_{mode}"),
                            DEADLINE + MARGIN,
                        )
                    except TimeoutError:
                        problems.append(
                            f"{fault.name}/{mode}: no answer within {DEADLINE + MARGIN}s"
                        )
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
                problems.append(
                    f"{engine.pool.checkedout()} database connection(s) still checked out"
                )
    for _ in range(50):  # bounded settle: cancelled tasks finish on the next loop iterations
        leaked = [
            t
            for t in asyncio.all_tasks() - baseline_tasks
            if t is not asyncio.current_task() and not t.done()
        ]
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
            out.append(
                f"{where}: {response.status_code} {response.text[:200]}, expected {sorted(fault.hard_status)}"
            )
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
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
                f"%{marker}%",
            )
            if running == 0:
                break
            await asyncio.sleep(0.1)
        assert running == 0, "a timed-out query is still running on the server"
    finally:
        await conn.close()


async def mariadb_running(marker: str, kill: bool = False) -> int:
    """How many statements carrying `marker` MariaDB is running; with `kill`, stop them."""
    import aiomysql

    conn = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", db="test")
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT id FROM information_schema.processlist WHERE info LIKE %s AND id <> CONNECTION_ID()",
                (f"%{marker}%",),
            )
            ids = [int(row[0]) for row in await cur.fetchall()]
            if kill:
                for thread_id in ids:
                    await cur.execute(f"KILL QUERY {thread_id}")
        return len(ids)
    finally:
        conn.close()


@pytest.mark.mariadb
async def test_mariadb_source_faults(tmp_path: Path) -> None:
    marker = f"orkestra-fault-{uuid.uuid4().hex[:10]}"
    fds = open_fds()
    try:
        problems = await run_matrix(write_config(tmp_path, database_files(marker, MARIADB)))
    finally:
        await mariadb_running(marker, kill=True)  # see the xfail below: do not leave them running
    assert not problems, "\n".join(problems)
    assert open_fds() <= fds + 2


@pytest.mark.mariadb
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the database source does not KILL QUERY on MariaDB when a statement times out: the server "
    "keeps running it (reported to the database owner)",
)
async def test_mariadb_timed_out_query_stops_on_the_server(tmp_path: Path) -> None:
    marker = f"orkestra-fault-{uuid.uuid4().hex[:10]}"
    try:
        async with Orkestra(write_config(tmp_path, database_files(marker, MARIADB))) as svc:
            transport = httpx.ASGITransport(app=svc.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.post("/orchestrator/faults/hang_hard")).status_code == 504
            # checked while the service (and its pool) is still up, as in production
            for _ in range(20):  # bounded: 2 s, far less than the statement's 60 s
                running = await mariadb_running(marker)
                if running == 0:
                    break
                await asyncio.sleep(0.1)
        assert running == 0, "a timed-out query is still running on the server"
    finally:
        await mariadb_running(marker, kill=True)
