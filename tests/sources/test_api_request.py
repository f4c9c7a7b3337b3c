"""Templates and request building of the api source, without a network: properties of the URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orkestra.http_client import encode_query
from orkestra.sources.api.config import ApiOperationConfig, ApiSourceConfig
from orkestra.sources.api.request import RequestBuilder, RequestBuildError
from orkestra.sources.api.templates import as_text, compile_text, compile_value

BASE = "https://api.example.com:8443/v1"


def builder(path: str, **operation: Any) -> RequestBuilder:
    return RequestBuilder(
        ApiSourceConfig.model_validate({"base_url": BASE}),
        ApiOperationConfig.model_validate({"path": path, **operation}),
    )


segment_values = st.text(min_size=1).filter(lambda v: v not in (".", ".."))


@given(value=segment_values)
def test_a_path_value_is_one_segment_of_the_configured_origin(value: str) -> None:
    call = builder("/items/{id}/detail").build({"id": value}, {})
    parts = urlsplit(call.url)
    assert (parts.scheme, parts.netloc) == ("https", "api.example.com:8443")
    assert parts.query == "" and parts.fragment == ""
    segments = parts.path.split("/")
    assert segments[:3] == ["", "v1", "items"] and segments[4:] == ["detail"]
    assert unquote(segments[3], errors="strict") == value
    assert set(segments[3]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"
    )


@given(values=st.dictionaries(st.text(min_size=1), st.text(), max_size=5))
def test_query_values_round_trip(values: dict[str, str]) -> None:
    decoded = parse_qs(encode_query(dict(values)), keep_blank_values=True, errors="strict")
    assert decoded == {key: [value] for key, value in values.items()}


def test_whole_placeholder_keeps_the_type_and_text_interpolates() -> None:
    template = compile_value({"n": "{n}", "s": "n={n}", "d": "{d}", "missing": "{nope}", "k": 3})
    rendered = template.render({"n": 5, "d": {"a": [1]}})
    assert rendered == {"n": 5, "s": "n=5", "d": {"a": [1]}, "missing": None, "k": 3}
    assert template.names == {"n", "d", "nope"}


@pytest.mark.parametrize("text", ['{"a": 1}', "{ a }", "{1a}", "{}", "{a-b}"])
def test_text_that_is_not_a_placeholder_stays_literal(text: str) -> None:
    template = compile_text(text)
    assert template.names == frozenset()
    assert template.render({"a": "X"}) == text


def test_values_as_text() -> None:
    assert [as_text(v) for v in (None, True, False, 3, 2.5, "s", [1, "a"], {"k": None})] == [
        "",
        "true",
        "false",
        "3",
        "2.5",
        "s",
        '[1,"a"]',
        '{"k":null}',
    ]


def test_non_object_params_cannot_fill_placeholders() -> None:
    with pytest.raises(RequestBuildError, match="params must be an object"):
        builder("/items/{id}").build([1, 2], {})
    with pytest.raises(RequestBuildError, match="needs its params as an object"):
        builder("/items").build([1, 2], {})


def test_a_list_is_the_body_of_a_post() -> None:
    call = builder("/batch", method="post").build([{"id": 1}, {"id": 2}], {})
    assert call.body == [{"id": 1}, {"id": 2}]
    assert call.query == {}


def test_config_path_text_is_escaped_only_where_a_url_cannot_hold_it() -> None:
    call = builder("/a b/é/x:y@z;v=1/{id}").build({"id": "q"}, {})
    assert urlsplit(call.url).path == "/v1/a%20b/%C3%A9/x:y@z;v=1/q"
