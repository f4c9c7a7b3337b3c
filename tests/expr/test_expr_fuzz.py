"""Property tests: compiling any text raises nothing but ExpressionError, and evaluating any valid
expression over any JSON scope raises nothing but OrkestraError and yields JSON (no NaN/Infinity)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orkestra.errors import OrkestraError
from orkestra.expr import ExpressionError, compile_expression, compile_template
from orkestra.expr.functions import FUNCTIONS, METHODS

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EXPRESSION_CHARS = "$.[]()'\"{}!?:|&=<>+-*/%,^#\\ \n0123456789eEabcxyz_ENV"

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["", "0", "5", "1.5", "abc", "1e400", "-0", " 7 ", "0x1f", "true", "null"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["a", "b", "c", "0", "1", "length", "x:y"]), children, max_size=4
        ),
    ),
    max_leaves=12,
)
scopes = st.fixed_dictionaries(
    {"r": json_values, "s": json_values, "request": json_values, "this": json_values}
)


def is_json(value: Any, depth: int = 0) -> bool:
    if depth > 100:
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(is_json(v, depth + 1) for v in value)
    return value is None or isinstance(value, (bool, int, str))


@FUZZ
@given(st.text(alphabet=EXPRESSION_CHARS, max_size=60) | st.text(max_size=40), scopes)
def test_any_text_compiles_or_raises_expression_error(text: str, scope: dict[str, Any]) -> None:
    for compile_ in (compile_template, compile_expression):
        try:
            template = compile_(text)
        except ExpressionError:
            continue
        try:
            result = template.evaluate(scope)
        except OrkestraError:
            continue
        assert is_json(result)


# -- valid expressions, built from the grammar ---------------------------------------------------

references = st.sampled_from(
    ["$r", "$r.a", "$r.b[0]", "$r['c']", "$s.a.b", "$s[1]", "$r.length", "$r.x:y", "$this",
     "$request.body.a", "$missing.z", "$r[$s.a]", "$ENV[HOME]"]
)  # fmt: skip
literals = st.sampled_from(
    ["0", "1", "-1", "2.5", "1e308", "''", "'a'", "'5'", "true", "false", "null", "[]", "{}",
     "[1, 'x']", "{a: 1}", "10 ** 400"]
)  # fmt: skip
binary = st.sampled_from(
    [
        "+",
        "-",
        "*",
        "/",
        "%",
        "**",
        "==",
        "!=",
        "===",
        "!==",
        "<",
        "<=",
        ">",
        ">=",
        "&&",
        "||",
        "??",
    ]
)


def _call(name_and_args: tuple[str, list[str]]) -> str:
    name, args = name_and_args
    return f"{name}({', '.join(args)})"


def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def function_call(name: str) -> st.SearchStrategy[str]:
        spec = FUNCTIONS[name]
        high = spec.min_args + 2 if spec.max_args is None else spec.max_args
        return st.lists(children, min_size=spec.min_args, max_size=high).map(
            lambda args: f"{name}({', '.join(args)})"
        )

    def method_call(name: str) -> st.SearchStrategy[str]:
        spec = METHODS[name]
        high = spec.min_args + 1 if spec.max_args is None else spec.max_args
        return st.tuples(
            children, st.lists(children, min_size=spec.min_args - 1, max_size=high - 1)
        ).map(lambda pair: f"({pair[0]}).{name}({', '.join(pair[1])})")

    return st.one_of(
        st.tuples(children, binary, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["!", "-", "+"]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]})[{t[1]}]"),
        children.map(lambda c: f"({c}).length"),
        st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.sampled_from(sorted(FUNCTIONS)).flatmap(function_call),
        st.sampled_from(sorted(METHODS)).flatmap(method_call),
    )


expressions = st.recursive(references | literals, extend, max_leaves=8)


@FUZZ
@given(expressions, scopes)
def test_valid_expressions_evaluate_to_json_or_raise_orkestra_errors(
    text: str, scope: dict[str, Any]
) -> None:
    template = compile_expression(text)
    try:
        result = template.evaluate(scope)
    except OrkestraError:
        return
    assert is_json(result), (text, result)


@FUZZ
@given(expressions, scopes)
def test_expressions_inside_text_interpolate_to_a_string(text: str, scope: dict[str, Any]) -> None:
    template = compile_template(f"value: ${{{text}}}!")
    try:
        result = template.evaluate(scope)
    except OrkestraError:
        return
    assert isinstance(result, str)
    assert result.startswith("value: ") and result.endswith("!")
