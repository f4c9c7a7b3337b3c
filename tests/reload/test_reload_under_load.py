"""20 valid reloads under continuous load on a real uvicorn server: endpoints are added, changed and
removed; no request fails, and each change is visible right after its reload (routes and /docs)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from orkestra.service import Orkestra
from tests.reload import tracked_source
from tests.support.configs import write_config
from tests.tracking.live_server import live_server

RELOADS = 20
LOAD_THREADS = 3
MAX_REQUESTS_PER_THREAD = 20_000  # bounds the loop if the reloads stall
MAX_SECONDS = 120.0


def version(k: int) -> dict[str, str]:
    """Config number k: `stable` and `slow` always, `changed` answers k, `added_k` exists only in k."""
    return {
        "integrations/memory.yaml": f"""
            memory:
              sources:
                default:
                  operations:
                    stable: {{response: {{ok: true}}}}
                    changed: {{response: {{version: {k}}}}}
            """,
        # a new `tracked` instance per version; a call fails if its instance is closed mid-call,
        # so closing an old config before its requests finish would show up as failures
        "integrations/tracked.yaml": f"tracked: {{label: v{k}, delay: 0.05}}\n",
        "domains/live.yaml": f"""
            domain_id: live
            endpoints:
              stable:
                method: get
                data_sources:
                  - {{name: s, type: memory, operation: stable}}
              slow:
                method: get
                data_sources:
                  - {{name: s, type: tracked}}
              changed:
                method: get
                data_sources:
                  - {{name: c, type: memory, operation: changed}}
              added_{k}:
                method: get
                endpoint_type: direct
                response: {{added: {k}}}
            """,
    }


def load(
    url: str, path: str, stop: threading.Event, outcomes: Counter[str], failures: list[str]
) -> None:
    deadline = time.monotonic() + MAX_SECONDS
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                resp = client.get(path)
            except httpx.HTTPError as exc:
                failures.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            outcomes[path] += 1
            if resp.status_code != 200 or not (
                resp.json() == {"ok": True} or "label" in resp.json()
            ):
                failures.append(f"{path}: {resp.status_code} {resp.text[:200]}")


def test_twenty_reloads_under_load(tmp_path: Path) -> None:
    tracked_source.EVENTS.clear()
    config = write_config(tmp_path, version(0))
    service = Orkestra(config)
    with live_server(service.app) as server:
        stop = threading.Event()
        outcomes: Counter[str] = Counter()
        failures: list[str] = []
        paths = [
            "/orchestrator/live/stable",
            "/orchestrator/live/slow",
            "/orchestrator/live/stable",
        ]
        threads = [
            threading.Thread(
                target=load, args=(server.url, paths[i % len(paths)], stop, outcomes, failures)
            )
            for i in range(LOAD_THREADS)
        ]
        for thread in threads:
            thread.start()
        try:
            with httpx.Client(base_url=server.url, timeout=10) as admin:
                for k in range(1, RELOADS + 1):
                    before = sum(outcomes.values())
                    write_config(tmp_path, version(k))
                    reload = admin.post("/admin/reload")
                    assert reload.status_code == 200, reload.text
                    assert reload.json()["generation"] == k + 1
                    # visible right away: changed, added, removed
                    assert admin.get("/orchestrator/live/changed").json() == {"version": k}
                    assert admin.get(f"/orchestrator/live/added_{k}").json() == {"added": k}
                    assert admin.get(f"/orchestrator/live/added_{k - 1}").status_code == 404
                    docs = admin.get("/openapi.json").json()["paths"]
                    assert (
                        f"/orchestrator/live/added_{k}" in docs
                        and f"/orchestrator/live/added_{k - 1}" not in docs
                    )
                    # let the load run across this config before the next swap (bounded wait)
                    waited = time.monotonic() + 5
                    while sum(outcomes.values()) < before + 10 and time.monotonic() < waited:
                        time.sleep(0.01)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        assert failures == []
        assert (
            outcomes["/orchestrator/live/stable"] >= 10 * RELOADS
            and outcomes["/orchestrator/live/slow"] >= RELOADS
        )
        state = httpx.get(f"{server.url}/admin/config", timeout=10).json()
        assert state["generation"] == RELOADS + 1 and state["last_reload_error"] is None
        server.call(service.observability.reloader.drain)
    starts = [n for event, n, _ in tracked_source.EVENTS if event == "start"]
    closes = [n for event, n, _ in tracked_source.EVENTS if event == "close"]
    assert len(starts) == RELOADS + 1 and sorted(closes) == sorted(
        starts
    )  # each started once, all closed
