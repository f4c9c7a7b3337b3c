"""Syntax errors: precise messages and positions; limits instead of RecursionError."""

from __future__ import annotations

import pytest

from orkestra.errors import OrkestraError
from orkestra.expr import ExpressionError, compile_expression, compile_template
from orkestra.expr.parser import MAX_LENGTH


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("$a + )", "unexpected ')'", 5),
        (")", "unexpected ')'", 0),
        ("'abc", "unterminated string", 0),
        ("$a == 'x", "unterminated string", 6),
        ('"a\\', "unterminated string", 0),
        ("foo(1)", "unknown function 'foo'", 0),
        ("$a.b.c.nope()", "unknown method 'nope'", 7),
        ("$a +", "unexpected end of expression", 4),
        ("(1 + 2", "expected ')' to close '(', found the end", 6),
        ("[1, 2", "expected ',' or ']'", 5),
        ("{a: 1", "expected ',' or '}'", 5),
        ("{a 1}", "expected ':' after an object key, found '1'", 3),
        ("$a ? 1", "expected ':' of 'a ? b : c'", 6),
        ("$", "expected a name after '$'", 0),
        ("$1", "expected a name after '$'", 0),
        ("$a.", "expected a name after '.'", 3),
        ("$a[1", "expected ']' to close '[', found the end", 4),
        ("bare", "unexpected name 'bare' (references start with '$')", 0),
        ("1 = 2", "unexpected '='", 2),
        ("$a $b", "unexpected '$'", 3),
        ("'\\u12'", "invalid \\u escape", 1),
        ("#", "unexpected '#'", 0),
        ("", "empty expression", 0),
        ("   ", "empty expression", 0),
    ],
)
def test_syntax_error_message_and_position(text: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    error = caught.value
    assert error.message == message
    assert error.position == position
    assert error.text == text
    assert isinstance(error, OrkestraError)


def test_error_text_names_the_column() -> None:
    with pytest.raises(ExpressionError, match=r"unexpected '\)' at column 6 of '\$a \+ \)'"):
        compile_expression("$a + )")


@pytest.mark.parametrize(
    "text",
    [
        "(" * 100 + "1" + ")" * 100,
        "[" * 100 + "]" * 100,
        "!" * 500 + "1",
        "-" * 500 + "1",
        "2 ** " * 100 + "2",
        "$a ? " * 100 + "1" + " : 2" * 100,
        " + ".join(["$a"] * 1000),
        " || ".join(["$a"] * 1000),
        "f(" * 100,
        "round(" * 100 + "1" + ")" * 100,
        "{a: " * 100 + "1" + "}" * 100,
        "$a" + "[0]" * 1000,  # a long path is not nesting: it compiles
    ],
)
def test_deep_or_long_input_is_an_expression_error_never_a_recursion_error(text: str) -> None:
    try:
        template = compile_expression(text)
    except ExpressionError as error:
        assert "nested" in error.message or "unknown function" in error.message
    else:
        template.evaluate({"a": [[0]]})  # what compiles also evaluates without RecursionError


def test_length_limit() -> None:
    with pytest.raises(ExpressionError, match=f"longer than {MAX_LENGTH}"):
        compile_expression("1 + " * (MAX_LENGTH // 4) + "1")


def test_the_same_limits_apply_inside_templates() -> None:
    with pytest.raises(ExpressionError, match="nested"):
        compile_template("$a + " + "(" * 100 + "1" + ")" * 100)


def test_non_string_expressions() -> None:
    assert compile_expression(True).evaluate({}) is True  # type: ignore[arg-type]  # YAML `condition: true`
    with pytest.raises(ExpressionError):
        compile_expression(["$a"])  # type: ignore[arg-type]
