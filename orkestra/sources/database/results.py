"""Rows -> JSON-compatible data, shaped by the operation's `result` mode."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import CursorResult

from orkestra.sources.database.config import ResultMode


def shape_result(result: CursorResult[Any], mode: ResultMode) -> Any:
    """auto: no row -> None, one row -> object, more -> list; one: the first row or None;
    many: a list; scalar: the first column of the first row or None. A statement that returns no
    rows (INSERT/UPDATE/DELETE without RETURNING) gives `{"rowcount": n}` in every mode."""
    if not result.returns_rows:
        return {"rowcount": result.rowcount}
    if mode == "scalar":
        row = result.first()
        return None if row is None else json_value(row[0])
    if mode == "one":
        first = result.mappings().first()
        return None if first is None else json_row(first)
    rows = [json_row(r) for r in result.mappings().all()]
    if mode == "many":
        return rows
    if not rows:
        return None
    return rows[0] if len(rows) == 1 else rows


def json_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(key): json_value(value) for key, value in row.items()}


def json_value(value: Any) -> Any:
    """Driver values as JSON types: Decimal -> int when integral else float, dates and times ->
    ISO 8601, timedelta -> seconds, bytes -> base64 text, UUID and anything unknown -> str."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    return str(value)
