"""Who may use Orkestra's operational routes (executions, timeline data, admin).

With `admin.token` set, they need `Authorization: Bearer <token>`. Without it they are open unless
`auth:` is configured, in which case they are refused: a service that protects its endpoints must
not leave reload and execution payloads open by omission.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

if TYPE_CHECKING:
    from orkestra.config.models import GlobalConfig


def check_admin(settings: GlobalConfig, authorization: str | None) -> None:
    """Raise HTTPException 401/403 unless the caller may use the operational routes."""
    token = settings.admin.token
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise HTTPException(
                401, "a valid admin bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        return
    if settings.auth is not None:
        raise HTTPException(403, "auth is configured: set admin.token to use the admin routes")


async def require_admin(request: Request) -> None:
    """FastAPI dependency over `check_admin`, with the settings of the app serving the request."""
    check_admin(request.app.state.service.settings, request.headers.get("authorization"))
