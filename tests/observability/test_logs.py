"""Logs: JSON lines carrying the execution id of the request that logged them, and a secret planted
in an `${ENV}` header (echoed back by the backend into an error) in no log line, record, response,
metric or page."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orkestra.observability.logs import configure_logging, execution_context
from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend

pytest_plugins = ["tests.support.fixtures"]

SECRET = "planted-5ecret-91e2c7"


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    monkeypatch.setenv(
        "ORKESTRA_LOG_FORMAT", ""
    )  # configure_logging sets it; monkeypatch restores it
    monkeypatch.setenv("ORKESTRA_LOG_LEVEL", "")
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_execution_id(log_stream: io.StringIO) -> None:
    log = logging.getLogger("orkestra.test")
    with execution_context("exec-1"):
        log.info("inside %s", "request")
    log.warning("outside")
    inside, outside = lines(log_stream)
    assert inside == {
        "ts": inside["ts"],
        "level": "info",
        "logger": "orkestra.test",
        "message": "inside request",
        "execution_id": "exec-1",
    }
    assert outside["execution_id"] == "-" and outside["level"] == "warning"


async def test_planted_secret_appears_nowhere(
    tmp_path: Path,
    http_backend: HttpBackend,
    log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTNER_TOKEN", SECRET)
    config = write_config(
        tmp_path,
        {
            "config.yaml": "tracking:\n  keep_payloads: true\n  allow_debug: true\n",
            "integrations/api.yaml": f"""
            api:
              sources:
                partner:
                  base_url: "{http_backend.url}"
                  headers: {{Authorization: "Bearer ${{PARTNER_TOKEN}}", X-Api-Key: "${{PARTNER_TOKEN}}"}}
                  operations:
                    echo: {{path: /echo/ok}}
                    fails: {{path: /status/500, params: {{echo: "1"}}}}
            """,
            "domains/p.yaml": """
            domain_id: p
            endpoints:
              echo:
                method: get
                data_sources:
                  - {name: remote, type: api, source_id: partner, operation: echo}
              fails:
                method: get
                data_sources:
                  - {name: remote, type: api, source_id: partner, operation: fails}
              soft:
                method: get
                data_sources:
                  - {name: remote, type: api, source_id: partner, operation: fails, on_error: skip}
            """,
        },
    )
    seen: list[str] = []
    async with (
        Orkestra(config) as service,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://t"
        ) as client,
    ):
        echoed = await client.get("/orchestrator/p/echo", params={"debug": "true"})
        failed = await client.get("/orchestrator/p/fails")
        soft = await client.get("/orchestrator/p/soft", params={"debug": "true"})
        # the echo endpoint's own answer is the backend's data, returned as is; its record is not
        seen.append(json.dumps(echoed.json()["execution"]) + str(echoed.headers))
        for resp in (failed, soft):
            seen.append(resp.text + str(resp.headers))
        assert failed.status_code == 502 and soft.status_code == 200
        for path in ("/executions?limit=500", "/metrics", "/timeline", "/admin/config"):
            seen.append((await client.get(path)).text)
        for execution in (await client.get("/executions")).json()["executions"]:
            seen.append((await client.get(f"/executions/{execution['execution_id']}")).text)

    # the backend really received it (so the test plants a live secret), and echoed it back
    assert http_backend.last().headers["Authorization"] == f"Bearer {SECRET}"
    assert "***" in json.dumps(
        echoed.json()["execution"]
    )  # the echoed header, redacted in the record
    logged = log_stream.getvalue()
    assert "failed" in logged and failed.headers["x-orkestra-execution-id"] in logged
    for text in [*seen, logged]:
        assert SECRET not in text
    request_lines = [
        line
        for line in lines(log_stream)
        if str(line["logger"]).startswith("orkestra")
        and "/orchestrator/p/fails" in str(line["message"])
    ]
    assert request_lines and all(
        line["execution_id"] == failed.headers["x-orkestra-execution-id"] for line in request_lines
    )
