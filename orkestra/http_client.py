"""The one HTTP client Orkestra's sources share (api sources and HTTP-served models).

aiohttp underneath: on loopback it served 3.5-6x the throughput of httpx.AsyncClient at one
request at a time and 8-16x at 10-200 concurrent ones, with a far lower p99
(docs/benchmarks/http-client.md). An aiohttp session belongs to the event loop it was
created in, so a client opens its session lazily inside the running loop, and `shared_client()`
keeps one client per running loop (one in a server; one per test in a test suite).

Callers pass an absolute, already percent-encoded URL built from trusted config; the client sends
that URL byte for byte (no re-quoting, no dot-segment folding), so what the api source encoded is
what the backend receives (see orkestra.sources.api.request). Query `params` are encoded here, every
value as one value. Redirects are not followed unless asked for; proxies from the environment are
not used; cookies are not kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson
from yarl import URL

# RFC 3986 reserved + unreserved characters and '%': a URL made of these is sent as it is.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%-._~"
QueryValue = str | int | float | bool | None
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON; None for an empty body; orjson.JSONDecodeError if invalid."""
        return orjson.loads(self.content) if self.content else None


class HttpTransportError(Exception):
    """Connection refused/reset, DNS failure, protocol error: the backend did not answer.

    `reason` says what went wrong without the URL (for callers that build their own message).
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class HttpTimeout(HttpTransportError):
    pass


class HttpClient:
    """A pooled keep-alive client; use one per process (`shared_client()`), not one per call."""

    def __init__(
        self,
        *,
        max_connections: int = 200,
        follow_redirects: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._max_connections = max_connections
        self._follow_redirects = follow_redirects
        self._max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_for(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                headers={"User-Agent": "orkestra"},
                trust_env=False,
                # One session serves every request of the service: a cookie one caller's call
                # received must never ride along on another caller's call.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("an HttpClient is bound to the event loop it was first used in")
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, QueryValue | list[QueryValue]] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
        follow_redirects: bool | None = None,
        verify_ssl: bool = True,
    ) -> HttpResponse:
        """Send one request and read the whole response within `timeout` seconds (None: no bound).

        Raises HttpTimeout when the time runs out, HttpTransportError when no HTTP response came
        back. Any status, 4xx and 5xx included, is a response, not an exception.
        """
        method = method.upper()
        session = self._session_for(asyncio.get_running_loop())
        target = _target(url, params)
        send_headers = dict(headers or {})
        data = None
        if json is not None:
            data = orjson.dumps(json)
            if not any(name.lower() == "content-type" for name in send_headers):
                send_headers["Content-Type"] = "application/json"
        allow_redirects = self._follow_redirects if follow_redirects is None else follow_redirects
        try:
            async with session.request(
                method,
                target,
                headers=send_headers,
                data=data,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=allow_redirects,
                ssl=verify_ssl,
            ) as resp:
                content = await _read_bounded(resp, self._max_response_bytes)
                return HttpResponse(resp.status, resp.headers, content)
        except TimeoutError as exc:  # aiohttp's own timeout errors subclass TimeoutError too
            reason = f"timed out after {timeout}s"
            raise HttpTimeout(f"{method} {_where(url)} {reason}", reason) from exc
        except (aiohttp.ClientError, OSError) as exc:
            reason = _describe(exc)
            raise HttpTransportError(f"{method} {_where(url)} failed: {reason}", reason) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


async def _read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    # A broken or hostile backend must not be able to make the service buffer gigabytes.
    declared = resp.content_length
    if declared is not None and declared <= limit:
        return await resp.read()
    chunks: list[bytes] = []
    size = 0
    if declared is None:
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
    if declared is not None or size > limit:
        resp.close()  # the rest is not read: this connection cannot be reused
        reason = f"the response is larger than the {limit:,}-byte limit"
        raise HttpTransportError(f"{resp.method} {_where(str(resp.url))}: {reason}", reason)
    return b"".join(chunks)


def _target(url: str, params: Mapping[str, QueryValue | list[QueryValue]] | None) -> URL:
    # quote() with everything URL-legal marked safe only escapes what cannot be in a URL at all
    # (spaces, controls, non-ASCII); a URL that is already encoded passes through unchanged.
    url = quote(url, safe=_URL_SAFE)
    query = encode_query(params or {})
    if query:
        url = f"{url}{'&' if '?' in url else '?'}{query}"
    return URL(url, encoded=True)


def encode_query(params: Mapping[str, QueryValue | list[QueryValue]]) -> str:
    """`k=v&...`, every key and value percent-encoded as one component (`&`, `=`, `#`, `+` too).

    None values are left out; a list repeats the key; booleans are `true`/`false` as in JSON.
    """
    pairs: list[str] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            pairs.append(f"{quote(str(key), safe='')}={quote(_scalar_text(item), safe='')}")
    return "&".join(pairs)


def _scalar_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _where(url: str) -> str:
    # The query string and any userinfo may carry credentials: error messages show neither.
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "the server's TLS certificate is not trusted"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    if isinstance(exc, ConnectionResetError | aiohttp.ClientOSError) and exc.errno is not None:
        return f"connection error ({exc.strerror or exc.errno})"
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return f"invalid HTTP response ({type(exc).__name__})"
    return type(exc).__name__


_shared: dict[asyncio.AbstractEventLoop, HttpClient] = {}


def shared_client() -> HttpClient:
    """The client of the running event loop, created on first use (call it inside the loop)."""
    loop = asyncio.get_running_loop()
    for stale in [other for other in _shared if other.is_closed()]:
        # A loop closed without close_shared_client(): its sockets went with it; forget it.
        del _shared[stale]
    client = _shared.get(loop)
    if client is None:
        client = _shared[loop] = HttpClient()
    return client


async def close_shared_client() -> None:
    """Close the running loop's shared client (at service shutdown)."""
    client = _shared.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
