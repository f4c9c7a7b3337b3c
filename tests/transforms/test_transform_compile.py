"""Compiling transform specs: the accepted forms, errors with key paths, references, functions
from the project's own modules, and plugin steps (registered and through entry points)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orkestra.config.yaml_source import format_key_path
from orkestra.errors import ExpressionError, OrkestraError
from orkestra.transforms import (
    TransformError,
    TransformSpecError,
    compile_transform,
    known_steps,
    register_transform,
    registry,
)


@pytest.mark.parametrize(
    ("spec", "key_path", "message"),
    [
        ({"nope": 1}, "nope", "unknown transform step 'nope'"),
        ([{"limit": 2}, {"sortby": "x"}], "[1].sortby", "unknown transform step 'sortby'"),
        (["flaten"], "[0].flaten", "unknown transform step 'flaten'"),
        ([{"limit": -1}], "[0].limit", "limit expects a whole number >= 0"),
        ([{"limit": "3"}], "[0].limit", "limit expects a whole number >= 0"),
        ([{"limit": True}], "[0].limit", "limit expects a whole number >= 0"),
        ([{"select_fields": []}], "[0].select_fields", "select_fields expects a field name"),
        ([{"select_fields": [1]}], "[0].select_fields", "select_fields expects a field name"),
        ([{"drop_fields": {"a": 1}}], "[0].drop_fields", "drop_fields expects a field name"),
        ([{"rename": ["a"]}], "[0].rename", "rename expects a mapping"),
        ([{"flatten": {"sep": "_"}}], "[0].flatten", "flatten has no option 'sep'"),
        ([{"flatten": "yes"}], "[0].flatten", "flatten expects true"),
        (
            [{"sort_by": {"field": "a", "order": "desc"}}],
            "[0].sort_by",
            "sort_by has no option 'order'",
        ),
        ([{"sort_by": {"field": "a", "reverse": "yes"}}], "[0].sort_by", "sort_by reverse must be"),
        ([{"sort_by": 3}], "[0].sort_by", "sort_by expects a field name"),
        ([{"filter": ["x"]}], "[0].filter", "filter expects an expression"),
        ([{"a": 1, "b": 2}], "[0]", "a step is a mapping with one key"),
        ([5], "[0]", "a step is a one-key mapping"),
        (5, "", "expected an expression, a list of steps"),
        ({"function": "no_such_module_xyz:f"}, "function", "cannot import 'no_such_module_xyz:f'"),
        ({"function": "json:no_such_name"}, "function", "cannot import 'json:no_such_name'"),
        ({"function": "json"}, "function", "cannot import 'json'"),
        ({"function": "json:__doc__"}, "function", "is not callable"),
        ({"function": 3}, "function", "function expects 'package.module:callable'"),
        ({"function": "json:dumps", "args": [1]}, "args", "args expects a mapping"),
        ({"function": "json:dumps", "kwargs": {}}, "", "unexpected key 'kwargs'"),
        ({"function": "asyncio:sleep"}, "function", "is async"),
    ],
)
def test_spec_errors_name_the_step(spec: Any, key_path: str, message: str) -> None:
    with pytest.raises(TransformSpecError) as caught:
        compile_transform(spec)
    assert format_key_path(caught.value.key_path) == key_path
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{key_path}: " if key_path else message)


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ("$this.x ||", ""),
        ([{"filter": "$item.x =="}], "[0].filter: "),
        ([{"map": {"a": "$item.x || 'n/a"}}], "[0].map.a: "),
        ([{"default": "foo($x)"}], "[0].default: "),
        (["$this.x +"], "[0]: "),
        ({"function": "json:dumps", "args": {"indent": "$cfg.x &&"}}, "args.indent: "),
    ],
)
def test_bad_expressions_raise_expression_error_with_the_step(spec: Any, where: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_transform(spec)
    assert caught.value.message.startswith(where)
    assert caught.value.position is not None
    assert format_key_path(caught.value.key_path) == where.removesuffix(": ")  # type: ignore[attr-defined]


def test_unknown_step_lists_the_known_ones() -> None:
    with pytest.raises(TransformSpecError, match="known: default, drop_fields, filter, flatten"):
        compile_transform(["nope"])


def test_references_exclude_the_transform_own_roots() -> None:
    transform = compile_transform(
        [
            {"filter": "$item.score > $threshold.value && $index < 10"},
            {"map": {"a": "$item.a", "b": "$this.length", "c": "$customer.name"}},
            {"default": "$fallback"},
            "$this",
        ]
    )
    assert transform.references == {"threshold", "customer", "fallback"}
    assert compile_transform("$this.a").references == frozenset()


@pytest.fixture
def project_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module of 'the project's own', importable for the test only."""
    name = f"orkestra_test_transforms_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            def scale(value, factor=1, field="score"):
                return [{**row, field: row[field] * factor} for row in value]

            def explode(value):
                raise ValueError("secret-token-123 in message")

            class Tagger:
                def __call__(self, value, tag):
                    return {"tag": tag, "value": value}

            tagger = Tagger()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_function_step_calls_the_project_function_with_args(project_module: str) -> None:
    transform = compile_transform(
        {
            "function": f"{project_module}:scale",
            "args": {"factor": "$settings.factor", "field": "v"},
        }
    )
    assert transform.references == {"settings"}
    assert transform.apply([{"v": 2}, {"v": 3}], {"settings": {"factor": 10}}) == [
        {"v": 20},
        {"v": 30},
    ]


def test_function_step_inside_a_list_and_a_callable_object(project_module: str) -> None:
    transform = compile_transform(
        [{"limit": 1}, {"function": f"{project_module}:tagger", "args": {"tag": "$this[0]"}}]
    )
    assert transform.apply([7, 8], {}) == {"tag": 7, "value": [7]}


def test_a_failing_function_is_a_transform_error_without_its_message(project_module: str) -> None:
    transform = compile_transform({"function": f"{project_module}:explode"})
    with pytest.raises(TransformError) as caught:
        transform.apply({"a": 1}, {})
    assert str(caught.value) == f"transform function '{project_module}:explode' raised ValueError"
    assert "secret" not in str(caught.value)
    assert isinstance(caught.value, OrkestraError)
    assert isinstance(caught.value.__cause__, ValueError)  # kept for the logs, not the client


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_registered", {})
    monkeypatch.setattr(registry, "_entry_points_loaded", False)


@pytest.mark.usefixtures("clean_registry")
def test_register_transform_adds_a_named_step() -> None:
    def multiply_factory(args: Any) -> Any:
        if not isinstance(args, int):
            raise TypeError("multiply expects a number")
        return lambda value, scope: [item * args for item in value]

    register_transform("multiply", multiply_factory)
    assert "multiply" in known_steps()
    assert compile_transform([{"multiply": 3}, {"limit": 2}]).apply([1, 2, 3], {}) == [3, 6]
    with pytest.raises(TransformSpecError) as caught:
        compile_transform([{"multiply": "x"}])
    assert str(caught.value) == "[0].multiply: multiply expects a number"


@pytest.mark.usefixtures("clean_registry")
def test_a_registered_step_overrides_a_builtin_of_the_same_name() -> None:
    register_transform("limit", lambda args: lambda value, scope: "custom")
    assert compile_transform({"limit": 1}).apply([1, 2], {}) == "custom"


def test_register_transform_rejects_bad_names() -> None:
    with pytest.raises(ValueError):
        register_transform("not a name", lambda args: lambda value, scope: value)


@pytest.mark.usefixtures("clean_registry")
def test_entry_point_plugins_are_loaded_once_when_a_name_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"orkestra_plugin_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(
        "LOADS = []\n"
        "def reverse_factory(args):\n"
        "    LOADS.append(args)\n"
        "    return lambda value, scope: list(reversed(value))\n"
    )
    dist = tmp_path / "orkestra_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: orkestra-plugin-demo\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[orkestra.transforms]\nreverse = {module}:reverse_factory\nbroken = {module}:missing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert compile_transform(["reverse"]).apply([1, 2, 3], {}) == [3, 2, 1]
        assert compile_transform([{"reverse": {"x": 1}}]).apply([1, 2], {}) == [2, 1]
        assert sys.modules[module].LOADS == [None, {"x": 1}]
        assert "broken" not in known_steps()  # a plugin that fails to load is skipped and logged
    finally:
        sys.modules.pop(module, None)
