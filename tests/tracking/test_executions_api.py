"""The executions API over a real service: records per request, filters, payload redaction,
`?debug=true`, the admin token, and a SQLite store that outlives the service."""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from orkestra.service import Orkestra
from tests.support.configs import write_config

MEMORY = """
memory:
  sources:
    default:
      operations:
        customer: {response: {id: 7, name: Ada, ssn: 123-45-6789, card: "${CARD_SECRET}"}, delay: 0.02}
        score: {response: {score: 0.8}, delay: 0.02}
        down: {error: "backend refused"}
"""

DOMAIN = """
domain_id: shop
endpoints:
  profile:
    method: get
    data_sources:
      - {name: customer, type: memory, operation: customer, params: {id: "$request.query_params.id"}}
      - {name: score, type: memory, operation: score, params: {who: "$customer.name"}}
      - {name: extra, type: memory, operation: down, on_error: skip}
    response_mapping: {name: "$customer.name", score: "$score.score"}
  broken:
    method: get
    data_sources:
      - {name: payments, type: memory, operation: down}
"""

SECRET = "s3cr3t-card-0042"


@asynccontextmanager
async def serve(
    tmp_path: Path, config_yaml: str = "", **env: str
) -> AsyncIterator[httpx.AsyncClient]:
    files = {"integrations/memory.yaml": MEMORY, "domains/shop.yaml": DOMAIN}
    if config_yaml:
        files["config.yaml"] = config_yaml
    service = Orkestra(write_config(tmp_path, files))
    async with service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture(autouse=True)
def card_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARD_SECRET", SECRET)


async def test_every_request_is_recorded_with_its_sources(tmp_path: Path) -> None:
    async with serve(tmp_path) as client:
        ok = await client.get("/orchestrator/shop/profile", params={"id": "7"})
        assert ok.status_code == 200 and ok.headers["x-orkestra-complete"] == "false"
        failed = await client.get("/orchestrator/shop/broken")
        assert failed.status_code == 502

        listing = (await client.get("/executions")).json()
        assert listing["total"] == 2
        newest, oldest = listing["executions"]
        assert newest["execution_id"] == failed.headers["x-orkestra-execution-id"]
        assert (newest["endpoint"], newest["status"], newest["http_status"]) == (
            "broken",
            "failed",
            502,
        )
        assert newest["failed_sources"] == ["payments"]
        assert oldest["execution_id"] == ok.headers["x-orkestra-execution-id"]

        record = (await client.get(f"/executions/{oldest['execution_id']}")).json()
        assert (record["domain"], record["endpoint"], record["route"], record["status"]) == (
            "shop",
            "profile",
            "/orchestrator/shop/profile",
            "partial",
        )
        sources = {s["name"]: s for s in record["sources"]}
        assert sources["customer"]["status"] == "ok" and sources["customer"]["attempts"] == 1
        assert sources["score"]["waited_for"] == ["customer"]
        # score waited for customer: it started once customer was done
        assert (
            sources["score"]["start_offset_ms"]
            >= sources["customer"]["start_offset_ms"] + sources["customer"]["duration_ms"] - 0.5
        )
        assert (
            sources["extra"]["status"] == "failed"
            and sources["extra"]["error"] == "backend refused"
        )
        assert sources["customer"]["output_size"] > 0 and sources["customer"]["params_size"] > 0
        assert (
            "output" not in sources["customer"] and "params" not in sources["customer"]
        )  # not kept by default

        missing = await client.get("/executions/nope")
        assert (
            missing.status_code == 404
            and missing.headers["content-type"] == "application/problem+json"
        )


async def test_filters_and_pagination(tmp_path: Path) -> None:
    async with serve(tmp_path) as client:
        ids = [
            (await client.get("/orchestrator/shop/profile")).headers["x-orkestra-execution-id"]
            for _ in range(3)
        ]
        ids.append(
            (await client.get("/orchestrator/shop/broken")).headers["x-orkestra-execution-id"]
        )
        failed = (await client.get("/executions", params={"status": "failed"})).json()
        assert [e["execution_id"] for e in failed["executions"]] == [ids[3]]
        page = (
            await client.get("/executions", params={"endpoint": "profile", "limit": 2, "offset": 1})
        ).json()
        assert page["total"] == 3 and [e["execution_id"] for e in page["executions"]] == [
            ids[1],
            ids[0],
        ]
        assert (await client.get("/executions", params={"domain": "other"})).json()["total"] == 0
        assert (await client.get("/executions", params={"limit": 0})).status_code == 422


async def test_kept_payloads_are_redacted(tmp_path: Path) -> None:
    config = "tracking:\n  keep_payloads: true\n  sensitive_fields: [ssn]\n"
    async with serve(tmp_path, config) as client:
        resp = await client.get("/orchestrator/shop/profile", params={"id": "7"})
        record = (await client.get(f"/executions/{resp.headers['x-orkestra-execution-id']}")).json()
        customer = next(s for s in record["sources"] if s["name"] == "customer")
        assert customer["params"] == {"id": "7"}
        assert customer["output"] == {"id": 7, "name": "Ada", "ssn": "***", "card": "***"}
        assert SECRET not in (await client.get("/executions")).text + str(record)


async def test_debug_needs_allow_debug(tmp_path: Path) -> None:
    async with serve(tmp_path) as client:
        plain = await client.get("/orchestrator/shop/profile", params={"debug": "true"})
        assert plain.json() == {"name": "Ada", "score": 0.8}
    async with serve(tmp_path / "2", "tracking:\n  allow_debug: true\n") as client:
        debug = (await client.get("/orchestrator/shop/profile", params={"debug": "true"})).json()
        assert debug["result"] == {"name": "Ada", "score": 0.8}
        assert [s["name"] for s in debug["execution"]["sources"]] == ["customer", "score", "extra"]
        failed = await client.get("/orchestrator/shop/broken", params={"debug": "true"})
        assert (
            failed.status_code == 502
            and failed.headers["content-type"] == "application/problem+json"
        )
        problem = failed.json()
        assert problem["source"] == "payments" and problem["execution"]["status"] == "failed"
        assert problem["execution"]["sources"][0]["error"] == "backend refused"


async def test_admin_token_guards_the_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", "adm-7d1e0c55aa")
    async with serve(tmp_path, "admin:\n  token: ${ADMIN_TOKEN}\n") as client:
        await client.get("/orchestrator/shop/profile")
        assert (await client.get("/executions")).status_code == 401
        wrong = await client.get("/executions", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        good = await client.get("/executions", headers={"Authorization": "Bearer adm-7d1e0c55aa"})
        assert good.status_code == 200 and good.json()["total"] == 1
        assert (await client.post("/admin/reload")).status_code == 401
        assert (await client.get("/timeline")).status_code == 200  # the page holds no data


async def test_with_auth_the_admin_scope_or_the_admin_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {"ADMIN_KEY": "admin-key-0123456789abcdef", "READER_KEY": "reader-key-0123456789abcdef"}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ADMIN_TOKEN", "adm-token-77aa")
    config = """
        auth:
          api_keys:
            - {name: ops, key: "${ADMIN_KEY}", scopes: [admin]}
            - {name: app, key: "${READER_KEY}", scopes: [shop]}
        admin:
          token: ${ADMIN_TOKEN}
        """
    async with serve(tmp_path, textwrap.dedent(config)) as client:
        assert (await client.get("/executions")).status_code == 401
        reader = await client.get("/executions", headers={"X-API-Key": keys["READER_KEY"]})
        assert reader.status_code == 403
        admin = await client.get("/admin/config", headers={"X-API-Key": keys["ADMIN_KEY"]})
        assert admin.status_code == 200
        token = await client.get("/executions", headers={"Authorization": "Bearer adm-token-77aa"})
        assert token.status_code == 200


async def test_sqlite_store_outlives_the_service(tmp_path: Path) -> None:
    config = (
        f"tracking:\n  store: sqlite\n  path: {tmp_path / 'records.sqlite3'}\n  max_records: 50\n"
    )
    async with serve(tmp_path, config) as client:
        first = (await client.get("/orchestrator/shop/profile")).headers["x-orkestra-execution-id"]
        assert (await client.get(f"/executions/{first}")).status_code == 200  # readable right away
    async with serve(tmp_path, config) as client:  # a restart
        record: dict[str, Any] = (await client.get(f"/executions/{first}")).json()
        assert record["endpoint"] == "profile" and len(record["sources"]) == 3


async def test_redis_store_is_shared_by_two_services(tmp_path: Path) -> None:
    """Two services (two workers) with the same Redis prefix read each other's records."""
    from orkestra.tracking.store import RedisStore

    prefix = f"orkestra-test-{uuid.uuid4().hex}"
    config = f"tracking:\n  store: redis\n  redis_url: redis://127.0.0.1:6379/0\n  redis_prefix: {prefix}\n"
    try:
        async with serve(tmp_path / "a", config) as first, serve(tmp_path / "b", config) as second:
            one = (await first.get("/orchestrator/shop/profile")).headers["x-orkestra-execution-id"]
            two = (await second.get("/orchestrator/shop/broken")).headers["x-orkestra-execution-id"]
            for client in (first, second):
                # another worker's record is in Redis within its batch delay (50 ms); bounded wait
                for _ in range(40):
                    listing = (await client.get("/executions")).json()
                    if len(listing["executions"]) == 2:
                        break
                    await asyncio.sleep(0.05)
                assert [e["execution_id"] for e in listing["executions"]] == [two, one]
    finally:
        store = RedisStore("redis://127.0.0.1:6379/0", prefix, 10)
        await store.clear()
        await store.close()
