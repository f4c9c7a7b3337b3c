"""api sources end to end: YAML config -> service -> loopback backend, through the HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from orkestra.errors import ConfigError
from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend

pytest_plugins = ["tests.support.fixtures"]

TOKEN = "tok-9f8e7d6c5b4a"


def files(backend_url: str) -> dict[str, str]:
    return {
        "integrations/api_sources.yaml": f"""
            api:
              sources:
                weather_api:
                  base_url: "{backend_url}/echo/v1"
                  timeout: 5
                  headers: {{Authorization: "Bearer ${{WEATHER_TOKEN}}"}}
                  operations:
                    current:
                      path: "/weather/{{city}}"
                      params: {{units: metric, lang: "{{lang}}"}}
                    demo:
                      path: /demo
                      mock: true
                      mock_response: {{temperature: 21}}
                flaky:
                  base_url: "{backend_url}"
                  retry_count: 2
                  headers: {{Authorization: "Bearer ${{WEATHER_TOKEN}}"}}
                  operations:
                    down: {{path: /status/503, params: {{echo: "1"}}}}
                    hang: {{path: /hang, timeout: 0.3}}
            """,
        "domains/weather.yaml": """
            domain_id: weather
            endpoints:
              current:
                method: get
                data_sources:
                  - name: w
                    type: api
                    source_id: weather_api
                    operation: current
                    params:
                      city: "$request.path_params.city"
                      lang: "$request.query_params.lang"
                response_mapping:
                  raw_path: "$w.raw_path"
                  query: "$w.query"
                  host: "$w.headers.Host"
                  authorized: "$w.headers.Authorization != null"
              demo:
                method: get
                data_sources:
                  - {name: d, type: api, source_id: weather_api, operation: demo}
                primary_source: d
              down:
                method: get
                data_sources:
                  - {name: backend, type: api, source_id: flaky, operation: down}
              slow:
                method: get
                data_sources:
                  - {name: backend, type: api, source_id: flaky, operation: hang}
            """,
    }


@pytest.fixture
async def client(
    tmp_path: Path, http_backend: HttpBackend, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("WEATHER_TOKEN", TOKEN)
    service = Orkestra(write_config(tmp_path, files(http_backend.url)))
    async with service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_request_data_stays_inside_its_path_segment(
    client: httpx.AsyncClient, http_backend: HttpBackend
) -> None:
    city = "%40evil.example%3A81%3Fx%23y"  # the client's "@evil.example:81?x#y"
    resp = await client.get(f"/orchestrator/weather/current/{city}", params={"lang": "fr&x=1"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["raw_path"] == f"/echo/v1/weather/{city}"
    assert body["query"] == {"units": ["metric"], "lang": ["fr&x=1"]}
    assert body["host"] == http_backend.url.removeprefix("http://")
    assert body["authorized"] is True


async def test_mock_operation_answers_without_a_call(
    client: httpx.AsyncClient, http_backend: HttpBackend
) -> None:
    resp = await client.get("/orchestrator/weather/demo")
    assert resp.json() == {"temperature": 21}
    assert http_backend.received == []


async def test_5xx_is_retried_then_502_without_the_token(
    client: httpx.AsyncClient, http_backend: HttpBackend
) -> None:
    resp = await client.get("/orchestrator/weather/down")
    assert resp.status_code == 502
    assert resp.json()["source"] == "backend"
    assert http_backend.calls("/status/503") == 3  # retry_count: 2 -> three attempts
    # The backend's error body echoes the Authorization header; the answer must not.
    assert TOKEN not in resp.text


async def test_hanging_api_is_504(client: httpx.AsyncClient) -> None:
    resp = await client.get("/orchestrator/weather/slow")
    assert resp.status_code == 504
    assert resp.json()["source"] == "backend"


def test_api_config_mistakes_are_load_errors_with_file_and_line(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "integrations/api_sources.yaml": """
                api:
                  sources:
                    crm:
                      base_url: "http://crm.internal"
                      operations:
                        customer: {path: "/customers/{id}"}
                """,
            "domains/crm.yaml": """
                domain_id: crm
                endpoints:
                  typo:
                    data_sources:
                      - {name: c, type: api, source_id: crm, operation: custmer, params: {id: "1"}}
                  unfilled:
                    data_sources:
                      - {name: c, type: api, source_id: crm, operation: customer, params: {x: "1"}}
                  nowhere:
                    data_sources:
                      - {name: c, type: api, source_id: erp, operation: customer, params: {id: "1"}}
                """,
        },
    )
    with pytest.raises(ConfigError) as info:
        Orkestra(config)
    problems = {(p.file, p.line, p.key_path): p.message for p in info.value.problems}
    assert problems == {
        ("domains/crm.yaml", 5, "endpoints.typo.data_sources[0].operation"): (
            "api source 'crm' has no operation 'custmer' (known: customer)"
        ),
        ("domains/crm.yaml", 8, "endpoints.unfilled.data_sources[0].params"): (
            "operation 'customer' fills its path with id, which the data source's params do not define"
        ),
        ("domains/crm.yaml", 11, "endpoints.nowhere.data_sources[0].source_id"): (
            "unknown api source 'erp' (known: crm)"
        ),
    }
