"""A docker model through the ml source type: `source: {type: docker}` starts the container at
service start, predictions equal the model's, and a container killed mid-run gives 503s naming the
model until the supervisor has restarted it, then predictions again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from orkestra.errors import SourceUnavailable
from orkestra.sources.base import ComponentState
from tests.ml.conftest import CTX, MakeML, bind
from tests.ml.docker_fixtures import *
from tests.ml.docker_fixtures import Containers
from tests.ml.ml_support import reference

# The first docker test of a session may set the machine up (scripts/docker-up.sh: minutes on a
# fresh machine); every wait inside a test has its own, shorter bound.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

RECOVERY_TIMEOUT = 60.0


def docker_source(image: str, containers: Containers) -> dict[str, Any]:
    return {
        "health_interval": 0.25,  # notice the dead container quickly
        "restart_backoff": 0.25,
        "startup_timeout": 60,
        "models": {
            "iris": {
                "source": {
                    "type": "docker",
                    "image": image,
                    "pull": "never",
                    "volumes": {"models": "/models:ro"},
                    "environment": {"MODEL_PATH": "/models/iris.skops", "MODEL_NAME": "iris"},
                    "name": containers.name("source"),
                    "labels": containers.labels(),
                    "stop_timeout": 2,
                }
            }
        },
    }


async def test_killed_container_gives_503_naming_the_model_until_restarted(
    make_ml: MakeML,
    model_image: str,
    containers: Containers,
    models_dir: Path,
    iris_model: Any,
    iris_rows: list[dict[str, float]],
) -> None:
    ml = await make_ml({"dock": docker_source(model_image, containers)})
    status = ml.status()["dock/iris"]
    assert status.state is ComponentState.READY, status.error
    name = status.details["container_name"]
    op = bind(ml, "dock", "iris")
    outputs = await op.call({"features": iris_rows}, CTX)
    labels, _ = reference(iris_model, iris_rows)
    assert [o["prediction"] for o in outputs] == labels

    first_id = containers.get(name).id
    await asyncio.to_thread(containers.get(name).kill)

    unavailable = 0
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while True:
        try:
            result = await op.call({"features": iris_rows[0]}, CTX)
            break
        except SourceUnavailable as exc:
            assert exc.status == 503 and "dock/iris" in str(exc)
            unavailable += 1
        assert time.monotonic() < deadline, "not restarted in time"
        await asyncio.sleep(0.1)
    assert unavailable >= 1  # the kill was noticed, not silently absorbed
    assert result["prediction"] == labels[0]
    status = ml.status()["dock/iris"]
    assert status.state is ComponentState.READY and status.details["restarts"] == 1
    assert containers.get(name).id != first_id

    await ml.close()  # service shutdown removes the container it created
    import docker.errors

    with pytest.raises(docker.errors.NotFound):
        containers.get(name)
