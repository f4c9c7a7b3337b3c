"""DockerRuntime against a real dockerd: the test model image serving an iris model trained at test
time and mounted as a volume; kill and restart, reuse, stop, and the errors a user sees."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from orkestra.errors import SourceUnavailable
from orkestra.http_client import shared_client
from orkestra.sources.ml.docker_runtime import DockerRuntime
from tests.ml.docker_fixtures import *
from tests.ml.docker_fixtures import Containers
from tests.ml.ml_support import eventually, free_port, reference

# The first docker test of a session may set the machine up (scripts/docker-up.sh: minutes on a
# fresh machine); every wait inside a test has its own, shorter bound.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

START_TIMEOUT = 60.0  # container start + python/sklearn import + model load, on a busy 2-core box


def iris_config(
    image: str, containers: Containers, models_dir: Path, **extra: Any
) -> dict[str, Any]:
    """The model file stays on the host: `volumes` mounts the trained models read-only."""
    return {
        "type": "docker",
        "image": image,
        "pull": "never",  # the image exists only locally (no Docker Hub here)
        "name": containers.name(),
        "volumes": {"models": "/models:ro"},  # relative to the project root
        "environment": {"MODEL_PATH": "/models/iris.skops", "MODEL_NAME": "iris"},
        "labels": containers.labels(),
        "stop_timeout": 2,
        **extra,
    }


def runtime(
    config: dict[str, Any], models_dir: Path, secrets: frozenset[str] = frozenset()
) -> DockerRuntime:
    return DockerRuntime(
        config, model_id="docker-tests/iris", project_dir=models_dir, secrets=secrets
    )


async def start_healthy(rt: DockerRuntime) -> str:
    url = await rt.start()
    await eventually(rt.healthy, timeout=START_TIMEOUT, what="healthy")
    return url


async def predict(url: str, rows: list[dict[str, float]]) -> list[dict[str, Any]]:
    response = await shared_client().request(
        "POST", f"{url}/predict", json={"features": rows}, timeout=10
    )
    assert response.status == 200, response.content
    result: list[dict[str, Any]] = response.json()
    return result


async def test_container_serves_the_mounted_model_like_the_model_itself(
    model_image: str,
    containers: Containers,
    models_dir: Path,
    iris_model: Any,
    iris_rows: list[dict[str, float]],
) -> None:
    rt = runtime(iris_config(model_image, containers, models_dir), models_dir)
    try:
        url = await start_healthy(rt)
        outputs = await predict(url, iris_rows)
        labels, probabilities = reference(iris_model, iris_rows)
        assert [o["prediction"] for o in outputs] == labels
        for output, probs in zip(outputs, probabilities):
            assert list(output["probabilities"].values()) == pytest.approx(probs, abs=1e-9)

        container = containers.get(rt.settings.name)
        binding = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"]
        assert [b["HostIp"] for b in binding] == ["127.0.0.1"]  # never published beyond loopback
        facts = rt.describe()
        assert url == f"http://127.0.0.1:{facts['port']}"
        assert facts["image"] == model_image and facts["container_id"] == container.short_id
        assert container.labels["org.orkestra.model"] == "docker-tests/iris"
    finally:
        await rt.stop()


async def test_killed_container_is_not_alive_and_start_brings_it_back(
    model_image: str, containers: Containers, models_dir: Path, iris_rows: list[dict[str, float]]
) -> None:
    rt = runtime(iris_config(model_image, containers, models_dir), models_dir)
    try:
        await start_healthy(rt)
        first_id = containers.get(rt.settings.name).id
        assert await rt.alive()

        await asyncio.to_thread(containers.get(rt.settings.name).kill)
        await eventually(lambda: _not(rt.alive()), timeout=20, what="seen dead")
        assert not await rt.healthy()
        assert "exited with code 137" in (rt.exit_reason() or "")  # SIGKILL

        url = await start_healthy(rt)
        assert containers.get(rt.settings.name).id != first_id  # a fresh container, same name
        assert len(await predict(url, iris_rows[:2])) == 2
        assert await rt.alive()
    finally:
        await rt.stop()


async def _not(check: Any) -> bool:
    return not await check


async def test_reuse_adopts_a_running_container_and_leaves_it_running_on_stop(
    model_image: str, containers: Containers, models_dir: Path, iris_rows: list[dict[str, float]]
) -> None:
    import docker.errors

    port = free_port()
    config = iris_config(model_image, containers, models_dir, host_port=port)
    owner = runtime(config, models_dir)
    adopter = runtime({**config, "reuse": True}, models_dir)
    try:
        assert await start_healthy(owner) == f"http://127.0.0.1:{port}"  # a fixed host_port
        owned_id = containers.get(config["name"]).id

        assert await adopter.start() == f"http://127.0.0.1:{port}"
        assert adopter.describe()["reused"] is True
        assert containers.get(config["name"]).id == owned_id  # adopted, not replaced
        assert await adopter.healthy()
        assert len(await predict(f"http://127.0.0.1:{port}", iris_rows[:1])) == 1

        await adopter.stop()  # not its container: it stays
        assert containers.get(config["name"]).status == "running"
        assert await owner.healthy()
    finally:
        await owner.stop()  # its own container: stopped and removed
    with pytest.raises(docker.errors.NotFound):
        containers.get(config["name"])
    await owner.stop()  # idempotent


async def test_a_leftover_container_of_orkestra_is_replaced_a_foreign_one_is_refused(
    docker_client: Any, model_image: str, containers: Containers, models_dir: Path
) -> None:
    config = iris_config(model_image, containers, models_dir)
    foreign = docker_client.containers.create(
        model_image, name=config["name"], labels=containers.labels()
    )
    rt = runtime(config, models_dir)
    with pytest.raises(SourceUnavailable, match="was not started by Orkestra"):
        await rt.start()
    foreign.remove(force=True)

    leftover = runtime(config, models_dir)
    await leftover.start()
    leftover_id = containers.get(config["name"]).id
    rt = runtime(config, models_dir)  # a new service run: the old container is ours, replaced
    try:
        await rt.start()
        assert containers.get(config["name"]).id != leftover_id
    finally:
        await rt.stop()


async def test_config_mistakes_fail_start_with_a_clear_message(
    model_image: str, containers: Containers, models_dir: Path
) -> None:
    missing = runtime(iris_config("orkestra-no-such-image:v0", containers, models_dir), models_dir)
    with pytest.raises(
        SourceUnavailable, match="'orkestra-no-such-image:v0' is not present locally"
    ):
        await missing.start()

    no_volume = runtime(
        iris_config(model_image, containers, models_dir, volumes=["no-such-dir:/models:ro"]),
        models_dir,
    )
    with pytest.raises(SourceUnavailable, match="no-such-dir' does not exist"):
        await no_volume.start()

    with pytest.raises(ValueError, match="pull must be"):
        runtime(iris_config(model_image, containers, models_dir, pull="sometimes"), models_dir)


async def test_a_crashing_container_reports_its_exit_without_the_secrets_it_printed(
    model_image: str, containers: Containers, models_dir: Path
) -> None:
    secret = "s3cr3t-token-value-42"
    config = iris_config(
        model_image,
        containers,
        models_dir,
        environment={"API_TOKEN": secret},
        command=[
            "python",
            "-c",
            "import os, sys; print('token', os.environ['API_TOKEN']); sys.exit(3)",
        ],
    )
    rt = runtime(config, models_dir, secrets=frozenset({secret}))
    try:
        try:
            await rt.start()  # may already see the exit while waiting for the published port
        except SourceUnavailable as exc:
            message = str(exc)
        else:
            await eventually(lambda: _not(rt.alive()), timeout=20, what="seen dead")
            message = rt.exit_reason() or ""
        assert "exited with code 3" in message
        assert "token ***" in message and secret not in message
        assert secret not in repr(rt.describe())
    finally:
        await rt.stop()


async def test_a_failed_pull_names_the_image_and_the_registrys_reason(
    registry: str, containers: Containers, models_dir: Path
) -> None:
    image = f"{registry}/orkestra/absent-{containers.name('pull')}:v0"
    config = iris_config(image, containers, models_dir, pull="always")
    rt = runtime(config, models_dir)
    with pytest.raises(SourceUnavailable) as info:
        await rt.start()  # the registry wants credentials this plain docker model does not have
    message = str(info.value)
    assert f"pulling image '{image}' failed" in message and "docker-tests/iris" in message
    assert "auth" in message.lower()


async def test_an_unreachable_engine_is_a_clear_503(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, containers: Containers, models_dir: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-docker.sock'}")
    rt = runtime(iris_config("any-image:v1", containers, models_dir), models_dir)
    with pytest.raises(SourceUnavailable, match="cannot reach the Docker engine") as info:
        await rt.start()
    assert info.value.status == 503 and "docker-tests/iris" in str(info.value)
    assert not await rt.alive() and not await rt.healthy()
