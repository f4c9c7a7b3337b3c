"""Calling a model served over HTTP (external at `base_url`, or by a managed process/container).

`protocol: json` posts the params as they are and returns the JSON answer; `protocol: v2` encodes
the features as Open Inference Protocol tensors and decodes the output tensors (see v2.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from orkestra.errors import SourceError, SourceTimeout, SourceUnavailable
from orkestra.http_client import HttpTimeout, HttpTransportError, shared_client
from orkestra.sources.base import CallContext
from orkestra.sources.ml.config import ModelSpec
from orkestra.sources.ml.features import extract_rows
from orkestra.sources.ml.v2 import V2ProtocolError, decode_response, encode_request


class ModelUnreachable(Exception):
    """The connection failed: the caller decides whether that means 502 or 503 (a managed
    server that died is unavailable, not a bad gateway)."""


class ModelResult:
    __slots__ = ("batch", "value")

    def __init__(self, value: Any, batch: bool) -> None:
        self.value = value
        self.batch = batch  # a list with one result per input row


def _detail(content: bytes) -> str:
    """A short, printable reason from an error body (a model server's own `error` / `detail`)."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return ""
    reason = body.get("error") or body.get("detail") if isinstance(body, Mapping) else None
    return f": {reason[:200]}" if isinstance(reason, str) else ""


class HttpModel:
    def __init__(self, spec: ModelSpec, *, model_key: str, model_id: str) -> None:
        self.spec = spec
        self.model_id = model_id
        self.endpoint = "/" + spec.default_endpoint(model_key).lstrip("/")
        self.method = spec.method.upper()

    async def call(self, base_url: str, params: Any, ctx: CallContext) -> ModelResult:
        timeout = self.spec.timeout if ctx.timeout is None else min(self.spec.timeout, ctx.timeout)
        headers = {**ctx.headers, **self.spec.headers}
        url = base_url.rstrip("/") + self.endpoint
        if self.spec.protocol == "v2":
            rows = extract_rows(params, self.model_id)
            body: Any = encode_request(
                rows,
                model_id=self.model_id,
                feature_order=self.spec.feature_order,
                input_name=self.spec.input_name,
                datatype=self.spec.input_datatype,
            )
        else:
            body = params
        answer = await self._send(url, body, headers, timeout, ctx)
        if self.spec.protocol == "v2":
            try:
                per_row = decode_response(answer, len(rows))
            except V2ProtocolError as exc:
                raise SourceError(ctx.source_name, f"model '{self.model_id}': {exc}") from None
            return ModelResult(per_row if rows.batch else per_row[0], rows.batch)
        features = params.get("features") if isinstance(params, Mapping) else params
        return ModelResult(answer, isinstance(features, list) and isinstance(answer, list))

    async def _send(
        self, url: str, body: Any, headers: dict[str, str], timeout: float, ctx: CallContext
    ) -> Any:
        try:
            response = await shared_client().request(
                self.method, url, json=body, headers=headers, timeout=timeout
            )
        except HttpTimeout:
            raise SourceTimeout(
                ctx.source_name, f"model '{self.model_id}' did not answer within {timeout:g}s"
            ) from None
        except HttpTransportError:
            raise ModelUnreachable() from None
        if response.status == 503:
            raise SourceUnavailable(
                ctx.source_name, f"model '{self.model_id}' answered 503 (not ready)"
            )
        if response.status >= 400:
            raise SourceError(
                ctx.source_name,
                f"model '{self.model_id}' answered HTTP {response.status}{_detail(response.content)}",
            )
        try:
            return response.json()
        except orjson.JSONDecodeError:
            raise SourceError(
                ctx.source_name, f"model '{self.model_id}' answered with a body that is not JSON"
            ) from None
