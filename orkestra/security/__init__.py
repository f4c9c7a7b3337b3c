"""Security: API keys and JWT bearer tokens, per-domain/endpoint scopes, rate limits.

`Security` is built once per config load; the endpoint handler asks it about each request, and
routers of admin pages depend on `require_admin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

    from orkestra.security.credentials import Principal


async def require_admin(request: Request) -> Principal | None:
    """A FastAPI dependency for admin routers (`dependencies=[Depends(require_admin)]`): with auth
    on, 401 without credentials and 403 without the admin scope; open when auth is off."""
    from starlette.exceptions import HTTPException

    from orkestra.security.guard import AccessDenied, Security

    security: Security | None = getattr(request.app.state, "security", None)
    if security is None:
        return None
    try:
        return security.admit_admin(_headers(request))
    except AccessDenied as exc:
        raise HTTPException(exc.status, str(exc), headers=exc.headers) from None


def _headers(request: Request) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]}
