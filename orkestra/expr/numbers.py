"""The numeric functions: rounding, min/max/sum, conversions and JavaScript's number parsing.

Each returns null instead of raising when an argument is null or not a number (`round(null)`,
`int("abc")`, `sqrt(-1)`), since an expression evaluated per request must not fail on data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from orkestra.expr.values import finite, js_string, parse_number, to_number

Number = int | float


def float_function(function: Callable[[float], float]) -> Callable[[Any], Number | None]:
    def apply(value: Any) -> Number | None:
        number = to_number(value)
        if number is None:
            return None
        try:
            return finite(function(number))
        except (ValueError, OverflowError):  # sqrt(-1), log(0), exp(1000)
            return None

    return apply


def integer_function(function: Callable[[float], int]) -> Callable[[Any], int | None]:
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


def parse_int(value: Any, radix: Any = None) -> int | None:
    """JavaScript `parseInt`: the leading integer of the text ("12px" -> 12, "0x1A" -> 26), null if
    there is none or the radix is outside 2..36."""
    text = js_string(value).strip() if value is not None else ""
    sign = -1 if text.startswith("-") else 1
    if text[:1] in ("+", "-"):
        text = text[1:]
    base_number = to_number(radix) if radix is not None else 0
    base = int(base_number) if base_number is not None else 0
    if base != 0 and not 2 <= base <= 36:
        return None
    if base in (0, 16) and text[:2] in ("0x", "0X"):
        text, base = text[2:], 16
    base = base or 10
    end = 0
    while end < len(text) and end < 4000 and _digit_value(text[end]) < base:
        end += 1
    return sign * int(text[:end], base) if end else None


def _digit_value(char: str) -> int:
    if not char.isascii():
        return 99
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


def to_fixed(value: Any, digits: Any = 0) -> str | None:
    """`x.toFixed(n)` exactly as JavaScript: the number's exact binary value rounded half away from
    zero, so `(1.005).toFixed(2)` is "1.00" (unlike `round`, which takes the number as written)."""
    number = to_number(value)
    places = to_number(digits)
    if number is None or places is None:
        return None
    places = max(0, min(100, int(places)))
    if abs(number) >= 1e21:
        return js_string(number)
    magnitude = Decimal(abs(number))  # a float converts exactly, with all its binary digits
    rounded = magnitude.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP, _WIDE)
    return f"{'-' if number < 0 else ''}{rounded:f}"  # (-0.001).toFixed(2) is "-0.00" in JavaScript


_WIDE = Context(prec=200)  # room for 21 integer digits and 100 decimals
