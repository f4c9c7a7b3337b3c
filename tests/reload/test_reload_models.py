"""A real model across reloads: kept loaded when its section is unchanged, replaced (new one loaded
and ready before the swap, old one stopped after) when it changes, stopped when removed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orkestra.service import Orkestra
from orkestra.sources.base import ComponentState, SourceType
from orkestra.training import train_iris
from tests.support.configs import write_config

FLOWER = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def files(root: Path, model: str | None, endpoint: str) -> dict[str, str]:
    out = {"domains/iris.yaml": "domain_id: iris\nendpoints:\n" + endpoint}
    if model is not None:
        out["integrations/ml.yaml"] = f"""
            ml:
              sources:
                iris:
                  models:
                    default:
                      source: {{type: local_artifact, path: "{root / model}"}}
            """
    return out


PREDICT = '  predict:\n    method: post\n    data_sources:\n      - {name: p, type: ml, source_id: iris, params: "$request.body"}\n'
HELLO = "  hello:\n    method: get\n    endpoint_type: direct\n    response: {hi: true}\n"


def ml_source(service: Orkestra) -> SourceType | None:
    return next((s for s in service.runtime.sources if s.type_name == "ml"), None)


def states(source: SourceType) -> set[ComponentState]:
    return {status.state for status in source.status().values()}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    train_iris(root / "a.skops")
    train_iris(root / "b.skops")
    return root


async def test_model_kept_replaced_and_stopped(tmp_path: Path, models: Path) -> None:
    config = write_config(tmp_path, files(models, "a.skops", PREDICT))
    async with (
        Orkestra(config) as service,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://t"
        ) as client,
    ):
        first = ml_source(service)
        assert first is not None and states(first) == {ComponentState.READY}
        answer = (await client.post("/orchestrator/iris/predict", json=FLOWER)).json()

        write_config(
            tmp_path, files(models, "a.skops", PREDICT + HELLO)
        )  # the model did not change
        assert (await service.reload())["kept_sources"] == ["ml"]
        assert ml_source(service) is first and states(first) == {ComponentState.READY}

        write_config(tmp_path, files(models, "b.skops", PREDICT))  # another artifact: a new model
        outcome = await service.reload()
        assert outcome["started_sources"] == ["ml"]
        second = ml_source(service)
        assert (
            second is not None and second is not first and states(second) == {ComponentState.READY}
        )
        assert (await client.post("/orchestrator/iris/predict", json=FLOWER)).json() == answer
        await service.observability.reloader.drain()
        assert states(first) == {ComponentState.STOPPED}  # the old model is not left loaded

        write_config(tmp_path, files(models, None, HELLO))  # no model at all
        (tmp_path / "config" / "integrations" / "ml.yaml").unlink()
        await service.reload()
        await service.observability.reloader.drain()
        assert ml_source(service) is None and states(second) == {ComponentState.STOPPED}
        assert (await client.get("/ready")).json()["components"] == {}
