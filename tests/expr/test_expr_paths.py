"""References and paths: every path form, and missing data as null (SPEC §4)."""

from __future__ import annotations

from typing import Any

import pytest

from orkestra.expr import compile_expression, compile_template

SCOPE: dict[str, Any] = {
    "request": {
        "path_params": {"entity_id": "42", "name": "Ada"},
        "query_params": {"limit": "10"},
        "body": {"amount": 12.5, "items": [{"sku": "a"}, {"sku": "b"}]},
        "headers": {"x-api-key": "k", "accept": "application/json"},
        "method": "POST",
    },
    "customer_data": {"credit_score": 710, "annual_income": 85000.0, "tags": ["a", "b"]},
    "risk": {"probabilities": {"0": 0.25, "1": 0.75}, "labels": ["low", "high"]},
    "iris_features": {"iris:sepal_length": 5.1, "iris:sepal_width": 3.5},
    "system": {"timestamp": "2024-01-01T00:00:00.000Z", "request_id": "r-1"},
    "env": {"REGION": "eu"},
    "this": {"x": 1},
    "item": {"y": 2},
    "result": {"probabilities": {"1": 0.4}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$request.path_params.entity_id", "42"),
        ("$request.query_params.limit", "10"),
        ("$request.body.amount", 12.5),
        ("$request.body", SCOPE["request"]["body"]),
        ("$request.method", "POST"),
        ("$request.headers.accept", "application/json"),
        ("$request.headers['x-api-key']", "k"),
        ("$customer_data", SCOPE["customer_data"]),
        ("$customer_data.credit_score", 710),
        ("$request.body.items[1].sku", "b"),
        ("$request.body.items[0]['sku']", "a"),
        ('$request.body.items[0]["sku"]', "a"),
        ("$iris_features.iris:sepal_length", 5.1),
        ("$risk.probabilities.1", 0.75),
        ("$risk.probabilities[1]", 0.75),
        ("$risk.probabilities['0']", 0.25),
        ("$risk.labels.1", "high"),
        ("$risk.labels['1']", "high"),
        ("$system.timestamp", "2024-01-01T00:00:00.000Z"),
        ("$system.request_id", "r-1"),
        ("$env.REGION", "eu"),
        ("$ENV[REGION]", "eu"),
        ("$ENV['REGION']", "eu"),
        ("$ENV.REGION", "eu"),
        ("$this.x", 1),
        ("$item.y", 2),
        ("$result.probabilities['1']", 0.4),
        ("$risk.labels[$customer_data.tags.length - 1]", "high"),
        ("$risk?.labels?.[0]", "low"),
        ("($customer_data).credit_score", 710),
    ],
)
def test_reference_paths(text: str, expected: Any) -> None:
    assert compile_template(text).evaluate(SCOPE) == expected
    assert compile_expression(text).evaluate(SCOPE) == expected


@pytest.mark.parametrize(
    "text",
    [
        "$nope",
        "$nope.a.b.c",
        "$customer_data.missing",
        "$customer_data.missing.deeper[0]",
        "$customer_data.tags[5]",
        "$customer_data.tags[-1]",  # JavaScript has no negative index
        "$customer_data.credit_score.x",  # a member of a number
        "$request.body.items.sku",  # a named member of a list
        "$ENV[MISSING]",
        "$customer_data[$nope]",
    ],
)
def test_missing_data_is_null_not_an_error(text: str) -> None:
    assert compile_expression(text).evaluate(SCOPE) is None


def test_missing_root_in_an_empty_scope_is_null() -> None:
    assert compile_template("$customer_data.credit_score").evaluate({}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$customer_data.tags.length", 2),
        ("'hello'.length", 5),
        ("$risk.probabilities.length", 2),  # an object: its number of keys
        ("Object.keys($risk.probabilities).length", 2),
        ("$nope.length", None),
    ],
)
def test_length(text: str, expected: Any) -> None:
    assert compile_expression(text).evaluate(SCOPE) == expected


def test_an_object_with_its_own_length_key_keeps_it() -> None:
    assert compile_expression("$o.length").evaluate({"o": {"length": "long"}}) == "long"


def test_string_index_and_list_of_tuples() -> None:
    assert compile_expression("$s[1]").evaluate({"s": "abc"}) == "b"
    assert compile_expression("$t[1]").evaluate({"t": (1, 2)}) == 2


def test_env_roots_are_the_same_reference() -> None:
    for text in ("$ENV[REGION]", "$ENV['REGION']", "$env.REGION"):
        assert compile_expression(text).references == {"env"}


def test_references_and_path_params_in_order_of_first_use() -> None:
    template = compile_template(
        {
            "a": "$request.path_params.flower_id",
            "b": ["$customer_data.x", "$request.path_params['version']"],
            "c": "Hi $request.path_params.flower_id and ${$risk.labels[0]}",
            "d": "constant",
        }
    )
    assert template.references == {"request", "customer_data", "risk"}
    assert template.path_params == ("flower_id", "version")


def test_path_params_inside_operators_and_calls() -> None:
    template = compile_expression(
        "int($request.path_params.b) + len($request.path_params.a) + int($request.path_params.b)"
    )
    assert template.path_params == ("b", "a")


def test_query_params_are_not_path_params() -> None:
    assert compile_expression("$request.query_params.x").path_params == ()
