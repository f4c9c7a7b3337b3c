"""An invalid config written while serving: the old config keeps answering, and the admin API and
the log name the file and line. The file watcher (`reload.watch`) applies and refuses alike."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from orkestra.service import Orkestra
from tests.support.configs import write_config
from tests.tracking.live_server import live_server

GOOD = """
domain_id: shop
endpoints:
  hello:
    method: get
    endpoint_type: direct
    response: {greeting: "hello"}
"""

BAD_EXPRESSION = """
domain_id: shop
endpoints:
  hello:
    method: get
    data_sources:
      - name: d
        type: direct
        condition: "$request.query_params.name == "
        params: {greeting: hello}
"""  # the broken expression is on line 8

BAD_YAML = """
domain_id: shop
endpoints:
  hello:
    method: get
    response: [unclosed
"""


def eventually(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize(
    ("text", "line"), [(BAD_EXPRESSION, 8), (BAD_YAML, None)], ids=["expression", "yaml"]
)
async def test_invalid_config_keeps_the_old_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, line: int | None
) -> None:
    config = write_config(tmp_path, {"domains/shop.yaml": GOOD})
    async with (
        Orkestra(config) as service,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://t"
        ) as client,
    ):
        write_config(tmp_path, {"domains/shop.yaml": text})
        with caplog.at_level(logging.ERROR, logger="orkestra.reload"):
            refused = await client.post("/admin/reload")
        assert refused.status_code == 422
        problem = refused.json()["problems"][0]
        assert problem["file"] == "domains/shop.yaml"
        if line is not None:
            assert problem["line"] == line and problem["key"].endswith("data_sources[0].condition")
        else:
            assert isinstance(problem["line"], int)  # where the YAML parser gave up
        where = f"domains/shop.yaml:{problem['line']}"
        assert where in problem["text"]
        assert any(where in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)

        # still serving the old config
        assert (await client.get("/orchestrator/shop/hello")).json() == {"greeting": "hello"}
        state = (await client.get("/admin/config")).json()
        assert state["generation"] == 1
        assert state["last_reload_error"]["problems"][0]["text"] == problem["text"]

        write_config(tmp_path, {"domains/shop.yaml": GOOD.replace('"hello"}', '"hi"}')})
        assert (await client.post("/admin/reload")).status_code == 200
        assert (await client.get("/orchestrator/shop/hello")).json() == {"greeting": "hi"}
        state = (await client.get("/admin/config")).json()
        assert state["generation"] == 2 and state["last_reload_error"] is None


def test_file_watcher_applies_and_refuses(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "config.yaml": "reload:\n  watch: true\n  debounce: 0.05\n",
            "domains/shop.yaml": GOOD,
        },
    )
    with (
        live_server(Orkestra(config).app) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        assert client.get("/admin/config").json()["watching"] is True
        added = (
            GOOD
            + "  added:\n    method: get\n    endpoint_type: direct\n    response: {added: true}\n"
        )
        (config / "domains" / "shop.yaml").write_text(added.lstrip("\n"))
        eventually(
            lambda: client.get("/orchestrator/shop/added").status_code == 200,
            "the watcher to add /added",
        )

        (config / "domains" / "shop.yaml").write_text(BAD_EXPRESSION.lstrip("\n"))
        error = eventually(
            lambda: client.get("/admin/config").json()["last_reload_error"], "the refused reload"
        )
        assert error["trigger"] == "file change"
        assert (
            error["problems"][0]["file"] == "domains/shop.yaml"
            and error["problems"][0]["line"] == 8
        )
        assert client.get("/orchestrator/shop/added").json() == {
            "added": True
        }  # the last good config serves

        (config / "domains" / "shop.yaml").write_text(GOOD.lstrip("\n"))
        eventually(
            lambda: client.get("/orchestrator/shop/added").status_code == 404, "the fixed config"
        )
        (config / "config.yaml").write_text("reload:\n  watch: false\n")
        eventually(
            lambda: client.get("/admin/config").json()["watching"] is False, "the watcher to stop"
        )


async def test_config_refused_while_building_its_app_changes_nothing(tmp_path: Path) -> None:
    """Scopes without any auth configured: the reload is refused while the config is validated,
    before any of its sources starts."""
    from tests.reload.tracked_source import EVENTS

    EVENTS.clear()
    config = write_config(tmp_path, {"domains/shop.yaml": GOOD})
    async with (
        Orkestra(config) as service,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.app), base_url="http://t"
        ) as client,
    ):
        write_config(
            tmp_path,
            {
                "integrations/tracked.yaml": "tracked: {label: new}\n",
                "domains/shop.yaml": GOOD
                + "  guarded:\n    method: get\n    auth: {scopes: [ops]}\n"
                "    data_sources:\n      - {name: t, type: tracked}\n",
            },
        )
        refused = await client.post("/admin/reload")
        assert refused.status_code == 422
        problem = refused.json()["problems"][0]
        assert problem["file"] == "domains/shop.yaml" and "auth" in problem["key"]
        assert (await client.get("/orchestrator/shop/hello")).json() == {"greeting": "hello"}
        assert (await client.get("/orchestrator/shop/guarded")).status_code == 404
        assert [event for event, _n, _label in EVENTS] == []  # refused before anything started
