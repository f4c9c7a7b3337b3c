"""Security: API keys and JWT bearer tokens, per-domain/endpoint scopes, rate limits.

`Security` is built once per config load; the endpoint handler asks it about each request, and
routers of admin pages depend on `require_admin`.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # lazy: config models import orkestra.security.config, which must not pull in Starlette
    if name == "require_admin":
        from orkestra.security.admin import require_admin

        return require_admin
    raise AttributeError(name)
