"""The binary operators, with JavaScript meaning (see `values` for the choices about null and NaN)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from orkestra.expr.values import (
    compare,
    finite,
    js_string,
    loose_equals,
    strict_equals,
    to_number,
)

BinaryOperator = Callable[[Any, Any], Any]


def add(left: Any, right: Any) -> Any:
    """`+` concatenates when either side is a string (or an object/array), else adds numbers."""
    kind_left, kind_right = type(left), type(right)
    if kind_left is int and kind_right is int:
        return left + right
    if kind_left is str or kind_right is str or _is_container(left) or _is_container(right):
        return js_string(left) + js_string(right)
    return _add_numbers(left, right)


def _numeric(function: Callable[[Any, Any], Any]) -> BinaryOperator:
    """An operator that converts both sides to numbers; null (or NaN) on either side gives null."""

    def apply(left: Any, right: Any) -> Any:
        a, b = to_number(left), to_number(right)
        if a is None or b is None:
            return None
        return _arithmetic(function, a, b)

    return apply


_add_numbers = _numeric(operator.add)
subtract = _numeric(operator.sub)
multiply = _numeric(operator.mul)


def divide(left: Any, right: Any) -> Any:
    """Float division; dividing by zero is null (JSON has no Infinity)."""
    a, b = to_number(left), to_number(right)
    if a is None or b is None or b == 0:
        return None
    try:
        return finite(a / b)
    except OverflowError:  # int / int beyond float range
        return None


def remainder(left: Any, right: Any) -> Any:
    """JavaScript `%`: the sign follows the dividend (-7 % 3 == -1), unlike Python's."""
    a, b = to_number(left), to_number(right)
    if a is None or b is None or b == 0:
        return None
    if type(a) is int and type(b) is int:
        result = abs(a) % abs(b)
        return -result if a < 0 else result
    try:
        return finite(math.fmod(a, b))
    except (OverflowError, ValueError):
        return None


def power(left: Any, right: Any) -> Any:
    """`**` in floats, so that `10 ** 10 ** 10` is null rather than a very long computation."""
    a, b = to_number(left), to_number(right)
    if a is None or b is None:
        return None
    try:
        result = math.pow(a, b)
    except (OverflowError, ValueError):
        return None
    if type(a) is int and type(b) is int and b >= 0 and result.is_integer() and abs(result) < 2**53:
        return int(result)
    return finite(result)


def equals(left: Any, right: Any) -> bool:
    return loose_equals(left, right)


def not_equals(left: Any, right: Any) -> bool:
    return not loose_equals(left, right)


def strictly_equals(left: Any, right: Any) -> bool:
    return strict_equals(left, right)


def strictly_not_equals(left: Any, right: Any) -> bool:
    return not strict_equals(left, right)


def less(left: Any, right: Any) -> bool:
    order = compare(left, right)
    return order is not None and order < 0


def less_or_equal(left: Any, right: Any) -> bool:
    order = compare(left, right)
    return order is not None and order <= 0


def greater(left: Any, right: Any) -> bool:
    order = compare(left, right)
    return order is not None and order > 0


def greater_or_equal(left: Any, right: Any) -> bool:
    order = compare(left, right)
    return order is not None and order >= 0


BINARY_OPERATORS: dict[str, BinaryOperator] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "%": remainder,
    "**": power,
    "==": equals,
    "!=": not_equals,
    "===": strictly_equals,
    "!==": strictly_not_equals,
    "<": less,
    "<=": less_or_equal,
    ">": greater,
    ">=": greater_or_equal,
}


def negate(value: Any) -> Any:
    number = to_number(value)
    return None if number is None else -number


def plus(value: Any) -> Any:
    return to_number(value)


def _arithmetic(
    function: Callable[[int | float, int | float], int | float], a: float, b: float
) -> int | float | None:
    try:
        return finite(function(a, b))
    except OverflowError:  # a huge int meeting a float
        return None


def _is_container(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple))
