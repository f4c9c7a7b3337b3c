"""orkestra.http_client against the real loopback backend."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import orjson
import pytest

from orkestra.http_client import (
    HttpClient,
    HttpResponse,
    HttpTimeout,
    HttpTransportError,
    QueryValue,
    close_shared_client,
    encode_query,
    shared_client,
)
from tests.support.http_backend import HttpBackend
from tests.support.http_backend import http_backend as http_backend_server

pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    c = HttpClient()
    yield c
    await c.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_get_sends_query_values_each_as_one_value(
    client: HttpClient, http_backend: HttpBackend
) -> None:
    params: dict[str, QueryValue | list[QueryValue]] = {
        "q": "a&b=c#d+e f",
        "unicode": "é/?",
        "flag": True,
        "missing": None,
        "n": 3,
        "many": ["x", "y"],
    }
    resp = await client.request("get", f"{http_backend.url}/echo", params=params)
    assert resp.status == 200
    echoed = resp.json()
    assert echoed["query"] == {
        "q": ["a&b=c#d+e f"],
        "unicode": ["é/?"],
        "flag": ["true"],
        "n": ["3"],
        "many": ["x", "y"],
    }
    assert http_backend.calls("/echo") == 1


async def test_url_is_sent_byte_for_byte(client: HttpClient, http_backend: HttpBackend) -> None:
    # An encoded slash stays one segment and encoded dots are not folded into '..'.
    await client.request("GET", f"{http_backend.url}/echo/a%2Fb/%2E%2E/c")
    assert http_backend.last().raw_path == "/echo/a%2Fb/%2E%2E/c"


async def test_characters_illegal_in_a_url_are_escaped(
    client: HttpClient, http_backend: HttpBackend
) -> None:
    await client.request("GET", f"{http_backend.url}/echo/a b/é")
    assert http_backend.last().raw_path == "/echo/a%20b/%C3%A9"


async def test_post_json_body_and_headers(client: HttpClient, http_backend: HttpBackend) -> None:
    resp = await client.request(
        "POST", f"{http_backend.url}/echo", json={"k": [1, 2]}, headers={"X-Trace": "t1"}
    )
    echoed = resp.json()
    assert echoed["method"] == "POST"
    assert echoed["json"] == {"k": [1, 2]}
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["headers"]["X-Trace"] == "t1"


async def test_error_statuses_are_responses(client: HttpClient, http_backend: HttpBackend) -> None:
    for code in (404, 429, 503):
        resp = await client.request("GET", f"{http_backend.url}/status/{code}")
        assert resp.status == code
        assert resp.json() == {"status": code}


async def test_malformed_json_raises_on_parse(
    client: HttpClient, http_backend: HttpBackend
) -> None:
    resp = await client.request("GET", f"{http_backend.url}/malformed")
    assert resp.status == 200
    with pytest.raises(orjson.JSONDecodeError):
        resp.json()


def test_empty_body_is_none() -> None:
    assert HttpResponse(200, {}, b"").json() is None


async def test_reset_is_a_transport_error_not_a_timeout(
    client: HttpClient, http_backend: HttpBackend
) -> None:
    with pytest.raises(HttpTransportError) as info:
        await client.request("GET", f"{http_backend.url}/reset", timeout=5)
    assert not isinstance(info.value, HttpTimeout)
    # aiohttp resends an idempotent request once on a new connection when the connection drops
    # (RFC 9112 §9.3.1, the keep-alive race); a POST is never resent.
    assert http_backend.calls("/reset") == 2
    with pytest.raises(HttpTransportError):
        await client.request("POST", f"{http_backend.url}/reset", json={}, timeout=5)
    assert http_backend.calls("/reset") == 3


async def test_hang_times_out_within_the_timeout(
    client: HttpClient, http_backend: HttpBackend
) -> None:
    started = time.monotonic()
    with pytest.raises(HttpTimeout):
        await client.request("GET", f"{http_backend.url}/hang", timeout=0.3)
    assert time.monotonic() - started < 3  # coarse: bounded by the timeout, not by the server


async def test_connection_refused_message_leaves_out_credentials(client: HttpClient) -> None:
    url = f"http://user:pa55word@127.0.0.1:{_closed_port()}/x"
    with pytest.raises(HttpTransportError) as info:
        await client.request("GET", url, params={"token": "s3cr3t-token"}, timeout=5)
    message = str(info.value)
    assert "cannot connect" in message
    assert f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/x" in message
    assert "pa55word" not in message and "s3cr3t-token" not in message


async def test_redirects_are_not_followed_by_default(
    client: HttpClient, http_backend: HttpBackend
) -> None:
    resp = await client.request("GET", f"{http_backend.url}/redirect?to=/echo")
    assert resp.status == 302
    assert resp.headers["location"] == "/echo"
    assert http_backend.calls("/echo") == 0

    followed = await client.request(
        "GET", f"{http_backend.url}/redirect?to=/echo", follow_redirects=True
    )
    assert followed.status == 200
    assert http_backend.calls("/echo") == 1


async def test_requests_run_concurrently(client: HttpClient, http_backend: HttpBackend) -> None:
    started = time.monotonic()
    results = await asyncio.gather(
        *(client.request("GET", f"{http_backend.url}/delay/300") for _ in range(3))
    )
    assert [r.json() for r in results] == [{"delayed_ms": 300}] * 3
    assert time.monotonic() - started < 0.8  # coarse overlap check: serially it takes 0.9 s


def test_shared_client_is_per_event_loop(http_backend: HttpBackend) -> None:
    async def use() -> HttpClient:
        first = shared_client()
        assert shared_client() is first
        assert (await first.request("GET", f"{http_backend.url}/echo")).status == 200
        return first

    # Two loops in a row (as two tests get): the second must not reuse the first loop's session.
    one = asyncio.run(use())
    two = asyncio.run(use())
    assert one is not two
    assert http_backend.calls("/echo") == 2

    async def use_and_close() -> None:
        client = await use()
        await close_shared_client()
        assert shared_client() is not client
        await close_shared_client()

    asyncio.run(use_and_close())


def test_encode_query_encodes_every_reserved_character() -> None:
    assert encode_query({"a b": "x/y?z&w=v#+%"}) == "a%20b=x%2Fy%3Fz%26w%3Dv%23%2B%25"


async def test_a_response_larger_than_the_limit_is_refused(http_backend: HttpBackend) -> None:
    http_backend.set_json("big", "x" * 50_000)
    client = HttpClient(max_response_bytes=10_000)
    try:
        with pytest.raises(HttpTransportError, match="larger than the 10,000-byte limit"):
            await client.request("GET", f"{http_backend.url}/json/big")
        small = await client.request("GET", f"{http_backend.url}/status/404")
        assert small.json() == {"status": 404}  # the client still works after refusing one
    finally:
        await client.aclose()


async def test_a_chunked_response_is_bounded_too(http_backend: HttpBackend) -> None:
    client = HttpClient(max_response_bytes=10_000)
    try:
        small = await client.request("GET", f"{http_backend.url}/chunked/9000")
        assert small.json() == "x" * 8998
        with pytest.raises(HttpTransportError, match="larger than"):
            await client.request("GET", f"{http_backend.url}/chunked/50000")
    finally:
        await client.aclose()


async def test_cookies_are_not_carried_from_one_call_to_the_next(
    client: HttpClient, http_backend: HttpBackend
) -> None:
    # By host name: aiohttp's default jar ignores cookies of IP-address hosts anyway.
    by_name = f"http://localhost:{http_backend.port}"
    resp = await client.request("GET", f"{by_name}/cookie", params={"value": "user-a"})
    assert "session=user-a" in resp.headers["Set-Cookie"]
    await client.request("GET", f"{by_name}/echo")
    assert "Cookie" not in http_backend.last().headers


def test_the_test_backend_stops_promptly_with_a_request_hanging() -> None:
    # Other suites rely on this: a test that leaves a /hang request open must not stall teardown.
    with http_backend_server() as backend:
        sock = socket.create_connection(("127.0.0.1", backend.port), timeout=5)
        sock.sendall(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 5
        while backend.calls("/hang") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert backend.calls("/hang") == 1
        started = time.monotonic()
    assert time.monotonic() - started < 3
    with sock:
        try:
            answer = sock.recv(1024)
        except ConnectionResetError:
            answer = b""
        assert answer == b""  # dropped (reset) without an answer
