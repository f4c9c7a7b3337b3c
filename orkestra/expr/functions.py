"""The fixed set of functions and methods an expression may call.

Every function is total over JSON values: where a number is needed and the argument is null or not a
number, the result is null (`round(null)`, `int("abc")`), never an exception. Names are checked at
compile time, so an unknown function or a wrong argument count is a config error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orkestra.expr.numbers import (
    float_function,
    integer_function,
    logarithm,
    math_round,
    maximum,
    minimum,
    parse_float,
    parse_int,
    round_half_away,
    to_fixed,
    to_float,
    to_int,
    to_number_strict,
    total,
)
from orkestra.expr.operators import power
from orkestra.expr.values import (
    is_number,
    js_string,
    strict_equals,
    to_json,
    truthy,
)

Number = int | float


@dataclass(frozen=True)
class Function:
    implementation: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    pure: bool = (
        True  # False: the result changes between calls, so it is never folded into a constant
    )


def length(value: Any) -> int | None:
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    return None


def text_function(transform: Callable[[str], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        return None if value is None else transform(js_string(value))

    return apply


def coalesce(*args: Any) -> Any:
    return next((arg for arg in args if arg is not None), None)


def default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def keys(value: Any) -> list[Any]:
    """`keys(x)` / `Object.keys(x)`: a dict's keys; a list's or string's indexes as strings."""
    if isinstance(value, Mapping):
        return [js_string(key) for key in value]
    if isinstance(value, (list, tuple, str)):
        return [str(index) for index in range(len(value))]
    return []


def values(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return list(value)
    return []


def now() -> str:
    """UTC time as JavaScript's `toISOString()` writes it: 2024-05-01T12:00:00.000Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def join(items: Any, separator: Any = ",") -> str | None:
    if not isinstance(items, (list, tuple)):
        return None if items is None else js_string(items)
    glue = js_string(separator)
    return glue.join("" if item is None else js_string(item) for item in items)


def split(text: Any, separator: Any = None) -> list[str] | None:
    """`split(s)` splits on runs of blanks; `split(s, sep)` on each `sep`."""
    if text is None:
        return None
    if separator is None:
        return js_string(text).split()
    glue = js_string(separator)
    return list(js_string(text)) if glue == "" else js_string(text).split(glue)


def contains(container: Any, item: Any) -> bool:
    """Substring of a string, element of a list (strict equality), key of a dict."""
    if isinstance(container, str):
        return item is not None and js_string(item) in container
    if isinstance(container, (list, tuple)):
        return any(strict_equals(element, item) for element in container)
    if isinstance(container, Mapping):
        return js_string(item) in container or (is_number(item) and item in container)
    return False


def starts_with(text: Any, prefix: Any) -> bool:
    return isinstance(text, str) and prefix is not None and text.startswith(js_string(prefix))


def ends_with(text: Any, suffix: Any) -> bool:
    return isinstance(text, str) and suffix is not None and text.endswith(js_string(suffix))


def replace(text: Any, old: Any, new: Any) -> str | None:
    """Replaces every occurrence (JavaScript's `replaceAll`), since that is what a config wants."""
    if text is None:
        return None
    return js_string(text).replace(js_string(old), js_string(new))


def json_string(value: Any) -> str:
    return to_json(value)


def to_string(value: Any) -> str:
    return js_string(value)


FUNCTIONS: dict[str, Function] = {
    "len": Function(length, 1, 1),
    "round": Function(round_half_away, 1, 2),
    "min": Function(minimum, 1, None),
    "max": Function(maximum, 1, None),
    "sum": Function(total, 1, None),
    "abs": Function(float_function(abs), 1, 1),
    "floor": Function(integer_function(math.floor), 1, 1),
    "ceil": Function(integer_function(math.ceil), 1, 1),
    "sqrt": Function(float_function(math.sqrt), 1, 1),
    "exp": Function(float_function(math.exp), 1, 1),
    "log": Function(logarithm, 1, 2),
    "pow": Function(power, 2, 2),
    "int": Function(to_int, 1, 1),
    "float": Function(to_float, 1, 1),
    "to_number": Function(to_number_strict, 1, 1),
    "str": Function(to_string, 1, 1),
    "bool": Function(truthy, 1, 1),
    "lower": Function(text_function(str.lower), 1, 1),
    "upper": Function(text_function(str.upper), 1, 1),
    "trim": Function(text_function(str.strip), 1, 1),
    "coalesce": Function(coalesce, 1, None),
    "default": Function(default, 2, 2),
    "keys": Function(keys, 1, 1),
    "values": Function(values, 1, 1),
    "now": Function(now, 0, 0, pure=False),
    "join": Function(join, 1, 2),
    "split": Function(split, 1, 2),
    "contains": Function(contains, 2, 2),
    "startswith": Function(starts_with, 2, 2),
    "endswith": Function(ends_with, 2, 2),
    "replace": Function(replace, 3, 3),
    "json": Function(json_string, 1, 1),
    "Math.max": Function(maximum, 1, None),
    "Math.min": Function(minimum, 1, None),
    "Math.round": Function(math_round, 1, 1),
    "Math.floor": Function(integer_function(math.floor), 1, 1),
    "Math.ceil": Function(integer_function(math.ceil), 1, 1),
    "Math.trunc": Function(to_int, 1, 1),
    "Math.abs": Function(float_function(abs), 1, 1),
    "Math.sqrt": Function(float_function(math.sqrt), 1, 1),
    "Math.pow": Function(power, 2, 2),
    "Math.exp": Function(float_function(math.exp), 1, 1),
    "Math.log": Function(logarithm, 1, 1),
    "Object.keys": Function(keys, 1, 1),
    "Object.values": Function(values, 1, 1),
    "String": Function(to_string, 1, 1),
    "Number": Function(to_number_strict, 1, 1),
    "Boolean": Function(truthy, 1, 1),
    "parseInt": Function(parse_int, 1, 2),
    "parseFloat": Function(parse_float, 1, 1),
    "JSON.stringify": Function(json_string, 1, 1),
}

# Methods: `target.name(args)`; the target is the first argument. Null targets give null, as
# JavaScript's optional chaining `target?.name()` would.
METHODS: dict[str, Function] = {
    "toUpperCase": Function(text_function(str.upper), 1, 1),
    "toLowerCase": Function(text_function(str.lower), 1, 1),
    "trim": Function(text_function(str.strip), 1, 1),
    "toString": Function(to_string, 1, 1),
    "includes": Function(contains, 2, 2),
    "startsWith": Function(starts_with, 2, 2),
    "endsWith": Function(ends_with, 2, 2),
    "join": Function(join, 1, 2),
    "split": Function(split, 1, 2),
    "replace": Function(replace, 3, 3),
    "replaceAll": Function(replace, 3, 3),
    "toFixed": Function(to_fixed, 1, 2),
}
