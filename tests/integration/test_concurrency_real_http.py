"""Independent HTTP sources overlap; a chain takes the sum — against a real backend on loopback."""

from __future__ import annotations

import time
from pathlib import Path

from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.support.http_backend import HttpBackend


async def test_three_300ms_sources_overlap_and_a_chain_adds_up(
    tmp_path: Path, http_backend: HttpBackend
) -> None:
    config = write_config(
        tmp_path,
        {
            "integrations/api.yaml": f"""
            api:
              sources:
                slow:
                  base_url: "{http_backend.url}"
                  timeout: 5
                  operations:
                    wait: {{method: get, path: "/delay/{{ms}}"}}
            """,
            "domains/fan.yaml": """
            endpoints:
              out:
                data_sources:
                  - {name: a, type: api, source_id: slow, operation: wait, params: {ms: 300}}
                  - {name: b, type: api, source_id: slow, operation: wait, params: {ms: 300}}
                  - {name: c, type: api, source_id: slow, operation: wait, params: {ms: 300}}
                response_mapping: {total_ms: "$a.delayed_ms + $b.delayed_ms + $c.delayed_ms"}
              chain:
                data_sources:
                  - {name: a, type: api, source_id: slow, operation: wait, params: {ms: 300}}
                  - {name: b, type: api, source_id: slow, operation: wait, params: {ms: "$a.delayed_ms"}}
                response_mapping: {last: "$b.delayed_ms"}
            """,
        },
    )
    async with Orkestra(config) as service:
        await service.execute("fan", "out")  # warm the connection pool
        start = time.perf_counter()
        assert await service.execute("fan", "out") == {"total_ms": 900}
        fan_out = time.perf_counter() - start
        start = time.perf_counter()
        assert await service.execute("fan", "chain") == {"last": 300}
        chain = time.perf_counter() - start
    assert fan_out < 0.55, f"three 300 ms calls took {fan_out:.3f}s: they did not overlap"
    assert chain >= 0.6, f"a chain of two 300 ms calls took {chain:.3f}s"
    assert http_backend.calls("/delay/300") == 8
