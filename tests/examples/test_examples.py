"""Every example runs as a user runs it, and its answers agree with the model they came from."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "example"


def load(script: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), EXAMPLES / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def skops_model(path: Path) -> Any:
    import skops.io

    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))


def test_basic_example() -> None:
    results = load("run_basic_example.py").main()
    assert results["hello"] == {"status": 200, "body": results["hello"]["body"]}  # type: ignore[index]
    assert results["hello"]["body"]["message"] == "Hello, orkestra!"  # type: ignore[index]
    assert results["echo"]["body"] == {
        "count": 2,
        "first_price": 9.5,
        "coupon": "HALF",
        "discounted": 0.5,
    }  # type: ignore[index]
    assert results["echo (invalid body)"]["status"] == 422  # type: ignore[index]


def test_iris_example_predictions_match_the_model() -> None:
    import pandas as pd

    module = load("run_iris_example.py")
    results = module.main()
    model = skops_model(module.HERE / "models" / "iris.skops")
    flowers = pd.read_csv(
        Path(__import__("orkestra").__file__).parent / "templates" / "iris.csv"
    ).set_index("id")
    for flower in module.FLOWERS:
        row = flowers.loc[[flower], ["sepal_length", "sepal_width", "petal_length", "petal_width"]]
        expected = model.predict(row)[0]
        probabilities = dict(zip(model.classes_, model.predict_proba(row)[0]))
        served = results[f"predict_from_db/{flower}"]
        assert served["species"] == expected
        assert served["probabilities"] == pytest.approx(probabilities)
        compare = results[f"compare/{flower}"]
        assert (
            compare["predicted"] == expected and compare["actual"] == flowers.loc[flower, "species"]
        )
        assert compare["correct"] == (expected == flowers.loc[flower, "species"])
    for flower in module.FEAST_FLOWERS:
        row = flowers.loc[[flower], ["sepal_length", "sepal_width", "petal_length", "petal_width"]]
        served = results[f"predict_from_features/{flower}"]
        assert served["species"] == model.predict(row)[0]
        assert served["probabilities"] == pytest.approx(
            dict(zip(model.classes_, model.predict_proba(row)[0]))
        )
        assert served["features_from"] == ("feast" if flower <= module.IN_FEAST else "database")


def test_model_scoring_example_runs_the_brief_verbatim() -> None:
    import pandas as pd

    brief = (EXAMPLES / "model_scoring" / "config" / "domains" / "model_scoring.yaml").read_text()
    assert 'customer_id: "$request.path_params.entity_id"' in brief
    module = load("run_model_scoring_example.py")
    results = module.main()
    model = skops_model(module.HERE / "models" / "credit.skops")
    for customer_id, _name, score, income in module.CUSTOMERS:
        risk = model.predict_proba(pd.DataFrame({"credit_score": [score], "income": [income]}))[0][
            1
        ]
        body = results[str(customer_id)]
        assert body["customer_id"] == customer_id
        assert body["risk_score"] == round(risk * 100)
        assert body["risk_tier"] == ("high" if risk >= 0.5 else "medium" if risk >= 0.2 else "low")


def test_iris_example_as_a_script() -> None:
    done = subprocess.run(  # noqa: PLW1510  the return code is asserted below
        [sys.executable, str(EXAMPLES / "run_iris_example.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model vs. database" in done.stdout
    assert "flower   1: actual setosa      predicted setosa      match" in done.stdout
