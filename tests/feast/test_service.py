"""The feast source inside a whole service: a SPEC-dialect config served over HTTP (in-process)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orkestra.service import Orkestra
from tests.feast.feast_support import FEATURES, FeastRepo, free_port
from tests.support.configs import write_config

pytestmark = pytest.mark.feast


@pytest.fixture
async def client(
    tmp_path: Path, sqlite_repo: FeastRepo, iris_rows: list[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    # The project: config/, data/iris.db, and feature_repo/ (the session's repo, linked in).
    (tmp_path / "feature_repo").symlink_to(sqlite_repo.repo, target_is_directory=True)
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "iris.db") as conn:
        conn.execute(
            "CREATE TABLE iris_flowers (id INTEGER PRIMARY KEY, sepal_length REAL, petal_width REAL)"
        )
        conn.executemany(
            "INSERT INTO iris_flowers VALUES (?, ?, ?)",
            [(r["iris_id"], r["sepal_length"], r["petal_width"]) for r in iris_rows],
        )
    conn.close()
    config = write_config(
        tmp_path,
        {
            "database.yaml": """
            database:
              sources:
                default:
                  connection_string: "sqlite:///data/iris.db"
            """,
            "integrations/feast_config.yaml": f"""
            feast:
              sources:
                iris_features:
                  repo_path: "./feature_repo"
                  project: {sqlite_repo.project}
                  feature_services:
                    iris_features: {{ features: ["iris:sepal_length", "iris:petal_width"] }}
                  database_fallback:
                    enabled: true
                    source_id: default
                    table: iris_flowers
                    entity_key: id
                    mapping: {{ "iris:sepal_length": sepal_length, "iris:petal_width": petal_width }}
                remote:
                  feature_server_url: "http://127.0.0.1:{free_port()}"
                  timeout: 2
                  feature_services:
                    iris_features: {{ features: ["iris:sepal_length"] }}
            """,
            "domains/iris.yaml": """
            domain_id: iris
            endpoints:
              flower:
                endpoint_type: feast
                data_sources:
                  - name: features
                    type: feast
                    source_id: iris_features
                    operation: iris_features
                    params: { iris_id: "int($request.path_params.flower_id)" }
                response_mapping:
                  sepal_length: "$features.iris:sepal_length"
                  petal_width: "$features.iris:petal_width"
                  origin: "$features._sources['iris:sepal_length']"
              batch:
                method: post
                data_sources:
                  - name: features
                    type: feast
                    source_id: iris_features
                    operation: iris_features
                    params: { iris_id: "$request.body.ids" }
                primary_source: features
              remote:
                data_sources:
                  - name: remote_features
                    type: feast
                    source_id: remote
                    operation: iris_features
                    params: { iris_id: "int($request.path_params.flower_id)" }
                primary_source: remote_features
              hello:
                endpoint_type: direct
                response: { hello: "world" }
            """,
        },
    )
    async with Orkestra(config) as service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_features_from_feast_and_from_the_fallback(
    client: httpx.AsyncClient, sqlite_repo: FeastRepo, iris_rows: list[dict[str, Any]]
) -> None:
    in_feast = await client.get("/orchestrator/iris/flower/3")
    assert in_feast.status_code == 200, in_feast.text
    expected = sqlite_repo.expected([3])[0]
    assert in_feast.json() == {
        "sepal_length": expected["iris:sepal_length"],
        "petal_width": expected["iris:petal_width"],
        "origin": "feast",
    }

    only_in_db = (await client.get("/orchestrator/iris/flower/145")).json()
    assert only_in_db == {
        "sepal_length": iris_rows[145]["sepal_length"],
        "petal_width": iris_rows[145]["petal_width"],
        "origin": "database",
    }


async def test_batch_keeps_the_order(client: httpx.AsyncClient, sqlite_repo: FeastRepo) -> None:
    ids = [9, 2, 144, 7]
    resp = await client.post("/orchestrator/iris/batch", json={"ids": ids})
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    assert [row["iris_id"] for row in rows] == ids
    assert rows[0]["iris:sepal_length"] == sqlite_repo.expected([9])[0]["iris:sepal_length"]
    assert rows[2]["_sources"]["iris:sepal_length"] == "database"
    assert set(rows[1]) == {"iris_id", "iris:sepal_length", "iris:petal_width", "_sources"}
    assert all(
        f"iris:{f}" not in rows[1] for f in FEATURES if f not in ("sepal_length", "petal_width")
    )


async def test_unreachable_feature_server_is_a_502_and_others_keep_serving(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get("/orchestrator/iris/remote/3")
    assert resp.status_code == 502, resp.text
    problem = resp.json()
    assert problem["source"] == "remote_features"
    assert "feast source 'remote'" in resp.text
    assert "Traceback" not in resp.text

    assert (await client.get("/orchestrator/iris/hello")).json() == {"hello": "world"}
    assert (await client.get("/orchestrator/iris/flower/1")).status_code == 200
