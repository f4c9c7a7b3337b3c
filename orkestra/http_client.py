"""The one HTTP client Orkestra's sources share (api sources and HTTP-served models).

One pooled client per process; callers pass an absolute URL already built from trusted config, so
request data never reaches the scheme, host or port (see orkestra.sources.api for the URL rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import httpx
import orjson


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content) if self.content else None


class HttpTransportError(Exception):
    """Connection refused/reset, DNS failure, protocol error: the backend did not answer."""


class HttpTimeout(HttpTransportError):
    pass


class HttpClient:
    def __init__(self, *, max_connections: int = 200, follow_redirects: bool = False) -> None:
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=follow_redirects,
            timeout=None,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        content = None
        send_headers = dict(headers or {})
        if json is not None:
            content = orjson.dumps(json)
            send_headers.setdefault("content-type", "application/json")
        try:
            resp = await self._client.request(
                method.upper(),
                url,
                params=params,
                headers=send_headers,
                content=content,
                timeout=timeout,
            )
        except httpx.TimeoutException as exc:
            raise HttpTimeout(f"{method.upper()} {url} timed out") from exc
        except httpx.HTTPError as exc:
            raise HttpTransportError(f"{method.upper()} {url} failed: {type(exc).__name__}") from exc
        return HttpResponse(resp.status_code, resp.headers, resp.content)

    async def aclose(self) -> None:
        await self._client.aclose()


_shared: HttpClient | None = None


def shared_client() -> HttpClient:
    """The process-wide client; created on first use inside the running event loop."""
    global _shared
    if _shared is None:
        _shared = HttpClient()
    return _shared


async def close_shared_client() -> None:
    global _shared
    if _shared is not None:
        client, _shared = _shared, None
        await client.aclose()
