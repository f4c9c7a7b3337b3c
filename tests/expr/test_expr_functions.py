"""The function and method set: every name, its null behaviour, its documented choices."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orkestra.expr import ExpressionError, compile_expression
from orkestra.expr.functions import FUNCTIONS, METHODS

SCOPE: dict[str, Any] = {
    "d": {"xs": [3, 1, 2], "name": "  Ada Lovelace ", "probs": {"0": 0.2, "1": 0.8}, "n": -2.5},
}


def value_of(text: str) -> Any:
    return compile_expression(text).evaluate(SCOPE)


CASES: list[tuple[str, Any]] = [
    ("len('abc')", 3),
    ("len($d.xs)", 3),
    ("len($d.probs)", 2),
    ("len(null)", None),
    ("len(5)", None),
    ("round(2.5)", 3),
    ("round(-2.5)", -3),  # half away from zero
    ("round(2.675, 2)", 2.68),  # as written, not as the binary float rounds
    ("round(1234.5, -2)", 1200),
    ("round('3.6')", 4),
    ("round(null)", None),
    ("round('abc')", None),
    ("round($d.probs['1'] * 100)", 80),
    ("Math.round(2.5)", 3),
    ("Math.round(-2.5)", -2),  # JavaScript: half towards +infinity
    ("Math.round(-2.6)", -3),
    ("Math.round(0.49999999999999994)", 0),  # the float just below 0.5 is not a tie
    ("round(-0.49999999999999994)", 0),
    ("round(4503599627370497.0)", 4503599627370497),
    ("min(3, 1, 2)", 1),
    ("max(3, 1, 2)", 3),
    ("min($d.xs)", 1),
    ("max([1.5, 2])", 2),
    ("max(1, null, 5)", 5),  # nulls skipped
    ("max([])", None),
    ("max(1, 'x')", None),
    ("Math.max(1, '7')", 7),
    ("Math.min(4, 2)", 2),
    ("sum($d.xs)", 6),
    ("sum(1, 2.5)", 3.5),
    ("sum([])", 0),
    ("sum(['a'])", None),
    ("abs(-3)", 3),
    ("Math.abs(-1.5)", 1.5),
    ("abs(null)", None),
    ("floor(2.7)", 2),
    ("floor(-2.1)", -3),
    ("ceil(2.1)", 3),
    ("Math.floor(2.7)", 2),
    ("Math.ceil('1.2')", 2),
    ("Math.trunc(-2.7)", -2),
    ("sqrt(16)", 4.0),
    ("sqrt(-1)", None),
    ("Math.sqrt(2.25)", 1.5),
    ("pow(2, 3)", 8),
    ("Math.pow(2, 0.5)", 2**0.5),
    ("exp(0)", 1.0),
    ("exp(10000)", None),
    ("Math.exp(1)", 2.718281828459045),
    ("log(1)", 0.0),
    ("log(8, 2)", 3.0),
    ("log(0)", None),
    ("Math.log(1)", 0.0),
    ("int('3.7')", 3),
    ("int(-3.7)", -3),
    ("int('abc')", None),
    ("int(true)", 1),
    ("int(null)", None),
    ("float('2')", 2.0),
    ("float('x')", None),
    ("to_number('12')", 12),
    ("to_number(' 1.5 ')", 1.5),
    ("to_number('1_000')", None),
    ("to_number('0x1A')", 26),
    ("to_number('Infinity')", None),
    ("Number('')", 0),
    ("Number(null)", None),
    ("parseInt('12px')", 12),
    ("parseInt('-7.9')", -7),
    ("parseInt('ff', 16)", 255),
    ("parseInt('px')", None),
    ("parseFloat('3.5kg')", 3.5),
    ("parseFloat('1e3x')", 1000.0),
    ("parseFloat('1e')", 1),
    ("parseFloat('.')", None),
    ("str(1.0)", "1"),
    ("str(0.1 + 0.2)", "0.30000000000000004"),
    ("str(1e21)", "1e+21"),
    ("str(1e-7)", "1e-7"),
    ("str(0.000001)", "0.000001"),
    ("str(123456789012345680000)", "123456789012345680000"),
    ("str(true)", "true"),
    ("str(null)", "null"),
    ("str({a: [1]})", '{"a":[1]}'),
    ("String(42)", "42"),
    ("bool('')", False),
    ("bool('0')", True),
    ("bool([])", True),
    ("Boolean(0)", False),
    ("lower('AbC')", "abc"),
    ("upper('abc')", "ABC"),
    ("upper(null)", None),
    ("trim($d.name)", "Ada Lovelace"),
    ("coalesce(null, $d.missing, 0, 1)", 0),
    ("coalesce(null)", None),
    ("default($d.missing, 'n/a')", "n/a"),
    ("default('', 'n/a')", ""),
    ("keys($d.probs)", ["0", "1"]),
    ("keys(['a', 'b'])", ["0", "1"]),
    ("keys(null)", []),
    ("Object.keys($d.probs)", ["0", "1"]),
    ("values($d.probs)", [0.2, 0.8]),
    ("Object.values({a: 1})", [1]),
    ("join($d.xs, '-')", "3-1-2"),
    ("join(['a', null, 1.0])", "a,,1"),
    ("join(null, ',')", None),
    ("split('a,b,,c', ',')", ["a", "b", "", "c"]),
    ("split(' a  b ')", ["a", "b"]),
    ("split('abc', '')", ["a", "b", "c"]),
    ("contains($d.xs, 2)", True),
    ("contains($d.xs, '2')", False),  # strict equality for list elements
    ("contains('hello', 'ell')", True),
    ("contains($d.probs, 1)", True),  # a key, numbers finding string keys
    ("contains(null, 1)", False),
    ("startswith('orkestra', 'ork')", True),
    ("endswith('orkestra', 'tra')", True),
    ("startswith(null, 'a')", False),
    ("replace('a-b-c', '-', '+')", "a+b+c"),  # every occurrence
    ("replace(null, 'a', 'b')", None),
    ("json({a: [1, 'x', null]})", '{"a":[1,"x",null]}'),
    ("JSON.stringify($d.xs)", "[3,1,2]"),
    ("json(null)", "null"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_function(text: str, expected: Any) -> None:
    result = value_of(text)
    assert result == expected
    assert type(result) is type(expected)


METHOD_CASES: list[tuple[str, Any]] = [
    ("'ab'.toUpperCase()", "AB"),
    ("'AB'.toLowerCase()", "ab"),
    ("$d.name.trim()", "Ada Lovelace"),
    ("'abc'.includes('b')", True),
    ("$d.xs.includes(3)", True),
    ("$d.xs.join('+')", "3+1+2"),
    ("(2.345).toFixed(2)", "2.35"),
    ("(1.005).toFixed(2)", "1.00"),  # from the binary value, as JavaScript; round() gives 1.01
    ("$d.n.toFixed(1)", "-2.5"),
    ("(5).toFixed()", "5"),
    ("'7'.toFixed(2)", "7.00"),
    ("'a,b'.split(',')", ["a", "b"]),
    ("'abc'.startsWith('a')", True),
    ("'abc'.endsWith('bc')", True),
    ("'a.a'.replace('.', '-')", "a-a"),
    ("'aa'.replaceAll('a', 'b')", "bb"),
    ("(12).toString()", "12"),
    ("$d.missing.toUpperCase()", None),  # a null target gives null, like ?.()
    ("$d.name.trim().toUpperCase().length", 12),
]


@pytest.mark.parametrize(("text", "expected"), METHOD_CASES)
def test_method(text: str, expected: Any) -> None:
    assert value_of(text) == expected


def test_every_function_and_method_is_tested() -> None:
    tested = " ".join(text for text, _ in CASES + METHOD_CASES)
    missing = [name for name in FUNCTIONS if f"{name}(" not in tested]
    missing += [name for name in METHODS if f".{name}(" not in tested]
    assert missing == ["now"]  # tested on its own below


def test_now_is_current_utc_iso_8601_and_not_folded_into_a_constant() -> None:
    template = compile_expression("now()")
    assert not template.is_constant
    text = template.evaluate({})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    moment = datetime.fromisoformat(text)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo(1)", "unknown function 'foo'"),
        ("Math.foo(1)", "unknown function 'Math.foo'"),
        ("$a.shout()", "unknown method 'shout'"),
        ("round(1, 2, 3)", "round() takes 1 to 2 argument(s), 3 given"),
        ("len()", "len() takes 1 argument(s), 0 given"),
        ("now(1)", "now() takes 0 argument(s), 1 given"),
        ("min()", "min() takes at least 1 argument(s), 0 given"),
        ("'a'.toUpperCase(1)", "toUpperCase() takes 0 argument(s), 1 given"),
    ],
)
def test_unknown_functions_and_wrong_arity_fail_at_compile_time(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert caught.value.message == message


def test_constant_calls_are_folded_at_compile_time() -> None:
    template = compile_expression("round(2.5) + len('abc')")
    assert template.is_constant
    assert template.evaluate({}) == 6
