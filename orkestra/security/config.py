"""The `auth:` sections: global (config.yaml), per domain and per endpoint.

auth:                                  # config.yaml
  api_keys:
    - {name: partner_a, key: "${PARTNER_A_KEY}", scopes: [scoring:read]}
    - {name: ci, key_sha256: "9f86d0...", scopes: [admin]}
  jwt: {algorithms: [HS256], secret: "${JWT_SECRET}", audience: orkestra}
  rate_limit: {requests: 100, per: 60, by: key}
auth: {scopes: [scoring:read]}         # a domain or an endpoint; `auth: false` makes it public
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ApiKeySpec(_Model):
    name: str
    key: str | None = None  # the key itself, normally from ${ENV}; only its hash is kept
    key_sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    scopes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_key(self) -> ApiKeySpec:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError("give exactly one of `key` (from ${ENV}) or `key_sha256`")
        if self.key is not None and len(self.key) < 16:
            raise ValueError("an API key must be at least 16 characters")
        return self


class JwtSpec(_Model):
    algorithms: list[
        Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384"]
    ] = Field(
        default_factory=lambda: ["HS256"]  # type: ignore[arg-type]
    )
    secret: str | None = None  # HS*: the shared secret, from ${ENV}
    public_key: str | None = None  # RS*/ES*: PEM text
    public_key_file: str | None = None  # ... or a PEM file, relative to the config directory
    issuer: str | None = None
    audience: str | None = None
    scopes_claim: str = "scope"  # a space-separated string or a list
    subject_claim: str = "sub"
    leeway: float = Field(30.0, ge=0)

    @model_validator(mode="after")
    def _keys(self) -> JwtSpec:
        hs = any(a.startswith("HS") for a in self.algorithms)
        asym = any(not a.startswith("HS") for a in self.algorithms)
        if hs and asym:
            raise ValueError(
                "mix of HS* and RS*/ES* algorithms: a token could pick the weaker check"
            )
        if hs and not self.secret:
            raise ValueError("HS* algorithms need `secret`")
        if hs and self.secret and len(self.secret) < 32:
            raise ValueError("an HS* secret must be at least 32 characters")
        if asym and not (self.public_key or self.public_key_file):
            raise ValueError("RS*/ES* algorithms need `public_key` or `public_key_file`")
        return self


class RateLimitSpec(_Model):
    requests: int = Field(..., ge=1)
    per: float = Field(60.0, gt=0)  # seconds
    by: Literal["key", "ip"] = "key"  # key: the authenticated caller (its IP when anonymous)
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None


class AuthSection(_Model):
    """config.yaml `auth:`. With keys or JWT configured, every endpoint requires a caller unless
    it (or its domain) says `auth: false`; admin routes always do."""

    enabled: bool = True
    api_keys: list[ApiKeySpec] = Field(default_factory=list)
    api_key_header: str = "X-API-Key"
    jwt: JwtSpec | None = None
    required: bool = True  # the default for endpoints
    admin_scope: str = "admin"
    rate_limit: RateLimitSpec | None = None
    trust_forwarded_for: bool = False  # behind a proxy: the client IP is X-Forwarded-For's first


class EndpointAuth(_Model):
    """A domain's or endpoint's `auth:`: `false` (public), `true`, or this mapping."""

    required: bool = True
    scopes: list[str] = Field(default_factory=list)  # all of them are needed
    rate_limit: RateLimitSpec | None = None
