"""The pure parts of the database source type: statement analysis, value conversion, messages."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal

import pytest

from orkestra.sources.database.failures import mask_values, short_reason
from orkestra.sources.database.results import json_value
from orkestra.sources.database.statement import compile_statement


@pytest.mark.parametrize(
    ("sql", "read_only"),
    [
        ("SELECT * FROM t", True),
        ("  -- leading comment\n  select 1", True),
        ("/* DELETE */ SELECT 'insert into x' FROM t", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", False),
        ("INSERT INTO t VALUES (1)", False),
        ("update t set a = 1", False),
        ("DELETE FROM t", False),
        ("CALL refresh()", False),
    ],
)
def test_read_only_statements_are_the_retryable_ones(sql: str, read_only: bool) -> None:
    assert compile_statement(sql).read_only is read_only


def test_placeholders_and_in_lists() -> None:
    statement = compile_statement(
        "SELECT * FROM t WHERE b = :b AND a IN :ids AND c NOT IN :other AND d = 'x IN :lit' "
        "AND e = :b AND f::text = CAST(:g AS text)"
    )
    assert statement.param_names == ("b", "ids", "other", "g")
    assert "'x IN :lit'" in str(statement.clause)  # a literal stays a literal
    assert statement.expanding == {"ids", "other"}
    assert statement.bind_values({"ids": (1, 2), "other": 3, "b": "x", "unused": 1}) == {
        "b": "x",
        "ids": [1, 2],
        "other": [3],
        "g": None,
    }


def test_values_become_json_types() -> None:
    assert json_value(Decimal("10.00")) == 10 and type(json_value(Decimal("10.00"))) is int
    assert json_value(Decimal("12.50")) == 12.5
    assert math.isnan(json_value(Decimal("NaN")))
    when = dt.datetime(2024, 1, 31, 12, 30, tzinfo=dt.UTC)
    assert json_value(when) == "2024-01-31T12:30:00+00:00"
    assert json_value(dt.date(2024, 1, 31)) == "2024-01-31"
    assert json_value(dt.time(8, 5)) == "08:05:00"
    assert json_value(dt.timedelta(minutes=1, milliseconds=500)) == 60.5
    assert json_value(b"\x00\xffok") == "AP9vaw=="
    key = uuid.UUID(int=1)
    assert json_value(key) == "00000000-0000-0000-0000-000000000001"
    assert json_value({"a": [Decimal("1.5"), None, True], 2: (key,)}) == {
        "a": [1.5, None, True],
        "2": [str(key)],
    }


def test_bound_values_are_masked_in_messages() -> None:
    message = "Duplicate entry 'alice@example.com' for key 'email' at line 1: \"7\""
    masked = mask_values(message, {"email": "alice@example.com", "n": 7, "flag": True})
    assert masked == "Duplicate entry '***' for key 'email' at line 1: \"***\""
    # a short value is only masked where quoted, so "1" does not eat every digit
    assert mask_values("error at line 1", {"id": 1}) == "error at line 1"
    assert mask_values("in list ['abc', 'zzzz']", {"ids": ["abc", "zzzz"]}) == (
        "in list ['***', '***']"
    )


def test_short_reasons() -> None:
    assert short_reason(ConnectionRefusedError(111, "Connect call failed")) == "Connect call failed"
    assert short_reason(Exception(2003, "Can't connect")) == "Can't connect (error 2003)"
    assert short_reason(Exception("first line\nsecond line")) == "first line"
    assert len(short_reason(Exception("x" * 1000))) == 240
    assert short_reason(Exception()) == "Exception"
