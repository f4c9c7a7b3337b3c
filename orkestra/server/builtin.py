"""Orkestra's own routes: health, readiness, the domain list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from orkestra.sources.base import ComponentState

if TYPE_CHECKING:
    from orkestra.service import Orkestra


def service_of(request: Request) -> Orkestra:
    service: Orkestra = request.app.state.service
    return service


async def health() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


async def ready(request: Request) -> JSONResponse:
    """Ready when every model, pool and feature store has started; lists each part's state."""
    service = service_of(request)
    components: dict[str, Any] = {}
    all_ready = service.started
    for type_name, parts in service.runtime.status().items():
        for part_id, status in parts.items():
            components[f"{type_name}:{part_id}"] = status.as_dict()
            if status.state != ComponentState.READY:
                all_ready = False
    body = {"status": "ready" if all_ready else "not_ready", "components": components}
    return JSONResponse(body, status_code=200 if all_ready else 503)


async def list_domains(request: Request) -> dict[str, Any]:
    """The loaded domains and their endpoints, with their routes and methods."""
    service = service_of(request)
    domains = []
    for domain in service.runtime.loaded.domains:
        plans = [p for p in service.runtime.plans if p.domain_id == domain.domain_id]
        domains.append(
            {
                "domain_id": domain.domain_id,
                "description": domain.spec.description,
                "endpoints": [
                    {
                        "name": p.name,
                        "description": p.spec.description,
                        "endpoint_type": p.spec.endpoint_type,
                        "route": p.route,
                        "methods": list(p.methods),
                        "path_params": list(p.path_params),
                    }
                    for p in plans
                ],
            }
        )
    return {"domains": domains}


def builtin_router(base_path: str) -> APIRouter:
    router = APIRouter(tags=["orkestra"])
    router.add_api_route("/health", health, methods=["GET"])
    router.add_api_route(
        "/ready", ready, methods=["GET"], responses={503: {"description": "Not ready"}}
    )
    router.add_api_route(f"{base_path}/domains", list_domains, methods=["GET"])
    return router
