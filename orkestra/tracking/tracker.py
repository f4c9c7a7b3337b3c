"""The execution tracker: an observer of the engine that keeps redacted records in a store.

Records reach the store as dicts, redacted once more as a whole (secrets and `sensitive_fields`
anywhere in them), so nothing a backend echoed back can carry a secret into the store. A memory store
is written synchronously; SQLite and Redis are written in small batches by a background task, so a
request never waits for the store. Reads flush pending records first: an execution can be read as
soon as its response was sent.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from orkestra.tracking.store import (
    ExecutionStore,
    MemoryStore,
    Query,
    Record,
    RedisStore,
    SqliteStore,
)

if TYPE_CHECKING:
    from orkestra.config.models import TrackingSection
    from orkestra.engine.record import ExecutionRecord
    from orkestra.secrets import Redactor

log = logging.getLogger("orkestra.tracking")

_BATCH = 200  # records per write; a burst larger than this is written in several batches
_FLUSH_DELAY = 0.05  # seconds a batch may wait for more records


def build_store(settings: TrackingSection, config_dir: Path) -> ExecutionStore:
    if settings.store == "sqlite":
        path = Path(settings.path or "executions.sqlite3")
        if not path.is_absolute():
            path = config_dir / path
        return SqliteStore(path, settings.max_records)
    if settings.store == "redis":
        return RedisStore(
            settings.redis_url or "redis://127.0.0.1:6379/0",
            settings.redis_prefix,
            settings.max_records,
        )
    return MemoryStore(settings.max_records)


class Tracker:
    def __init__(
        self, settings: TrackingSection, store: ExecutionStore, redactor: Redactor
    ) -> None:
        self.settings = settings
        self.store = store
        self.redactor = redactor
        self._pending: list[Record] = []
        self._flusher: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    def __call__(self, record: ExecutionRecord) -> None:
        """The observer: called by the service after every execution."""
        if not self.settings.enabled:
            return
        data: Record = record.as_dict()
        if (
            self.redactor.secrets or self.redactor.sensitive
        ):  # with neither, the walk changes nothing
            data = self.redactor.data(data)
        if isinstance(self.store, MemoryStore):
            self.store.add_now(data)
            return
        self._pending.append(data)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(_FLUSH_DELAY)
        await self.flush()

    async def flush(self) -> None:
        async with self._write_lock:
            while self._pending:
                batch, self._pending = self._pending[:_BATCH], self._pending[_BATCH:]
                try:
                    await self.store.add(batch)
                except Exception as exc:  # noqa: BLE001 - a store outage loses records, never requests
                    log.warning(
                        "execution store %s: %d record(s) not written: %s",
                        type(self.store).__name__,
                        len(batch),
                        self.redactor.text(str(exc)),
                    )

    async def get(self, execution_id: str) -> Record | None:
        await self.flush()
        return await self.store.get(execution_id)

    async def list(self, query: Query) -> tuple[list[Record], int]:
        await self.flush()
        return await self.store.list(query)

    async def close(self) -> None:
        if self._flusher is not None:  # it only waits _FLUSH_DELAY; cancelling could drop a batch
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.flush()
        await self.store.close()
