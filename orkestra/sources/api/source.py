"""`api`: a data source that calls a configured HTTP API (SPEC §3) through the shared client.

One attempt per call: the engine retries, using `Operation.retries` (from `retry_count`) and
`Operation.idempotent`, and the `retryable` flag of the SourceError raised here (a 4xx or a
redirect is not retryable; a 5xx, a 429, a reset or a timeout is).
"""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

from orkestra.errors import BindError, SourceError, SourceTimeout
from orkestra.http_client import HttpResponse, HttpTimeout, HttpTransportError, shared_client
from orkestra.secrets import Redactor
from orkestra.sources.api.config import (
    IDEMPOTENT_METHODS,
    ApiOperationConfig,
    ApiSection,
    ApiSourceConfig,
)
from orkestra.sources.api.request import RequestBuilder, RequestBuildError
from orkestra.sources.base import (
    CallContext,
    Operation,
    SectionModel,
    SourceEnvironment,
    SourceType,
)

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec

_EXCERPT_CHARS = 120


class ApiOperation(Operation):
    """One configured call: built at load time, called per request."""

    def __init__(
        self,
        *,
        source_id: str,
        name: str,
        source: ApiSourceConfig,
        operation: ApiOperationConfig,
        builder: RequestBuilder,
        redactor: Redactor,
    ) -> None:
        self.timeout = operation.timeout or source.timeout
        self.retries = (
            source.retry_count if operation.retry_count is None else operation.retry_count
        )
        self.idempotent = (
            operation.method in IDEMPOTENT_METHODS
            if operation.idempotent is None
            else operation.idempotent
        )
        self.mock = source.mock if operation.mock is None else operation.mock
        self._mock_response = operation.mock_response
        self._follow_redirects = source.follow_redirects
        self._verify_ssl = source.verify_ssl
        self._builder = builder
        self._redactor = redactor
        # How errors name the call: config text only, never the filled-in URL or any header.
        self.describe = (
            f"api '{source_id}' operation '{name}' ({operation.method} {operation.path or '/'})"
        )

    async def call(self, params: Any, ctx: CallContext) -> Any:
        if self.mock:
            # A copy: a transform that edits the output must not edit the config.
            return copy.deepcopy(self._mock_response)
        try:
            request = self._builder.build(params, ctx.headers)
        except RequestBuildError as exc:
            raise self._error(ctx, f"cannot build the request: {exc}", retryable=False) from None
        timeout = ctx.timeout if ctx.timeout is not None else self.timeout
        try:
            response = await shared_client().request(
                request.method,
                request.url,
                params=request.query,
                headers=request.headers,
                json=request.body,
                timeout=timeout,
                follow_redirects=self._follow_redirects,
                verify_ssl=self._verify_ssl,
            )
        except HttpTimeout:
            message = f"{self.describe} did not answer within {timeout:g}s"
            raise SourceTimeout(ctx.source_name, self._redactor.text(message)) from None
        except HttpTransportError as exc:
            raise self._error(ctx, f"failed: {exc.reason}") from None
        return self._result(response, ctx)

    def _result(self, response: HttpResponse, ctx: CallContext) -> Any:
        status = response.status
        if 200 <= status < 300:
            if self._builder.method == "HEAD":
                return None
            try:
                return response.json()
            except orjson.JSONDecodeError:
                kind = response.headers.get("Content-Type", "no content type")
                raise self._error(
                    ctx, f"returned invalid JSON (status {status}, {kind})", retryable=False
                ) from None
        if 300 <= status < 400:
            raise self._error(
                ctx,
                f"answered {_status_text(status)}, a redirect; redirects are not followed "
                "unless the api source sets follow_redirects: true",
                retryable=False,
            )
        excerpt = _excerpt(response.content)
        detail = f"answered {_status_text(status)}" + (f": {excerpt}" if excerpt else "")
        # A 4xx says the request is wrong and will be wrong again; 429 asks to come back later.
        raise self._error(ctx, detail, retryable=status >= 500 or status == 429)

    def _error(self, ctx: CallContext, message: str, *, retryable: bool = True) -> SourceError:
        text = self._redactor.text(f"{self.describe} {message}")
        return SourceError(ctx.source_name, text, retryable=retryable)


class ApiSourceType(SourceType):
    type_name = "api"
    section_model = ApiSection

    def __init__(self, section: SectionModel, env: SourceEnvironment) -> None:
        super().__init__(section, env)
        if not isinstance(section, ApiSection):
            raise TypeError(f"ApiSourceType needs an ApiSection, not {type(section).__name__}")
        self.config = section
        self._redactor = Redactor(env.secrets)
        # Data sources that bind the same operation share its compiled request.
        self._builders: dict[tuple[str, str], RequestBuilder] = {}

    def bind(self, spec: DataSourceSpec) -> Operation:
        source = self.config.sources.get(spec.source_id)
        if source is None:
            known = ", ".join(sorted(self.config.sources)) or "none configured"
            raise BindError(
                f"unknown api source '{spec.source_id}' (known: {known})", key="source_id"
            )
        if not spec.operation:
            raise BindError("an api data source needs `operation`", key="operation")
        operation = source.operations.get(spec.operation)
        if operation is None:
            known = ", ".join(sorted(source.operations)) or "none configured"
            raise BindError(
                f"api source '{spec.source_id}' has no operation '{spec.operation}' (known: {known})",
                key="operation",
            )
        builder = self._builder(spec.source_id, spec.operation, source, operation)
        bound = ApiOperation(
            source_id=spec.source_id,
            name=spec.operation,
            source=source,
            operation=operation,
            builder=builder,
            redactor=self._redactor,
        )
        if bound.mock and operation.mock_response is None:
            message = f"{bound.describe} is in mock mode but has no mock_response"
            raise BindError(self._redactor.text(message), key="operation")
        if not bound.mock:
            _check_path_params(spec, builder)
        return bound

    def _builder(
        self, source_id: str, name: str, source: ApiSourceConfig, operation: ApiOperationConfig
    ) -> RequestBuilder:
        key = (source_id, name)
        if key not in self._builders:
            try:
                self._builders[key] = RequestBuilder(source, operation)
            except ValueError as exc:
                message = self._redactor.text(f"api source '{source_id}' operation '{name}': {exc}")
                raise BindError(message, key="operation") from None
        return self._builders[key]


def _check_path_params(spec: DataSourceSpec, builder: RequestBuilder) -> None:
    # A path placeholder without a value can only fail, so say it when the config loads. When
    # params is one expression its keys are unknown until it runs; the call checks then.
    if isinstance(spec.params, str) or not builder.path_names:
        return
    given = set(spec.params) if isinstance(spec.params, dict) else set()
    missing = sorted(builder.path_names - given)
    if missing:
        raise BindError(
            f"operation '{spec.operation}' fills its path with {', '.join(missing)}, "
            "which the data source's params do not define",
            key="params",
        )


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _excerpt(content: bytes) -> str:
    # Enough of an error body to recognise it, never all of it (it may echo the request).
    text = " ".join(content[: _EXCERPT_CHARS * 4].decode("utf-8", "replace").split())
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 3] + "..."
