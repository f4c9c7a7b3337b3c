"""Pydantic models of the YAML dialect (SPEC §1-3).

Templates and expressions stay raw here (`Any` / `str`); the planner compiles them once. Unknown keys
are collected by the loader (warnings, errors under --strict), so models allow extras and the loader
compares against `model_fields`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orkestra.security.config import AuthSection, EndpointAuth

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class RetrySpec(Model):
    attempts: int = Field(1, ge=1, le=10)
    backoff: float = Field(0.05, ge=0)  # seconds, doubled per attempt, with jitter
    max_backoff: float = Field(2.0, ge=0)
    budget: float = Field(0.2, ge=0, le=1)  # retries allowed as a fraction of calls


class CircuitBreakerSpec(Model):
    failure_threshold: int = Field(5, ge=1)  # consecutive failures that open it
    failure_rate: float | None = Field(None, gt=0, le=1)
    window: int = Field(20, ge=1)  # calls the rate is computed over
    reset_timeout: float = Field(10.0, gt=0)  # seconds open before a half-open probe


class CacheSpec(Model):
    ttl: float = Field(..., gt=0)
    key: Any = None  # a template; default: the resolved params
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None  # default: $ORKESTRA_REDIS_URL, else redis://127.0.0.1:6379/0


class DataSourceSpec(Model):
    name: str
    type: str = "database"
    source_id: str = "default"
    operation: str | None = None
    params: Any = None
    condition: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    transform: Any = None
    features: list[str] | None = None  # feast: explicit feature refs instead of a feature service
    timeout: float | None = Field(None, gt=0)
    retry: RetrySpec | int | None = None
    circuit_breaker: CircuitBreakerSpec | None = None
    concurrency: int | None = Field(None, ge=1)
    on_error: str = "fail"  # fail | skip | default | fallback:<source>
    default: Any = None  # the output when on_error is `default`
    cache: CacheSpec | None = None
    for_each: str | None = None
    as_: str = Field("item", alias="as")
    for_each_concurrency: int = Field(10, ge=1)
    for_each_max_items: int = Field(1000, ge=1)  # a longer list is refused (422), not fanned out

    @field_validator("name")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not v.isidentifier():
            raise ValueError(
                "must be an identifier (letters, digits, _), it is referenced as $name"
            )
        return v

    @field_validator("on_error")
    @classmethod
    def _on_error(cls, v: str) -> str:
        if v in ("fail", "skip", "default") or v.startswith("fallback:"):
            return v
        raise ValueError("expected fail, skip, default or 'fallback: <source>'")


class EndpointSpec(Model):
    description: str = ""
    endpoint_type: Literal["composite", "database", "api", "feast", "ml", "direct"] = "composite"
    method: str | None = None
    methods: list[str] | None = None
    path: str | None = None
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    data_sources: list[DataSourceSpec] = Field(default_factory=list)
    primary_source: str | None = None
    response_mapping: Any = None
    response: Any = None
    transform: Any = None
    timeout: float | None = Field(None, gt=0)  # overall deadline for the request
    max_body_bytes: int | None = Field(None, ge=1)  # default: server.max_body_bytes
    max_list_items: int | None = Field(None, ge=1)  # default: server.max_list_items
    cache: CacheSpec | None = None
    auth: EndpointAuth | bool | None = None  # None: the domain's, else config.yaml's default
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _methods(self) -> EndpointSpec:
        for m in self.http_methods():
            if m not in HTTP_METHODS:
                raise ValueError(
                    f"unknown HTTP method '{m}', expected one of {', '.join(HTTP_METHODS)}"
                )
        return self

    def http_methods(self) -> list[str]:
        if self.methods:
            return [m.upper() for m in self.methods]
        if self.method:
            return [self.method.upper()]
        return ["GET", "POST"]


class DomainSpec(Model):
    domain_id: str | None = None
    domain_name: str | None = None
    description: str = ""
    version: str | None = None
    endpoints: dict[str, EndpointSpec] = Field(default_factory=dict)
    auth: EndpointAuth | bool | None = None


class AppSection(Model):
    name: str = "Orkestra"
    version: str | None = None
    description: str | None = None
    api_base_path: str = "/orchestrator"

    @field_validator("api_base_path")
    @classmethod
    def _base(cls, v: str) -> str:
        v = "/" + v.strip("/")
        return "" if v == "/" else v


class ServerSection(Model):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"
    max_body_bytes: int = Field(1_048_576, ge=1)
    max_list_items: int = Field(10_000, ge=1)  # longest list anywhere in a request body
    shutdown_timeout: float = Field(15.0, ge=0)


class CorsSection(Model):
    enabled: bool = False
    allow_origins: list[str] = Field(default_factory=lambda: ["*"])
    allow_methods: list[str] = Field(default_factory=lambda: ["*"])
    allow_headers: list[str] = Field(default_factory=lambda: ["*"])
    allow_credentials: bool = False


class TrackingSection(Model):
    enabled: bool = True
    store: Literal["memory", "sqlite", "redis"] = "memory"
    max_records: int = Field(1000, ge=1)
    keep_payloads: bool = False
    sensitive_fields: list[str] = Field(default_factory=list)
    allow_debug: bool = False
    path: str | None = None  # sqlite file, relative to the config directory
    redis_url: str | None = None
    redis_prefix: str = "orkestra"  # keys: <prefix>:executions, <prefix>:execution:<id>


class ReloadSection(Model):
    watch: bool = False
    debounce: float = Field(0.5, ge=0)


class TracingSection(Model):
    """OpenTelemetry (the `otel` extra); see orkestra/observability/tracing.py."""

    enabled: bool = False
    exporter: Literal["none", "console", "otlp"] = "none"  # none: the process's global provider
    otlp_endpoint: str | None = None
    service_name: str = "orkestra"
    sample_ratio: float = Field(1.0, ge=0, le=1)
    accept_incoming: bool = True  # continue the trace of an incoming `traceparent`


class AdminSection(Model):
    token: str | None = None  # bearer token for /admin/*, /executions; use ${ENV}


class GlobalConfig(Model):
    app: AppSection = Field(default_factory=AppSection)
    server: ServerSection = Field(default_factory=ServerSection)
    cors: CorsSection = Field(default_factory=CorsSection)
    auth: AuthSection | None = None
    tracking: TrackingSection = Field(default_factory=TrackingSection)
    reload: ReloadSection = Field(default_factory=ReloadSection)
    tracing: TracingSection = Field(default_factory=TracingSection)
    admin: AdminSection = Field(default_factory=AdminSection)
    performance: Any = None  # accepted from earlier releases; means nothing now
    logging: Any = None
