"""Fixtures of the Docker and ECR runtime tests: a real engine, a real registry, a real moto server.

The engine, the base image and the test model image come from the repo's own scripts
(scripts/docker-up.sh, scripts/build-model-image.sh, scripts/registry-up.sh), run once per session,
so CI brings Docker up exactly the way a developer does. Every container a test starts carries the
label `org.orkestra.test-run=<this session>` and is removed after the test, even when it failed.

Import the fixtures you use into a test module: `from tests.ml.docker_fixtures import *`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ml.ml_support import free_port

REPO = Path(__file__).resolve().parents[2]
TEST_IMAGE = "orkestra-test-model:latest"
REGISTRY = "127.0.0.1:5000"
# What scripts/registry-up.sh accepts: the credentials moto's ECR token decodes to (account
# 123456789012), so the registry really checks the token the runtime got from "ECR".
REGISTRY_AUTH = {"username": "AWS", "password": "123456789012-auth-token"}
RUN_LABEL = "org.orkestra.test-run"
RUN_ID = uuid.uuid4().hex[:10]
SCRIPT_TIMEOUT = (
    1800  # first run on a fresh machine: apt + debootstrap + pip, about 2-3 minutes here
)

__all__ = [
    "PushedImage",
    "aws_env",
    "containers",
    "docker_client",
    "model_image",
    "moto_ecr",
    "pushed_model_image",
    "registry",
]


def run_script(name: str, *args: str) -> None:
    script = REPO / "scripts" / name
    try:
        done = subprocess.run(
            [str(script), *args],
            check=False,  # a failure is reported with the script's output below
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            env={**os.environ, "ORKESTRA_PYTHON": sys.executable},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"scripts/{name} did not finish within {SCRIPT_TIMEOUT}s")
    if done.returncode != 0:
        pytest.fail(
            f"scripts/{name} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of the engine scripts/docker-up.sh brought up (installed and started if needed)."""
    import docker

    run_script("docker-up.sh")
    client = docker.from_env()
    yield client
    for container in client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={RUN_ID}"}):
        container.remove(force=True)
    client.close()


@pytest.fixture(scope="session")
def model_image(docker_client: Any) -> str:
    """orkestra-test-model:latest: tests/ml/model_server.py on the local base image, no model baked in."""
    run_script("build-model-image.sh", TEST_IMAGE)
    return TEST_IMAGE


@pytest.fixture(scope="session")
def registry(docker_client: Any) -> str:
    """The Debian docker-registry on 127.0.0.1:5000, requiring moto's ECR credentials."""
    run_script("registry-up.sh")
    return REGISTRY


@dataclass
class Containers:
    """Names the test's runtimes use, each unique to this test; removed at teardown."""

    client: Any
    names: list[str]

    def name(self, stem: str = "model") -> str:
        name = f"orkestra-test-{RUN_ID}-{stem}-{uuid.uuid4().hex[:6]}"
        self.names.append(name)
        return name

    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: RUN_ID}

    def get(self, name: str) -> Any:
        return self.client.containers.get(name)


@pytest.fixture
def containers(docker_client: Any) -> Iterator[Containers]:
    import docker.errors

    tracked = Containers(docker_client, [])
    yield tracked
    for name in tracked.names:
        try:
            docker_client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials through the standard AWS chain (env vars); no real profile or metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def moto_ecr() -> Iterator[str]:
    """A real moto server (the `moto_server` CLI) on a loopback port; yields its endpoint URL."""
    port = free_port()
    moto_server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise TimeoutError("moto_server did not answer within 30s") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class PushedImage:
    repository: str  # the ECR repository name, also the path in the local registry
    tag: str
    reference: str  # registry/repository:tag


@pytest.fixture
def pushed_model_image(
    docker_client: Any,
    model_image: str,
    registry: str,
    moto_ecr: str,
    aws_env: None,
    models_dir: Path,
    tmp_path: Path,
) -> Iterator[PushedImage]:
    """An image with the iris model baked in, in moto's ECR (repository) and the local registry
    (bytes), and NOT on this engine: a runtime must really pull it, its model layer included."""
    import boto3
    import docker.errors

    repository = f"orkestra/iris-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    tag = "v1"
    reference = f"{registry}/{repository}:{tag}"
    ecr = boto3.client("ecr", endpoint_url=moto_ecr, region_name="us-east-1")
    ecr.create_repository(repositoryName=repository)

    context = tmp_path / "image"
    context.mkdir()
    (context / "iris.skops").write_bytes((models_dir / "models" / "iris.skops").read_bytes())
    (context / "Dockerfile").write_text(
        f"FROM {model_image}\nCOPY iris.skops /models/model.skops\nENV MODEL_NAME=iris\n"
    )
    image, _ = docker_client.images.build(path=str(context), tag=reference, pull=False, rm=True)
    digest = None
    for event in docker_client.images.push(
        f"{registry}/{repository}", tag=tag, auth_config=REGISTRY_AUTH, stream=True, decode=True
    ):
        if "error" in event:
            raise RuntimeError(f"push failed: {event['error']}")
        digest = (event.get("aux") or {}).get("Digest", digest)
    # Remove the only tag: the model layer goes with the image, so a pull must download it.
    docker_client.images.remove(image.id, force=True)
    try:
        yield PushedImage(repository, tag, reference)
    finally:
        try:
            docker_client.images.remove(reference, force=True)
        except docker.errors.ImageNotFound:
            pass
        ecr.delete_repository(repositoryName=repository, force=True)
        if digest:
            delete_manifest(registry, repository, digest)


def delete_manifest(registry: str, repository: str, digest: str) -> None:
    """Drop the test's manifest from the local registry (its blobs wait for the registry's GC)."""
    import base64

    credentials = f"{REGISTRY_AUTH['username']}:{REGISTRY_AUTH['password']}".encode()
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{digest}",
        method="DELETE",
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
