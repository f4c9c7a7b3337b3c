"""Templates: literal strings, typed single expressions, interpolated text, dicts and lists."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orkestra.expr import ExpressionError, Template, compile_template

SCOPE: dict[str, Any] = {
    "request": {"path_params": {"name": "Ada"}, "query_params": {}},
    "c": {
        "score": 710,
        "ratio": 1.0,
        "ok": True,
        "none": None,
        "tags": ["a", "b"],
        "obj": {"k": 1},
    },
    "f": {"iris:sepal_length": 5.1},
}


def render(value: Any) -> Any:
    return compile_template(value).evaluate(SCOPE)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("metric", "metric"),
        ("{city}", "{city}"),  # API placeholders are not expressions
        ("a || b", "a || b"),  # no "$": literal text
        ("$c.score", 710),  # one expression keeps its type
        ("  $c.score  ", 710),
        ("$c.ok", True),
        ("$c.tags", ["a", "b"]),
        ("$c.none", None),
        ("$c.missing || 'n/a'", "n/a"),
        ("$c.score > 700", True),
        ("[$c.score, $c.ok]", [710, True]),
        ("($c.score)", 710),
    ],
)
def test_strings(value: str, expected: Any) -> None:
    assert render(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Hello, $request.path_params.name!", "Hello, Ada!"),
        ("Hi $request.path_params.name.", "Hi Ada."),  # a trailing dot ends the reference
        ("$request.path_params.name, welcome", "Ada, welcome"),
        ("(by $request.path_params.name)", "(by Ada)"),
        ("score=$c.score;", "score=710;"),
        ("ratio $c.ratio", "ratio 1"),  # numbers as JavaScript prints them
        ("ok: $c.ok", "ok: true"),
        ("none: [$c.none]", "none: []"),  # null is the empty string
        ("missing: $c.nope.deeper", "missing: "),
        ("tags: $c.tags", 'tags: ["a","b"]'),  # objects and arrays as compact JSON
        ("obj: $c.obj", 'obj: {"k":1}'),
        ("first tag: $c.tags[0]!", "first tag: a!"),
        ("key: $c['score']", "key: 710"),
        ("sepal $f.iris:sepal_length cm", "sepal 5.1 cm"),
        ("$c.score points", "710 points"),
        ("$c.tags.length tags", "2 tags"),
        ("${$c.score / 10} percent", "71 percent"),
        ("${ $c.score > 700 ? 'good' : 'bad' } credit", "good credit"),
        ("total: ${$c.score + 1}", "total: 711"),
        ("costs $5", "costs $5"),  # a "$" that starts no reference is text
        ("$$c.score is literal", "$c.score is literal"),  # "$$" escapes a dollar
        ("it's $request.path_params.name's book", "it's Ada's book"),
        ("$request.path_params.name - see (below)", "Ada - see (below)"),
        ("$c.score / day", "710 / day"),
        ("$c.score + 10%", "710 + 10%"),
        ("$request.path_params.name (admin)", "Ada (admin)"),
        ("$c.score [points]", "710 [points]"),
        ("$c.score$c.score", "710710"),
        ("end $", "end $"),
    ],
)
def test_interpolation(value: str, expected: str) -> None:
    assert render(value) == expected


def test_dict_and_list_templates_keep_structure_and_order() -> None:
    template = compile_template(
        {
            "id": "$c.score",
            "unit": "metric",
            "n": 3,
            "flag": True,
            "nothing": None,
            "nested": {
                "greeting": "Hello $request.path_params.name",
                "list": [1, "$c.ok", {"x": "$c.tags[1]"}],
            },
        }
    )
    result = template.evaluate(SCOPE)
    assert result == {
        "id": 710,
        "unit": "metric",
        "n": 3,
        "flag": True,
        "nothing": None,
        "nested": {"greeting": "Hello Ada", "list": [1, True, {"x": "b"}]},
    }
    assert list(result) == ["id", "unit", "n", "flag", "nothing", "nested"]


def test_each_evaluation_returns_a_new_top_level_container() -> None:
    template = compile_template({"a": "$c.score", "b": [1, "$c.ok"]})
    first = template.evaluate(SCOPE)
    first["a"] = "changed"
    first["b"].append("more")
    assert template.evaluate(SCOPE) == {"a": 710, "b": [1, True]}


@pytest.mark.parametrize(
    "value",
    [None, 1, 2.5, True, "text", "", {"a": 1, "b": ["x", None]}, [1, "two"], "1 + 2", "costs $5"],
)
def test_constants(value: Any) -> None:
    template = compile_template(value)
    assert template.is_constant
    assert template.references == frozenset()
    assert template.path_params == ()
    assert template.evaluate({}) == value


def test_constant_expressions_are_computed_once() -> None:
    template = compile_template({"a": "${1 + 2}", "b": "$$5"})
    assert template.is_constant
    assert template.evaluate({}) == {"a": "3", "b": "$5"}


def test_a_template_with_references_is_not_constant() -> None:
    assert not compile_template({"a": 1, "b": "$c.score"}).is_constant
    assert not compile_template(["$c.score"]).is_constant


def test_a_broken_expression_is_an_error_not_text() -> None:
    # Once an operator no sentence uses appears, the string is held to be an expression.
    for text in ("$c.x || 'n/a", "$c.x && (", "$c.x == ", "$c.x ?? foo", "$c.x +* 2", "$c.x + )"):
        with pytest.raises(ExpressionError):
            compile_template(text)


@pytest.mark.parametrize("text", ["Hello ${$c.x", "a ${} b", "${$c.x + }", "x ${nope(1)}"])
def test_broken_braces_are_errors(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_template(text)


def test_unknown_function_in_a_string_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="unknown function 'fetch'"):
        compile_template("$c.x + fetch($c.y)")


def test_template_nesting_is_bounded() -> None:
    value: Any = "$c.score"
    for _ in range(150):
        value = {"k": value}
    with pytest.raises(ExpressionError, match="nested"):
        compile_template(value)


def test_long_interpolated_text_is_fine() -> None:
    text = "lorem ipsum " * 2000 + "$c.score"
    assert render(text).endswith("ipsum 710")


async def test_one_template_serves_concurrent_tasks() -> None:
    template: Template = compile_template({"who": "$u.name", "n": "$u.n * 2", "t": "#$u.n"})

    async def one(n: int) -> dict[str, Any]:
        await asyncio.sleep(0)
        return template.evaluate({"u": {"name": f"user{n}", "n": n}})  # type: ignore[no-any-return]

    results = await asyncio.gather(*(one(n) for n in range(200)))
    assert results == [{"who": f"user{n}", "n": 2 * n, "t": f"#{n}"} for n in range(200)]


def test_an_error_inside_a_template_carries_the_key_path_to_the_string() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template({"ok": 1, "outer": {"list": ["fine", {"bad": "$a.x +* 2"}]}})
    assert caught.value.key_path == ("outer", "list", 1, "bad")  # type: ignore[attr-defined]
    assert caught.value.message == "unexpected '*'"


def test_templates_are_immutable() -> None:
    template = compile_template({"a": "$c.score"})
    with pytest.raises(AttributeError):
        template.references = frozenset()
    with pytest.raises(AttributeError):
        compile_template("x").is_constant = False
