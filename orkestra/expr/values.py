"""JavaScript meaning for Python's JSON values.

Values are what JSON decodes to: None, bool, int, float, str, list and dict (any Mapping or tuple is
accepted too). Two choices run through everything here:

- `None` stands for both `null` and `undefined` (a missing path is None). Where JavaScript would
  produce `NaN` (`undefined + 1`, `"abc" - 1`, `Number("x")`) the result is None, and so is any
  non-finite number (`1 / 0`), because JSON has neither NaN nor Infinity.
- Objects and arrays turn into compact JSON when a string is needed, not JavaScript's
  `[object Object]` / `1,2`, since that is the only useful text form in an API response.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

Number = int | float

_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def is_number(value: Any) -> bool:
    """True for int and float, false for bool (a bool is an int to Python, not to JSON)."""
    kind = type(value)
    return kind is int or kind is float


def truthy(value: Any) -> bool:
    """JavaScript truthiness: null, false, 0, NaN and "" are falsy; [] and {} are truthy."""
    if value is None or value is False:
        return False
    kind = type(value)
    if kind is str:
        return bool(value)
    if kind is int:
        return bool(value)
    if kind is float:
        return value != 0.0 and not math.isnan(value)
    return True


def finite(value: Number) -> Number | None:
    """A computed number, or None when it is NaN or infinite (JSON has neither)."""
    if type(value) is float and not math.isfinite(value):
        return None
    return value


def parse_number(text: str) -> Number | None:
    """JavaScript `Number(text)`: surrounding blanks ignored, "" is 0, anything else unparsable is None."""
    text = text.strip()
    if not text:
        return 0
    if "_" in text:  # Python accepts 1_000, JavaScript does not
        return None
    lowered = text.lower()
    if lowered.startswith(("0x", "0o", "0b")):
        try:
            return int(text, 0)
        except ValueError:
            return None
    if "inf" in lowered or "nan" in lowered:  # Python spellings JavaScript does not accept
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return finite(float(text))
    except ValueError:
        return None


def to_number(value: Any) -> Number | None:
    """JavaScript ToNumber for arithmetic, with None for NaN and for null/undefined."""
    kind = type(value)
    if kind is int or kind is float:
        return finite(value)
    if kind is bool:
        return int(value)
    if kind is str:
        return parse_number(value)
    return None


def format_number(value: Number) -> str:
    """A number as JavaScript prints it: 1.0 -> "1", 1e21 -> "1e+21", 1e-7 -> "1e-7"."""
    if type(value) is int:
        try:
            return str(value)
        except (
            ValueError
        ):  # more digits than Python will print (sys.int_info.str_digits_check_threshold)
            return format_number(float(value)) if value.bit_length() < 1024 else "Infinity"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as JavaScript does; only the layout differs.
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    significant = all_digits.lstrip("0")
    # value == 0.<digits> * 10**exponent
    exponent = (
        len(whole) + (int(exp_text) if exp_text else 0) - (len(all_digits) - len(significant))
    )
    digits = significant.rstrip("0")
    count = len(digits)
    if count <= exponent <= 21:
        return sign + digits + "0" * (exponent - count)
    if 0 < exponent <= 21:
        return sign + digits[:exponent] + "." + digits[exponent:]
    if -6 < exponent <= 0:
        return sign + "0." + "0" * -exponent + digits
    shown = exponent - 1
    body = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{sign}{body}e{'+' if shown >= 0 else '-'}{abs(shown)}"


def to_json(value: Any) -> str:
    """Compact JSON text of any value; unknown objects are written as their str()."""
    try:
        return orjson.dumps(value, default=str, option=_JSON_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError):  # recursion limit, integers beyond 64 bits
        return orjson.dumps(_jsonable(value, 0), default=str).decode()


def _jsonable(value: Any, depth: int) -> Any:
    if depth > 200:
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if type(value) is int and not -(2**63) <= value < 2**64:
        return format_number(value)
    return value


def js_string(value: Any) -> str:
    """JavaScript `String(value)`: null -> "null", objects and arrays -> compact JSON."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return format_number(value)
    return to_json(value)


def text_form(value: Any) -> str:
    """The text a value contributes to an interpolated string: like `String`, but null is ""."""
    if value is None:
        return ""
    return js_string(value)


def get_member(value: Any, key: Any) -> Any:
    """`value[key]` with JavaScript leniency: anything missing is None, never an error.

    An int key finds the str key of a dict (`$p.probabilities[1]` finds "1"), a digit string indexes a
    list, negative indexes are missing (JavaScript has none), and `length` is the size of a string,
    list or dict (unless the dict has a "length" key of its own).
    """
    kind = type(value)
    if kind is dict or (kind is not str and isinstance(value, Mapping)):
        found = value.get(key, _MISSING) if _hashable(key) else _MISSING
        if found is not _MISSING:
            return found
        if type(key) is not str:
            return value.get(js_string(key))
        if key == "length":
            return len(value)
        return None
    if kind is list or kind is tuple:
        index = _index(key)
        if index is not None:
            return value[index] if 0 <= index < len(value) else None
        return len(value) if key == "length" else None
    if kind is str:
        index = _index(key)
        if index is not None:
            return value[index] if 0 <= index < len(value) else None
        return len(value) if key == "length" else None
    return None


_MISSING = object()


def _hashable(key: Any) -> bool:
    kind = type(key)
    return kind is str or kind is int or kind is float or kind is bool or key is None


def _index(key: Any) -> int | None:
    kind = type(key)
    if kind is int:
        return key  # type: ignore[no-any-return]
    if kind is float and key.is_integer():
        return int(key)
    if kind is str and key.isdigit() and key.isascii():
        return int(key)
    return None


def strict_equals(left: Any, right: Any) -> bool:
    """`===`: same JSON type and equal value (1 === 1.0, but 1 !== true and 1 !== "1")."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        both_maps = isinstance(left, Mapping) and isinstance(right, Mapping)
        both_lists = isinstance(left, (list, tuple)) and isinstance(right, (list, tuple))
        if not (both_maps or both_lists):
            return False
        if both_lists:
            return list(left) == list(right)
    return bool(left == right)


def loose_equals(left: Any, right: Any) -> bool:
    """`==`: null equals only null; numbers, numeric strings and booleans compare as numbers.

    Objects and arrays compare by value (JavaScript compares identity, which a config cannot use).
    """
    if left is None or right is None:
        return left is None and right is None
    primitive = (str, int, float, bool)
    if isinstance(left, primitive) and isinstance(right, primitive):
        if type(left) is str and type(right) is str:
            return left == right
        if type(left) is not str and type(right) is not str:
            return bool(left == right)  # numbers and booleans: true == 1
        number_left, number_right = to_number(left), to_number(right)
        return number_left is not None and number_left == number_right
    return strict_equals(left, right)


def compare(left: Any, right: Any) -> int | None:
    """Order of two values as `<` sees them: -1, 0, 1, or None when they cannot be ordered.

    Two strings compare as text; otherwise both sides must be numbers (or numeric strings, or
    booleans). Any comparison with null is false, which is simpler to predict than JavaScript's
    `null >= 0`.
    """
    if left is None or right is None:
        return None
    if type(left) is str and type(right) is str:
        return (left > right) - (left < right)
    number_left, number_right = to_number(left), to_number(right)
    if number_left is None or number_right is None:
        return None
    if type(left) not in (int, float, bool, str) or type(right) not in (int, float, bool, str):
        return None
    return (number_left > number_right) - (number_left < number_right)
