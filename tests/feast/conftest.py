"""Real Feast for the feast source tests: a feature repo built from scikit-learn's iris data,
applied and materialized once per session into a SQLite and a Redis online store, and a real
`feast serve` over the SQLite one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orkestra.http_client import close_shared_client
from tests.feast.feast_support import FEATURES, IN_FEAST, FeastRepo, free_port

REDIS = "127.0.0.1:6379"


@pytest.fixture(autouse=True)
async def _close_http_client() -> AsyncIterator[None]:
    yield
    await close_shared_client()  # the feature-server reader uses the loop's shared client


@pytest.fixture(scope="session")
def iris_rows() -> list[dict[str, Any]]:
    from sklearn.datasets import load_iris

    data = load_iris()
    return [
        {"iris_id": i, **{name: float(v) for name, v in zip(FEATURES, row)}}
        for i, row in enumerate(data.data)
    ]


def _build_repo(
    root: Path, project: str, online_store: str, rows: list[dict[str, Any]]
) -> FeastRepo:
    import feast
    import pandas as pd
    from feast.types import Float64

    repo = root / "feature_repo"
    (repo / "data").mkdir(parents=True)
    (root / "config").mkdir()
    now = datetime.now(UTC)
    frame = pd.DataFrame(rows[:IN_FEAST])
    frame["event_timestamp"] = now - timedelta(hours=1)
    frame.to_parquet(repo / "data" / "iris.parquet")
    (repo / "feature_store.yaml").write_text(
        f"project: {project}\nregistry: data/registry.db\nprovider: local\n"
        f"online_store:\n{online_store}\noffline_store:\n  type: file\n"
    )
    store = feast.FeatureStore(repo_path=str(repo))
    iris = feast.Entity(name="iris", join_keys=["iris_id"], value_type=feast.ValueType.INT64)
    view = feast.FeatureView(
        name="iris",
        entities=[iris],
        ttl=timedelta(days=365),
        schema=[feast.Field(name=name, dtype=Float64) for name in FEATURES],
        source=feast.FileSource(
            path=str(repo / "data" / "iris.parquet"), timestamp_field="event_timestamp"
        ),
        online=True,
    )
    petals = feast.FeatureService(
        name="iris_petals", features=[view[["petal_length", "petal_width"]]]
    )
    store.apply([iris, view, petals])
    store.materialize(now - timedelta(days=1), now)
    return FeastRepo(root, repo, project, store)


@pytest.fixture(scope="session")
def sqlite_repo(
    tmp_path_factory: pytest.TempPathFactory, iris_rows: list[dict[str, Any]]
) -> FeastRepo:
    root = tmp_path_factory.mktemp("feast_sqlite")
    return _build_repo(root, "orkestra_iris", "  type: sqlite\n  path: data/online.db", iris_rows)


@pytest.fixture(scope="session")
def redis_repo(
    tmp_path_factory: pytest.TempPathFactory, iris_rows: list[dict[str, Any]]
) -> Iterator[FeastRepo]:
    # Redis keys carry the project name: a unique one keeps parallel runs apart.
    project = f"orkestra_test_{uuid.uuid4().hex[:10]}"
    root = tmp_path_factory.mktemp("feast_redis")
    online = f'  type: redis\n  connection_string: "{REDIS}"'
    built = _build_repo(root, project, online, iris_rows)
    yield built
    built.store.teardown()  # deletes this project's keys from Redis


@pytest.fixture(scope="session")
def feature_server(sqlite_repo: FeastRepo) -> Iterator[str]:
    """A real `feast serve` over the SQLite repo; its URL."""
    feast_cli = shutil.which("feast", path=str(Path(sys.executable).parent)) or "feast"
    port = free_port()
    log = sqlite_repo.project_dir / "feast_serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                feast_cli,
                "-c",
                str(sqlite_repo.repo),
                "serve",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "--no-access-log",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FEAST_USAGE": "False"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, deadline=time.monotonic() + 120, log=log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline: float, log: Path) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"feast serve exited with {proc.returncode}:\n{log.read_text()[-2000:]}"
            )
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"feast serve not healthy in time:\n{log.read_text()[-2000:]}")
