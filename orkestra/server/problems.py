"""Errors as RFC 9457 problem+json bodies: what went wrong, where, never how (no traces, no secrets)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

PROBLEM_TYPE = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "source": {"type": "string"},
        "execution_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


def problem(
    status: int,
    detail: str,
    *,
    execution_id: str | None = None,
    source: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if source is not None:
        body["source"] = source
    if execution_id is not None:
        body["execution_id"] = execution_id
    if errors:
        body["errors"] = errors
    out_headers = dict(headers or {})
    if execution_id is not None:
        out_headers["X-Orkestra-Execution-Id"] = execution_id
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_TYPE, headers=out_headers
    )
