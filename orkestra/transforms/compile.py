"""`transform:` spec -> Transform (SPEC §5), checked completely at load time.

Accepted forms:
    "$this.items"                                 an expression, `$this` is the value
    [{select_fields: [a, b]}, {limit: 10}, ...]   named steps, in order
    {function: "pkg.module:callable", args: {}}   a Python function of the project's own
A single step mapping (`{limit: 10}`) is a one-step list; in a list, a bare name (`- flatten`) is a
step without arguments and a string with `$` is an expression step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from orkestra.config.yaml_source import format_key_path
from orkestra.errors import ExpressionError
from orkestra.expr import compile_expression, compile_template
from orkestra.plugins import import_object
from orkestra.transforms.base import KeyPath, Step, Transform, TransformError, TransformSpecError
from orkestra.transforms.registry import get_step_factory, known_steps
from orkestra.transforms.steps import TemplateStep


def compile_transform(spec: Any) -> Transform:
    """Compile a transform spec; raises TransformSpecError or ExpressionError, both with a
    `key_path` inside the spec (`(2, "sort_by")`)."""
    if spec is None:
        return Transform(())
    if isinstance(spec, str):
        return Transform((_expression_step(spec, ()),))
    if isinstance(spec, Mapping):
        return Transform((_mapping_step(spec, ()),))
    if isinstance(spec, list):
        return Transform(tuple(_list_item(item, (index,)) for index, item in enumerate(spec)))
    raise TransformSpecError(
        f"expected an expression, a list of steps or {{function: ...}}, got {type(spec).__name__}"
    )


def _list_item(item: Any, path: KeyPath) -> Step:
    if isinstance(item, str):
        if "$" in item:
            return _expression_step(item, path)
        return _named_step(item, None, path)
    if isinstance(item, Mapping):
        return _mapping_step(item, path)
    raise TransformSpecError("a step is a one-key mapping such as {limit: 10}", path)


def _mapping_step(spec: Mapping[Any, Any], path: KeyPath) -> Step:
    if "function" in spec:
        return _function_step(spec, path)
    if len(spec) != 1:
        keys = ", ".join(sorted(str(key) for key in spec))
        raise TransformSpecError(
            f"a step is a mapping with one key, the step's name; got {keys} "
            "(to build an object from the value, use {map: {...}})",
            path,
        )
    ((name, args),) = spec.items()
    return _named_step(str(name), args, path)


def _named_step(name: str, args: Any, path: KeyPath) -> Step:
    factory = get_step_factory(name)
    step_path = (*path, name)
    if factory is None:
        known = ", ".join(known_steps())
        raise TransformSpecError(f"unknown transform step '{name}' (known: {known})", step_path)
    try:
        return factory(args)
    except TransformSpecError as exc:
        raise TransformSpecError(exc.message, (*step_path, *exc.key_path)) from None
    except ExpressionError as exc:
        raise _located(exc, step_path) from None
    except (TypeError, ValueError) as exc:  # a plugin factory rejecting its arguments
        raise TransformSpecError(str(exc), step_path) from None


def _expression_step(text: str, path: KeyPath) -> Step:
    try:
        return TemplateStep(compile_expression(text))
    except ExpressionError as exc:
        raise _located(exc, path) from None


def _function_step(spec: Mapping[Any, Any], path: KeyPath) -> Step:
    unknown = set(spec) - {"function", "args"}
    if unknown:
        raise TransformSpecError(
            f"unexpected key {min(map(str, unknown))!r} next to function", path
        )
    dotted = spec["function"]
    where = (*path, "function")
    if not isinstance(dotted, str):
        raise TransformSpecError("function expects 'package.module:callable'", where)
    try:
        function = import_object(dotted)
    except (ImportError, AttributeError) as exc:
        raise TransformSpecError(f"cannot import '{dotted}': {exc}", where) from None
    if not callable(function):
        raise TransformSpecError(f"'{dotted}' is not callable", where)
    if inspect.iscoroutinefunction(function):
        raise TransformSpecError(
            f"'{dotted}' is async; transform functions are plain functions", where
        )
    args = spec.get("args") or {}
    if not isinstance(args, Mapping):
        raise TransformSpecError("args expects a mapping of keyword arguments", (*path, "args"))
    try:
        arguments = compile_template(dict(args))
    except ExpressionError as exc:
        raise _located(exc, (*path, "args")) from None
    return FunctionStep(dotted, function, arguments)


def _located(error: ExpressionError, path: KeyPath) -> ExpressionError:
    """The same syntax error, its message prefixed with where it is in the transform and its
    `key_path` (see orkestra.expr.template) extended, so the loader can point at the line."""
    full_path = (*path, *getattr(error, "key_path", ()))
    where = f"{format_key_path(full_path)}: " if full_path else ""
    located = ExpressionError(f"{where}{error.message}", error.text, error.position)
    located.key_path = full_path
    return located


class FunctionStep:
    """`{function: ..., args: ...}`: `function(value, **args)`, args being a template (`$this` works)."""

    def __init__(self, dotted: str, function: Callable[..., Any], arguments: Any) -> None:
        self.dotted = dotted
        self.function = function
        self.arguments = arguments
        self.references = arguments.references

    def __call__(self, value: Any, scope: dict[str, Any]) -> Any:
        kwargs = self.arguments.evaluate(scope)
        try:
            return self.function(value, **kwargs)
        except Exception as exc:
            # The type only: the message may quote request data or configuration values.
            raise TransformError(
                f"transform function '{self.dotted}' raised {type(exc).__name__}"
            ) from exc
