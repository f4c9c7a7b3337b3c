"""The named steps of SPEC §5. Each factory checks its arguments once and returns the step.

Steps never modify their input: they build new dicts and lists, because the value may be a
constant shared by every request or another source's output that other steps also read.
Field steps (select_fields, rename, drop_fields, flatten) work on an object, and element-wise on
the objects of a list; other values pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from orkestra.expr import Template, compile_expression, compile_template, truthy
from orkestra.expr.values import get_member, is_number, to_json
from orkestra.transforms.base import Step, TransformSpecError


class TemplateStep:
    """A step that evaluates a template; `references` lets the planner see what it reads."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.references = template.references

    def __call__(self, value: Any, scope: dict[str, Any]) -> Any:
        return self.template.evaluate(scope)


def _field_names(args: Any, step: str) -> tuple[str, ...]:
    if isinstance(args, str):
        return (args,)
    if isinstance(args, list) and args and all(isinstance(name, str) for name in args):
        return tuple(args)
    raise TransformSpecError(f"{step} expects a field name or a list of field names")


def _on_objects(function: Callable[[Mapping[str, Any]], Any]) -> Step:
    """Apply `function` to an object, or to each object of a list."""

    def step(value: Any, scope: dict[str, Any]) -> Any:
        if isinstance(value, Mapping):
            return function(value)
        if isinstance(value, list):
            return [function(item) if isinstance(item, Mapping) else item for item in value]
        return value

    return step


def select_fields(args: Any) -> Step:
    """Keep these fields, in this order; a missing field is null so every result has the same shape."""
    names = _field_names(args, "select_fields")
    return _on_objects(lambda obj: {name: obj.get(name) for name in names})


def drop_fields(args: Any) -> Step:
    names = frozenset(_field_names(args, "drop_fields"))
    return _on_objects(lambda obj: {k: v for k, v in obj.items() if k not in names})


def rename(args: Any) -> Step:
    if not isinstance(args, Mapping) or not all(
        isinstance(old, str) and isinstance(new, str) for old, new in args.items()
    ):
        raise TransformSpecError("rename expects a mapping {old_name: new_name}")
    names = dict(args)
    return _on_objects(lambda obj: {names.get(k, k): v for k, v in obj.items()})


def flatten(args: Any) -> Step:
    """Nested objects become one level: {"a": {"b": 1}} -> {"a_b": 1}. Lists are kept as they are.

    The default separator is "_" so that flattened keys stay referenceable as `$x.a_b`.
    """
    separator = "_"
    if args is False:
        return lambda value, scope: value
    if isinstance(args, Mapping):
        unknown = set(args) - {"separator"}
        if unknown:
            raise TransformSpecError(f"flatten has no option {min(unknown)!r} (only separator)")
        separator = args.get("separator", "_")
        if not isinstance(separator, str):
            raise TransformSpecError("flatten separator must be a string")
    elif args not in (None, True):
        raise TransformSpecError("flatten expects true or {separator: '_'}")

    def flat(obj: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # A stack of iterators instead of recursion: key order is kept and depth costs no stack.
        stack: list[tuple[str, Iterator[tuple[Any, Any]]]] = [("", iter(obj.items()))]
        while stack:
            prefix, items = stack[-1]
            for key, value in items:
                name = f"{prefix}{separator}{key}" if prefix else str(key)
                if isinstance(value, Mapping) and value:
                    stack.append((name, iter(value.items())))
                    break
                out[name] = value
            else:
                stack.pop()
        return out

    return _on_objects(flat)


def _each_item(items: list[Any], scope: dict[str, Any]) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Each item with the scope it is evaluated in: `$item` and `$index` bound (one scope copy,
    rebound per item, since items are evaluated one after the other)."""
    local = dict(scope)
    for index, item in enumerate(items):
        local["item"] = item
        local["index"] = index
        yield item, local


class MapStep:
    """`map: <template>`: each item of a list (as `$item`, its position as `$index`), or the value."""

    def __init__(self, args: Any) -> None:
        self.template = compile_template(args)
        self.references = self.template.references

    def __call__(self, value: Any, scope: dict[str, Any]) -> Any:
        if value is None:
            return None
        evaluate = self.template.evaluate
        if isinstance(value, list):
            return [evaluate(local) for _, local in _each_item(value, scope)]
        return evaluate({**scope, "item": value})


class FilterStep:
    """`filter: <expression>`: the items for which it is truthy; an object is kept or becomes null."""

    def __init__(self, args: Any) -> None:
        if not isinstance(args, (str, bool)):
            raise TransformSpecError('filter expects an expression, e.g. "$item.score > 0.5"')
        self.condition = (
            compile_expression(args) if isinstance(args, str) else compile_template(args)
        )
        self.references = self.condition.references

    def __call__(self, value: Any, scope: dict[str, Any]) -> Any:
        if value is None:
            return None
        test = self.condition.evaluate
        if isinstance(value, list):
            return [item for item, local in _each_item(value, scope) if truthy(test(local))]
        return value if truthy(test({**scope, "item": value})) else None


def sort_by(args: Any) -> Step:
    """`sort_by: field` or `{field: a.b, reverse: true}`; nulls (and missing) always sort last."""
    reverse = False
    field = args
    if isinstance(args, Mapping):
        unknown = set(args) - {"field", "reverse"}
        if unknown:
            raise TransformSpecError(f"sort_by has no option {min(unknown)!r}")
        field, reverse = args.get("field"), args.get("reverse", False)
        if not isinstance(reverse, bool):
            raise TransformSpecError("sort_by reverse must be true or false")
    if not isinstance(field, str) or not field:
        raise TransformSpecError("sort_by expects a field name or {field: name, reverse: true}")
    path = tuple(field.split("."))

    def key_of(item: Any) -> Any:
        value = item
        for key in path:
            if value is None:
                break
            value = get_member(value, key)
        return value

    def step(value: Any, scope: dict[str, Any]) -> Any:
        if not isinstance(value, list):
            return value
        keyed = [(key_of(item), item) for item in value]
        present = [pair for pair in keyed if pair[0] is not None]
        missing = [item for key, item in keyed if key is None]
        present.sort(key=lambda pair: _sort_key(pair[0]), reverse=reverse)
        return [item for _, item in present] + missing

    return step


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before strings before anything else, so mixed lists sort instead of raising."""
    if is_number(value) or isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, to_json(value))


def limit(args: Any) -> Step:
    if not isinstance(args, int) or isinstance(args, bool) or args < 0:
        raise TransformSpecError("limit expects a whole number >= 0")
    count = args
    return lambda value, scope: value[:count] if isinstance(value, list) else value


class DefaultStep:
    """`default: <template>`: the value when the input is null (a template, so it may use refs)."""

    def __init__(self, args: Any) -> None:
        self.template = compile_template(args)
        self.references = self.template.references

    def __call__(self, value: Any, scope: dict[str, Any]) -> Any:
        return self.template.evaluate(scope) if value is None else value


BUILTIN_STEPS: dict[str, Callable[[Any], Step]] = {
    "select_fields": select_fields,
    "rename": rename,
    "drop_fields": drop_fields,
    "flatten": flatten,
    "map": MapStep,
    "filter": FilterStep,
    "sort_by": sort_by,
    "limit": limit,
    "default": DefaultStep,
}
