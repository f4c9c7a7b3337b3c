"""The `api` source type against the real loopback backend (tests/support/http_backend.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from orkestra.config.models import DataSourceSpec
from orkestra.errors import SourceError, SourceTimeout
from orkestra.http_client import close_shared_client
from orkestra.sources.api import ApiSection, ApiSourceType
from orkestra.sources.base import CallContext, Operation, SourceEnvironment
from tests.support.http_backend import HttpBackend

pytest_plugins = ["tests.support.fixtures"]

SECRET = "s3cret-T0KEN-value"
CTX = CallContext(execution_id="exec-1", source_name="weather")


@pytest.fixture(autouse=True)
async def _close_client() -> AsyncIterator[None]:
    yield
    await close_shared_client()


def api(sources: dict[str, Any], secrets: frozenset[str] = frozenset()) -> ApiSourceType:
    section = ApiSection.model_validate({"sources": sources})
    return ApiSourceType(section, SourceEnvironment(config_dir=Path("."), secrets=secrets))


def bind_one(
    base_url: str,
    operation: dict[str, Any],
    params: Any = None,
    *,
    source: dict[str, Any] | None = None,
    secrets: frozenset[str] = frozenset(),
) -> Operation:
    source_config = {"base_url": base_url, **(source or {}), "operations": {"op": operation}}
    spec = DataSourceSpec.model_validate(
        {"name": "weather", "type": "api", "source_id": "svc", "operation": "op", "params": params}
    )
    return api({"svc": source_config}, secrets).bind(spec)


async def test_path_placeholder_is_one_segment_whatever_the_value(
    http_backend: HttpBackend,
) -> None:
    op = bind_one(http_backend.url, {"path": "/echo/users/{id}/profile"}, {"id": "x"})
    hostile = {
        "../admin": "..%2Fadmin",
        "a/b": "a%2Fb",
        "http://evil": "http%3A%2F%2Fevil",
        "@evil.com": "%40evil.com",
        "%2e%2e": "%252e%252e",
        "a?b=c#d": "a%3Fb%3Dc%23d",
        "évé x": "%C3%A9v%C3%A9%20x",
        ":8080": "%3A8080",
    }
    for value, encoded in hostile.items():
        result = await op.call({"id": value}, CTX)
        assert result["raw_path"] == f"/echo/users/{encoded}/profile"
        assert result["path"] == f"/echo/users/{value}/profile"  # the server decodes it back
        assert result["headers"]["Host"] == urlsplit(http_backend.url).netloc
        assert result["query"] == {}
    assert len(http_backend.received) == len(hostile)


@pytest.mark.parametrize("value", ["..", ".", ""])
async def test_dot_segments_and_empty_values_are_refused(
    http_backend: HttpBackend, value: str
) -> None:
    op = bind_one(http_backend.url, {"path": "/echo/{id}"}, {"id": "x"})
    with pytest.raises(SourceError) as info:
        await op.call({"id": value}, CTX)
    assert "cannot build the request" in info.value.message
    assert info.value.retryable is False
    assert http_backend.received == []


async def test_base_url_path_is_kept_and_host_never_changes(http_backend: HttpBackend) -> None:
    op = bind_one(f"{http_backend.url}/echo/v1/", {"path": "items/{id}"}, {"id": "x"})
    result = await op.call({"id": "//evil.com"}, CTX)
    assert result["raw_path"] == "/echo/v1/items/%2F%2Fevil.com"
    assert result["headers"]["Host"] == urlsplit(http_backend.url).netloc


async def test_operation_params_define_the_query(http_backend: HttpBackend) -> None:
    operation = {
        "path": "/echo",
        "params": {"units": "metric", "city": "{city}", "limit": "{limit}", "page": "{page}"},
    }
    op = bind_one(http_backend.url, operation, {"city": "x"})
    result = await op.call({"city": "Zürich&admin=1#x", "limit": 5, "unused": "u"}, CTX)
    # `page` has no value: left out; `unused` is not in the query because params: is defined.
    assert result["query"] == {"units": ["metric"], "city": ["Zürich&admin=1#x"], "limit": ["5"]}
    assert result["method"] == "GET"


async def test_static_query_in_path_is_encoded_as_values(http_backend: HttpBackend) -> None:
    op = bind_one(http_backend.url, {"path": "/echo?kind={kind}&v=2"}, {"kind": "a"})
    result = await op.call({"kind": "a&b=c", "extra": "e"}, CTX)
    assert result["query"] == {"kind": ["a&b=c"], "v": ["2"], "extra": ["e"]}


async def test_unused_params_are_the_query_of_a_get(http_backend: HttpBackend) -> None:
    op = bind_one(http_backend.url, {"path": "/echo/{id}"}, {"id": "x"})
    result = await op.call({"id": "7", "q": "a b", "flag": False, "none": None}, CTX)
    assert result["raw_path"] == "/echo/7"
    assert result["query"] == {"q": ["a b"], "flag": ["false"]}
    assert result["json"] is None


async def test_unused_params_are_the_json_body_of_a_post(http_backend: HttpBackend) -> None:
    op = bind_one(http_backend.url, {"method": "post", "path": "/echo/{id}"}, {"id": "x"})
    result = await op.call({"id": "7", "amount": 12.5, "items": [1, 2]}, CTX)
    assert result["method"] == "POST"
    assert result["json"] == {"amount": 12.5, "items": [1, 2]}
    assert result["query"] == {}
    assert result["headers"]["Content-Type"] == "application/json"


async def test_body_template_keeps_types_of_whole_placeholders(http_backend: HttpBackend) -> None:
    operation = {
        "method": "put",
        "path": "/echo",
        "body": {
            "customer": "{customer}",
            "note": "id {id}!",
            "fixed": [1, {"k": "{id}"}],
            "n": None,
        },
    }
    op = bind_one(http_backend.url, operation, {})
    customer = {"id": 7, "tags": ["a"]}
    result = await op.call({"customer": customer, "id": 7}, CTX)
    assert result["json"] == {
        "customer": customer,
        "note": "id 7!",
        "fixed": [1, {"k": 7}],
        "n": None,
    }


async def test_headers_are_templated_and_merged_with_trace_context(
    http_backend: HttpBackend,
) -> None:
    source = {"headers": {"Authorization": f"Bearer {SECRET}", "X-Team": "risk"}}
    operation = {
        "path": "/echo",
        "headers": {"X-User": "{user}", "x-team": "scoring", "X-Opt": "{opt}"},
    }
    op = bind_one(http_backend.url, operation, {}, source=source)
    ctx = CallContext(
        execution_id="e",
        source_name="weather",
        headers={"traceparent": "00-abc-def-01", "x-team": "from-trace"},
    )
    result = await op.call({"user": 42}, ctx)
    headers = result["headers"]
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert headers["X-User"] == "42"
    assert headers["x-team"] == "scoring"  # operation over source over trace context
    assert "X-Team" not in headers  # names are case-insensitive: one header, not two
    assert headers["traceparent"] == "00-abc-def-01"
    assert "X-Opt" not in headers  # a whole placeholder without a value leaves the header out


@pytest.mark.parametrize("value", ["x\r\nX-Injected: 1", "x\nX-Injected: 1", "x\rY", "a\x00b"])
async def test_header_injection_is_refused(http_backend: HttpBackend, value: str) -> None:
    op = bind_one(http_backend.url, {"path": "/echo", "headers": {"X-User": "{user}"}}, {})
    with pytest.raises(SourceError) as info:
        await op.call({"user": value}, CTX)
    assert "header 'X-User'" in info.value.message
    assert value not in str(info.value)
    assert http_backend.received == []


async def test_mock_returns_the_mock_response_without_calling(http_backend: HttpBackend) -> None:
    canned = {"temperature": 21, "city": "Paris"}
    op = bind_one(
        http_backend.url, {"path": "/echo", "mock_response": canned}, {}, source={"mock": True}
    )
    first = await op.call({}, CTX)
    first["temperature"] = 0  # a caller editing the result must not change the next one
    assert await op.call({}, CTX) == canned
    live = bind_one(
        http_backend.url,
        {"path": "/echo", "mock": False, "mock_response": canned},
        {},
        source={"mock": True},
    )
    assert (await live.call({}, CTX))["path"] == "/echo"  # the operation's `mock` wins
    assert http_backend.calls("/echo") == 1


async def test_json_results(http_backend: HttpBackend) -> None:
    http_backend.set_json("forecast", [{"day": 1, "t": 20.5}, {"day": 2, "t": None}])
    op = bind_one(http_backend.url, {"path": "/json/{name}"}, {"name": "x"})
    assert await op.call({"name": "forecast"}, CTX) == [
        {"day": 1, "t": 20.5},
        {"day": 2, "t": None},
    ]


@pytest.mark.parametrize(
    ("code", "retryable"), [(400, False), (404, False), (429, True), (503, True)]
)
async def test_error_status_names_source_operation_and_status(
    http_backend: HttpBackend, code: int, retryable: bool
) -> None:
    op = bind_one(http_backend.url, {"path": "/status/{code}"}, {"code": 1})
    with pytest.raises(SourceError) as info:
        await op.call({"code": code}, CTX)
    error = info.value
    assert not isinstance(error, SourceTimeout)
    assert error.source == "weather" and error.status == 502
    assert f"api 'svc' operation 'op' (GET /status/{{code}}) answered {code} " in error.message
    assert error.retryable is retryable


async def test_error_body_excerpt_is_short_and_redacted(http_backend: HttpBackend) -> None:
    # The backend's error body repeats the request, Authorization header included.
    source = {"headers": {"Authorization": f"Bearer {SECRET}", "X-Padding": "p" * 500}}
    op = bind_one(
        http_backend.url,
        {"path": "/status/401", "params": {"echo": "1"}},
        {},
        source=source,
        secrets=frozenset({SECRET}),
    )
    with pytest.raises(SourceError) as info:
        await op.call({}, CTX)
    message = str(info.value)
    assert "answered 401 Unauthorized" in message
    assert SECRET not in message
    assert len(message) < 400


async def test_malformed_json_is_a_source_error(http_backend: HttpBackend) -> None:
    op = bind_one(http_backend.url, {"path": "/malformed"})
    with pytest.raises(SourceError) as info:
        await op.call({}, CTX)
    assert "returned invalid JSON" in info.value.message
    assert info.value.retryable is False


async def test_reset_is_a_retryable_source_error(http_backend: HttpBackend) -> None:
    op = bind_one(http_backend.url, {"path": "/reset"})
    with pytest.raises(SourceError) as info:
        await op.call({}, CTX)
    assert not isinstance(info.value, SourceTimeout)
    assert "api 'svc' operation 'op'" in info.value.message
    assert info.value.retryable is True


async def test_hang_is_a_source_timeout_within_the_call_timeout(http_backend: HttpBackend) -> None:
    op = bind_one(http_backend.url, {"path": "/hang"}, source={"timeout": 30})
    started = time.monotonic()
    with pytest.raises(SourceTimeout) as info:
        await op.call({}, CallContext(execution_id="e", source_name="weather", timeout=0.3))
    assert time.monotonic() - started < 3  # the context's 0.3 s, not the source's 30 s
    assert info.value.status == 504
    assert "did not answer within 0.3s" in info.value.message


async def test_configured_timeout_applies_without_a_context_timeout(
    http_backend: HttpBackend,
) -> None:
    op = bind_one(http_backend.url, {"path": "/delay/{ms}", "timeout": 0.2}, {"ms": 1})
    assert op.timeout == 0.2
    assert await op.call({"ms": 10}, CTX) == {"delayed_ms": 10}
    with pytest.raises(SourceTimeout):
        await op.call({"ms": 2000}, CTX)


async def test_redirects_are_not_followed_unless_configured(http_backend: HttpBackend) -> None:
    operation = {"path": "/redirect", "params": {"to": "/echo"}}
    op = bind_one(http_backend.url, operation)
    with pytest.raises(SourceError) as info:
        await op.call({}, CTX)
    assert "302 Found, a redirect" in info.value.message
    assert http_backend.calls("/echo") == 0
    following = bind_one(http_backend.url, operation, source={"follow_redirects": True})
    assert (await following.call({}, CTX))["path"] == "/echo"
    assert http_backend.calls("/echo") == 1


async def test_secrets_never_appear_in_transport_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    op = bind_one(
        f"http://127.0.0.1:{closed_port}",
        {"path": f"/v1/{SECRET}/items", "params": {"key": SECRET}},
        source={"headers": {"Authorization": f"Bearer {SECRET}"}},
        secrets=frozenset({SECRET}),
    )
    with pytest.raises(SourceError) as info:
        await op.call({}, CTX)
    assert "cannot connect" in str(info.value)
    assert SECRET not in str(info.value)
    assert "/v1/***/items" in str(info.value)


def test_retry_and_idempotence_settings() -> None:
    url = "http://127.0.0.1:1"
    get = bind_one(url, {"path": "/x"}, source={"retry_count": 2})
    assert (get.retries, get.idempotent, get.timeout) == (2, True, 30.0)
    post = bind_one(url, {"method": "post", "path": "/x"}, source={"retry_count": 2, "timeout": 5})
    assert (post.retries, post.idempotent, post.timeout) == (2, False, 5.0)
    safe_post = bind_one(url, {"method": "POST", "idempotent": True, "retry_count": 0})
    assert (safe_post.retries, safe_post.idempotent) == (0, True)


async def test_no_content_is_none(http_backend: HttpBackend) -> None:
    no_content = bind_one(http_backend.url, {"method": "delete", "path": "/status/204"})
    assert await no_content.call({}, CTX) is None
    head = bind_one(http_backend.url, {"method": "head", "path": "/echo"})
    assert await head.call({}, CTX) is None
    assert [r.method for r in http_backend.received] == ["DELETE", "HEAD"]


async def test_tls_certificates_are_verified_unless_disabled(https_backend: HttpBackend) -> None:
    assert https_backend.url.startswith("https://")
    verified = bind_one(https_backend.url, {"path": "/echo"})
    with pytest.raises(SourceError) as info:
        await verified.call({}, CTX)
    assert "TLS certificate is not trusted" in info.value.message
    assert https_backend.received == []  # refused during the handshake: no request was sent
    unverified = bind_one(https_backend.url, {"path": "/echo"}, source={"verify_ssl": False})
    assert (await unverified.call({}, CTX))["path"] == "/echo"
