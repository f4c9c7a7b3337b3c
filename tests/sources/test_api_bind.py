"""Config problems of api sources are found when the config loads: bind and the section models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from orkestra.config.models import DataSourceSpec
from orkestra.errors import BindError
from orkestra.sources.api import ApiSection, ApiSourceType
from orkestra.sources.base import SourceEnvironment
from orkestra.sources.registry import get_source_type

SECRET = "Bearer-s3cret-from-env"

SOURCES: dict[str, Any] = {
    "weather_api": {
        "base_url": "https://api.example.com/v1",
        "headers": {"Authorization": SECRET},
        "operations": {
            "current": {"path": "/weather/{city}", "params": {"units": "metric"}},
            "forecast": {"path": "/forecast", "params": {"city": "{city}"}},
            "demo": {"path": "/demo", "mock": True},
        },
    },
    "crm": {"base_url": "http://crm.internal:8080", "operations": {"get": {"path": "/c/{id}"}}},
}


def api(sources: dict[str, Any] = SOURCES) -> ApiSourceType:
    section = ApiSection.model_validate({"sources": sources})
    return ApiSourceType(
        section, SourceEnvironment(config_dir=Path("."), secrets=frozenset({SECRET}))
    )


def spec(source_id: str, operation: str | None, params: Any = None) -> DataSourceSpec:
    return DataSourceSpec.model_validate(
        {
            "name": "ds",
            "type": "api",
            "source_id": source_id,
            "operation": operation,
            "params": params,
        }
    )


def test_registry_knows_the_api_type() -> None:
    assert get_source_type("api") is ApiSourceType
    assert ApiSourceType.type_name == "api"
    assert ApiSourceType.section_model is ApiSection


def test_unknown_source_id_lists_the_known_ones() -> None:
    with pytest.raises(BindError) as info:
        api().bind(spec("wether_api", "current", {"city": "Paris"}))
    assert info.value.key == "source_id"
    assert "unknown api source 'wether_api'" in str(info.value)
    assert "crm, weather_api" in str(info.value)


def test_missing_or_unknown_operation() -> None:
    with pytest.raises(BindError) as missing:
        api().bind(spec("weather_api", None))
    assert missing.value.key == "operation"
    with pytest.raises(BindError) as unknown:
        api().bind(spec("weather_api", "currnet", {"city": "Paris"}))
    assert unknown.value.key == "operation"
    assert "no operation 'currnet' (known: current, demo, forecast)" in str(unknown.value)


def test_path_placeholders_must_be_in_the_params() -> None:
    source = api()
    with pytest.raises(BindError) as info:
        source.bind(spec("weather_api", "current", {"town": "Paris"}))
    assert info.value.key == "params"
    assert "fills its path with city" in str(info.value)
    with pytest.raises(BindError):
        source.bind(spec("weather_api", "current", None))
    # One expression: its keys are known only when it runs, so bind accepts it.
    source.bind(spec("weather_api", "current", "$request.body"))
    # Query placeholders are optional (a missing value leaves the parameter out).
    source.bind(spec("weather_api", "forecast", {}))


def test_mock_needs_a_mock_response() -> None:
    with pytest.raises(BindError) as info:
        api().bind(spec("weather_api", "demo"))
    assert "mock mode but has no mock_response" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Bad Name": "x"}, "not a valid HTTP header name"),
        ({"X-Auth": SECRET + "\r\nX-Injected: 1"}, "line break"),
    ],
)
def test_invalid_static_headers_fail_at_bind(headers: dict[str, str], expected: str) -> None:
    sources = {
        "s": {"base_url": "http://h", "headers": headers, "operations": {"o": {"path": "/"}}}
    }
    with pytest.raises(BindError) as info:
        api(sources).bind(spec("s", "o"))
    assert info.value.key == "operation"
    assert expected in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://files.example.com",
        "api.example.com/v1",
        "https://",
        "https://api.example.com/v1?key=" + SECRET,
        "https://api.example.com:99999",
        f"https://user:{SECRET}@api.example.com",
    ],
)
def test_base_url_must_be_an_http_origin(base_url: str) -> None:
    with pytest.raises(ValidationError) as info:
        ApiSection.model_validate({"sources": {"s": {"base_url": base_url}}})
    errors = info.value.errors()
    assert [e["loc"][-1] for e in errors] == ["base_url"]
    # The loader shows `msg` with file:line; the value itself (maybe from ${ENV}) is not in it.
    assert SECRET not in errors[0]["msg"]


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ({"path": "http://evil.example/x"}, "a path, not a URL"),
        ({"path": "//evil.example/x"}, "a path, not a URL"),
        ({"path": "/x#frag"}, "fragment"),
        ({"method": "FETCH"}, "expected one of GET"),
        ({"timeout": 0}, "greater than 0"),
    ],
)
def test_operation_config_is_validated(operation: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        ApiSection.model_validate(
            {"sources": {"s": {"base_url": "http://h", "operations": {"o": operation}}}}
        )
    assert expected in str(info.value)


def test_defaults_follow_the_spec() -> None:
    section = ApiSection.model_validate(
        {"sources": {"s": {"base_url": "http://h", "operations": {"o": {"path": "/x"}}}}}
    )
    source = section.sources["s"]
    assert (source.timeout, source.retry_count, source.follow_redirects, source.mock) == (
        30.0,
        0,
        False,
        False,
    )
    assert source.verify_ssl is True
    assert source.operations["o"].method == "GET"
