"""`{name}` placeholders in an api operation's path, params, headers and body.

A placeholder is filled from the data source's evaluated params. A string that is exactly one
placeholder (`"{limit}"`) takes the param's value with its type (a number stays a number, a dict a
dict, a missing or null param is None); a placeholder inside text is interpolated as text. Only
`{identifier}` is a placeholder, so JSON-looking text such as `{"a": 1}` or `{ x }` stays literal.
Templates are compiled once, at load time; rendering is a walk over the compiled parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Placeholder:
    name: str


@dataclass(frozen=True)
class TextTemplate:
    """A string template: literal text and placeholders, in order."""

    parts: tuple[str | Placeholder, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parts if isinstance(p, Placeholder))

    @property
    def whole(self) -> str | None:
        """The placeholder's name when the template is exactly one placeholder."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Placeholder):
            return self.parts[0].name
        return None

    def render(
        self, params: Mapping[str, Any], encode: Callable[[str, str], str] = lambda name, text: text
    ) -> str:
        """The text with each placeholder's value as text, passed through `encode(name, text)`."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Placeholder):
                out.append(encode(part.name, as_text(params.get(part.name))))
            else:
                out.append(part)
        return "".join(out)

    def value(self, params: Mapping[str, Any]) -> Any:
        """A whole placeholder keeps the param's type; anything else renders as text."""
        name = self.whole
        return params.get(name) if name is not None else self.render(params)


def compile_text(text: str) -> TextTemplate:
    parts: list[str | Placeholder] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(Placeholder(match.group(1)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return TextTemplate(tuple(parts))


@dataclass(frozen=True)
class ValueTemplate:
    """Any YAML value: strings in it are text templates, everything else is kept as it is."""

    raw: Any
    names: frozenset[str]

    def render(self, params: Mapping[str, Any]) -> Any:
        return _render_value(self.raw, params)


def compile_value(value: Any) -> ValueTemplate:
    compiled = _compile_value(value)
    return ValueTemplate(compiled, frozenset(_names(compiled)))


def _compile_value(value: Any) -> Any:
    if isinstance(value, str):
        return compile_text(value)
    if isinstance(value, dict):
        return {key: _compile_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_compile_value(item) for item in value]
    return value


def _names(compiled: Any) -> set[str]:
    if isinstance(compiled, TextTemplate):
        return set(compiled.names)
    if isinstance(compiled, dict):
        return {name for item in compiled.values() for name in _names(item)}
    if isinstance(compiled, list):
        return {name for item in compiled for name in _names(item)}
    return set()


def _render_value(compiled: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(compiled, TextTemplate):
        return compiled.value(params)
    if isinstance(compiled, dict):
        return {key: _render_value(item, params) for key, item in compiled.items()}
    if isinstance(compiled, list):
        return [_render_value(item, params) for item in compiled]
    return compiled


def as_text(value: Any) -> str:
    """A param as text inside a string: JSON spelling for booleans, null and containers."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()
