"""The timeline page in headless Chromium (Debian `chromium`, see scripts/chromium-up.sh), served by
a real uvicorn: three parallel sources draw three overlapping bars, a chain draws them in sequence.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.tracking.live_server import LiveServer, live_server

CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SECRET = "tok-timeline-5ec7e7"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian chromium: scripts/chromium-up.sh"
)

FILES = {
    "integrations/memory.yaml": """
        memory:
          sources:
            default:
              operations:
                slow: {delay: 0.3}
                step: {delay: 0.15}
                down: {delay: 0.05, error: "refused by backend"}
        """,
    "integrations/api.yaml": """
        api:
          sources:
            partner:
              base_url: "http://127.0.0.1:9/nowhere"
              headers: {Authorization: "Bearer ${PARTNER_TOKEN}"}
              operations:
                get: {path: /x}
        """,
    "domains/board.yaml": """
        domain_id: board
        endpoints:
          parallel:
            method: get
            data_sources:
              - {name: alpha, type: memory, operation: slow, params: {n: 1}}
              - {name: beta, type: memory, operation: slow, params: {n: 2}}
              - {name: gamma, type: memory, operation: slow, params: {n: 3}}
          chain:
            method: get
            data_sources:
              - {name: first, type: memory, operation: step, params: {n: 1}}
              - {name: second, type: memory, operation: step, params: {after: "$first.n"}}
              - {name: third, type: memory, operation: step, params: {after: "$second.after"}}
              - {name: audit, type: memory, operation: down, params: {n: "$third.after"}, on_error: skip}
          partner:
            method: get
            data_sources:
              - {name: remote, type: api, source_id: partner, operation: get, timeout: 2}
        """,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    mp = pytest.MonkeyPatch()
    mp.setenv("PARTNER_TOKEN", SECRET)
    service = Orkestra(write_config(tmp_path_factory.mktemp("timeline"), FILES))
    with live_server(service.app) as live:
        yield live
    mp.undo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield chromium
        chromium.close()


def bars(page: Any, execution_id: str) -> dict[str, dict[str, float]]:
    page.wait_for_selector(f'.waterfall[data-execution="{execution_id}"] .bar', timeout=10_000)
    found: dict[str, dict[str, float]] = {}
    for bar in page.query_selector_all(f'.waterfall[data-execution="{execution_id}"] .bar'):
        box = bar.bounding_box()
        assert box is not None
        found[bar.get_attribute("data-source")] = {
            "left": box["x"],
            "right": box["x"] + box["width"],
            "width": box["width"],
        }
    return found


def open_execution(
    browser: Any, server: LiveServer, path: str, shot: str
) -> tuple[Any, dict[str, dict[str, float]], str]:
    resp = httpx.get(f"{server.url}{path}", timeout=10)
    execution_id = resp.headers["x-orkestra-execution-id"]
    page = browser.new_page(viewport={"width": 1280, "height": 560})
    page.goto(f"{server.url}/timeline#id={execution_id}")
    found = bars(page, execution_id)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return page, found, execution_id


def test_parallel_sources_draw_overlapping_bars(browser: Any, server: LiveServer) -> None:
    page, found, _ = open_execution(
        browser, server, "/orchestrator/board/parallel", "timeline-parallel.png"
    )
    assert set(found) == {"alpha", "beta", "gamma"}
    latest_start = max(b["left"] for b in found.values())
    earliest_end = min(b["right"] for b in found.values())
    # all three are on screen at the same time: their horizontal extents share an interval that is
    # most of each bar (they slept 300 ms concurrently)
    assert earliest_end - latest_start > 0.8 * min(b["width"] for b in found.values())
    assert (ARTIFACTS / "timeline-parallel.png").stat().st_size > 10_000
    page.close()


def test_chain_draws_bars_in_sequence(browser: Any, server: LiveServer) -> None:
    page, found, execution_id = open_execution(
        browser, server, "/orchestrator/board/chain", "timeline-chain.png"
    )
    order = ["first", "second", "third", "audit"]
    assert set(found) == set(order)
    for before, after in itertools.pairwise(order):
        assert found[after]["left"] >= found[before]["right"] - 2, (before, after, found)
    audit = page.query_selector(
        f'.waterfall[data-execution="{execution_id}"] .bar[data-source="audit"]'
    )
    assert audit is not None and audit.get_attribute("data-status") == "failed"
    assert "refused by backend" in audit.inner_text()
    page.close()


def test_list_refreshes_as_requests_arrive(browser: Any, server: LiveServer) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}/timeline")
    page.wait_for_selector("body[data-ready=true]", timeout=10_000)
    new_id = httpx.get(f"{server.url}/orchestrator/board/parallel", timeout=10).headers[
        "x-orkestra-execution-id"
    ]
    page.wait_for_selector(
        f'#list tr[data-execution="{new_id}"]', timeout=10_000
    )  # polled, no reload
    page.wait_for_selector(
        f'.waterfall[data-execution="{new_id}"]', timeout=10_000
    )  # follows the newest
    page.close()


def test_secret_header_never_reaches_the_page(browser: Any, server: LiveServer) -> None:
    failed = httpx.get(f"{server.url}/orchestrator/board/partner", timeout=10)
    assert failed.status_code in (502, 504)
    page, _found, execution_id = open_execution(
        browser, server, "/orchestrator/board/partner", "timeline-failed.png"
    )
    content = page.content()
    assert execution_id in content and "remote" in content
    assert SECRET not in content
    assert SECRET not in httpx.get(f"{server.url}/executions?limit=500", timeout=10).text
    page.close()
