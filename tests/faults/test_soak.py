"""A bounded soak run against a real `orkestra run`: thousands of requests through caching,
coalescing, for_each, a breaker and a soft-failing source. The server's memory must level off:
growth between the end of warm-up and the end of the run stays within noise."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.serving import serve
from tests.support.configs import write_config

pytestmark = pytest.mark.timeout(300)

WARMUP = 600
RUN = 2400
ALLOWED_GROWTH_KB = (
    8 * 1024
)  # allocator noise on a ~100 MB process; a per-request leak of 4 KB would be ~10 MB


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path,
        {
            "config.yaml": "tracking:\n  max_records: 200\nserver:\n  log_level: warning\n",
            "integrations/memory.yaml": """
            memory:
              sources:
                default:
                  operations:
                    echo: {}
                    broken: {error: "backend down"}
            """,
            "domains/soak.yaml": """
            endpoints:
              mixed:
                method: post
                data_sources:
                  - {name: items, type: direct, params: "$request.body.items"}
                  - name: each
                    type: memory
                    operation: echo
                    for_each: "$items"
                    as: it
                    params: {id: "$it.id", n: "$request.body.n"}
                    cache: {ttl: 0.5}
                  - name: flaky
                    type: memory
                    operation: broken
                    on_error: default
                    default: {ok: false}
                    circuit_breaker: {failure_threshold: 3, reset_timeout: 0.2}
                response_mapping: {count: "len($each)", flaky: "$flaky.ok", first: "$each[0].id"}
            """,
        },
    )


def hammer(url: str, count: int, tag: str) -> list[int]:
    def batch(start: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(start, start + count // 4):
                body = {"items": [{"id": j} for j in range(i % 7 + 1)], "n": f"{tag}-{i % 300}"}
                statuses.append(client.post("/orchestrator/soak/mixed", json=body).status_code)
        return statuses

    with ThreadPoolExecutor(4) as pool:
        return [s for part in pool.map(batch, range(0, count, count // 4)) for s in part]


def test_memory_levels_off_under_a_bounded_soak(tmp_path: Path) -> None:
    with serve(config(tmp_path)) as server:
        pid = server.process.pid
        assert set(hammer(server.url, WARMUP, uuid.uuid4().hex)) == {200}
        after_warmup = rss_kb(pid)
        statuses = hammer(server.url, RUN, uuid.uuid4().hex)
        after_run = rss_kb(pid)
    assert set(statuses) == {200}
    growth = after_run - after_warmup
    print(
        f"soak: RSS {after_warmup} KB after {WARMUP} requests, {after_run} KB after {RUN} more ({growth:+} KB)"
    )
    assert growth < ALLOWED_GROWTH_KB
