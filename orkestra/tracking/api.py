"""The executions API and the timeline page.

GET /executions                  recent executions, newest first (?domain, ?endpoint, ?status,
                                 ?limit, ?offset); `total` counts every match
GET /executions/{execution_id}   one execution with its per-source record
GET /timeline                    the page (self-contained HTML; it reads the two routes above)
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from orkestra.observability.access import require_admin
from orkestra.server.problems import problem
from orkestra.tracking.store import Query as StoreQuery

if TYPE_CHECKING:
    from starlette.responses import Response

    from orkestra.tracking.tracker import Tracker


def _tracker(request: Request) -> Tracker:
    tracker: Tracker | None = request.app.state.service.observability.tracker
    if tracker is None:
        raise HTTPException(503, "execution tracking is closed")
    return tracker


async def list_executions(
    request: Request,
    domain: str | None = None,
    endpoint: str | None = None,
    status: str | None = Query(None, pattern="^(ok|partial|failed)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Recent executions, newest first; each without its sources' payloads."""
    page, total = await _tracker(request).list(StoreQuery(domain, endpoint, status, limit, offset))
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "executions": [_summary(r) for r in page],
    }


async def get_execution(request: Request, execution_id: str) -> Any:
    """One execution: status, timings, and each source's status, offset, duration and error."""
    record = await _tracker(request).get(execution_id)
    if record is None:
        return problem(404, f"no execution {execution_id} (it may have left the bounded store)")
    return record


_PAGE: bytes | None = None


async def timeline_page() -> Response:
    """The timeline page: recent executions and, for one, its sources as a waterfall."""
    global _PAGE
    if _PAGE is None:
        _PAGE = resources.files("orkestra.tracking").joinpath("timeline.html").read_bytes()
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-store"})


def tracking_router() -> APIRouter:
    router = APIRouter(tags=["orkestra"])
    guarded = [Depends(require_admin)]
    router.add_api_route("/executions", list_executions, methods=["GET"], dependencies=guarded)
    router.add_api_route(
        "/executions/{execution_id}",
        get_execution,
        methods=["GET"],
        dependencies=guarded,
        responses={404: {"description": "Unknown or expired execution"}},
    )
    router.add_api_route("/timeline", timeline_page, methods=["GET"], include_in_schema=False)
    return router


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    sources = record.get("sources", [])
    failed = [s["name"] for s in sources if s.get("status") in ("failed", "timed_out")]
    out = {k: v for k, v in record.items() if k != "sources"}
    out["source_count"] = len(sources)
    out["failed_sources"] = failed
    return out
