"""Feature-server mode against a real `feast serve` (and loopback servers that misbehave)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from orkestra.errors import SourceError, SourceTimeout
from orkestra.sources.feast import FeastSourceType
from tests.feast.feast_support import (
    REFS,
    FeastRepo,
    call_context,
    data_source,
    free_port,
    make_feast,
)

pytestmark = pytest.mark.feast

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def server_source(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "feature_server_url": url,
        "entity_key": "iris_id",
        "timeout": 5,
        "feature_services": {"iris_all": {"features": list(REFS)}},
        **extra,
    }


@asynccontextmanager
async def loopback(handler: Handler) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 answering every path with `handler`; yields its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def counting_proxy(target: str) -> AsyncIterator[tuple[str, Counter[str]]]:
    """Forwards to `target`, counting requests per path: how many calls reached Feast."""
    seen: Counter[str] = Counter()
    async with aiohttp.ClientSession() as session:

        async def forward(request: web.Request) -> web.Response:
            seen[request.path] += 1
            async with session.request(
                request.method,
                target + request.path_qs,
                data=await request.read(),
                headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
            ) as answer:
                return web.Response(
                    status=answer.status, body=await answer.read(), content_type=answer.content_type
                )

        async with loopback(forward) as url:
            yield url, seen


@pytest.fixture
async def server_type(
    sqlite_repo: FeastRepo, feature_server: str
) -> AsyncIterator[FeastSourceType]:
    source_type = make_feast(sqlite_repo.project_dir, {"iris": server_source(feature_server)})
    yield source_type
    await source_type.close()


async def test_values_equal_feast_sdk(sqlite_repo: FeastRepo, server_type: FeastSourceType) -> None:
    op = server_type.bind(data_source(operation="iris_all"))
    await server_type.start()
    ids = [0, 3, 145, 77]  # 145 is not in Feast

    rows = await op.call({"iris_id": ids}, call_context())

    assert [row["iris_id"] for row in rows] == ids
    assert [{ref: row[ref] for ref in REFS} for row in rows] == sqlite_repo.expected(ids)
    assert rows[2] == {"iris_id": 145, **{ref: None for ref in REFS}}
    assert await op.call(3, call_context()) == rows[1]


async def test_registry_feature_service_is_resolved_by_the_server(
    sqlite_repo: FeastRepo, server_type: FeastSourceType
) -> None:
    op = server_type.bind(data_source(operation="iris_petals"))  # only in the Feast registry
    await server_type.start()

    row = await op.call({"iris_id": 12}, call_context())

    expected = sqlite_repo.expected([12])[0]
    assert row == {
        "iris_id": 12,
        "iris:petal_length": expected["iris:petal_length"],
        "iris:petal_width": expected["iris:petal_width"],
    }


async def test_hundred_entities_are_one_request(
    sqlite_repo: FeastRepo, feature_server: str
) -> None:
    async with counting_proxy(feature_server) as (url, seen):
        source_type = make_feast(sqlite_repo.project_dir, {"iris": server_source(url)})
        op = source_type.bind(data_source(operation="iris_all"))
        await source_type.start()
        ids = list(range(100))

        rows = await op.call(ids, call_context())

        assert seen == Counter({"/get-online-features": 1})
        assert [{ref: row[ref] for ref in REFS} for row in rows] == sqlite_repo.expected(ids)
        await source_type.close()


async def test_feast_rejecting_the_request_is_a_source_error(
    sqlite_repo: FeastRepo, server_type: FeastSourceType
) -> None:
    op = server_type.bind(data_source(features=["iris:no_such_feature"]))
    await server_type.start()

    with pytest.raises(SourceError) as caught:
        await op.call(1, call_context())

    assert "feast source 'iris'" in caught.value.message
    assert caught.value.source == "features"
    assert "Traceback" not in caught.value.message


async def test_server_down_fails_fast_naming_the_source(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    source_type = make_feast(tmp_path, {"iris": server_source(url, timeout=2)})
    op = source_type.bind(data_source(operation="iris_all"))
    await source_type.start()

    async with asyncio.timeout(2):  # the configured timeout bounds the failure
        with pytest.raises(SourceError) as caught:
            await op.call(1, call_context())

    assert not isinstance(caught.value, SourceTimeout)
    assert caught.value.status == 502
    assert "feast source 'iris'" in caught.value.message
    assert "cannot connect" in caught.value.message


async def test_server_that_never_answers_times_out(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()  # answers only once the test is over
        return web.Response()

    async with loopback(hang) as url:
        source_type = make_feast(tmp_path, {"iris": server_source(url, timeout=0.3)})
        op = source_type.bind(data_source(operation="iris_all"))
        await source_type.start()
        async with asyncio.timeout(3):
            with pytest.raises(SourceTimeout) as caught:
                await op.call(1, call_context())
        release.set()
    assert caught.value.status == 504
    assert "0.3s" in caught.value.message


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (404, False)])
async def test_server_error_is_reported_without_secrets(
    tmp_path: Path, status: int, retryable: bool
) -> None:
    reached: list[str] = []

    async def broken(request: web.Request) -> web.Response:
        reached.append(request.path_qs)
        return web.json_response({"detail": "online store exploded"}, status=status)

    async with loopback(broken) as url:
        secret_url = url.replace("http://", "http://reader:hunter2secret@") + "/v1?token=tok-s3cret"
        source_type = make_feast(
            tmp_path,
            {"iris": server_source(secret_url)},
            secrets=frozenset({"hunter2secret", "tok-s3cret"}),
        )
        op = source_type.bind(data_source(operation="iris_all"))
        await source_type.start()
        with pytest.raises(SourceError) as caught:
            await op.call(1, call_context())
    assert reached == ["/v1/get-online-features?token=tok-s3cret"]
    message = str(caught.value)
    assert f"answered {status}" in message and "online store exploded" in message
    assert caught.value.retryable is retryable
    assert "hunter2secret" not in message and "tok-s3cret" not in message
