"""The two ways to read online features: the Feast SDK in-process, or a running `feast serve`.

Both answer one read for any number of entities with `{ref: [value per entity]}`, where a ref is
`view:feature` and a value Feast has not got is None. Feast itself is imported only by the caller of
`SdkReader.open` (in a worker thread at start-up), never at import time.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from orkestra.extras import require
from orkestra.http_client import HttpTimeout, HttpTransportError, shared_client

FeatureColumns = dict[str, list[Any]]  # "view:feature" -> one value per entity


class ReadFailed(Exception):
    """Feast did not give an answer; the message is safe to show (no secrets, no trace).
    `retryable` is False when asking again cannot change the answer (a 4xx)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ReadTimedOut(ReadFailed):
    pass


@dataclass(frozen=True)
class FeatureQuery:
    """What one data source reads: refs, or a feature service Feast resolves (`refs` empty)."""

    refs: tuple[str, ...]
    service: str | None = None


def full_feature_name(ref: str) -> str:
    """The column name Feast gives `ref` with full_feature_names=True (`view__feature`)."""
    return ref.replace(":", "__", 1)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


class SdkReader:
    """A FeatureStore opened once; reads go through Feast's async path when the online store has
    one (Redis in Feast 0.67), else through a small thread pool (SQLite and most others)."""

    def __init__(self, store: Any, *, async_reads: bool, max_workers: int = 4) -> None:
        self.store = store
        self.async_reads = async_reads
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="orkestra-feast")
        self._services: dict[str, Any] = {}

    @classmethod
    def open(cls, repo_path: Path, project: str | None) -> SdkReader:
        """Import Feast, open the repo and load its registry. Blocking: run it in a thread."""
        feast = require("feast", "feast")
        if not (repo_path / "feature_store.yaml").is_file():
            raise ReadFailed(f"no feature_store.yaml in {repo_path}")
        store = feast.FeatureStore(repo_path=str(repo_path))
        if project is not None and store.project != project:
            raise ReadFailed(
                f"{repo_path}/feature_store.yaml declares project '{store.project}', "
                f"the config expects '{project}'"
            )
        store.refresh_registry()  # load now, so no request pays for it
        if not store.list_all_feature_views(allow_cache=True):
            # Feast creates an empty registry where none exists: say so now, not on every read.
            raise ReadFailed(
                f"the Feast registry of {repo_path} has no feature views for project "
                f"'{store.project}' (run `feast apply` there)"
            )
        # `_get_provider` is what Feast's own feature server asks the same question with.
        async_reads = bool(store._get_provider().async_supported.online.read)
        return cls(store, async_reads=async_reads)

    async def initialize(self) -> None:
        if not self.async_reads:
            return
        try:
            await self.store.initialize()  # long-lived async clients, bound to this event loop
        except BaseException:
            self._executor.shutdown(wait=False)  # the caller never gets a reader to close
            raise

    def resolve_service(self, name: str) -> tuple[str, ...]:
        """Look `name` up in the Feast registry; return its refs. Blocking: run it in a thread."""
        try:
            service = self.store.get_feature_service(name)
        except Exception as exc:
            raise ReadFailed(f"feature service '{name}' is not in the Feast registry") from exc
        self._services[name] = service
        return tuple(
            f"{projection.name_to_use()}:{feature.name}"
            for projection in service.feature_view_projections
            for feature in projection.features
        )

    async def read(
        self, query: FeatureQuery, columns: Mapping[str, list[Any]], timeout: float
    ) -> FeatureColumns:
        """Feast's SDK takes no timeout: the caller bounds its wait (a worker thread may finish
        a read nobody waits for any more)."""
        features: Any = self._services.get(query.service or "") or list(query.refs)
        read = partial(
            self.store.get_online_features_async
            if self.async_reads
            else self.store.get_online_features,
            features=features,
            entity_rows=dict(columns),
            full_feature_names=True,
        )
        try:
            if self.async_reads:
                data = (await read()).to_dict()
            else:
                loop = asyncio.get_running_loop()
                data = await loop.run_in_executor(self._executor, lambda: read().to_dict())
        except ReadFailed:
            raise
        except Exception as exc:
            raise ReadFailed(f"Feast online read failed: {type(exc).__name__}: {exc}") from exc
        return {ref: [_jsonable(v) for v in data[full_feature_name(ref)]] for ref in query.refs}

    async def close(self) -> None:
        try:
            if self.async_reads:
                await self.store.close()
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)


class FeatureServerReader:
    """POSTs to `{url}/get-online-features` of a running `feast serve` through the shared client."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/get-online-features"))
        # Userinfo and query may carry credentials: messages name only scheme, host, port, path.
        port = f":{parts.port}" if parts.port else ""
        self.shown = f"{parts.scheme}://{parts.hostname or ''}{port}{urlsplit(self.url).path}"

    async def read(
        self, query: FeatureQuery, columns: Mapping[str, list[Any]], timeout: float
    ) -> FeatureColumns:
        body: dict[str, Any] = {"entities": dict(columns), "full_feature_names": True}
        if query.refs:
            body["features"] = list(query.refs)
        else:
            body["feature_service"] = query.service
        try:
            response = await shared_client().request("POST", self.url, json=body, timeout=timeout)
        except HttpTimeout as exc:
            raise ReadTimedOut(
                f"feature server {self.shown} did not answer within {timeout:g}s"
            ) from exc
        except HttpTransportError as exc:
            raise ReadFailed(f"feature server unreachable: {exc}") from exc
        if response.status >= 400:
            detail = response.content[:200].decode("utf-8", "replace")
            raise ReadFailed(
                f"feature server {self.shown} answered {response.status}: {detail}",
                retryable=response.status >= 500,
            )
        try:
            payload = response.json()
        except ValueError as exc:
            raise ReadFailed(
                f"feature server {self.shown} answered with a body that is not JSON"
            ) from exc
        size = len(next(iter(columns.values()), []))
        return parse_server_response(payload, query.refs, columns.keys(), size)


def parse_server_response(
    payload: Any, refs: tuple[str, ...], entity_keys: Collection[str], size: int
) -> FeatureColumns:
    """Read Feast's column-wise answer: `metadata.feature_names[i]` names `results[i].values`."""
    try:
        names = list(payload["metadata"]["feature_names"])
        values = [list(result["values"]) for result in payload["results"]]
    except (KeyError, TypeError) as exc:
        raise ReadFailed("feature server answer has no metadata.feature_names / results") from exc
    by_name = dict(zip(names, values))
    if refs:
        wanted = {ref: full_feature_name(ref) for ref in refs}
    else:  # a server-side feature service: its refs are whatever the server answered with
        wanted = {
            name.replace("__", ":", 1): name
            for name in names
            if name not in entity_keys and "__" in name
        }
    out: FeatureColumns = {}
    for ref, name in wanted.items():
        column = by_name.get(name)
        if column is None or len(column) != size:
            raise ReadFailed(f"feature server answer lacks values for '{ref}'")
        out[ref] = column
    return out
