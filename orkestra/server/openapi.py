"""The OpenAPI document: FastAPI's own routes plus every configured endpoint with its real path,
path/query parameters, `input_schema` as the request body and `output_schema` as the response."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi

from orkestra.server.endpoint import BODY_METHODS
from orkestra.server.problems import PROBLEM_SCHEMA, PROBLEM_TYPE

if TYPE_CHECKING:
    from fastapi import FastAPI

    from orkestra.plan.model import EndpointPlan

_ERRORS = {
    "400": "The body is not valid JSON",
    "404": "Not found",
    "413": "The body is too large",
    "422": "The request does not match the input schema",
    "502": "A required data source failed",
    "503": "A required data source (model) is not ready",
    "504": "A required data source timed out",
}


def build_openapi(
    app: FastAPI, plans: list[EndpointPlan], title: str, version: str, description: str
) -> dict[str, Any]:
    doc = get_openapi(title=title, version=version, description=description, routes=app.routes)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    _problem_json_for_validation_errors(doc)
    paths = doc.setdefault("paths", {})
    for plan in plans:
        item = paths.setdefault(plan.route, {})
        for method in plan.methods:
            item[method.lower()] = _operation(plan, method)
    return doc


def _problem_json_for_validation_errors(doc: dict[str, Any]) -> None:
    """FastAPI documents its own routes' 422 as application/json; Orkestra answers every error
    as problem+json (server/app.py), so the document says so."""
    problem = {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            invalid = (
                operation.get("responses", {}).get("422") if isinstance(operation, dict) else None
            )
            if invalid is not None:
                invalid["content"] = problem
    doc["components"]["schemas"].pop("HTTPValidationError", None)
    doc["components"]["schemas"].pop("ValidationError", None)


def _operation(plan: EndpointPlan, method: str) -> dict[str, Any]:
    spec = plan.spec
    schema = copy.deepcopy(spec.input_schema) if spec.input_schema else None
    props: dict[str, Any] = (schema or {}).get("properties") or {}
    required = set((schema or {}).get("required") or [])
    parameters: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": props.get(p, {"type": "string"})}
        for p in plan.path_params
    ]
    op: dict[str, Any] = {
        "tags": [plan.domain_id],
        "summary": spec.description.strip().split("\n")[0] if spec.description else plan.name,
        "description": spec.description or "",
        "operationId": f"{plan.domain_id}__{plan.name}__{method.lower()}",
        "parameters": parameters,
    }
    if method in BODY_METHODS:
        body_schema = schema if schema is not None else {"type": "object"}
        op["requestBody"] = {
            "required": bool(schema and schema.get("required")),
            "content": {"application/json": {"schema": body_schema}},
        }
    elif schema is not None:
        for name, sub in props.items():
            if name in plan.path_params:
                continue
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": sub}
            )
    ok_schema = copy.deepcopy(spec.output_schema) if spec.output_schema else {}
    responses: dict[str, Any] = {
        "200": {
            "description": "The assembled response",
            "content": {"application/json": {"schema": ok_schema}},
        }
    }
    for code, text in _ERRORS.items():
        if code == "400" and method not in BODY_METHODS:
            continue
        responses[code] = {
            "description": text,
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    op["responses"] = responses
    return op
