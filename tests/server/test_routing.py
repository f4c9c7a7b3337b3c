"""The endpoint table: every one of many routes is found, templated or not; 405 and 404 as before."""

from __future__ import annotations

from pathlib import Path

import httpx

from orkestra.service import Orkestra
from tests.support.configs import write_config


def many_endpoints(count: int) -> str:
    lines = ["endpoints:"]
    for i in range(count):
        lines.append(f"  e{i}:")
        lines.append("    endpoint_type: direct")
        lines.append("    method: get")
        if i % 2:
            lines.append(f'    response: {{n: {i}, id: "$request.path_params.item_id"}}')
        else:
            lines.append(f"    response: {{n: {i}}}")
    return "\n".join(lines) + "\n"


async def test_every_route_of_many_is_found(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "domains/big.yaml": many_endpoints(300),
            "domains/custom.yaml": """
            endpoints:
              nested: {endpoint_type: direct, method: post, path: "/v1/{a}/x/{b}", response: {a: "$request.path_params.a", b: "$request.path_params.b"}}
            """,
        },
    )
    async with Orkestra(config) as service:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for i in (0, 1, 150, 298, 299):
                url = f"/orchestrator/big/e{i}" + ("/abc" if i % 2 else "")
                resp = await client.get(url)
                assert resp.status_code == 200, url
                assert resp.json() == ({"n": i, "id": "abc"} if i % 2 else {"n": i})
            assert (await client.post("/orchestrator/v1/p/x/q")).json() == {"a": "p", "b": "q"}
            wrong_method = await client.get("/orchestrator/v1/p/x/q")
            assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
            assert (await client.get("/orchestrator/big/e300")).status_code == 404
            assert (
                await client.get("/orchestrator/big/e1")
            ).status_code == 404  # needs its {item_id}
            assert (await client.get("/health")).json() == {"status": "ok"}
