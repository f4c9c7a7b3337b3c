"""What a reload starts, keeps and closes: unchanged source types are kept running, changed ones
are started before the swap and the old ones closed only after their in-flight requests finished;
routes and /docs follow the new config."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from orkestra.service import Orkestra
from tests.reload.tracked_source import EVENTS
from tests.support.configs import write_config


def files(label: str, delay: float, endpoints: str) -> dict[str, str]:
    return {
        "integrations/tracked.yaml": f"tracked: {{label: {label}, delay: {delay}}}\n",
        "integrations/memory.yaml": "memory:\n  sources:\n    default:\n      operations:\n        hi: {response: {hi: 1}}\n",
        "domains/app.yaml": "domain_id: app\nendpoints:\n" + endpoints,
    }


SLOW = "  slow:\n    method: get\n    data_sources:\n      - {name: t, type: tracked}\n"
HI = "  hi:\n    method: get\n    data_sources:\n      - {name: m, type: memory, operation: hi}\n"
NEW = "  fresh:\n    method: get\n    data_sources:\n      - {name: t, type: tracked}\n"


@pytest.fixture(autouse=True)
def clear_events() -> None:
    EVENTS.clear()


async def test_unchanged_sources_are_kept_not_restarted(tmp_path: Path) -> None:
    config = write_config(tmp_path, files("v1", 0.0, SLOW + HI))
    async with Orkestra(config) as service:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://t"
        )
        first = (await client.get("/orchestrator/app/slow")).json()
        write_config(tmp_path, files("v1", 0.0, SLOW + HI + NEW))  # only the domain changed
        outcome = await service.reload()
        assert outcome["result"] == "applied" and "tracked" in outcome["kept_sources"]
        assert (await client.get("/orchestrator/app/fresh")).json() == first  # same instance serves
        await service.observability.reloader.drain()
        assert EVENTS == [("start", first["instance"], "v1")]  # never restarted, never closed
        await client.aclose()
    assert EVENTS[-1] == ("close", first["instance"], "v1")


async def test_in_flight_requests_finish_on_their_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, files("v1", 0.4, SLOW + HI))
    async with (
        Orkestra(config) as service,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://t"
        ) as client,
    ):
        in_flight = asyncio.create_task(client.get("/orchestrator/app/slow"))
        await asyncio.sleep(0.1)  # the request is inside the tracked source now
        write_config(
            tmp_path, files("v2", 0.0, HI + NEW)
        )  # slow removed, tracked changed, fresh added
        outcome = await service.reload()
        assert outcome["result"] == "applied" and outcome["started_sources"] == ["tracked"]

        assert (await client.get("/orchestrator/app/slow")).status_code == 404
        assert (await client.get("/orchestrator/app/fresh")).json()["label"] == "v2"
        old = await in_flight
        assert old.status_code == 200 and old.json()["label"] == "v1"  # finished on the old config
        await service.observability.reloader.drain()

        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/orchestrator/app/fresh" in paths and "/orchestrator/app/slow" not in paths
        assert "/orchestrator/app/fresh" in (await client.get("/orchestrator/domains")).text
    old_number, new_number = old.json()["instance"], (EVENTS[1][1])
    # the new one started before the swap; the old one closed only after its request was answered
    assert EVENTS[:3] == [
        ("start", old_number, "v1"),
        ("start", new_number, "v2"),
        ("close", old_number, "v1"),
    ]
    assert EVENTS[3:] == [
        ("close", new_number, "v2")
    ]  # closed with the service; nothing runs twice


async def test_a_type_is_not_kept_when_a_sibling_it_reads_is_replaced(tmp_path: Path) -> None:
    def two_types(label: str) -> dict[str, str]:
        return {
            "integrations/tracked.yaml": f"tracked: {{label: {label}}}\ntracked_reader: {{label: r}}\n",
            "domains/app.yaml": "domain_id: app\nendpoints:\n  r:\n    method: get\n    data_sources:\n"
            "      - {name: t, type: tracked_reader}\n",
        }

    config = write_config(tmp_path, two_types("v1"))
    async with Orkestra(config) as service:
        write_config(tmp_path, two_types("v1"))  # nothing changed: both kept
        kept = await service.reload()
        assert (
            sorted(kept["kept_sources"]) == ["tracked", "tracked_reader"]
            and kept["started_sources"] == []
        )
        write_config(
            tmp_path, two_types("v2")
        )  # the sibling changed: the reader must not keep the old one
        changed = await service.reload()
        assert sorted(changed["started_sources"]) == ["tracked", "tracked_reader"]
        await service.observability.reloader.drain()
    closes = [label for event, _n, label in EVENTS if event == "close"]
    assert sorted(closes) == [
        "r",
        "r",
        "v1",
        "v2",
    ]  # old pair after the reload, new pair at shutdown
