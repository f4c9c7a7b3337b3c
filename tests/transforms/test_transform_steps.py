"""Every named step of SPEC §5, on objects, on lists of objects, and on other values."""

from __future__ import annotations

import copy
from typing import Any

from orkestra.transforms import compile_transform

ROWS: list[dict[str, Any]] = [
    {"id": 2, "name": "beta", "score": 0.3, "address": {"city": "Oslo", "geo": {"lat": 59.9}}},
    {"id": 1, "name": "alpha", "score": None, "address": {"city": "Rome", "geo": {"lat": 41.9}}},
    {"id": 3, "name": "gamma", "score": 0.9, "address": {"city": "Lima", "geo": {}}},
    {"id": 4, "name": "delta", "address": None},
]


def apply(spec: Any, value: Any, scope: dict[str, Any] | None = None) -> Any:
    return compile_transform(spec).apply(value, scope or {})


def test_select_fields_on_an_object_and_on_a_list() -> None:
    assert apply([{"select_fields": ["name", "id"]}], ROWS[0]) == {"name": "beta", "id": 2}
    assert apply([{"select_fields": ["id", "score"]}], ROWS) == [
        {"id": 2, "score": 0.3},
        {"id": 1, "score": None},
        {"id": 3, "score": 0.9},
        {"id": 4, "score": None},  # missing: null, so every row has the same shape
    ]
    assert apply({"select_fields": "id"}, ROWS[0]) == {"id": 2}


def test_drop_fields() -> None:
    assert apply([{"drop_fields": ["address", "score"]}], ROWS[:2]) == [
        {"id": 2, "name": "beta"},
        {"id": 1, "name": "alpha"},
    ]
    assert apply([{"drop_fields": "nope"}], {"a": 1}) == {"a": 1}


def test_rename_keeps_key_order() -> None:
    result = apply([{"rename": {"name": "label", "id": "key"}}], ROWS[0])
    assert list(result) == ["key", "label", "score", "address"]
    assert result["label"] == "beta"


def test_flatten_default_separator_and_custom() -> None:
    assert apply(["flatten"], ROWS[0]) == {
        "id": 2, "name": "beta", "score": 0.3, "address_city": "Oslo", "address_geo_lat": 59.9,
    }  # fmt: skip
    assert list(apply([{"flatten": True}], ROWS[0])) == [
        "id", "name", "score", "address_city", "address_geo_lat",
    ]  # fmt: skip
    assert apply([{"flatten": {"separator": "."}}], {"a": {"b": 1}, "c": [{"d": 1}]}) == {
        "a.b": 1,
        "c": [{"d": 1}],  # lists are kept as they are
    }
    assert apply([{"flatten": True}], ROWS[2])["address_geo"] == {}  # an empty object is a value
    assert apply([{"flatten": False}], ROWS[0]) == ROWS[0]


def test_flatten_of_a_very_deep_object_does_not_recurse() -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(5000):
        deep = {"k": deep}
    ((key, value),) = apply(["flatten"], deep).items()
    assert key == "_".join(["k"] * 5000 + ["leaf"]) and value == 1


def test_field_steps_leave_non_objects_alone() -> None:
    assert apply([{"select_fields": ["a"]}], [1, {"a": 1, "b": 2}, None]) == [1, {"a": 1}, None]
    assert apply([{"rename": {"a": "b"}}, "flatten"], "text") == "text"
    assert apply([{"drop_fields": ["a"]}], None) is None


def test_map_over_a_list_with_item_and_index() -> None:
    spec = [
        {
            "map": {
                "n": "$item.name",
                "pos": "$index",
                "city": "$item.address.city",
                "src": "$meta.v",
            }
        }
    ]
    assert apply(spec, ROWS[:2], {"meta": {"v": 7}}) == [
        {"n": "beta", "pos": 0, "city": "Oslo", "src": 7},
        {"n": "alpha", "pos": 1, "city": "Rome", "src": 7},
    ]


def test_map_over_an_object_and_over_null() -> None:
    assert apply({"map": "$item.id * 10"}, ROWS[0]) == 20
    assert apply({"map": "Hello $item.name"}, ROWS[1]) == "Hello alpha"
    assert apply({"map": "$item.id"}, None) is None


def test_filter() -> None:
    assert [r["id"] for r in apply([{"filter": "$item.score > 0.5"}], ROWS)] == [3]
    assert [r["id"] for r in apply([{"filter": "$item.address != null"}], ROWS)] == [2, 1, 3]
    assert apply([{"filter": "$index < 2"}], [5, 6, 7]) == [5, 6]
    assert apply([{"filter": "$item.id == $want"}], ROWS, {"want": 4}) == [ROWS[3]]
    assert apply([{"filter": "$item.id > 2"}], ROWS[0]) is None  # an object is kept or dropped
    assert apply([{"filter": "$item.id > 1"}], ROWS[0]) == ROWS[0]


def test_sort_by_field_reverse_and_nulls_last() -> None:
    assert [r["id"] for r in apply([{"sort_by": "id"}], ROWS)] == [1, 2, 3, 4]
    assert [r["id"] for r in apply([{"sort_by": "score"}], ROWS)] == [2, 3, 1, 4]
    reverse = apply([{"sort_by": {"field": "score", "reverse": True}}], ROWS)
    assert [r["id"] for r in reverse] == [3, 2, 1, 4]  # nulls stay last when reversed
    by_city = apply([{"sort_by": "address.city"}], ROWS)
    assert [r["id"] for r in by_city] == [3, 2, 1, 4]


def test_sort_by_is_stable_and_tolerates_mixed_types() -> None:
    rows = [
        {"k": "b", "i": 0},
        {"k": 1, "i": 1},
        {"k": "a", "i": 2},
        {"k": 1, "i": 3},
        {"k": [1], "i": 4},
    ]
    assert [r["i"] for r in apply({"sort_by": "k"}, rows)] == [1, 3, 2, 0, 4]
    assert apply({"sort_by": "k"}, "not a list") == "not a list"


def test_limit() -> None:
    assert apply([{"limit": 2}], [1, 2, 3]) == [1, 2]
    assert apply([{"limit": 0}], [1, 2, 3]) == []
    assert apply([{"limit": 10}], [1]) == [1]
    assert apply([{"limit": 1}], {"a": 1}) == {"a": 1}


def test_default() -> None:
    assert apply([{"default": {"status": "unknown"}}], None) == {"status": "unknown"}
    assert apply([{"default": "$fallback.value"}], None, {"fallback": {"value": 3}}) == 3
    assert apply([{"default": []}], [1]) == [1]
    assert apply([{"default": 0}], 0) == 0  # only null is replaced


def test_expression_transform_binds_this() -> None:
    assert apply("$this.length", ROWS) == 4
    assert apply("round($this.score * 100)", ROWS[0]) == 30
    assert apply("{total: len($this), first: $this[0].name}", ROWS) == {"total": 4, "first": "beta"}
    assert apply(["$this[0]", {"select_fields": ["id"]}], ROWS) == {"id": 2}


def test_a_pipeline_runs_in_order_and_this_is_the_value_entering_each_step() -> None:
    spec = [
        {"filter": "$item.address != null"},
        {"sort_by": {"field": "id", "reverse": True}},
        {"limit": 2},
        {"map": {"id": "$item.id", "of": "$this.length"}},
    ]
    assert apply(spec, ROWS) == [{"id": 3, "of": 2}, {"id": 2, "of": 2}]


def test_steps_never_modify_their_input() -> None:
    before = copy.deepcopy(ROWS)
    spec = [
        "flatten",
        {"rename": {"id": "key"}},
        {"drop_fields": ["name"]},
        {"select_fields": ["key", "score"]},
        {"sort_by": "score"},
        {"filter": "$item.key > 1"},
        {"limit": 1},
    ]
    apply(spec, ROWS)
    assert before == ROWS


def test_an_empty_transform_is_the_identity() -> None:
    assert apply(None, ROWS) is ROWS
    assert apply([], ROWS) is ROWS


def test_the_examples_of_docs_transforms_md() -> None:
    customers = [
        {"customer_id": 1, "first_name": "Ada", "last_name": "L", "active": True, "balance": 10},
        {"customer_id": 2, "first_name": "Alan", "last_name": "T", "active": True, "balance": 30},
        {"customer_id": 3, "first_name": "Kurt", "last_name": "G", "active": False, "balance": 50},
        {"customer_id": 4, "first_name": "Emmy", "last_name": "N", "active": True, "balance": 0},
    ]
    ranked = [
        {"filter": "$item.active && $item.balance > 0"},
        {"sort_by": {"field": "balance", "reverse": True}},
        {"limit": 5},
        {
            "map": {
                "id": "$item.customer_id",
                "label": "$item.first_name $item.last_name",
                "rank": "$index + 1",
            }
        },
    ]
    assert apply(ranked, customers) == [
        {"id": 2, "label": "Alan T", "rank": 1},
        {"id": 1, "label": "Ada L", "rank": 2},
    ]
    weather = [
        "$this.data.current",
        {"rename": {"temp_c": "temperature"}},
        {"default": {"temperature": None, "source": "unavailable"}},
    ]
    assert apply(weather, {"data": {"current": {"temp_c": 21}}}) == {"temperature": 21}
    assert apply(weather, {"data": {}}) == {"temperature": None, "source": "unavailable"}
    score = "{score: round($this.probabilities['1'] * 100), label: $this.label}"
    assert apply(score, {"probabilities": {"0": 0.13, "1": 0.87}, "label": 1}) == {
        "score": 87,
        "label": 1,
    }
