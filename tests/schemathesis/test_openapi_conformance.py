"""schemathesis against a running `orkestra run`: every operation of its /openapi.json, with
generated valid and invalid requests. Only memory, direct and SQLite sources are configured, so a
5xx can only come from Orkestra itself; none may happen, and no response may violate the schema."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from tests.faults.serving import serve
from tests.support.configs import write_config

TABLE = f"items_{uuid.uuid4().hex[:8]}"


def config(root: Path) -> Path:
    data = root / "data.db"
    with sqlite3.connect(data) as db:
        db.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
        db.executemany(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
            [(i, f"item {i}", i * 1.5) for i in range(1, 6)],
        )
    return write_config(
        root,
        {
            "config.yaml": "app:\n  name: Conformance\n",
            "database.yaml": f"""
            database:
              sources:
                default: {{connection_string: "sqlite:///{data}"}}
              operations:
                item: {{query: "SELECT id, name, price FROM {TABLE} WHERE id = :id", result: one}}
                items: {{query: "SELECT id, name FROM {TABLE} WHERE price <= :max ORDER BY id", result: many}}
            """,
            "integrations/memory.yaml": """
            memory:
              sources:
                default:
                  operations:
                    echo: {}
                    quote: {response: {rate: 0.07}}
            """,
            "domains/shop.yaml": """
            domain_id: shop
            endpoints:
              item:
                method: get
                path: /items/{id}
                input_schema:
                  type: object
                  # SQLite integers end at 2**63: the schema says so (a larger id was a 502 before)
                  properties: {id: {type: integer, minimum: 1, maximum: 1000000000}}
                output_schema:
                  type: [object, "null"]
                  properties: {id: {type: integer}, name: {type: string}}
                data_sources:
                  - {name: row, type: database, operation: item, params: {id: "$request.path_params.id"}}
                primary_source: row
              items:
                method: get
                input_schema:
                  type: object
                  required: [max]
                  properties: {max: {type: number}}
                output_schema: {type: array, items: {type: object}}
                data_sources:
                  - {name: rows, type: database, operation: items, params: {max: "$request.query_params.max"}}
                response_mapping: "$rows ?? []"
              order:
                method: post
                input_schema:
                  type: object
                  required: [item, quantity]
                  properties:
                    item: {type: string, maxLength: 40}
                    quantity: {type: integer, minimum: 1, maximum: 1000}
                    notes: {type: array, items: {type: string}, maxItems: 5}
                output_schema:
                  type: object
                  required: [item, total]
                  properties: {item: {type: string}, total: {type: number}, notes: {type: integer}}
                data_sources:
                  - {name: q, type: memory, operation: quote}
                  - {name: e, type: memory, operation: echo, params: {n: "$request.body.quantity"}}
                response_mapping:
                  item: "$request.body.item"
                  total: "$e.n * (1 + $q.rate)"
                  notes: "len($request.body.notes ?? [])"
              hello:
                method: get
                endpoint_type: direct
                response: {hello: "world", at: "$system.timestamp"}
                output_schema: {type: object, required: [hello], properties: {hello: {type: string}}}
            """,
        },
    )


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(config(tmp_path_factory.mktemp("conformance"))) as server:
        yield server.url


CHECKS = [
    st_checks.not_a_server_error,
    st_checks.response_schema_conformance,
    st_checks.content_type_conformance,
]
EXAMPLES = 25  # per operation and mode: bounded, the suite runs on every commit


# schemathesis' own pytest plugin (`from_fixture`) does not support this pytest yet, so the
# operations are driven through their hypothesis strategies directly.
@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value
)
def test_no_5xx_and_responses_match_the_schema(server_url: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{server_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6  # the four endpoints, /health, /ready, /orchestrator/domains ...
    paths = {op.path for op in operations}
    assert {
        "/orchestrator/items/{id}",
        "/orchestrator/shop/items",
        "/orchestrator/shop/order",
    } <= paths
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not (
            len(operation.query) or len(operation.path_parameters) or len(operation.body)
        ):
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=server_url, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            # e.g. /executions/{execution_id}: every string is a valid id, nothing can be invalid
            assert mode == GenerationMode.NEGATIVE, operation.path


def test_fastapi_routes_document_their_422_as_problem_json(server_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server_url}/openapi.json")
    documented = schema.raw_schema["paths"]["/executions"]["get"]["responses"]["422"]["content"]
    assert "application/problem+json" in documented
