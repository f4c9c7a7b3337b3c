"""Pydantic models of the `ml:` section (SPEC §3 `ml`, documented key by key in docs/sources/ml.md).

A model either is already serving at `base_url` (no `source`), or gets to exist through its
`source`: a `local_artifact` loaded in-process, a `local_artifact` with `startup_command` run as a
managed subprocess, or a `docker` / `ecr` container. The docker and ecr keys are passed as a plain
dict to their runtimes, which own their meaning. Like every SectionModel these keep unknown keys
(the loader warns about them, errors under --strict), and the runtime receives them too, so a
runtime can grow an option before it is declared here.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from orkestra.sources.base import SectionModel


def _scalar_text(value: object) -> object:
    """YAML reads `WORKERS: 2` or `DEBUG: true` as numbers/booleans; environments and headers are text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


Text = Annotated[str, BeforeValidator(_scalar_text)]

V2_DATATYPES = ("BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "FP16", "FP32", "FP64", "BYTES")


class LocalArtifactSource(SectionModel):
    type: Literal["local_artifact"]
    path: str | None = None  # relative paths resolve against the project root (config dir's parent)
    format: Literal["skops", "onnx", "joblib", "pickle"] | None = None  # default: from the suffix
    # skops: types the file may construct beyond skops' own safe list (reviewed by the operator)
    trusted_types: list[str] = Field(default_factory=list)
    # joblib/pickle execute code when loaded: refused unless trusted AND the file matches sha256
    trusted: bool = False
    sha256: str | None = None
    # managed subprocess: with startup_command the artifact is served by that process instead
    startup_command: str | list[str] | None = None
    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=1, le=65535)  # None: a free port, passed as {port} / $PORT
    environment: dict[str, Text] = Field(default_factory=dict)
    health_path: str | None = None  # default: /health (json) or /v2/health/ready (v2)
    cwd: str | None = None  # default: the project root
    stop_timeout: float = Field(10.0, ge=0)  # seconds between SIGTERM and SIGKILL

    @field_validator("sha256", mode="before")
    @classmethod
    def _unquoted_digits(cls, v: object) -> object:
        # YAML reads an unquoted all-digit digest as an integer (dropping leading zeros).
        return f"{v:064d}" if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().lower()
        if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
            raise ValueError("expected a sha256 hex digest (64 hex characters)")
        return v

    @model_validator(mode="after")
    def _path_or_command(self) -> LocalArtifactSource:
        if self.path is None and self.startup_command is None:
            raise ValueError(
                "local_artifact needs `path` (in-process) or `startup_command` (subprocess)"
            )
        return self


class DockerSource(SectionModel):
    type: Literal["docker"]
    image: str
    pull: Literal["always", "missing", "if_missing", "never"] | bool = "missing"
    host_port: int | None = Field(None, ge=1, le=65535)
    container_port: int = Field(8080, ge=1, le=65535)
    environment: dict[str, Text] = Field(default_factory=dict)
    volumes: dict[str, Any] | list[str] = Field(default_factory=dict)
    health_path: str | None = None
    name: str | None = None  # container name; default orkestra-<model id>
    command: str | list[str] | None = None
    reuse: bool = False  # adopt a running container of that name and image (left running at stop)
    stop_timeout: float = Field(10.0, ge=0)
    init: bool = True
    labels: dict[str, Text] = Field(default_factory=dict)


class EcrSource(DockerSource):
    type: Literal["ecr"]  # type: ignore[assignment]
    image: str | None = None  # type: ignore[assignment]  # built from the registry + repository:tag
    repository: str
    tag: str = "latest"
    region: str | None = None
    registry_id: str | None = None
    endpoint_url: str | None = None
    registry_override: str | None = None  # where the registry really is (tests, VPC mirrors)


ModelSource = Annotated[LocalArtifactSource | DockerSource | EcrSource, Field(discriminator="type")]


class ModelSpec(SectionModel):
    endpoint: str | None = None  # default: /predict (json) or /v2/models/{model_name}/infer (v2)
    method: Literal["get", "post", "put", "GET", "POST", "PUT"] = "post"
    timeout: float = Field(10.0, gt=0)
    headers: dict[str, Text] = Field(default_factory=dict)
    protocol: Literal["json", "v2"] = "json"
    model_name: str | None = None  # v2: the served model's name; default: this model's key
    input_name: str | None = (
        None  # v2: send one [n, k] tensor of this name instead of one per feature
    )
    input_datatype: str | None = None  # v2: force a tensor datatype (FP32, FP64, INT64, BYTES, ...)
    outputs: Any = None  # a template over $result (and $params)
    feature_order: list[str] | None = None
    class_names: list[str] | dict[str, str] | None = None
    source: ModelSource | None = None

    @field_validator("input_datatype")
    @classmethod
    def _datatype(cls, v: str | None) -> str | None:
        if v is not None and v.upper() not in V2_DATATYPES:
            raise ValueError(f"expected one of {', '.join(V2_DATATYPES)}")
        return v.upper() if v else v

    @model_validator(mode="after")
    def _single_tensor_needs_order(self) -> ModelSpec:
        if self.input_name and not self.feature_order:
            raise ValueError(
                "input_name (one [n, k] tensor) needs feature_order to order its columns"
            )
        return self

    def in_process(self) -> bool:
        return isinstance(self.source, LocalArtifactSource) and self.source.startup_command is None

    def default_endpoint(self, model_key: str) -> str:
        if self.endpoint:
            return self.endpoint
        if self.protocol == "v2":
            return f"/v2/models/{self.model_name or model_key}/infer"
        return "/predict"

    def default_health_path(self) -> str:
        return "/v2/health/ready" if self.protocol == "v2" else "/health"


class MLSourceSpec(SectionModel):
    base_url: str | None = None
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=1, le=64)
    startup_timeout: float = Field(60.0, gt=0)  # per model: load / start + first healthy answer
    health_interval: float = Field(5.0, gt=0)  # seconds between supervisor health checks
    unhealthy_threshold: int = Field(3, ge=1)  # failed checks of a live server before a restart
    restart_backoff: float = Field(1.0, gt=0)  # first delay before retrying a failed start
    max_restart_backoff: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _reachable(self) -> MLSourceSpec:
        for key, model in self.models.items():
            if model.source is None and not self.base_url:
                raise ValueError(
                    f"model '{key}' has no `source` and the source has no `base_url`: "
                    "say where the model is served or how to start it"
                )
        return self


class MLSection(SectionModel):
    sources: dict[str, MLSourceSpec] = Field(default_factory=dict)
