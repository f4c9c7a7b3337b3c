"""From an api operation's config and a data source's params to one HTTP request.

The rules that keep request data in its place:
- The scheme, host and port are base_url's, fixed when the config loads.
- A path placeholder becomes ONE path segment: everything outside RFC 3986's unreserved characters
  (`A-Z a-z 0-9 - . _ ~`) is percent-encoded, so `/`, `?`, `#`, `%`, `@`, `:` cannot change the
  path's shape; an empty value and the segments `.` / `..` are refused.
- A query value is one value (orkestra.http_client.encode_query encodes `&`, `=`, `#`, `+`).
- A header value with a line break or another control character is refused, never sent.

Params that no placeholder uses: when the operation has no `params:`, they are the query string of
a GET/DELETE/HEAD/OPTIONS; when it has no `body:`, they are the JSON body of a POST/PUT/PATCH.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from orkestra.http_client import QueryValue
from orkestra.sources.api.config import BODY_METHODS, ApiOperationConfig, ApiSourceConfig
from orkestra.sources.api.templates import (
    Placeholder,
    TextTemplate,
    as_text,
    compile_text,
    compile_value,
)

_UNRESERVED = "-._~"  # with letters and digits, which quote() never encodes
_PATH_LITERAL_SAFE = "/:@!$&'()*+,;=%" + _UNRESERVED
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

Query = dict[str, QueryValue | list[QueryValue]]


class RequestBuildError(ValueError):
    """The params cannot make a safe request (an empty path segment, a header line break, ...)."""


@dataclass(frozen=True)
class HttpCall:
    method: str
    url: str  # absolute and percent-encoded
    query: Query
    headers: dict[str, str]
    body: Any  # JSON-compatible; None: no body


class RequestBuilder:
    """One operation's request, compiled once; `build` fills it per call."""

    def __init__(self, source: ApiSourceConfig, operation: ApiOperationConfig) -> None:
        base = urlsplit(source.base_url)
        self.method = operation.method
        self._origin = f"{base.scheme}://{base.netloc}"
        path_text, _, query_text = operation.path.partition("?")
        joined = base.path.rstrip("/") + "/" + path_text.lstrip("/") if path_text else base.path
        self._path = _quote_literals(compile_text(joined or "/"))
        self._static_query = _quote_literals(compile_text(query_text))
        self._query = (
            {key: compile_value(value) for key, value in operation.params.items()}
            if operation.params is not None
            else None
        )
        self._headers = _compile_headers(_merge_headers(source.headers, operation.headers))
        self._body = compile_value(operation.body) if operation.body is not None else None
        self.path_names = self._path.names | self._static_query.names
        self.names = frozenset(
            self.path_names
            | {n for t in (self._query or {}).values() for n in t.names}
            | {n for t in self._headers.values() for n in t.names}
            | (self._body.names if self._body is not None else frozenset())
        )

    def build(self, params: Any, context_headers: Mapping[str, str]) -> HttpCall:
        if params is None:
            params = {}
        named: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
        if not isinstance(params, Mapping) and self.names:
            raise RequestBuildError(
                f"params must be an object that names {', '.join(sorted(self.names))}, "
                f"not {type(params).__name__}"
            )
        unused: Any = {k: v for k, v in named.items() if k not in self.names}
        if not isinstance(params, Mapping):
            unused = params  # a list or scalar: all of it is "unused"

        url = self._origin + self._render_path(named)
        if self._static_query.parts:
            url += "?" + self._static_query.render(named, _encode_component)

        if self._query is not None:
            query = {key: _query_value(t.render(named)) for key, t in self._query.items()}
        elif self.method not in BODY_METHODS and unused not in ({}, None):
            if not isinstance(unused, Mapping):
                raise RequestBuildError(
                    f"a {self.method} operation needs its params as an object (name: value)"
                )
            query = {key: _query_value(value) for key, value in unused.items()}
        else:
            query = {}

        if self._body is not None:
            body = self._body.render(named)
        elif self.method in BODY_METHODS and unused != {}:
            body = unused
        else:
            body = None

        return HttpCall(self.method, url, query, self._render_headers(named, context_headers), body)

    def _render_path(self, params: Mapping[str, Any]) -> str:
        path = self._path.render(params, _encode_segment)
        if any(segment in (".", "..") for segment in path.split("/")):
            raise RequestBuildError("the path would contain a '.' or '..' segment")
        return path

    def _render_headers(
        self, params: Mapping[str, Any], context_headers: Mapping[str, str]
    ) -> dict[str, str]:
        # Trace-context headers first, so the configured ones win on a clash (case-insensitive).
        configured = {name.lower() for name in self._headers}
        out = {
            name: value for name, value in context_headers.items() if name.lower() not in configured
        }
        for name, template in self._headers.items():
            value = template.value(params)
            if value is None:  # "{token}" with no token: the header is left out
                continue
            text = template.render(params)
            _check_header_value(name, text)
            out[name] = text
        return out


def _quote_literals(template: TextTemplate) -> TextTemplate:
    # The config's own text only gets what cannot be in a URL escaped (spaces, non-ASCII).
    return TextTemplate(
        tuple(
            p if isinstance(p, Placeholder) else quote(p, safe=_PATH_LITERAL_SAFE)
            for p in template.parts
        )
    )


def _encode_segment(name: str, text: str) -> str:
    if text == "":
        raise RequestBuildError(f"path parameter '{name}' is empty or missing")
    return quote(text, safe=_UNRESERVED)


def _encode_component(name: str, text: str) -> str:
    return quote(text, safe=_UNRESERVED)


def _query_value(value: Any) -> QueryValue | list[QueryValue]:
    if isinstance(value, list):
        return [_query_scalar(item) for item in value]
    return _query_scalar(value)


def _query_scalar(value: Any) -> QueryValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return orjson.dumps(value).decode()  # an object in a query string: its JSON text


def _merge_headers(source: Mapping[str, Any], operation: Mapping[str, Any]) -> dict[str, Any]:
    # Header names are case-insensitive: the operation's `x-team` replaces the source's `X-Team`.
    overridden = {name.lower() for name in operation}
    return {
        **{name: value for name, value in source.items() if name.lower() not in overridden},
        **operation,
    }


def _compile_headers(headers: Mapping[str, Any]) -> dict[str, TextTemplate]:
    compiled: dict[str, TextTemplate] = {}
    for name, value in headers.items():
        if not name or not set(name) <= _TOKEN_CHARS:
            raise ValueError(f"'{name}' is not a valid HTTP header name")
        text = value if isinstance(value, str) else as_text(value)
        template = compile_text(text)
        if not template.names:
            _check_header_value(name, text)
        compiled[name] = template
    return compiled


def _check_header_value(name: str, text: str) -> None:
    # A CR or LF would end the header and start another one (header injection); other control
    # characters are invalid in a field value (RFC 9110 §5.5). Values are sent as Latin-1.
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in text):
        raise RequestBuildError(f"header '{name}' value contains a line break or control character")
    if any(ord(c) > 0xFF for c in text):
        raise RequestBuildError(
            f"header '{name}' value has characters that HTTP headers cannot carry"
        )
