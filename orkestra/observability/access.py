"""Who may use Orkestra's operational routes (executions, the timeline's data, /admin/*).

- `admin.token` set and sent as `Authorization: Bearer <token>`: allowed (an operator's token that
  works whether or not `auth:` is configured).
- `auth:` configured: the security module decides (orkestra.security.admin.require_admin: an
  authenticated caller with the admin scope), 401/403 otherwise.
- `admin.token` set, no `auth:`: the token is required (401).
- neither: open, as every other route of an unauthenticated service is.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request


def token_matches(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


async def require_admin(request: Request) -> None:
    """FastAPI dependency of the operational routers."""
    token = request.app.state.service.settings.admin.token
    if token and token_matches(request.headers.get("authorization"), token):
        return
    security = getattr(request.app.state, "security", None)
    if security is not None and security.auth_on:
        from orkestra.security.admin import require_admin as require_admin_scope

        await require_admin_scope(request)
        return
    if token:
        raise HTTPException(
            401, "a valid admin bearer token is required", {"WWW-Authenticate": "Bearer"}
        )
