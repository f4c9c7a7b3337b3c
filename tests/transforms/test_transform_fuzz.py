"""Property: every built-in step accepts any JSON value without raising, and never mutates it."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orkestra.transforms import compile_transform

keys = st.sampled_from(["a", "b", "id", "score", "x"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)
steps = st.sampled_from(
    [
        {"select_fields": ["a", "id"]},
        {"drop_fields": ["b"]},
        {"rename": {"a": "b", "b": "a"}},
        "flatten",
        {"flatten": {"separator": "."}},
        {"map": {"v": "$item.a", "i": "$index", "n": "$item.score * 2"}},
        {"filter": "$item.score > 0 || $item.a"},
        {"sort_by": "score"},
        {"sort_by": {"field": "a.b", "reverse": True}},
        {"limit": 2},
        {"default": {"empty": True}},
        "$this.a ?? $this[0] ?? $this",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(steps, min_size=1, max_size=4), json_values)
def test_pipelines_of_builtin_steps_take_any_json(spec: list[Any], value: Any) -> None:
    before = copy.deepcopy(value)
    compile_transform(spec).apply(value, {"other": value})
    assert value == before
