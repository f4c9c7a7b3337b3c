"""The `api:` section (SPEC §3): HTTP APIs and the named operations called on them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from orkestra.sources.base import SectionModel

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Methods whose repetition has the effect of one call (RFC 9110 §9.2.2): retried by default.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Methods that carry a body: unconsumed data-source params become their JSON body.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
DEFAULT_TIMEOUT = 30.0  # seconds


class ApiOperationConfig(SectionModel):
    """One call on an API. `path`, `params`, `headers` and `body` are `{name}` templates.

    `mock`: None inherits the source's. `idempotent`: None means "by method" (GET, HEAD, PUT,
    DELETE, OPTIONS); set it to true for a POST that is safe to repeat so the engine may retry it.
    `retry_count` and `timeout`: None inherit the source's.
    """

    method: str = "GET"
    path: str = ""
    params: dict[str, Any] | None = None
    headers: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    timeout: float | None = Field(None, gt=0)
    retry_count: int | None = Field(None, ge=0, le=10)
    idempotent: bool | None = None
    mock: bool | None = None
    mock_response: Any = None
    description: str = ""

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        if v.upper() not in METHODS:
            raise ValueError(f"expected one of {', '.join(METHODS)}")
        return v.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        # Only the path is configurable per operation: the scheme, host and port are base_url's.
        if "://" in v.partition("?")[0] or v.startswith("//"):
            raise ValueError("a path, not a URL: the scheme, host and port come from base_url")
        if "#" in v:
            raise ValueError("a path cannot carry a fragment ('#')")
        return v


class ApiSourceConfig(SectionModel):
    """One HTTP API: where it is, how long to wait, what to send with every call."""

    base_url: str
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0)  # seconds per attempt
    retry_count: int = Field(0, ge=0, le=10)  # extra attempts the engine may make
    headers: dict[str, Any] = Field(default_factory=dict)
    verify_ssl: bool = True
    follow_redirects: bool = False
    mock: bool = False
    description: str = ""
    operations: dict[str, ApiOperationConfig] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "expected an absolute http:// or https:// URL, e.g. https://api.example.com"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError("base_url cannot carry credentials; send them in `headers`")
        if parts.query or parts.fragment:
            raise ValueError(
                "base_url cannot carry a query or fragment; use the operation's params"
            )
        try:
            parts.port  # noqa: B018 - urlsplit checks the port lazily, on access
        except ValueError as exc:
            raise ValueError("base_url has an invalid port") from exc
        return v


class ApiSection(SectionModel):
    sources: dict[str, ApiSourceConfig] = Field(default_factory=dict)
