"""`feast`: online features from a Feast feature store (SPEC §3 `feast`).

Each configured source is read either in-process through the Feast SDK (`repo_path`) or over HTTP
from a running `feast serve` (`feature_server_url`). SDK stores are opened, and the Feast registry
loaded, once in `start()`; a source that cannot start is FAILED and its operations raise
SourceUnavailable, while the other sources keep serving.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orkestra.errors import BindError, SourceError, SourceTimeout, SourceUnavailable
from orkestra.extras import MissingExtraError
from orkestra.secrets import Redactor
from orkestra.sources.base import (
    CallContext,
    ComponentState,
    ComponentStatus,
    Operation,
    SectionModel,
    SourceEnvironment,
    SourceType,
)
from orkestra.sources.feast.config import FeastSection, FeastSourceSpec, check_feature_ref
from orkestra.sources.feast.entities import parse_entities
from orkestra.sources.feast.fallback import DATABASE, DatabaseFallback, Origins, SqlExecutor
from orkestra.sources.feast.readers import (
    FeatureColumns,
    FeatureQuery,
    FeatureServerReader,
    ReadFailed,
    ReadTimedOut,
    SdkReader,
)

if TYPE_CHECKING:
    from orkestra.config.models import DataSourceSpec

# Per row, when a fallback is enabled: ref -> "feast" | "database" | None (neither had it).
SOURCES_KEY = "_sources"


class FeastOperation(Operation):
    """One data source: which features to read from which configured Feast source."""

    def __init__(self, owner: FeastSourceType, source_id: str, query: FeatureQuery) -> None:
        self.owner = owner
        self.source_id = source_id
        self.query = query
        self.spec = owner.section.sources[source_id]
        self.timeout = self.spec.timeout
        fallback = self.spec.database_fallback
        self.fallback = DatabaseFallback(fallback) if fallback and fallback.enabled else None
        self.unavailable: str | None = None  # set at start when a registry service is not found

    def resolve(self, refs: tuple[str, ...]) -> None:
        self.query = FeatureQuery(refs, self.query.service)

    async def call(self, params: Any, ctx: CallContext) -> Any:
        name = ctx.source_name
        entities = parse_entities(params, self.spec.entity_key, self.source_id)
        # The engine's bound for this attempt (the data source's own `timeout:` when it has one).
        limit = ctx.timeout if ctx.timeout is not None else self.spec.timeout
        deadline = time.monotonic() + limit
        if entities.size == 0:
            return [] if entities.many else None
        try:
            async with asyncio.timeout(limit):
                values = await self._read(entities.columns, limit, ctx)
        except TimeoutError:
            raise SourceTimeout(
                name, self._safe(f"Feast did not answer within {limit:g}s")
            ) from None
        except ReadTimedOut as exc:
            raise SourceTimeout(name, self._safe(str(exc))) from None
        except ReadFailed as exc:
            raise SourceError(name, self._safe(str(exc)), retryable=exc.retryable) from None
        origins = await self._fill(entities.columns, values, deadline, ctx)
        rows = []
        for i in range(entities.size):
            row: dict[str, Any] = {key: column[i] for key, column in entities.columns.items()}
            row.update({ref: column[i] for ref, column in values.items()})
            if origins is not None:
                row[SOURCES_KEY] = origins[i]
            rows.append(row)
        return rows if entities.many else rows[0]

    async def _read(
        self, columns: dict[str, list[Any]], limit: float, ctx: CallContext
    ) -> FeatureColumns:
        if self.unavailable is not None:
            raise SourceUnavailable(ctx.source_name, self._safe(self.unavailable))
        reader = self.owner.reader(self.source_id, ctx.source_name)
        return await reader.read(self.query, columns, limit)

    async def _fill(
        self,
        columns: dict[str, list[Any]],
        values: FeatureColumns,
        deadline: float,
        ctx: CallContext,
    ) -> Origins | None:
        if self.fallback is None:
            return None
        spec = self.fallback.spec
        keys = columns.get(spec.entity_key) or (
            next(iter(columns.values())) if len(columns) == 1 else None
        )
        if keys is None:
            raise SourceError(
                ctx.source_name,
                f"database fallback of feast source '{self.source_id}' needs the entity key "
                f"'{spec.entity_key}' in params",
            )
        db = self.owner.database()
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            async with asyncio.timeout(remaining):
                return await self.fallback.fill(db, keys, values, remaining)
        except TimeoutError:
            raise SourceTimeout(
                ctx.source_name,
                self._safe(f"database fallback ({spec.table}) did not answer in time"),
            ) from None
        except SourceError as exc:
            raise type(exc)(
                ctx.source_name,
                self._safe(
                    f"database fallback ({spec.source_id}: {spec.table}) failed: {exc.message}"
                ),
                retryable=exc.retryable,
            ) from None

    def record_details(self, output: Any) -> dict[str, Any]:
        """What the execution record should say about a call's output: which values came from
        the database fallback (the engine copies this into the source's record details)."""
        rows = output if isinstance(output, list) else [output]
        filled = [
            (i, ref)
            for i, row in enumerate(rows)
            if isinstance(row, dict)
            for ref, origin in (row.get(SOURCES_KEY) or {}).items()
            if origin == DATABASE
        ]
        if not filled:
            return {}
        return {
            "database_fallback": {
                "entities": len({i for i, _ in filled}),
                "values": len(filled),
                "features": sorted({ref for _, ref in filled}),
            }
        }

    def _safe(self, message: str) -> str:
        return f"feast source '{self.source_id}': {self.owner.redact(message)}"


class FeastSourceType(SourceType):
    type_name = "feast"
    reads_siblings = ("database",)  # the database fallback
    section_model = FeastSection

    def __init__(self, section: SectionModel, env: SourceEnvironment) -> None:
        super().__init__(section, env)
        # The loader hands over the validated section; a plain SectionModel is re-validated.
        self.section: FeastSection = (
            section
            if isinstance(section, FeastSection)
            else FeastSection.model_validate(section.model_dump())
        )
        self._readers: dict[str, SdkReader | FeatureServerReader] = {}
        self._status: dict[str, ComponentStatus] = {
            sid: ComponentStatus(ComponentState.STARTING) for sid in self.section.sources
        }
        self._operations: list[FeastOperation] = []
        self._redactor = Redactor(env.secrets)

    # -- load time ---------------------------------------------------------------------------

    def bind(self, spec: DataSourceSpec) -> Operation:
        source = self.section.sources.get(spec.source_id)
        if source is None:
            known = ", ".join(sorted(self.section.sources)) or "none"
            raise BindError(
                f"unknown feast source '{spec.source_id}' (configured: {known})", "source_id"
            )
        query = self._query(spec, source)
        if source.database_fallback is not None and source.database_fallback.enabled:
            self._check_fallback(source)
        operation = FeastOperation(self, spec.source_id, query)
        self._operations.append(operation)
        return operation

    def _query(self, spec: DataSourceSpec, source: FeastSourceSpec) -> FeatureQuery:
        if spec.features:  # explicit refs win over `operation`
            try:
                return FeatureQuery(tuple(check_feature_ref(ref) for ref in spec.features))
            except ValueError as exc:
                raise BindError(str(exc), "features") from None
        if not spec.operation:
            raise BindError(
                "a feast data source needs `operation` (a feature service) or `features`"
            )
        declared = source.feature_services.get(spec.operation)
        if declared is not None:
            return FeatureQuery(tuple(declared.features), spec.operation)
        # Not declared here: a feature service of the Feast registry, resolved at start (SDK mode,
        # the registry loads then) or by the feature server on each read.
        return FeatureQuery((), spec.operation)

    def _check_fallback(self, source: FeastSourceSpec) -> None:
        fallback = source.database_fallback
        assert fallback is not None
        db = self.env.sibling("database")
        if not isinstance(db, SqlExecutor):
            raise BindError(
                "database_fallback needs a `database` section with its sources", "source_id"
            )
        source_ids = getattr(db, "source_ids", None)
        if callable(source_ids) and fallback.source_id not in source_ids():
            raise BindError(
                f"database_fallback.source_id '{fallback.source_id}' is not a configured database",
                "source_id",
            )

    def project_root(self) -> Path:
        """Where relative `repo_path`s resolve: the project directory, the config dir's parent."""
        return Path(self.env.config_dir).parent

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        sdk_sources = []
        for sid, source in self.section.sources.items():
            if source.sdk_mode:
                sdk_sources.append(self._start_sdk(sid, source))
            else:
                assert source.feature_server_url is not None
                self._readers[sid] = FeatureServerReader(source.feature_server_url)
                self._status[sid] = ComponentStatus(
                    ComponentState.READY, details={"mode": "feature_server"}
                )
        # Importing Feast takes seconds; repos open side by side and pay for it once.
        await asyncio.gather(*sdk_sources)

    async def _start_sdk(self, sid: str, source: FeastSourceSpec) -> None:
        assert source.repo_path is not None
        repo = Path(source.repo_path)
        repo = repo if repo.is_absolute() else self.project_root() / repo
        began = time.perf_counter()
        try:
            reader = await asyncio.to_thread(SdkReader.open, repo, source.project)
            await reader.initialize()
        except (ReadFailed, MissingExtraError) as exc:
            self._status[sid] = ComponentStatus(ComponentState.FAILED, self.redact(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a broken repo must not stop the service starting
            message = self.redact(f"cannot open Feast repo {repo}: {type(exc).__name__}: {exc}")
            self._status[sid] = ComponentStatus(ComponentState.FAILED, message)
            return
        self._readers[sid] = reader
        missing = await self._resolve_services(sid, reader)
        details: dict[str, Any] = {
            "mode": "sdk",
            "project": reader.store.project,
            "async_reads": reader.async_reads,
            "load_seconds": round(time.perf_counter() - began, 3),
        }
        if missing:
            details["missing_feature_services"] = missing
        self._status[sid] = ComponentStatus(ComponentState.READY, details=details)

    async def _resolve_services(self, sid: str, reader: SdkReader) -> list[str]:
        missing: list[str] = []
        for operation in self._operations:
            if operation.source_id != sid or operation.query.refs:
                continue
            service = operation.query.service or ""
            try:
                operation.resolve(await asyncio.to_thread(reader.resolve_service, service))
            except ReadFailed as exc:
                operation.unavailable = str(exc)
                missing.append(service)
        return sorted(set(missing))

    async def close(self) -> None:
        readers, self._readers = self._readers, {}
        for sid, reader in readers.items():
            if isinstance(reader, SdkReader):
                await reader.close()
            self._status[sid] = ComponentStatus(ComponentState.STOPPED)

    def status(self) -> dict[str, ComponentStatus]:
        return dict(self._status)

    # -- used by operations ------------------------------------------------------------------

    def reader(self, source_id: str, source_name: str) -> SdkReader | FeatureServerReader:
        reader = self._readers.get(source_id)
        if reader is None:
            status = self._status.get(source_id)
            why = status.error if status is not None and status.error else "not started"
            raise SourceUnavailable(source_name, f"feast source '{source_id}': {why}")
        return reader

    def feature_store(self, source_id: str) -> Any:
        """The opened Feast `FeatureStore` of an SDK-mode source (None in feature-server mode)."""
        reader = self._readers.get(source_id)
        return reader.store if isinstance(reader, SdkReader) else None

    def database(self) -> SqlExecutor:
        db = self.env.sibling("database")
        assert isinstance(db, SqlExecutor)  # checked in bind
        return db

    def redact(self, message: str) -> str:
        return self._redactor.text(message)
