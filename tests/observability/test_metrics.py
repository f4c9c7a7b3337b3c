"""`/metrics` over a real server: parsed with the Prometheus text parser, counters equal to the
requests sent, latency histograms per endpoint and source, source errors, model and pool states."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orkestra.service import Orkestra
from orkestra.training import train_iris
from tests.support.configs import write_config
from tests.tracking.live_server import LiveServer, live_server


def files(root: Path) -> dict[str, str]:
    return {
        "database.yaml": f"""
            database:
              sources:
                default: {{connection_string: "sqlite:///{root / "metrics.db"}"}}
              operations:
                one: {{query: "SELECT 1 AS one", result: one}}
            """,
        "integrations/ml.yaml": f"""
            ml:
              sources:
                iris:
                  models:
                    default:
                      source: {{type: local_artifact, path: "{root / "iris.skops"}"}}
            """,
        "integrations/memory.yaml": """
            memory:
              sources:
                default:
                  operations:
                    fast: {response: {v: 1}}
                    down: {error: "backend refused"}
            """,
        "domains/m.yaml": """
            domain_id: m
            endpoints:
              ok:
                method: get
                data_sources:
                  - {name: a, type: memory, operation: fast}
              soft:
                method: get
                data_sources:
                  - {name: a, type: memory, operation: fast}
                  - {name: flaky, type: memory, operation: down, on_error: skip}
              hard:
                method: get
                data_sources:
                  - {name: broken, type: memory, operation: down}
              db:
                method: get
                data_sources:
                  - {name: row, type: database, operation: one}
            """,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("metrics")
    train_iris(root / "iris.skops")
    with live_server(Orkestra(write_config(root, files(root))).app) as live:
        yield live


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum over samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and want <= ls)


def test_counters_match_requests_sent(server: LiveServer) -> None:
    sent = {"ok": 7, "soft": 3, "hard": 2, "db": 4}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for endpoint, count in sent.items():
            for _ in range(count):
                client.get(f"/orchestrator/m/{endpoint}")
        client.get("/orchestrator/m/nope")  # a 404 never reaches an endpoint: not counted
        resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    found = samples(resp.text)

    for endpoint, count in sent.items():
        assert value(found, "orkestra_requests_total", endpoint=endpoint) == count
        assert value(found, "orkestra_request_duration_seconds_count", endpoint=endpoint) == count
    assert value(found, "orkestra_requests_total") == sum(sent.values())
    assert (
        value(found, "orkestra_requests_total", endpoint="hard", code="502", status="failed") == 2
    )
    assert (
        value(found, "orkestra_requests_total", endpoint="soft", code="200", status="partial") == 3
    )
    assert (
        value(
            found, "orkestra_source_errors_total", endpoint="soft", source="flaky", status="failed"
        )
        == 3
    )
    assert value(found, "orkestra_source_errors_total", endpoint="hard", source="broken") == 2
    assert value(found, "orkestra_source_errors_total", endpoint="ok") == 0
    assert (
        value(
            found,
            "orkestra_source_duration_seconds_count",
            endpoint="db",
            source="row",
            type="database",
        )
        == 4
    )
    # bucket counts are cumulative: the +Inf bucket holds every observation
    assert value(found, "orkestra_request_duration_seconds_bucket", endpoint="ok", le="+Inf") == 7

    assert value(found, "orkestra_component_state", type="ml", state="ready") == 1
    assert (
        value(
            found, "orkestra_component_state", type="database", component="default", state="ready"
        )
        == 1
    )
    assert value(found, "orkestra_component_state", type="ml", state="failed") == 0
