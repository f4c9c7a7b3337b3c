"""for_each over rows sends one batch predict to the model, with results in input order."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from orkestra.service import Orkestra
from orkestra.sources.ml.source import MLOperation
from tests.support.configs import write_config


async def test_for_each_rows_make_one_batch_call(
    tmp_path: Path,
    models_dir: Path,
    iris_model: Any,
    iris_rows: list[dict[str, float]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "models").mkdir()
    shutil.copy(models_dir / "models" / "iris.skops", tmp_path / "models" / "iris.skops")
    config = write_config(
        tmp_path,
        {
            "integrations/ml.yaml": """
            ml:
              sources:
                iris:
                  models:
                    default: {source: {type: local_artifact, path: models/iris.skops}}
            """,
            "domains/garden.yaml": """
            endpoints:
              classify_all:
                method: post
                data_sources:
                  - name: predictions
                    type: ml
                    source_id: iris
                    for_each: "$request.body.flowers"
                    as: flower
                    params: {features: "$flower"}
                response_mapping:
                  species: "$predictions"
            """,
        },
    )
    calls: list[Any] = []
    original = MLOperation.call

    async def counting(self: MLOperation, params: Any, ctx: Any) -> Any:
        calls.append(params)
        return await original(self, params, ctx)

    monkeypatch.setattr(MLOperation, "call", counting)
    async with Orkestra(config) as service:
        body = await service.execute("garden", "classify_all", body={"flowers": iris_rows})
    assert len(calls) == 1 and len(calls[0]["features"]) == len(iris_rows)
    import pandas as pd

    expected = list(iris_model.predict(pd.DataFrame(iris_rows)))
    assert [p["class_name"] for p in body["species"]] == expected
