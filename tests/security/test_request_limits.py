"""Request size limits: body bytes and list lengths, per server and per endpoint, refused with 413
before any source runs."""

from __future__ import annotations

from pathlib import Path

import httpx

from orkestra.service import Orkestra
from tests.support.configs import write_config

FILES = {
    "config.yaml": "server:\n  max_body_bytes: 2000\n  max_list_items: 50\n",
    "integrations/memory.yaml": "memory:\n  sources:\n    default:\n      operations:\n        echo: {}\n",
    "domains/d.yaml": """
        endpoints:
          wide:
            method: post
            data_sources: [{name: e, type: memory, operation: echo, params: {n: "len($request.body.items)"}}]
          narrow:
            method: post
            max_list_items: 3
            max_body_bytes: 100
            data_sources: [{name: e, type: memory, operation: echo, params: {n: "len($request.body.items)"}}]
        """,
}


async def post(svc: Orkestra, path: str, **kw: object) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=svc.app), base_url="http://t"
    ) as c:
        return await c.post(path, **kw)  # type: ignore[arg-type]


async def test_list_and_body_limits(tmp_path: Path) -> None:
    async with Orkestra(write_config(tmp_path, FILES)) as svc:
        ok = await post(svc, "/orchestrator/d/wide", json={"items": list(range(50))})
        long_list = await post(svc, "/orchestrator/d/wide", json={"a": {"items": list(range(51))}})
        nested = await post(svc, "/orchestrator/d/wide", json=[[list(range(60))]])
        big = await post(svc, "/orchestrator/d/wide", content=b'{"x": "' + b"a" * 3000 + b'"}')
        narrow = await post(svc, "/orchestrator/d/narrow", json={"items": [1, 2, 3, 4]})
        narrow_bytes = await post(
            svc, "/orchestrator/d/narrow", json={"items": [], "pad": "x" * 200}
        )
        operation = svc.runtime.plan("d", "wide").nodes["e"].operation  # type: ignore[union-attr]
    assert ok.status_code == 200 and ok.json() == {"n": 50}
    assert long_list.status_code == 413 and long_list.json()["errors"][0]["field"] == "a.items"
    assert nested.status_code == 413 and nested.json()["errors"][0]["field"] == "0.0"
    assert big.status_code == 413
    assert narrow.status_code == 413 and "3 items" in narrow.json()["detail"]
    assert narrow_bytes.status_code == 413
    assert operation.calls == 1  # refused requests never reached a source
