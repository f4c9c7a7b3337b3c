"""Operators with JavaScript meaning, and the documented departures (null/NaN -> null)."""

from __future__ import annotations

from typing import Any

import pytest

from orkestra.expr import compile_expression

SCOPE: dict[str, Any] = {
    "a": {
        "zero": 0,
        "empty": "",
        "no": False,
        "list": [],
        "obj": {},
        "n": 5,
        "s": "5",
        "text": "x",
    },
}


def value_of(text: str, scope: dict[str, Any] | None = None) -> Any:
    return compile_expression(text).evaluate(SCOPE if scope is None else scope)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # || returns the first truthy operand (not a boolean); JS falsy: 0, "", null, false
        ("$a.zero || 'd'", "d"),
        ("$a.empty || 'd'", "d"),
        ("$a.no || 'd'", "d"),
        ("$a.missing || 'd'", "d"),
        ("$a.list || 'd'", []),  # [] and {} are truthy
        ("$a.obj || 'd'", {}),
        ("$a.text || 'd'", "x"),
        ("$a.zero || $a.empty", ""),  # all falsy: the last one
        # && returns the first falsy operand, else the last
        ("$a.n && $a.text", "x"),
        ("$a.zero && $a.text", 0),
        # ?? only replaces null / missing
        ("$a.zero ?? 'd'", 0),
        ("$a.empty ?? 'd'", ""),
        ("$a.missing ?? 'd'", "d"),
        ("null ?? null ?? 3", 3),
        ("!$a.zero", True),
        ("!$a.list", False),
        ("!!$a.text", True),
    ],
)
def test_logical_operators(text: str, expected: Any) -> None:
    assert value_of(text) == expected


class RecordingScope(dict[str, Any]):
    """A scope that remembers which roots were looked up."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.looked_up: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.looked_up.append(key)
        return super().get(key, default)


@pytest.mark.parametrize(
    "text",
    [
        "$a.n || $b.x",
        "$a.zero && $b.x",
        "$a.n ?? $b.x",
        "true ? $a.n : $b.x",
        "false ? $b.x : $a.n",
    ],
)
def test_the_operand_not_needed_is_not_evaluated(text: str) -> None:
    scope = RecordingScope({"a": SCOPE["a"], "b": {"x": 1}})
    compile_expression(text).evaluate(scope)
    assert scope.looked_up == ["a"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'5' == 5", True),
        ("5 == '5.0'", True),
        ("$a.s == $a.n", True),
        ("'5' === 5", False),
        ("5 === 5.0", True),
        ("'5' != 5", False),
        ("'5' !== 5", True),
        ("null == null", True),
        ("null == undefined", True),
        ("null == 0", False),
        ("null == ''", False),
        ("$a.missing == null", True),
        ("$a.missing != null", False),
        ("true == 1", True),
        ("true === 1", False),
        ("'abc' == 'abc'", True),
        ("'abc' == 'ABC'", False),
        ("[1, 2] == [1, 2]", True),  # by value (JavaScript compares identity)
        ("{a: 1} === {a: 1}", True),
        ("'x' == 0", False),
    ],
)
def test_equality(text: str, expected: bool) -> None:
    assert value_of(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 < 2", True),
        ("2 <= 2", True),
        ("3 > 2", True),
        ("2 >= 3", False),
        ("'10' < 9", False),  # a numeric string compares as a number
        ("'10' > 9", True),
        ("'abc' < 'abd'", True),  # two strings compare as text
        ("'10' < '9'", True),
        ("null < 1", False),  # any comparison with null is false
        ("null >= 0", False),
        ("$a.missing > 0", False),
        ("'x' < 1", False),
        ("[1] < [2]", False),
    ],
)
def test_comparisons(text: str, expected: bool) -> None:
    assert value_of(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2", 3),
        ("1.5 + 1", 2.5),
        ("'a' + 'b'", "ab"),
        ("'a' + 1", "a1"),
        ("1 + '2'", "12"),
        ("'n=' + 1.0", "n=1"),  # numbers as JavaScript prints them
        ("'v' + true", "vtrue"),
        ("'a' + null", "anull"),
        ("'list ' + [1, 2]", "list [1,2]"),  # objects and arrays as compact JSON
        ("true + 1", 2),
        ("null + 1", None),  # null acts as undefined: NaN, which is null
        ("$a.missing + 1", None),
        ("7 - 2", 5),
        ("'7' - 2", 5),
        ("'a' - 1", None),
        ("3 * 4", 12),
        ("'3' * '4'", 12),
        ("7 / 2", 3.5),
        ("6 / 3", 2.0),
        ("1 / 0", None),  # JSON has no Infinity
        ("0 / 0", None),
        ("7 % 3", 1),
        ("-7 % 3", -1),  # the sign follows the dividend, as in JavaScript
        ("7.5 % 2", 1.5),
        ("5 % 0", None),
        ("2 ** 10", 1024),
        ("2 ** 3 ** 2", 512),  # right-associative
        ("2 ** -1", 0.5),
        ("10 ** 10 ** 10", None),  # overflow is null, not a hang
        ("-$a.n", -5),
        ("-'3'", -3),
        ("+'3'", 3),
        ("-'x'", None),
        ("1e300 * 1e300", None),
    ],
)
def test_arithmetic(text: str, expected: Any) -> None:
    result = value_of(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left-associative
        ("12 / 2 / 3", 2.0),
        ("1 + 2 > 2 && 'yes'", "yes"),
        ("1 < 2 == true", True),
        ("null || 0 ?? 5", 0),
        ("true ? 1 : 2", 1),
        ("0 ? 1 : 2", 2),
        ("false ? 1 : true ? 2 : 3", 2),  # right-nested
        ("$a.n > 3 ? 'big' : 'small'", "big"),
        ("$a.missing ? 'yes' : 'no'", "no"),
        ("!$a.zero && $a.n == 5", True),
        ("-2 ** 2", 4),  # prefix minus binds tighter (JavaScript refuses this form)
        ("$a.n >= 5 ? $a.text + '!' : null", "x!"),
    ],
)
def test_precedence_and_ternary(text: str, expected: Any) -> None:
    assert value_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a\\nb'", "a\nb"),
        ("'\\u00e9'", "é"),
        ("'\\q'", "q"),  # an unknown escape is the character itself
        ("42", 42),
        ("4.25", 4.25),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 'a', null,]", [1, "a", None]),
        ("[]", []),
        ("{a: 1, 'b c': [true], \"d\": null}", {"a": 1, "b c": [True], "d": None}),
        ("{score: $a.n * 2, label: $a.text}", {"score": 10, "label": "x"}),
        ("{}", {}),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    assert value_of(text) == expected


def test_whitespace_and_newlines_are_ignored() -> None:
    assert value_of("\n  $a.n\n  +\t1\n") == 6
