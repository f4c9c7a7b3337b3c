"""Configs in the SPEC dialect against real backends: SQLite, PostgreSQL and an HTTP API on loopback.

Each endpoint exercises what users write: `||` fallbacks, conditions, interpolated strings, `[0]`
paths, routes derived from `$request.path_params.*`, and SQL-injection strings as values.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_table() -> Iterator[str]:
    """A uniquely named PostgreSQL table of customers, dropped afterwards."""
    table = f"customers_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(
        run(
            f"CREATE TABLE {table} (customer_id INT PRIMARY KEY, name TEXT, city TEXT, credit_score INT, nickname TEXT);"
            f"INSERT INTO {table} VALUES (1, 'Ada', 'London', 720, NULL), (2, 'Grace', 'Arlington', 810, 'amazing'),"
            f"(3, 'Linus', 'Helsinki', 640, NULL);"
        )
    )
    yield table
    asyncio.run(run(f"DROP TABLE IF EXISTS {table}"))


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "orders.db"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INT, amount REAL, status TEXT)"
        )
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [(10, 1, 25.5, "shipped"), (11, 1, 74.5, "open"), (12, 2, 12.0, "open")],
        )
    conn.close()
    return path


@pytest.fixture
async def client(
    tmp_path: Path, sqlite_db: Path, pg_table: str, http_backend: HttpBackend
) -> AsyncIterator[httpx.AsyncClient]:
    http_backend.set_json(
        "weather_london", {"city": "London", "temp_c": 11.5, "conditions": ["rain", "wind"]}
    )
    config = write_config(
        tmp_path,
        {
            "database.yaml": f"""
            database:
              sources:
                default:
                  connection_string: "sqlite:///data/orders.db"
                crm:
                  connection_string: "{PG_URL}"
                  pool_size: 2
              operations:
                get_customer:
                  source_id: crm
                  query: "SELECT customer_id, name, city, credit_score, nickname FROM {pg_table} WHERE customer_id = :customer_id"
                  params: [customer_id]
                  result: one
                orders_of:
                  query: "SELECT order_id, amount, status FROM orders WHERE customer_id = :customer_id ORDER BY order_id"
                  params: [customer_id]
                  result: many
                order_total:
                  query: "SELECT COALESCE(SUM(amount), 0) FROM orders WHERE customer_id = :customer_id"
                  params: [customer_id]
                  result: scalar
            """,
            "integrations/api_sources.yaml": f"""
            api:
              sources:
                weather_api:
                  base_url: "{http_backend.url}"
                  timeout: 5
                  operations:
                    get_current_weather:
                      method: get
                      path: "/json/{{name}}"
            """,
            "domains/crm.yaml": """
            domain_id: crm
            endpoints:
              profile:
                description: "A customer with orders, weather and a greeting"
                data_sources:
                  - name: customer
                    type: database
                    operation: get_customer
                    params:
                      customer_id: "$request.path_params.customer_id"
                  - name: orders
                    type: database
                    operation: orders_of
                    params: {customer_id: "$customer.customer_id"}
                    condition: "$customer != null"
                  - name: total
                    type: database
                    operation: order_total
                    params: {customer_id: "$customer.customer_id"}
                    condition: "$customer != null"
                  - name: weather
                    type: api
                    source_id: weather_api
                    operation: get_current_weather
                    condition: "$customer.city == 'London'"
                    params: {name: "weather_london"}
                response_mapping:
                  id: "$customer.customer_id"
                  name: "$customer.name"
                  nickname: "$customer.nickname || 'no nickname'"
                  greeting: "Hello, $customer.name from $customer.city!"
                  first_order: "$orders[0].order_id"
                  order_count: "$orders.length ?? 0"
                  total: "$total"
                  big_spender: "$total > 50"
                  weather: "$weather.conditions[0] ?? 'unknown'"
                  tier: "$customer.credit_score >= 700 ? 'prime' : 'standard'"
            """,
        },
    )
    service = Orkestra(config)
    async with service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_composite_endpoint_across_postgres_sqlite_and_http(
    client: httpx.AsyncClient, http_backend: HttpBackend
) -> None:
    resp = await client.get("/orchestrator/crm/profile/1")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "id": 1,
        "name": "Ada",
        "nickname": "no nickname",
        "greeting": "Hello, Ada from London!",
        "first_order": 10,
        "order_count": 2,
        "total": 100.0,
        "big_spender": True,
        "weather": "rain",
        "tier": "prime",
    }
    assert http_backend.calls("/json/weather_london") == 1


async def test_conditions_skip_sources(
    client: httpx.AsyncClient, http_backend: HttpBackend
) -> None:
    resp = await client.get("/orchestrator/crm/profile/2")
    body = resp.json()
    assert body["nickname"] == "amazing"
    assert body["weather"] == "unknown"  # not in London: the API was never called
    assert body["tier"] == "prime" and body["order_count"] == 1
    assert http_backend.calls("/json/weather_london") == 0


async def test_unknown_customer_gives_nulls_not_errors(client: httpx.AsyncClient) -> None:
    body = (await client.get("/orchestrator/crm/profile/999")).json()
    assert body["id"] is None and body["first_order"] is None and body["order_count"] == 0


@pytest.mark.parametrize(
    "hostile", ["1 OR 1=1", "1; DROP TABLE orders; --", "' OR ''='", "1 UNION SELECT 1,2,3,4,5"]
)
async def test_sql_injection_strings_are_bound_values(
    client: httpx.AsyncClient, hostile: str
) -> None:
    resp = await client.get(f"/orchestrator/crm/profile/{hostile}")
    # PostgreSQL refuses a text value for an INT parameter (502 naming the source) or finds nothing;
    # either way no row comes back and the tables are intact.
    assert resp.status_code in (200, 502)
    if resp.status_code == 200:
        assert resp.json()["id"] is None
    else:
        assert resp.json()["source"] == "customer"
    again = await client.get("/orchestrator/crm/profile/1")
    assert again.json()["order_count"] == 2


def test_route_in_openapi_uses_the_path_param(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "domains/d.yaml": """
            endpoints:
              flower:
                endpoint_type: direct
                response: {id: "$request.path_params.flower_id", kind: "$request.query_params.kind || 'any'"}
            """
        },
    )
    service = Orkestra(config)
    assert service.runtime.plan("d", "flower").route == "/orchestrator/d/flower/{flower_id}"  # type: ignore[union-attr]


async def test_a_number_sqlite_cannot_bind_is_a_422(tmp_path: Path, sqlite_db: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "database.yaml": """
            database:
              sources: {default: {connection_string: "sqlite:///data/orders.db"}}
              operations:
                order: {query: "SELECT * FROM orders WHERE order_id = :id", params: [id], result: one}
            """,
            "domains/o.yaml": """
            endpoints:
              order:
                input_schema: {type: object, properties: {id: {type: integer}}}
                data_sources:
                  - {name: o, type: database, operation: order, params: {id: "$request.query_params.id"}}
            """,
        },
    )
    service = Orkestra(config)
    async with service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            resp = await c.get("/orchestrator/o/order", params={"id": str(2**70)})
            assert resp.status_code == 422 and "out of range" in resp.json()["detail"]
            assert (await c.get("/orchestrator/o/order", params={"id": "10"})).json()[
                "status"
            ] == "shipped"
