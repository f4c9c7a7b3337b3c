"""The HTTP service: routes from config, validation, problem+json errors, OpenAPI, built-in routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from orkestra.service import Orkestra
from tests.support.configs import write_config

FILES = {
    "config.yaml": "app:\n  name: Test API\n",
    "integrations/memory.yaml": """
        memory:
          sources:
            default:
              operations:
                echo: {}
                customer: {response: {customer_id: 7, name: Ada, tags: [vip, early], score: 0.8}}
                boom: {error: "password=hunter2 leaked?"}
        """,
    "domains/shop.yaml": """
        domain_id: shop
        description: A shop
        endpoints:
          customer:
            description: One customer
            method: get
            data_sources:
              - name: c
                type: memory
                operation: customer
                params: {id: "$request.path_params.customer_id"}
            response_mapping:
              id: "$request.path_params.customer_id"
              name: "$c.name"
              first_tag: "$c.tags[0]"
              nickname: "$c.nickname || 'none'"
              greeting: "Hello, $c.name!"
              agent: "$request.headers['User-Agent']"
              client: "$request.headers['X-Client'] || 'anonymous'"
          order:
            method: post
            path: /orders/{region}
            input_schema:
              type: object
              required: [item, quantity]
              properties:
                item: {type: string}
                quantity: {type: integer, minimum: 1}
            output_schema:
              type: object
              properties:
                region: {type: string}
                total: {type: integer}
            data_sources:
              - {name: e, type: memory, operation: echo, params: {q: "$request.body.quantity"}}
            response_mapping:
              region: "$request.path_params.region"
              total: "$e.q * 10"
          search:
            method: get
            input_schema:
              type: object
              properties:
                limit: {type: integer, maximum: 50}
            endpoint_type: direct
            response: {limit: "$request.query_params.limit", doubled: "$request.query_params.limit * 2"}
          broken:
            data_sources:
              - {name: payments, type: memory, operation: boom}
        """,
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    service = Orkestra(write_config(tmp_path, FILES))
    async with service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_route_from_path_params_and_templates(client: httpx.AsyncClient) -> None:
    resp = await client.get("/orchestrator/shop/customer/42", headers={"X-Client": "tests"})
    assert resp.status_code == 200
    assert resp.json() == {
        "id": "42",
        "name": "Ada",
        "first_tag": "vip",
        "nickname": "none",
        "greeting": "Hello, Ada!",
        "agent": resp.request.headers["user-agent"],
        "client": "tests",
    }
    assert len(resp.headers["x-orkestra-execution-id"]) == 32


async def test_path_override_body_validation_and_arithmetic(client: httpx.AsyncClient) -> None:
    resp = await client.post("/orchestrator/orders/eu", json={"item": "tea", "quantity": 3})
    assert resp.status_code == 200
    assert resp.json() == {"region": "eu", "total": 30}

    bad = await client.post("/orchestrator/orders/eu", json={"item": "tea", "quantity": 0})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    problem = bad.json()
    assert problem["errors"][0]["field"] == "quantity"

    not_json = await client.post(
        "/orchestrator/orders/eu", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["detail"]


async def test_query_params_are_typed_by_input_schema(client: httpx.AsyncClient) -> None:
    resp = await client.get("/orchestrator/shop/search", params={"limit": "5"})
    assert resp.json() == {"limit": 5, "doubled": 10}
    too_big = await client.get("/orchestrator/shop/search", params={"limit": "500"})
    assert too_big.status_code == 422


async def test_missing_path_param_and_unknown_route_are_problems(client: httpx.AsyncClient) -> None:
    resp = await client.get("/orchestrator/shop/customer")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    wrong_method = await client.delete("/orchestrator/shop/customer/1")
    assert wrong_method.status_code == 405


async def test_failing_source_is_502_without_secrets_or_traces(client: httpx.AsyncClient) -> None:
    resp = await client.get("/orchestrator/shop/broken")
    assert resp.status_code == 502
    body = resp.json()
    assert body["source"] == "payments"
    assert body["execution_id"] == resp.headers["x-orkestra-execution-id"]
    assert "Traceback" not in resp.text


async def test_openapi_lists_every_endpoint_with_schemas(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths["/orchestrator/shop/customer/{customer_id}"]) == {"get"}
    assert (
        paths["/orchestrator/shop/customer/{customer_id}"]["get"]["parameters"][0]["name"]
        == "customer_id"
    )
    order = paths["/orchestrator/orders/{region}"]["post"]
    assert order["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "item",
        "quantity",
    ]
    assert order["responses"]["200"]["content"]["application/json"]["schema"]["properties"][
        "total"
    ] == {"type": "integer"}
    assert "/health" in paths and "/orchestrator/domains" in paths
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_builtin_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    domains = (await client.get("/orchestrator/domains")).json()["domains"]
    assert domains[0]["domain_id"] == "shop"
    routes = {e["name"]: e["route"] for e in domains[0]["endpoints"]}
    assert routes["customer"] == "/orchestrator/shop/customer/{customer_id}"


async def test_mount_into_an_existing_fastapi_app(tmp_path: Path) -> None:
    from fastapi import FastAPI

    service = Orkestra(write_config(tmp_path, FILES))
    host = FastAPI()

    @host.get("/own")
    async def own() -> dict[str, bool]:
        return {"own": True}

    host.mount("/api", service.app)
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert (await c.get("/own")).json() == {"own": True}
        resp = await c.get("/api/orchestrator/shop/customer/5")
        assert resp.status_code == 200 and resp.json()["name"] == "Ada"
    await service.close()


async def test_in_process_execute_applies_the_input_schema(tmp_path: Path) -> None:
    from orkestra.errors import RequestError

    async with Orkestra(write_config(tmp_path, FILES)) as service:
        ok = await service.execute(
            "shop", "order", path_params={"region": "eu"}, body={"item": "tea", "quantity": 2}
        )
        assert ok == {"region": "eu", "total": 20}
        with pytest.raises(RequestError) as info:
            await service.execute(
                "shop", "order", path_params={"region": "eu"}, body={"item": "tea", "quantity": 0}
            )
        assert info.value.status == 422 and info.value.errors[0]["field"] == "quantity"
        assert await service.execute("shop", "search", query={"limit": "4"}, method="GET") == {
            "limit": 4,
            "doubled": 8,
        }
