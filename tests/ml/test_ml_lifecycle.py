"""Binding, config validation and the supervisor's decisions, driven through a scripted in-memory
ModelRuntime (registered for `docker` in these tests) in front of a real loopback HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from orkestra.errors import BindError, ExpressionError, SourceUnavailable
from orkestra.sources.base import ComponentState
from orkestra.sources.ml import MLSection, ModelRuntime, register_runtime
from orkestra.sources.ml import runtimes as runtimes_module
from tests.ml.conftest import CTX, MakeML, bind
from tests.ml.ml_support import eventually
from tests.support.http_backend import HttpBackend


class Script:
    """What the fake runtimes do, and what was done to them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.failing_starts = 0
        self.healthy = True
        self.alive = True
        self.starts = 0
        self.stops = 0
        self.crash_after_start = False  # healthy once after each start, then the server "dies"
        self.configs: list[dict[str, Any]] = []


class ScriptedRuntime(ModelRuntime):
    script: Script

    def __init__(
        self, config: dict[str, Any], *, model_id: str, project_dir: Path, secrets: frozenset[str]
    ) -> None:
        self.script.configs.append(config)

    async def start(self) -> str:
        self.script.starts += 1
        if self.script.failing_starts:
            self.script.failing_starts -= 1
            raise RuntimeError("image not found")
        self.script.alive = True
        return self.script.url

    async def healthy(self) -> bool:
        answer = self.script.alive and self.script.healthy
        if self.script.crash_after_start:
            self.script.alive = False
        return answer

    async def alive(self) -> bool:
        return self.script.alive

    async def stop(self) -> None:
        self.script.stops += 1
        self.script.alive = False


@pytest.fixture
def script(http_backend: HttpBackend) -> Iterator[Script]:
    ScriptedRuntime.script = Script(http_backend.url)
    saved = dict(runtimes_module._registered)
    register_runtime("docker", ScriptedRuntime)
    yield ScriptedRuntime.script
    runtimes_module._registered.clear()
    runtimes_module._registered.update(saved)


def docker_source(**settings: Any) -> dict[str, Any]:
    return {
        "health_interval": 0.05,
        "restart_backoff": 0.05,
        "max_restart_backoff": 0.2,
        "unhealthy_threshold": 2,
        "startup_timeout": 5,
        **settings,
        "models": {
            "default": {
                "endpoint": "/echo/predict",
                "source": {"type": "docker", "image": "iris:1", "gpu": "none"},
            }
        },
    }


async def test_binding_picks_the_model_or_falls_back_to_default(
    make_ml: MakeML, http_backend: HttpBackend
) -> None:
    ml = await make_ml(
        {
            "api": {
                "base_url": http_backend.url,
                "models": {
                    "default": {"endpoint": "/echo/default"},
                    "other": {"endpoint": "/echo/other"},
                },
            },
            "nodefault": {"base_url": http_backend.url, "models": {"only": {}}},
        }
    )
    assert (await bind(ml, "api", "other").call({"a": 1}, CTX))["path"] == "/echo/other"
    assert (await bind(ml, "api", "unknown").call({"a": 1}, CTX))["path"] == "/echo/default"
    assert (await bind(ml, "api", None).call({"a": 1}, CTX))["path"] == "/echo/default"
    with pytest.raises(BindError) as no_model:
        bind(ml, "nodefault", "predict")
    assert no_model.value.key == "operation" and "only" in str(no_model.value)
    with pytest.raises(BindError) as no_source:
        bind(ml, "missing", "predict")
    assert no_source.value.key == "source_id" and "api, nodefault" in str(no_source.value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"models": {"m": {}}}, "no `source` and the source has no `base_url`"),
        (
            {"base_url": "http://x", "models": {"m": {"protocol": "v2", "input_name": "t"}}},
            "needs feature_order",
        ),
        ({"models": {"m": {"source": {"type": "local_artifact"}}}}, "needs `path`"),
        (
            {
                "models": {
                    "m": {"source": {"type": "local_artifact", "path": "a.pkl", "sha256": "abc"}}
                }
            },
            "sha256 hex digest",
        ),
        ({"models": {"m": {"source": {"type": "kubernetes"}}}}, "local_artifact', 'docker', 'ecr'"),
    ],
)
def test_config_mistakes_are_reported_clearly(source: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        MLSection.model_validate({"sources": {"s": source}})
    assert expected in str(info.value)


def test_environment_and_header_values_written_as_numbers_are_text() -> None:
    section = MLSection.model_validate(
        {
            "sources": {
                "s": {
                    "base_url": "http://x",
                    "models": {
                        "m": {
                            "headers": {"X-Version": 2},
                            "source": {
                                "type": "docker",
                                "image": "i",
                                "environment": {"WORKERS": 2, "DEBUG": True},
                            },
                        }
                    },
                }
            }
        }
    )
    model = section.sources["s"].models["m"]
    assert model.headers == {"X-Version": "2"}
    assert model.source is not None and model.source.environment == {
        "WORKERS": "2",
        "DEBUG": "true",
    }


async def test_a_bad_outputs_expression_names_its_config_path(
    make_ml: MakeML, http_backend: HttpBackend
) -> None:
    ml = await make_ml(
        {
            "api": {
                "base_url": http_backend.url,
                "models": {"default": {"outputs": {"x": "$result.a || 'n/a"}}},
            }
        }
    )
    with pytest.raises(ExpressionError, match=r"ml\.sources\.api\.models\.default\.outputs\.x:"):
        bind(ml, "api")


async def test_runtime_gets_its_config_with_the_protocols_health_path(
    make_ml: MakeML, script: Script
) -> None:
    ml = await make_ml({"docker_models": docker_source()})
    assert ml.status()["docker_models/default"].state is ComponentState.READY
    config = script.configs[0]
    assert config["image"] == "iris:1" and config["gpu"] == "none"  # unknown keys reach the runtime
    assert config["health_path"] == "/health" and config["container_port"] == 8080
    echoed = await bind(ml, "docker_models").call({"features": {"a": 1}}, CTX)
    assert echoed["path"] == "/echo/predict"

    v2 = docker_source()
    v2["models"]["default"]["protocol"] = "v2"
    await make_ml({"v2_models": v2})
    assert script.configs[-1]["health_path"] == "/v2/health/ready"


async def test_a_failed_start_is_retried_with_backoff_until_it_works(
    make_ml: MakeML, script: Script
) -> None:
    script.failing_starts = 2
    ml = await make_ml({"docker_models": docker_source()})
    status = ml.status()["docker_models/default"]
    assert status.state is ComponentState.FAILED and status.error == "image not found"
    with pytest.raises(SourceUnavailable, match="docker_models/default.*image not found"):
        await bind(ml, "docker_models").call({"a": 1}, CTX)

    async def ready() -> bool:
        return ml.status()["docker_models/default"].state is ComponentState.READY

    await eventually(ready, timeout=10, what="started after retries")
    assert script.starts == 3
    assert ml.status()["docker_models/default"].details["restarts"] == 1


async def test_a_persistently_unhealthy_server_is_restarted(
    make_ml: MakeML, script: Script
) -> None:
    ml = await make_ml({"docker_models": docker_source()})
    stops_before = script.stops
    script.healthy = False

    async def restarted() -> bool:
        return script.starts >= 2

    await eventually(restarted, timeout=10, what="restarted")
    assert script.stops > stops_before  # the unhealthy one was stopped before the new start
    script.healthy = True

    async def ready() -> bool:
        return ml.status()["docker_models/default"].state is ComponentState.READY

    await eventually(ready, timeout=10, what="ready again")
    assert (await bind(ml, "docker_models").call({"a": 1}, CTX))["json"] == {"a": 1}


async def test_close_stops_runtimes_and_the_supervisor(make_ml: MakeML, script: Script) -> None:
    ml = await make_ml({"docker_models": docker_source()})
    await ml.close()
    assert script.stops >= 1 and not script.alive
    starts = script.starts
    status = ml.status()["docker_models/default"]
    assert status.state is ComponentState.STOPPED
    with pytest.raises(SourceUnavailable, match="stopped"):
        await bind(ml, "docker_models").call({"a": 1}, CTX)
    assert script.starts == starts  # nothing restarts a stopped model


async def test_a_crash_looping_server_is_restarted_with_backoff(
    make_ml: MakeML, script: Script
) -> None:
    script.crash_after_start = True
    settings = {"health_interval": 0.02, "restart_backoff": 0.25, "max_restart_backoff": 1.0}
    ml = await make_ml({"docker_models": docker_source(**settings)})

    async def restarted() -> bool:
        return script.starts >= 2

    await eventually(restarted, timeout=10, what="restarted once")
    before = script.starts
    await asyncio.sleep(1.5)
    # Restarting at every 20 ms check would start it dozens of times; backing off 0.25, 0.5, 1 s
    # allows at most a few. (A slower machine only lowers the count.)
    assert script.starts - before <= 4
    assert ml.status()["docker_models/default"].state is not ComponentState.FAILED
