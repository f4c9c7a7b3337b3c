"""The ml source inside the real service: the brief's model_scoring example verbatim (SQLite customer
-> in-process credit model -> score and risk tier), /ready listing each model, and a model that
fails to load answering 503 problem+json while the rest of the service works."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orkestra.service import Orkestra
from orkestra.training import CREDIT_OUTPUTS
from tests.support.configs import write_config

# Verbatim from the brief (seed/orkestra-README.md, "Endpoint Configuration Example").
MODEL_SCORING = """
# config/domains/model_scoring.yaml
domain_id: "model_scoring"
description: "Credit risk scoring model"

endpoints:
  predict:
    description: "Predict credit risk using customer data"
    endpoint_type: "composite"
    data_sources:
      - name: customer_data
        type: database
        operation: get_customer
        params:
          customer_id: "$request.path_params.entity_id"
      
      - name: risk_prediction
        type: ml
        source_id: credit_model
        operation: predict
        params:
          features:
            credit_score: "$customer_data.credit_score"
            income: "$customer_data.annual_income"
    
    response_mapping:
      customer_id: "$customer_data.customer_id"
      risk_score: "$risk_prediction.score"
      risk_tier: "$risk_prediction.risk_tier"
"""

CUSTOMERS = [(1, "Ada", 820, 140000.0), (2, "Bob", 430, 18000.0), (3, "Cy", 640, 52000.0)]


def ml_config(outputs: dict[str, str]) -> str:
    score, tier = outputs["score"], outputs["risk_tier"]
    return f"""
        ml:
          sources:
            credit_model:
              models:
                default:
                  source: {{type: local_artifact, path: models/credit.skops}}
                  outputs:
                    score: "{score}"
                    risk_tier: "{tier}"
                broken:
                  source: {{type: local_artifact, path: models/absent.skops}}
        """


@pytest.fixture
async def client(tmp_path: Path, models_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    (tmp_path / "models").mkdir()
    shutil.copy(models_dir / "models" / "credit.skops", tmp_path / "models" / "credit.skops")
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "app.db") as db:
        db.execute(
            "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, credit_score INTEGER, annual_income REAL)"
        )
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", CUSTOMERS)
    config = write_config(
        tmp_path,
        {
            "database.yaml": """
            database:
              sources:
                default: {connection_string: "sqlite:///data/app.db"}
              operations:
                get_customer:
                  query: "SELECT * FROM customers WHERE customer_id = :customer_id"
                  params: [customer_id]
                  result: one
            """,
            "integrations/ml_config.yaml": ml_config(CREDIT_OUTPUTS),
            "domains/model_scoring.yaml": MODEL_SCORING,
            "domains/broken.yaml": """
            domain_id: broken
            endpoints:
              predict:
                data_sources:
                  - {name: p, type: ml, source_id: credit_model, operation: broken, params: {features: {credit_score: 1, income: 1}}}
            """,
        },
    )
    service = Orkestra(config)
    async with (
        service,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://test"
        ) as c,
    ):
        yield c


def expected(model: Any, credit_score: int, income: float) -> dict[str, Any]:
    import pandas as pd

    risk = float(
        model.predict_proba(pd.DataFrame({"credit_score": [credit_score], "income": [income]}))[
            0, 1
        ]
    )
    tier = "high" if risk >= 0.5 else ("medium" if risk >= 0.2 else "low")
    return {"risk_score": round(risk * 100), "risk_tier": tier}


async def test_the_briefs_model_scoring_example(
    client: httpx.AsyncClient, models_dir: Path
) -> None:
    import skops.io as sio

    model = sio.load(models_dir / "models" / "credit.skops")
    tiers = set()
    for customer_id, _, credit_score, income in CUSTOMERS:
        response = await client.get(f"/orchestrator/model_scoring/predict/{customer_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body == {"customer_id": customer_id, **expected(model, credit_score, income)}
        tiers.add(body["risk_tier"])
    assert {"low", "high"} <= tiers


async def test_ready_lists_models_and_a_failed_model_is_a_503_for_its_endpoint_only(
    client: httpx.AsyncClient,
) -> None:
    ready = await client.get("/ready")
    components = ready.json()["components"]
    assert components["ml:credit_model/default"]["state"] == "ready"
    assert components["ml:credit_model/broken"]["state"] == "failed"
    assert "not found" in components["ml:credit_model/broken"]["error"]
    assert ready.status_code == 503  # not every part is ready ...

    failed = await client.post("/orchestrator/broken/predict", json={})
    assert failed.status_code == 503
    assert failed.headers["content-type"].startswith("application/problem+json")
    assert "credit_model/broken" in failed.text and "Traceback" not in failed.text
    ok = await client.get("/orchestrator/model_scoring/predict/1")  # ... yet the rest serves
    assert ok.status_code == 200


async def test_an_unknown_customer_is_a_422_naming_the_missing_features(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/orchestrator/model_scoring/predict/999")
    assert response.status_code == 422, response.text
    assert "credit_score" in response.text and "income" in response.text
