"""Admission of a request: who is calling (401), may they call this (403), how often (429).

Built once per config load from config.yaml's `auth:` and each domain's and endpoint's `auth:`;
per request it costs one header lookup, one hash or signature check, and one limiter hit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orkestra.errors import ConfigError, ConfigProblem, RequestError
from orkestra.security.config import AuthSection, EndpointAuth, RateLimitSpec
from orkestra.security.credentials import ApiKeyVerifier, InvalidCredentials, JwtVerifier, Principal
from orkestra.security.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    retry_after_header,
)

if TYPE_CHECKING:
    from orkestra.config.loader import DomainConfig
    from orkestra.plan.model import EndpointPlan
    from orkestra.runtime import Runtime

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class AccessDenied(RequestError):
    """401 / 403 / 429, with the headers the status calls for (WWW-Authenticate, Retry-After)."""

    def __init__(self, message: str, status: int, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, status)
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Requirement:
    required: bool
    scopes: frozenset[str]
    limiter: RateLimiter | None
    by_ip: bool = False


PUBLIC = Requirement(False, frozenset(), None)


class Security:
    def __init__(self, section: AuthSection | None, runtime: Runtime) -> None:
        self.section = section if section is not None and section.enabled else None
        self.api_keys: ApiKeyVerifier | None = None
        self.jwt: JwtVerifier | None = None
        self.requirements: dict[str, Requirement] = {}
        self.global_limiter: RateLimiter | None = None
        self.global_by_ip = False
        problems: list[ConfigProblem] = []
        if self.section is not None:
            if self.section.api_keys:
                self.api_keys = ApiKeyVerifier(self.section.api_keys)
            if self.section.jwt is not None:
                try:
                    self.jwt = JwtVerifier(self.section.jwt, runtime.config_dir)
                except OSError as exc:
                    problems.append(
                        ConfigProblem(
                            "config.yaml",
                            None,
                            "auth.jwt.public_key_file",
                            f"cannot read: {exc.strerror}",
                        )
                    )
            if self.section.rate_limit is not None:
                self.global_limiter = _limiter(self.section.rate_limit, "global")
                self.global_by_ip = self.section.rate_limit.by == "ip"
        self.auth_on = self.api_keys is not None or self.jwt is not None
        problems += auth_problems(runtime.settings.auth, runtime.loaded.domains, runtime.plans)
        domains = {d.domain_id: d.spec.auth for d in runtime.loaded.domains}
        for plan in runtime.plans:
            own = plan.spec.auth if plan.spec.auth is not None else domains.get(plan.domain_id)
            self.requirements[plan.key] = self.requirement(own, plan.key)
        if problems:
            raise ConfigError(problems)

    @property
    def active(self) -> bool:
        return (
            self.auth_on
            or self.global_limiter is not None
            or any(r.limiter for r in self.requirements.values())
        )

    def requirement(self, own: EndpointAuth | bool | None, plan_key: str) -> Requirement:
        default_required = self.auth_on and (self.section is None or self.section.required)
        if own is None:
            return Requirement(default_required, frozenset(), None)
        if isinstance(own, bool):
            return Requirement(own and self.auth_on, frozenset(), None)
        limiter = _limiter(own.rate_limit, plan_key) if own.rate_limit is not None else None
        by_ip = own.rate_limit is not None and own.rate_limit.by == "ip"
        return Requirement(own.required, frozenset(own.scopes), limiter, by_ip)

    async def close(self) -> None:
        """Release the rate limiters' Redis connections."""
        limiters = [self.global_limiter] + [r.limiter for r in self.requirements.values()]
        for limiter in limiters:
            if isinstance(limiter, RedisRateLimiter):
                await limiter.close()

    # -- per request -----------------------------------------------------------------------------
    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        """The caller, None when no credentials were sent; AccessDenied(401) for bad ones."""
        try:
            if self.section is not None and self.api_keys is not None:
                key = headers.get(self.section.api_key_header.lower())
                if key:
                    return self.api_keys.verify(key)
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                token = token.strip()
                if self.jwt is not None and token.count(".") == 2:
                    return self.jwt.verify(token)
                if self.api_keys is not None:
                    return self.api_keys.verify(token)
                raise InvalidCredentials("bearer tokens are not accepted here")
        except InvalidCredentials as exc:
            raise AccessDenied(
                str(exc), 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from None
        return None

    async def admit(
        self, plan_key: str, headers: Mapping[str, str], client_ip: str
    ) -> Principal | None:
        requirement = self.requirements.get(plan_key, PUBLIC)
        principal = self.authenticate(headers) if self.auth_on else None
        if requirement.required and principal is None:
            raise AccessDenied("authentication required", 401, {"WWW-Authenticate": "Bearer"})
        missing = (
            requirement.scopes - principal.scopes if principal is not None else requirement.scopes
        )
        if missing:
            raise AccessDenied(f"missing scope(s): {', '.join(sorted(missing))}", 403)
        for limiter, by_ip in (
            (self.global_limiter, self.global_by_ip),
            (requirement.limiter, requirement.by_ip),
        ):
            if limiter is None:
                continue
            identity = f"ip:{client_ip}" if by_ip or principal is None else f"key:{principal.name}"
            wait = await limiter.hit(identity)
            if wait is not None:
                raise AccessDenied(
                    "rate limit exceeded", 429, {"Retry-After": retry_after_header(wait)}
                )
        return principal

    def admit_admin(self, headers: Mapping[str, str]) -> Principal | None:
        """Admin routes: with auth on, always a caller with the admin scope; else open."""
        if not self.auth_on:
            return None
        principal = self.authenticate(headers)
        if principal is None:
            raise AccessDenied("authentication required", 401, {"WWW-Authenticate": "Bearer"})
        scope = self.section.admin_scope if self.section is not None else "admin"
        if scope not in principal.scopes:
            raise AccessDenied(f"missing scope(s): {scope}", 403)
        return principal

    def client_ip(self, peer: str | None, headers: Mapping[str, str]) -> str:
        if self.section is not None and self.section.trust_forwarded_for:
            forwarded = headers.get("x-forwarded-for", "")
            first = forwarded.split(",", 1)[0].strip()
            if first:
                return first
        return peer or "unknown"


def auth_problems(
    section: AuthSection | None, domains: list[DomainConfig], plans: list[EndpointPlan]
) -> list[ConfigProblem]:
    """Endpoints that ask for callers or scopes in a config that cannot authenticate anyone: an
    endpoint must never be left open by a missing `auth:` section. (Runtime building can call this
    too, so `orkestra validate` reports it.)"""
    if section is not None and (not section.enabled or section.api_keys or section.jwt is not None):
        return []  # able to authenticate, or switched off on purpose (`enabled: false`)
    by_domain = {d.domain_id: d.spec.auth for d in domains}
    problems = []
    for plan in plans:
        own = plan.spec.auth if plan.spec.auth is not None else by_domain.get(plan.domain_id)
        if (
            own is None
            or own is False
            or (isinstance(own, EndpointAuth) and not own.required and not own.scopes)
        ):
            continue
        file_line, _, key = plan.location.partition(" ")
        file, _, line = file_line.rpartition(":")
        problems.append(
            ConfigProblem(
                file,
                int(line) if line.isdigit() else None,
                f"{key}.auth",
                "requires callers to authenticate, but config.yaml configures no auth.api_keys or auth.jwt",
            )
        )
    return problems


def _limiter(spec: RateLimitSpec, namespace: str) -> RateLimiter:
    if spec.backend == "redis":
        url = spec.redis_url or os.environ.get("ORKESTRA_REDIS_URL") or DEFAULT_REDIS_URL
        return RedisRateLimiter(spec.requests, spec.per, url, namespace)
    return MemoryRateLimiter(spec.requests, spec.per)
