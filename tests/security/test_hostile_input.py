"""Hostile request data: an SSRF corpus (request data never moves a call to another scheme, host or
port, redirects are not followed), an SQL-injection corpus (values are bound, never SQL), and a
canary secret that must appear 0 times in responses, logs and execution records."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import asyncpg
import httpx
import orjson
import pytest

from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend, http_backend

CANARY = "canary-7f3a9c2e5b1d4068"


def ssrf_corpus(attacker: str) -> list[str]:
    host = attacker.removeprefix("http://")
    return [
        attacker,
        f"{attacker}/steal",
        f"//{host}/steal",
        f"@{host}",
        f"x@{host}",
        f"{host}",
        f"http:{host}",
        f"https://{host}",
        f"http:\\\\{host}",
        f"\\\\{host}\\steal",
        f"..%2F..%2F{host}",
        "../../../etc/passwd",
        "..",
        ".",
        "/",
        "//",
        "%2e%2e/%2e%2e/admin",
        "%2F%2F" + host,
        f"?next={attacker}",
        f"#{attacker}",
        f"a/../../{host}",
        "\r\nHost: evil.example",
        "x\r\nX-Injected: 1",
        "x\nLocation: http://evil",
        "\x00evil",
        f"{host}#@127.0.0.1",
        f"127.0.0.1:{host.split(':')[1]}",
        "localhost:22",
        "[::1]:22",
        "0.0.0.0",
        "0x7f000001",
        "2130706433",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "dict://127.0.0.1:6379/info",
        "ftp://evil.example/",
        "javascript:alert(1)",
        "data:text/plain,hi",
        f"{attacker}%00",
        f"{attacker}%0d%0a",
        "%252e%252e%252f",
        "\u2025/\u2025/admin",
        "\uff0e\uff0e/\uff0e\uff0e/admin",
        "a" * 3000,
        f"\t{attacker}",
        f" {attacker}",
        "evil.example:80@127.0.0.1",
        "user:pass@evil.example",
        "%40evil.example%3A81",
    ]


def api_files(backend: str) -> dict[str, str]:
    return {
        "integrations/api.yaml": f"""
            api:
              sources:
                b:
                  base_url: "{backend}/echo/v1"
                  headers: {{Authorization: "Bearer ${{CANARY_TOKEN}}"}}
                  operations:
                    get: {{path: "/items/{{id}}", params: {{q: "{{q}}"}}, headers: {{X-Tag: "{{tag}}"}}}}
                redirecting:
                  base_url: "{backend}"
                  operations:
                    go: {{path: /redirect, params: {{to: "{{to}}"}}}}
                failing:
                  base_url: "{backend}"
                  headers: {{Authorization: "Bearer ${{CANARY_TOKEN}}"}}
                  operations:
                    boom: {{path: /status/500, params: {{echo: "1"}}}}
            """,
        "config.yaml": "tracking:\n  keep_payloads: true\n",
        "domains/h.yaml": """
            domain_id: h
            endpoints:
              fetch:
                method: post
                data_sources:
                  - name: w
                    type: api
                    source_id: b
                    operation: get
                    params: {id: "$request.body.v", q: "$request.body.v", tag: "$request.body.tag"}
                response_mapping: {raw_path: "$w.raw_path", query: "$w.query", host: "$w.headers.Host", tag: "$w.headers['X-Tag']"}
              follow:
                method: post
                data_sources:
                  - {name: r, type: api, source_id: redirecting, operation: go, params: {to: "$request.body.to"}}
              boom:
                method: post
                data_sources:
                  - {name: f, type: api, source_id: failing, operation: boom, params: {x: "$request.body.v"}}
            """,
    }


async def test_ssrf_corpus_never_leaves_the_configured_host(
    tmp_path: Path, http_backend: HttpBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANARY_TOKEN", CANARY)
    with http_backend_attacker() as attacker:
        corpus = ssrf_corpus(attacker.url)
        bound = refused = 0
        svc = Orkestra(write_config(tmp_path, api_files(http_backend.url)))
        async with (
            svc,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://t") as c,
        ):
            for value in corpus:
                response = await c.post("/orchestrator/h/fetch", json={"v": value, "tag": value})
                if response.status_code == 200:
                    body = response.json()
                    segment = body["raw_path"].removeprefix("/echo/v1/items/")
                    assert "/" not in segment and unquote(segment) == value, (value, body)
                    assert body["query"] == {"q": [value]}, (value, body)
                    assert body["host"] == http_backend.url.removeprefix("http://")
                    assert body["tag"] == value.strip(
                        " \t"
                    )  # HTTP drops a header value's outer blanks
                    bound += 1
                else:
                    assert response.status_code in (422, 502), (value, response.text)
                    refused += 1
            redirect = await c.post("/orchestrator/h/follow", json={"to": f"{attacker.url}/steal"})
        assert attacker.received == [], [r.target for r in attacker.received]
        assert redirect.status_code == 502  # a 302 is an answer the source does not follow
        assert bound + refused == len(corpus) and bound > len(corpus) // 2
        assert all(
            r.path.startswith(("/echo/v1/items/", "/redirect")) for r in http_backend.received
        )


class http_backend_attacker:
    def __enter__(self) -> HttpBackend:
        self.cm = http_backend()
        return self.cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.cm.__exit__(*exc)  # type: ignore[arg-type]


SQLI = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "x'; DROP TABLE {t}; --",
    "1; DELETE FROM {t}",
    "' UNION SELECT id, name FROM {t} --",
    "admin'--",
    "' OR ''='",
    "\\' OR 1=1 #",
    "%' OR name LIKE '%",
    "1 OR 1=1",
    "'; UPDATE {t} SET name='x'; --",
    '"; DROP TABLE {t}; --',
    "' AND SLEEP(5) --",
    "'; SELECT pg_sleep(5); --",
    "$1",
    ":name",
    "?",
    "' || (SELECT name FROM {t} LIMIT 1) || '",
    "robert'); DROP TABLE {t};--",
    "\x00' OR '1'='1",
    "' OR 'a'='a' /*",
    "*/ OR 1=1 /*",
    "N'x' OR 1=1",
]


def sql_files(connection: str, table: str) -> dict[str, str]:
    return {
        "database.yaml": f"""
            database:
              sources:
                default: {{connection_string: "{connection}"}}
              operations:
                by_name: {{query: "SELECT id, name FROM {table} WHERE name = :name ORDER BY id", result: many}}
            """,
        "domains/q.yaml": """
            domain_id: q
            endpoints:
              find:
                method: post
                data_sources:
                  - {name: rows, type: database, operation: by_name, params: {name: "$request.body.name"}}
                response_mapping: {rows: "$rows"}
            """,
    }


async def run_sqli(config: Path, table: str) -> None:
    payloads = [p.format(t=table) for p in SQLI]
    svc = Orkestra(config)
    async with (
        svc,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://t") as c,
    ):
        for payload in payloads:
            response = await c.post("/orchestrator/q/find", json={"name": payload})
            if "\x00" in payload and response.status_code == 502:
                continue  # PostgreSQL refuses NUL in text values: refused as a value, not run as SQL
            assert response.status_code == 200, (payload, response.text)
            rows = response.json()["rows"]
            # bound: only a row whose name IS the payload text matches
            expected = [{"id": 3, "name": payload}] if payload == payloads[0] else []
            assert rows == expected, (payload, rows)
        intact = await c.post("/orchestrator/q/find", json={"name": "alice"})
        assert intact.json()["rows"] == [{"id": 1, "name": "alice"}]


async def test_sql_injection_corpus_is_bound_on_sqlite(tmp_path: Path) -> None:
    table = f"people_{uuid.uuid4().hex[:8]}"
    db = tmp_path / "p.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany(
            f"INSERT INTO {table} VALUES (?, ?)", [(1, "alice"), (2, "bob"), (3, SQLI[0])]
        )
    await run_sqli(write_config(tmp_path, sql_files(f"sqlite:///{db}", table)), table)
    with sqlite3.connect(db) as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)


@pytest.mark.postgres
async def test_sql_injection_corpus_is_bound_on_postgresql(tmp_path: Path) -> None:
    table = f"people_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    try:
        await conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        await conn.executemany(
            f"INSERT INTO {table} VALUES ($1, $2)", [(1, "alice"), (2, "bob"), (3, SQLI[0])]
        )
        config = write_config(
            tmp_path, sql_files("postgresql://postgres@127.0.0.1:5432/test", table)
        )
        await run_sqli(config, table)
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 3
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()


async def test_canary_secret_appears_nowhere(
    tmp_path: Path,
    http_backend: HttpBackend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CANARY_TOKEN", CANARY)
    caplog.set_level(logging.DEBUG)
    records: list[dict[str, Any]] = []
    svc = Orkestra(write_config(tmp_path, api_files(http_backend.url)))
    svc.observers.append(lambda record: records.append(record.as_dict()))
    texts: list[str] = []
    async with (
        svc,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://t") as c,
    ):
        # the client itself sends it: its answer echoes the client's own data, so only logs and
        # records are checked for this one
        await c.post("/orchestrator/h/fetch", json={"v": CANARY, "tag": "t"})
        for path, body in [
            ("/orchestrator/h/fetch", {"v": "1", "tag": "t"}),
            (
                "/orchestrator/h/boom",
                {"v": "x"},
            ),  # the backend's 500 body echoes the Authorization header
            ("/orchestrator/h/fetch", {"v": "x", "tag": "a\r\nb"}),  # refused header value
            ("/orchestrator/h/follow", {"to": "http://127.0.0.1:1/"}),
        ]:
            response = await c.post(path, json=body)
            texts.append(response.text + "".join(f"{k}:{v}" for k, v in response.headers.items()))
    assert len(records) == 5
    assert sum(t.count(CANARY) for t in texts) == 0
    assert caplog.text.count(CANARY) == 0
    assert orjson.dumps(records).decode().count(CANARY) == 0
    sent = [r.headers.get("Authorization") for r in http_backend.received]
    assert f"Bearer {CANARY}" in sent  # it was really used
