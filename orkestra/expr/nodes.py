"""The compiled form of an expression: a tree of small immutable nodes.

Each node evaluates itself against a scope (root name -> value). Nodes hold everything precomputed
(paths as tuples of keys, the operator function), so evaluating is a walk with no parsing and no
lookups by name. Nodes are never mutated after construction, so one tree serves concurrent requests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any

from orkestra.expr.functions import Function
from orkestra.expr.operators import BinaryOperator
from orkestra.expr.values import get_member, js_string, truthy

Scope = Mapping[str, Any]


class Node(ABC):
    __slots__ = ()

    @abstractmethod
    def evaluate(self, scope: Scope) -> Any: ...

    def children(self) -> tuple[Node, ...]:
        return ()

    def walk(self) -> Iterator[Node]:
        """This node and all below it (iteratively: trees are bounded, but stacks are precious)."""
        pending: list[Node] = [self]
        while pending:
            node = pending.pop()
            yield node
            pending.extend(reversed(node.children()))


class Literal(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, scope: Scope) -> Any:
        return self.value


class Reference(Node):
    """`$root.a[0]['b']`: a root name and a path of constant keys, walked without recursion."""

    __slots__ = ("path", "root")

    def __init__(self, root: str, path: tuple[Any, ...] = ()) -> None:
        self.root = root
        self.path = path

    def evaluate(self, scope: Scope) -> Any:
        value = scope.get(self.root)
        for key in self.path:
            if type(value) is dict:  # the common case, inlined: this runs for every reference
                found = value.get(key, _MISSING)
                if found is not _MISSING:
                    value = found
                    continue
            if value is None:
                return None
            value = get_member(value, key)
        return value


_MISSING = object()


class Member(Node):
    """`target[key]` where the target is not a plain reference or the key is computed."""

    __slots__ = ("key", "target")

    def __init__(self, target: Node, key: Node) -> None:
        self.target = target
        self.key = key

    def evaluate(self, scope: Scope) -> Any:
        target = self.target.evaluate(scope)
        if target is None:
            return None
        return get_member(target, self.key.evaluate(scope))

    def children(self) -> tuple[Node, ...]:
        return (self.target, self.key)


class Call(Node):
    __slots__ = ("args", "function", "name")

    def __init__(self, name: str, function: Function, args: tuple[Node, ...]) -> None:
        self.name = name
        self.function = function
        self.args = args

    def evaluate(self, scope: Scope) -> Any:
        return self.function.implementation(*[arg.evaluate(scope) for arg in self.args])

    def children(self) -> tuple[Node, ...]:
        return self.args


class MethodCall(Node):
    """`target.name(args)`; a null target gives null, as `target?.name()` would."""

    __slots__ = ("args", "function", "name", "target")

    def __init__(self, name: str, function: Function, target: Node, args: tuple[Node, ...]) -> None:
        self.name = name
        self.function = function
        self.target = target
        self.args = args

    def evaluate(self, scope: Scope) -> Any:
        target = self.target.evaluate(scope)
        if target is None:
            return None
        return self.function.implementation(target, *[arg.evaluate(scope) for arg in self.args])

    def children(self) -> tuple[Node, ...]:
        return (self.target, *self.args)


class Unary(Node):
    __slots__ = ("operand", "operator")

    def __init__(self, operator: Any, operand: Node) -> None:
        self.operator = operator
        self.operand = operand

    def evaluate(self, scope: Scope) -> Any:
        return self.operator(self.operand.evaluate(scope))

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


class Not(Node):
    __slots__ = ("operand",)

    def __init__(self, operand: Node) -> None:
        self.operand = operand

    def evaluate(self, scope: Scope) -> Any:
        return not truthy(self.operand.evaluate(scope))

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


class Binary(Node):
    __slots__ = ("left", "operator", "right")

    def __init__(self, operator: BinaryOperator, left: Node, right: Node) -> None:
        self.operator = operator
        self.left = left
        self.right = right

    def evaluate(self, scope: Scope) -> Any:
        return self.operator(self.left.evaluate(scope), self.right.evaluate(scope))

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


class Or(Node):
    """`a || b`: the first truthy operand, else the last one (not a boolean)."""

    __slots__ = ("left", "right")

    def __init__(self, left: Node, right: Node) -> None:
        self.left = left
        self.right = right

    def evaluate(self, scope: Scope) -> Any:
        value = self.left.evaluate(scope)
        return value if truthy(value) else self.right.evaluate(scope)

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


class And(Or):
    """`a && b`: the first falsy operand, else the last one."""

    __slots__ = ()

    def evaluate(self, scope: Scope) -> Any:
        value = self.left.evaluate(scope)
        return self.right.evaluate(scope) if truthy(value) else value


class Nullish(Or):
    """`a ?? b`: `a` unless it is null (or missing)."""

    __slots__ = ()

    def evaluate(self, scope: Scope) -> Any:
        value = self.left.evaluate(scope)
        return self.right.evaluate(scope) if value is None else value


class Conditional(Node):
    __slots__ = ("otherwise", "test", "then")

    def __init__(self, test: Node, then: Node, otherwise: Node) -> None:
        self.test = test
        self.then = then
        self.otherwise = otherwise

    def evaluate(self, scope: Scope) -> Any:
        if truthy(self.test.evaluate(scope)):
            return self.then.evaluate(scope)
        return self.otherwise.evaluate(scope)

    def children(self) -> tuple[Node, ...]:
        return (self.test, self.then, self.otherwise)


class ListNode(Node):
    __slots__ = ("items",)

    def __init__(self, items: tuple[Node, ...]) -> None:
        self.items = items

    def evaluate(self, scope: Scope) -> Any:
        return [item.evaluate(scope) for item in self.items]

    def children(self) -> tuple[Node, ...]:
        return self.items


class ObjectNode(Node):
    __slots__ = ("keys", "values")

    def __init__(self, keys: tuple[str, ...], values: tuple[Node, ...]) -> None:
        self.keys = keys
        self.values = values

    def evaluate(self, scope: Scope) -> Any:
        return {key: value.evaluate(scope) for key, value in zip(self.keys, self.values)}

    def children(self) -> tuple[Node, ...]:
        return self.values


class Interpolation(Node):
    """Text with embedded expressions; each contributes its text form (null -> "")."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str | Node, ...]) -> None:
        self.parts = parts

    def evaluate(self, scope: Scope) -> Any:
        pieces: list[str] = []
        for part in self.parts:
            if type(part) is str:
                pieces.append(part)
            else:
                value = part.evaluate(scope)  # type: ignore[union-attr]
                if value is not None:
                    pieces.append(value if type(value) is str else js_string(value))
        return "".join(pieces)

    def children(self) -> tuple[Node, ...]:
        return tuple(part for part in self.parts if isinstance(part, Node))
