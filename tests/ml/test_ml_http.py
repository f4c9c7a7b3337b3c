"""HTTP models against a real model server on loopback (tests/ml/model_server.py): the json protocol,
the Open Inference Protocol (v2) in both tensor layouts, `outputs:` templates, and how backend
failures surface (502 / 503 / 504, naming the model)."""

from __future__ import annotations

from typing import Any

import pytest

from orkestra.errors import SourceError, SourceTimeout, SourceUnavailable
from orkestra.training import IRIS_CLASSES, IRIS_FEATURES
from tests.ml.conftest import CTX, MakeML, bind
from tests.ml.ml_support import free_port, reference
from tests.support.http_backend import HttpBackend


async def test_json_protocol_posts_params_and_returns_the_models_answer(
    make_ml: MakeML, model_server: str, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml({"iris_api": {"base_url": model_server, "models": {"default": {}}}})
    op = bind(ml, "iris_api", "predict")
    labels, probabilities = reference(iris_model, iris_rows)
    single = await op.call({"features": iris_rows[7]}, CTX)
    assert single["prediction"] == labels[7]
    assert list(single["probabilities"].values()) == pytest.approx(probabilities[7], abs=1e-12)
    batch = await op.call({"features": iris_rows}, CTX)
    assert [o["prediction"] for o in batch] == labels
    for output, probs in zip(batch, probabilities):
        assert list(output["probabilities"].values()) == pytest.approx(probs, abs=1e-12)
    assert ml.status()["iris_api/default"].as_dict() == {"state": "ready", "kind": "external"}


async def test_v2_one_tensor_per_feature(
    make_ml: MakeML, model_server: str, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml(
        {
            "kserve": {
                "base_url": model_server,
                "models": {
                    "flowers": {
                        "protocol": "v2",
                        "model_name": "iris",
                    },  # -> POST /v2/models/iris/infer
                },
            }
        }
    )
    op = bind(ml, "kserve", "flowers")
    labels, probabilities = reference(iris_model, iris_rows)
    single = await op.call({"features": iris_rows[0]}, CTX)
    assert single["predict"] == labels[0]  # a single row gives scalars ...
    assert single["predict_proba"] == pytest.approx(probabilities[0], abs=1e-12)  # ... or its row
    batch = await op.call({"features": iris_rows}, CTX)
    assert [row["predict"] for row in batch] == labels
    for row, probs in zip(batch, probabilities):
        assert row["predict_proba"] == pytest.approx(probs, abs=1e-12)


async def test_v2_single_tensor_in_feature_order(
    make_ml: MakeML, model_server: str, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml(
        {
            "kserve": {
                "base_url": model_server,
                "models": {
                    "iris": {
                        "protocol": "v2",
                        "input_name": "input-0",
                        "feature_order": IRIS_FEATURES,
                        "input_datatype": "FP32",
                    }
                },
            }
        }
    )
    # Keys in another order than the model's: the tensor's columns still follow feature_order.
    shuffled = [dict(reversed(list(row.items()))) for row in iris_rows]
    batch = await bind(ml, "kserve", "iris").call({"features": shuffled}, CTX)
    assert [row["predict"] for row in batch] == reference(iris_model, iris_rows)[0]


async def test_outputs_template_shapes_each_result(
    make_ml: MakeML, model_server: str, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml(
        {
            "iris_api": {
                "base_url": model_server,
                "models": {
                    "default": {
                        "outputs": {
                            "species": "$result.class_name",
                            "confidence": "round(max($result.probabilities.setosa, $result.probabilities.versicolor, $result.probabilities.virginica) * 100)",
                            "asked_for": "$params.features.petal_length",
                        },
                    }
                },
            }
        }
    )
    labels, probabilities = reference(iris_model, iris_rows)
    shaped = await bind(ml, "iris_api").call({"features": iris_rows[5]}, CTX)
    assert shaped == {
        "species": labels[5],
        "confidence": round(max(probabilities[5]) * 100),
        "asked_for": iris_rows[5]["petal_length"],
    }
    batch = await bind(ml, "iris_api").call({"features": iris_rows}, CTX)
    assert [row["species"] for row in batch] == labels
    assert set(labels) <= set(IRIS_CLASSES)


async def test_credit_model_gives_the_briefs_score_and_risk_tier(make_ml: MakeML) -> None:
    from orkestra.training import CREDIT_OUTPUTS

    ml = await make_ml(
        {
            "credit_model": {
                "models": {
                    "default": {
                        "outputs": CREDIT_OUTPUTS,
                        "source": {"type": "local_artifact", "path": "models/credit.skops"},
                    }
                }
            }
        }
    )
    op = bind(ml, "credit_model", "predict")
    risky = await op.call({"features": {"credit_score": 420, "income": 18000}}, CTX)
    safe = await op.call({"features": {"credit_score": 820, "income": 140000}}, CTX)
    assert set(risky) == {"score", "risk_tier"}
    assert risky["risk_tier"] == "high" and safe["risk_tier"] == "low"
    assert 0 <= safe["score"] < risky["score"] <= 100


async def test_backend_failures_name_the_model(make_ml: MakeML, http_backend: HttpBackend) -> None:
    closed_port = free_port()
    ml = await make_ml(
        {
            "backend": {
                "base_url": http_backend.url,
                "models": {
                    "slow": {"endpoint": "/delay/3000", "timeout": 0.3},
                    "broken": {"endpoint": "/status/500"},
                    "busy": {"endpoint": "/status/503"},
                    "garbled": {"endpoint": "/malformed"},
                    "unknown_v2": {"protocol": "v2", "model_name": "nope"},
                },
            },
            "down": {"base_url": f"http://127.0.0.1:{closed_port}", "models": {"default": {}}},
        }
    )
    params = {"features": {"x": 1.0}}
    with pytest.raises(SourceTimeout) as timeout:
        await bind(ml, "backend", "slow").call(params, CTX)
    assert timeout.value.status == 504 and "backend/slow" in str(timeout.value)
    with pytest.raises(SourceError, match="backend/broken' answered HTTP 500") as broken:
        await bind(ml, "backend", "broken").call(params, CTX)
    assert broken.value.status == 502
    with pytest.raises(SourceUnavailable, match="backend/busy"):
        await bind(ml, "backend", "busy").call(params, CTX)
    with pytest.raises(SourceError, match="not JSON"):
        await bind(ml, "backend", "garbled").call(params, CTX)
    with pytest.raises(SourceError, match="HTTP 404"):
        await bind(ml, "backend", "unknown_v2").call(params, CTX)
    with pytest.raises(SourceError, match="down/default' is unreachable") as down:
        await bind(ml, "down").call(params, CTX)
    assert down.value.status == 502 and str(closed_port) not in str(down.value)


async def test_json_protocol_sends_configured_and_trace_headers(
    make_ml: MakeML, http_backend: HttpBackend
) -> None:
    from orkestra.sources.base import CallContext

    ml = await make_ml(
        {
            "echo": {
                "base_url": http_backend.url,
                "models": {
                    "default": {"endpoint": "/echo/predict", "headers": {"X-Api-Key": "k-123"}}
                },
            }
        }
    )
    ctx = CallContext(
        execution_id="e1", source_name="prediction", headers={"traceparent": "00-abc-def-01"}
    )
    echoed = await bind(ml, "echo").call({"features": {"a": 1}}, ctx)
    headers = {k.lower(): v for k, v in echoed["headers"].items()}
    assert echoed["method"] == "POST" and echoed["json"] == {"features": {"a": 1}}
    assert headers["x-api-key"] == "k-123" and headers["traceparent"] == "00-abc-def-01"
