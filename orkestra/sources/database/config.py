"""The `database:` section (SPEC §3): connection pools and the SQL operations run on them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orkestra.sources.base import SectionModel

ResultMode = Literal["auto", "one", "many", "scalar"]

DEFAULT_SOURCE_ID = "default"
DEFAULT_OPERATION_TIMEOUT = 5.0  # seconds; the SPEC example's value, short enough to fail fast


class DatabaseSourceConfig(SectionModel):
    """One database: a connection string and its pool settings (SQLAlchemy's names and meanings)."""

    connection_string: str
    pool_size: int = Field(5, ge=1)
    max_overflow: int = Field(10, ge=0)
    pool_timeout: float = Field(30.0, gt=0)  # seconds to wait for a free pooled connection
    pool_recycle: int = Field(1800, ge=-1)  # seconds before a pooled connection is replaced
    connect_args: dict[str, Any] = Field(default_factory=dict)  # passed to the driver's connect()
    echo: bool = False  # log every statement (never its parameter values)


class DatabaseOperationConfig(SectionModel):
    """One named SQL statement.

    `source_id`: when set it wins over the data source's `source_id`; when unset the data source's
    (default "default") is used, so one operation can serve several databases of the same schema.
    `params`: the bind parameter names; when omitted they are read from the query's `:name`
    placeholders. `timeout`: seconds, `null` for no bound of its own.
    """

    source_id: str | None = None
    query: str
    params: list[str] | None = None
    result: ResultMode = "auto"
    timeout: float | None = Field(DEFAULT_OPERATION_TIMEOUT, gt=0)
    description: str = ""


class DatabaseSection(SectionModel):
    sources: dict[str, DatabaseSourceConfig] = Field(default_factory=dict)
    operations: dict[str, DatabaseOperationConfig] = Field(default_factory=dict)
