"""The HTTP face of one endpoint plan: parse and validate the request, run the plan, answer JSON."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from orkestra.engine.types import RequestData
from orkestra.errors import OrkestraError, RequestError, SourceError
from orkestra.security.guard import AccessDenied
from orkestra.server.problems import problem

if TYPE_CHECKING:
    from orkestra.plan.model import EndpointPlan
    from orkestra.security.guard import Security
    from orkestra.service import Orkestra

log = logging.getLogger("orkestra.server")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
EXECUTION_HEADER = "X-Orkestra-Execution-Id"


class HeaderMap(dict[str, str]):
    """Request headers for templates: `$request.headers.Authorization` and `.authorization` both work."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


def new_execution_id() -> str:
    # the 32 hex digits of uuid4().hex at a third of the cost: 128 random bits, no UUID object
    return os.urandom(16).hex()


class EndpointHandler:
    """The Starlette endpoint (`handle`) of one plan."""

    def __init__(
        self, plan: EndpointPlan, service: Orkestra, security: Security | None = None
    ) -> None:
        self.plan = plan
        self.service = service
        # None or inactive (no auth, no rate limits): nothing to check per request
        self.security = security if security is not None and security.active else None

    async def handle(self, request: Request) -> Response:
        execution_id = new_execution_id()
        try:
            if self.security is not None:  # before the body is read: strangers cost no parsing
                await self.admit(request)
            data = await self.read_request(request)
        except AccessDenied as exc:
            return problem(exc.status, str(exc), execution_id=execution_id, headers=exc.headers)
        except RequestError as exc:
            return problem(exc.status, str(exc), execution_id=execution_id, errors=exc.errors)
        return await self.service.respond(self.plan, data, execution_id, request)

    async def admit(self, request: Request) -> None:
        assert self.security is not None
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]
        }
        peer = request.client.host if request.client is not None else None
        await self.security.admit(self.plan.key, headers, self.security.client_ip(peer, headers))

    async def read_request(self, request: Request) -> RequestData:
        method = request.method
        body: Any = None
        if method in BODY_METHODS:
            body = await self.read_body(request)
        query, path_params = check_input(
            self.plan,
            method,
            _query_dict(request),
            dict(request.path_params),
            body,
        )
        headers = HeaderMap(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]
        )
        return RequestData(method, path_params, query, headers, body)

    async def read_body(self, request: Request) -> Any:
        limit = self.plan.spec.max_body_bytes or self.service.settings.server.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(f"request body is larger than {limit} bytes", 413)
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(f"request body is larger than {limit} bytes", 413)
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RequestError(
                f"request body is not valid JSON: {exc.msg} at position {exc.pos}", 400
            ) from None
        max_items = self.plan.spec.max_list_items or self.service.settings.server.max_list_items
        where = _long_list(body, max_items, "")
        if where is not None:
            raise RequestError(
                f"a list in the request body is longer than {max_items} items",
                413,
                [{"field": where or "(root)", "message": f"more than {max_items} items"}],
            )
        return body


def check_input(
    plan: EndpointPlan,
    method: str,
    query: dict[str, Any],
    path_params: dict[str, Any],
    body: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a request against the endpoint's input_schema: the body of POST/PUT/PATCH, else
    the query and path params, turned into the types the schema declares. Returns the (typed)
    query and path params; raises RequestError(422) naming each field that does not match."""
    validator = plan.input_validator
    if validator is None:
        return query, path_params
    query_types = plan.input_types
    if method in BODY_METHODS and body is not None:
        target: Any = body
    else:
        query = _coerce(query, query_types)
        path_params = _coerce(path_params, query_types)
        target = {**query, **{k: v for k, v in path_params.items() if k in query_types}}
    errors = sorted(validator.iter_errors(target), key=lambda e: list(e.absolute_path))
    if errors:
        raise RequestError(
            "the request does not match the endpoint's input_schema",
            422,
            [
                {
                    "field": ".".join(str(p) for p in e.absolute_path) or "(root)",
                    "message": e.message[:300],
                }
                for e in errors[:20]
            ],
        )
    return query, path_params


def error_response(exc: OrkestraError, execution_id: str, redact: Any) -> Response:
    if isinstance(exc, SourceError):
        return problem(exc.status, redact(str(exc)), execution_id=execution_id, source=exc.source)
    if isinstance(exc, RequestError):
        return problem(exc.status, redact(str(exc)), execution_id=execution_id, errors=exc.errors)
    return problem(500, "internal error", execution_id=execution_id)


def _long_list(value: Any, limit: int, path: str) -> str | None:
    """The path of the first list longer than `limit` (a fan-out must not be sized by a client)."""
    if isinstance(value, list):
        if len(value) > limit:
            return path
        items: Any = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        return None
    for key, item in items:
        if isinstance(item, (list, dict)):
            found = _long_list(item, limit, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    return None


def _query_dict(request: Request) -> dict[str, Any]:
    if not request.scope.get("query_string"):
        return {}  # most requests: no QueryParams object to build
    out: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in out:
            prev = out[key]
            out[key] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def _coerce(values: dict[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """Strings from the URL become the types input_schema declares (when they parse)."""
    out = dict(values)
    for key, value in values.items():
        kind = types.get(key)
        if kind is None:
            continue
        if kind == "array":
            out[key] = value if isinstance(value, list) else [value]
            continue
        if not isinstance(value, str):
            continue
        try:
            if kind == "integer":
                out[key] = int(value)
            elif kind == "number":
                number = float(value)
                out[key] = int(number) if number.is_integer() and "." not in value else number
            elif kind == "boolean" and value.lower() in ("true", "false", "1", "0"):
                out[key] = value.lower() in ("true", "1")
        except ValueError:
            pass  # left as a string: the schema check names the field
    return out
