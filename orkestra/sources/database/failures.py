"""Driver exceptions -> SourceError messages that are short, say what failed, and leak nothing.

A message names the database id and the operation, and gives the driver's one-line reason with
secrets (values from ${ENV}, the URL's password) and the call's bound values masked: database
errors quote values (`invalid input syntax for type integer: "abc"`, `Duplicate entry 'x'`).
SQLAlchemy's own rendering (`[SQL: ...] [parameters: ...]`) is never used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError

from orkestra.errors import SourceError, SourceTimeout
from orkestra.secrets import REDACTED as MASK

_MAX_REASON = 240
_SHORTEST_BARE_VALUE = 4  # shorter values are only masked where quoted, not inside other words


def mask_values(text: str, values: Mapping[str, Any]) -> str:
    """`text` with the call's bound values masked (secrets are orkestra.secrets' job)."""
    for value in _value_strings(values):
        for quote in ("'", '"'):
            text = text.replace(f"{quote}{value}{quote}", f"{quote}{MASK}{quote}")
        if len(value) >= _SHORTEST_BARE_VALUE:
            text = text.replace(value, MASK)
    return text


def _value_strings(values: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for value in values.values():
        items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        out.extend(str(v) for v in items if v is not None and not isinstance(v, bool))
    return sorted({s for s in out if s}, key=len, reverse=True)


def short_reason(exc: BaseException) -> str:
    """The driver's own one-line message, without SQLAlchemy's SQL/parameters decoration."""
    orig: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        orig = exc.orig
    args = orig.args
    if isinstance(orig, OSError) and orig.strerror:
        reason = orig.strerror
    elif len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):
        reason = f"{args[1]} (error {args[0]})"  # PyMySQL: (code, message)
    elif args and isinstance(args[0], str):
        reason = args[0]
    else:
        reason = str(orig)
    reason = reason.strip().splitlines()[0] if reason.strip() else type(orig).__name__
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


def unavailable(source: str, db_id: str, reason: str) -> SourceError:
    return SourceError(source, f"database '{db_id}' unavailable: {reason}")


def timed_out(source: str, db_id: str, what: str, seconds: float) -> SourceTimeout:
    return SourceTimeout(source, f"database '{db_id}' {what} timed out after {seconds:g}s")


def no_connection_in_time(source: str, db_id: str, seconds: float) -> SourceTimeout:
    return SourceTimeout(
        source,
        f"database '{db_id}' gave no connection within {seconds:g}s "
        "(every pooled connection busy, or the server not answering)",
    )


def pool_exhausted(source: str, db_id: str, pool_timeout: float) -> SourceTimeout:
    return SourceTimeout(
        source,
        f"database '{db_id}' has no free connection after pool_timeout={pool_timeout:g}s "
        "(raise pool_size / max_overflow, or lower the load)",
    )


def statement_failed(source: str, db_id: str, what: str, reason: str, *, lost: bool) -> SourceError:
    if lost:
        return SourceError(source, f"database '{db_id}' connection lost during {what}: {reason}")
    # The database rejected the statement itself (syntax, constraint, type): the same call
    # would fail the same way again.
    return SourceError(source, f"database '{db_id}' {what} failed: {reason}", retryable=False)
