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
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from orkestra.expr.operators import power
from orkestra.expr.values import (
    finite,
    is_number,
    js_string,
    parse_number,
    strict_equals,
    to_json,
    to_number,
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


def _numeric(function: Callable[[float], float]) -> Callable[[Any], Number | None]:
    def apply(value: Any) -> Number | None:
        number = to_number(value)
        if number is None:
            return None
        try:
            return finite(function(number))
        except (ValueError, OverflowError):  # sqrt(-1), log(0), exp(1000)
            return None

    return apply


def _integral(function: Callable[[float], int]) -> Callable[[Any], int | None]:
    def apply(value: Any) -> int | None:
        number = to_number(value)
        if number is None:
            return None
        return number if type(number) is int else function(number)

    return apply


def _round_decimal(value: Any, digits: Any, rounding: str) -> Number | None:
    number = to_number(value)
    places = to_number(digits)
    if number is None or places is None:
        return None
    places = max(-300, min(300, int(places)))  # beyond these, rounding changes nothing anyway
    try:
        # repr() is the number as written, so 2.675 rounds to 2.68 as a user expects, not 2.67.
        exact = Decimal(repr(number)) if type(number) is float else Decimal(number)
        rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=rounding)
    except InvalidOperation:
        return number
    return int(rounded) if places <= 0 else finite(float(rounded))


def _round_to_integer(number: float, tie_away: bool) -> int:
    """The common case without Decimal. For a non-negative float `a - floor(a)` is exact, so ties
    are found exactly; a tie goes away from zero when `tie_away`, else towards it."""
    magnitude = abs(number)
    lower = math.floor(magnitude)
    fraction = magnitude - lower
    if fraction > 0.5 or (fraction == 0.5 and tie_away):
        lower += 1
    return lower if number >= 0 else -lower


def round_half_away(value: Any, digits: Any = 0) -> Number | None:
    """`round(x, n)`: half away from zero (2.5 -> 3, -2.5 -> -3), an int when n is 0."""
    if type(value) is float and digits == 0 and math.isfinite(value):
        return _round_to_integer(value, tie_away=True)
    return _round_decimal(value, digits, ROUND_HALF_UP)


def math_round(value: Any) -> Number | None:
    """`Math.round(x)`: half towards +infinity, as JavaScript (2.5 -> 3, -2.5 -> -2)."""
    number = to_number(value)
    if number is None:
        return None
    return number if type(number) is int else _round_to_integer(number, tie_away=number > 0)


def _numbers(args: tuple[Any, ...]) -> list[Number] | None:
    """The arguments of min/max/sum: varargs or one list; nulls skipped; None if any is not a number."""
    items: Any = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    numbers: list[Number] = []
    for item in items:
        if item is None:
            continue
        number = to_number(item)
        if number is None:
            return None
        numbers.append(number)
    return numbers


def minimum(*args: Any) -> Number | None:
    numbers = _numbers(args)
    return min(numbers) if numbers else None


def maximum(*args: Any) -> Number | None:
    numbers = _numbers(args)
    return max(numbers) if numbers else None


def total(*args: Any) -> Number | None:
    numbers = _numbers(args)
    if numbers is None:
        return None
    try:
        return finite(sum(numbers))
    except OverflowError:
        return None


def logarithm(value: Any, base: Any = None) -> Number | None:
    number = to_number(value)
    if number is None:
        return None
    try:
        if base is None:
            return finite(math.log(number))
        base_number = to_number(base)
        return None if base_number is None else finite(math.log(number, base_number))
    except (ValueError, OverflowError, ZeroDivisionError):
        return None


def length(value: Any) -> int | None:
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    return None


def to_int(value: Any) -> int | None:
    """`int(x)`: truncates towards zero; numeric strings ("3.7") too; null when not a number."""
    number = to_number(value)
    if number is None:
        return None
    return number if type(number) is int else int(number)


def to_float(value: Any) -> float | None:
    number = to_number(value)
    if number is None:
        return None
    try:
        return float(number)
    except OverflowError:
        return None


def to_number_strict(value: Any) -> Number | None:
    return to_number(value)


def parse_int(value: Any, radix: Any = 10) -> int | None:
    """JavaScript `parseInt`: the leading integer of the text ("12px" -> 12), null if none."""
    text = js_string(value).strip() if value is not None else ""
    base = to_number(radix)
    if base is None or not 2 <= base <= 36:
        base = 10
    base = int(base)
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if base == 16 and text.lower().startswith("0x"):
        text = text[2:]
    end = 0
    while end < len(text) and end < 4000 and _digit_value(text[end]) < base:
        end += 1
    return sign * int(text[:end], base) if end else None


def _digit_value(char: str) -> int:
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "a" <= char.lower() <= "z":
        return ord(char.lower()) - ord("a") + 10
    return 99


def parse_float(value: Any) -> Number | None:
    """JavaScript `parseFloat`: the longest leading number of the text ("3.5kg" -> 3.5)."""
    text = js_string(value).strip() if value is not None else ""
    end = 0
    seen_digit = seen_point = seen_exponent = False
    while end < len(text) and end < 4000:
        char = text[end]
        if char.isdigit() and char.isascii():
            seen_digit = True
        elif char in "+-" and (end == 0 or text[end - 1] in "eE"):
            pass
        elif char == "." and not seen_point and not seen_exponent:
            seen_point = True
        elif char in "eE" and seen_digit and not seen_exponent:
            seen_exponent = True
        else:
            break
        end += 1
    while end > 0:  # back off an incomplete tail such as "1e" or "1e+"
        prefix = text[:end]
        number = parse_number(prefix) if prefix.strip("+-.") else None
        if number is not None:
            return float(number) if any(c in prefix for c in ".eE") else number
        end -= 1
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


def to_fixed(value: Any, digits: Any = 0) -> str | None:
    """`x.toFixed(n)`: the number with exactly n decimals, as a string (n clamped to 0..100)."""
    number = to_number(value)
    places = to_number(digits)
    if number is None or places is None:
        return None
    places = max(0, min(100, int(places)))
    rounded = _round_decimal(number, places, ROUND_HALF_UP)
    if rounded is None:
        return None
    return f"{Decimal(repr(rounded)) if type(rounded) is float else Decimal(rounded):.{places}f}"


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
    "abs": Function(_numeric(abs), 1, 1),
    "floor": Function(_integral(math.floor), 1, 1),
    "ceil": Function(_integral(math.ceil), 1, 1),
    "sqrt": Function(_numeric(math.sqrt), 1, 1),
    "exp": Function(_numeric(math.exp), 1, 1),
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
    "Math.floor": Function(_integral(math.floor), 1, 1),
    "Math.ceil": Function(_integral(math.ceil), 1, 1),
    "Math.trunc": Function(to_int, 1, 1),
    "Math.abs": Function(_numeric(abs), 1, 1),
    "Math.sqrt": Function(_numeric(math.sqrt), 1, 1),
    "Math.pow": Function(power, 2, 2),
    "Math.exp": Function(_numeric(math.exp), 1, 1),
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
