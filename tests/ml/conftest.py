"""Real models for the ml source tests: trained once per session on scikit-learn's bundled iris
data (and the deterministic credit sample), saved as skops and ONNX, and a real model server
(tests/ml/model_server.py) on a loopback port."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orkestra.config.models import DataSourceSpec
from orkestra.http_client import close_shared_client
from orkestra.sources.base import CallContext, Operation, SourceEnvironment
from orkestra.sources.ml import MLSection, MLSourceType
from orkestra.training import train_credit_model, train_iris
from tests.ml.ml_support import SERVER_SCRIPT, free_port, wait_until_healthy

CTX = CallContext(execution_id="test-exec", source_name="prediction")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root holding config/ and models/ with the demo models trained once."""
    root = tmp_path_factory.mktemp("ml-project")
    (root / "config").mkdir()
    train_iris(root / "models" / "iris.skops")
    train_iris(root / "models" / "iris.onnx", fmt="onnx")
    train_credit_model(root / "models" / "credit.skops")
    return root


@pytest.fixture(scope="session")
def iris_model(models_dir: Path) -> Any:
    import skops.io as sio

    return sio.load(models_dir / "models" / "iris.skops")


@pytest.fixture(scope="session")
def iris_rows() -> list[dict[str, float]]:
    """Ten flowers spread over the three species, keyed like the model's features."""
    from sklearn.datasets import load_iris

    from orkestra.training import IRIS_FEATURES

    data = load_iris().data
    return [dict(zip(IRIS_FEATURES, map(float, data[i]))) for i in range(0, 150, 15)]


@pytest.fixture(scope="session")
def model_server(models_dir: Path) -> Iterator[str]:
    """tests/ml/model_server.py serving the iris model as `iris`; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(SERVER_SCRIPT),
            "--model",
            str(models_dir / "models" / "iris.skops"),
            "--port",
            str(port),
            "--name",
            "iris",
        ],
        stdout=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{base_url}/health", process, timeout=60)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


MakeML = Callable[..., Any]


@pytest.fixture
async def make_ml(models_dir: Path) -> AsyncIterator[MakeML]:
    """Build and start an MLSourceType from a `sources:` mapping; every one is closed afterwards."""
    created: list[MLSourceType] = []

    async def build(
        sources: dict[str, Any],
        *,
        secrets: frozenset[str] = frozenset(),
        project: Path | None = None,
    ) -> MLSourceType:
        section = MLSection.model_validate({"sources": sources})
        env = SourceEnvironment((project or models_dir) / "config", secrets)
        ml = MLSourceType(section, env)
        created.append(ml)
        await ml.start()
        return ml

    yield build
    for ml in created:
        await ml.close()
    await close_shared_client()  # the service closes it at shutdown; here, each test's loop does


def bind(ml: MLSourceType, source_id: str = "default", operation: str | None = None) -> Operation:
    spec = {"name": "prediction", "type": "ml", "source_id": source_id, "operation": operation}
    return ml.bind(DataSourceSpec.model_validate(spec))
