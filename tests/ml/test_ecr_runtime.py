"""EcrRuntime end to end: a token from a real moto server (the ECR API), a real `docker login` to a
real local registry that checks that token, a real pull of an image absent from the engine, then
the container serves the model it carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orkestra.errors import SourceUnavailable
from orkestra.http_client import shared_client
from orkestra.sources.base import ComponentState
from orkestra.sources.ml.docker_pull import PullProgress
from orkestra.sources.ml.ecr import EcrRuntime
from tests.ml.conftest import CTX, MakeML, bind
from tests.ml.docker_fixtures import *
from tests.ml.docker_fixtures import REGISTRY_AUTH, Containers, PushedImage
from tests.ml.ml_support import eventually, reference

# The first docker test of a session may set the machine up (scripts/docker-up.sh: minutes on a
# fresh machine); every wait inside a test has its own, shorter bound.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]


def ecr_config(
    pushed: PushedImage, moto_ecr: str, registry: str, containers: Containers, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "ecr",
        "repository": pushed.repository,
        "tag": pushed.tag,
        "region": "us-east-1",
        "endpoint_url": moto_ecr,
        # moto's proxyEndpoint (https://123456789012.dkr.ecr.us-east-1.amazonaws.com) serves no
        # bytes: the local registry stands in for it. Production leaves this unset.
        "registry_override": registry,
        "name": containers.name("ecr"),
        "labels": containers.labels(),
        "stop_timeout": 2,
        **extra,
    }


async def test_token_login_pull_run_and_predict(
    docker_client: Any,
    pushed_model_image: PushedImage,
    moto_ecr: str,
    registry: str,
    containers: Containers,
    models_dir: Path,
    iris_model: Any,
    iris_rows: list[dict[str, float]],
) -> None:
    import docker.errors

    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(pushed_model_image.reference)  # so the runtime must pull it
    seen: list[PullProgress] = []
    rt = EcrRuntime(
        ecr_config(pushed_model_image, moto_ecr, registry, containers),
        model_id="ecr-tests/iris",
        project_dir=models_dir,
        secrets=frozenset(),
        progress=lambda state: seen.append(
            PullProgress(state.image, state.layers_total, state.layers_done, state.bytes_done)
        ),
    )
    try:
        url = await rt.start()
        assert docker_client.images.get(pushed_model_image.reference)  # pulled
        assert seen and seen[-1].layers_done == seen[-1].layers_total >= 1
        assert seen[-1].bytes_done > 0  # the model layer came over the wire, not from the cache
        assert rt.describe()["image"] == pushed_model_image.reference

        await eventually(rt.healthy, timeout=60, what="healthy")
        response = await shared_client().request(
            "POST", f"{url}/predict", json={"features": iris_rows}, timeout=10
        )
        assert response.status == 200
        labels, _ = reference(iris_model, iris_rows)
        assert [o["prediction"] for o in response.json()] == labels
    finally:
        await rt.stop()


async def test_a_token_the_registry_rejects_fails_the_login_without_leaking_it(
    pushed_model_image: PushedImage,
    moto_ecr: str,
    registry: str,
    containers: Containers,
    models_dir: Path,
) -> None:
    # moto's token for another account decodes to "AWS:999999999999-auth-token": a real token
    # from the ECR API that the registry (set up for account 123456789012) refuses.
    config = ecr_config(
        pushed_model_image, moto_ecr, registry, containers, registry_id="999999999999"
    )
    rt = EcrRuntime(config, model_id="ecr-tests/iris", project_dir=models_dir, secrets=frozenset())
    with pytest.raises(SourceUnavailable) as info:
        await rt.start()
    message = str(info.value)
    assert "docker login to 127.0.0.1:5000 with the ECR token failed" in message
    assert "ecr-tests/iris" in message and "auth-token" not in message


async def test_missing_aws_credentials_name_the_step_that_failed(
    monkeypatch: pytest.MonkeyPatch,
    pushed_model_image: PushedImage,
    moto_ecr: str,
    registry: str,
    containers: Containers,
    models_dir: Path,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    config = ecr_config(pushed_model_image, moto_ecr, registry, containers)
    rt = EcrRuntime(config, model_id="ecr-tests/iris", project_dir=models_dir, secrets=frozenset())
    with pytest.raises(
        SourceUnavailable, match="cannot get an ECR authorization token .*credentials"
    ):
        await rt.start()


def test_the_registry_really_checks_credentials(registry: str) -> None:
    """Guards the login test above: the registry must refuse anonymous and wrong callers."""
    import base64
    import urllib.error
    import urllib.request

    def status(user: str, password: str) -> int:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request = urllib.request.Request(
            f"http://{registry}/v2/", headers={"Authorization": f"Basic {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status("AWS", "999999999999-auth-token") == 401
    assert status(REGISTRY_AUTH["username"], REGISTRY_AUTH["password"]) == 200


async def test_an_ecr_model_through_the_ml_source(
    make_ml: MakeML,
    pushed_model_image: PushedImage,
    moto_ecr: str,
    registry: str,
    containers: Containers,
    iris_model: Any,
    iris_rows: list[dict[str, float]],
) -> None:
    source = ecr_config(pushed_model_image, moto_ecr, registry, containers)
    ml = await make_ml(
        {"scoring": {"startup_timeout": 120, "models": {"iris": {"source": source}}}}
    )
    status = ml.status()["scoring/iris"]
    assert status.state is ComponentState.READY, status.error
    assert status.details["runtime"] == "ecr"
    assert status.details["image"] == pushed_model_image.reference
    outputs = await bind(ml, "scoring", "iris").call({"features": iris_rows}, CTX)
    assert [o["prediction"] for o in outputs] == reference(iris_model, iris_rows)[0]
