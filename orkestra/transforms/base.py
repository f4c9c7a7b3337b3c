"""What a transform is: a compiled pipeline of steps, each `(value, scope) -> value`.

A step is any callable; a step that reads the scope (through templates) also carries a
`references` attribute naming the roots it reads, so the planner can order sources by them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orkestra.config.yaml_source import format_key_path
from orkestra.errors import OrkestraError
from orkestra.expr import EvaluationError

Scope = Mapping[str, Any]
KeyPath = tuple[str | int, ...]
Step = Callable[[Any, dict[str, Any]], Any]
StepFactory = Callable[[Any], Step]

# Roots a transform binds itself; they are not dependencies on anything outside it.
LOCAL_ROOTS = frozenset({"this", "item", "index"})


class TransformSpecError(OrkestraError):
    """A transform spec that cannot be compiled; `key_path` points inside it: `(2, "sort_by")`,
    written `[2].sort_by` in the message."""

    def __init__(self, message: str, key_path: KeyPath = ()) -> None:
        self.message = message
        self.key_path = key_path
        where = format_key_path(key_path)
        super().__init__(f"{where}: {message}" if where else message)


class TransformError(EvaluationError):
    """A transform failed on a value at request time (a `function:` step raised)."""


class Transform:
    """A compiled transform. Immutable; `apply` may run concurrently from many tasks."""

    __slots__ = ("_steps", "references")
    _steps: tuple[Step, ...]
    references: frozenset[str]

    def __init__(self, steps: tuple[Step, ...]) -> None:
        roots: set[str] = set()
        for step in steps:
            roots |= getattr(step, "references", frozenset())
        object.__setattr__(self, "_steps", steps)
        object.__setattr__(self, "references", frozenset(roots - LOCAL_ROOTS))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Transform is immutable")

    def apply(self, value: Any, scope: Scope) -> Any:
        """Run the steps in order; `$this` is the value entering each step."""
        if not self._steps:
            return value
        local = dict(
            scope
        )  # one copy per call: steps bind this/item/index without touching the caller's
        for step in self._steps:
            local["this"] = value
            value = step(value, local)
        return value

    def __len__(self) -> int:
        return len(self._steps)
