"""`require_admin`: the guard of Orkestra's operational routes (executions, reload, config)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from orkestra.security.credentials import Principal
from orkestra.security.guard import AccessDenied, Security


async def require_admin(request: Request) -> Principal | None:
    """A FastAPI dependency for admin routers (`dependencies=[Depends(require_admin)]`): with auth
    on, 401 without credentials and 403 without the admin scope; open when auth is off."""
    security: Security | None = getattr(request.app.state, "security", None)
    if security is None:
        return None
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]
    }
    try:
        return security.admit_admin(headers)
    except AccessDenied as exc:
        raise HTTPException(exc.status, str(exc), headers=exc.headers) from None
