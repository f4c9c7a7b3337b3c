"""Templates: any YAML value whose strings are expressions or interpolated text.

Compiling decides once what each string is (SPEC §4):

- no `$`: a literal string;
- one complete expression (`"$customer_data.credit_score"`, `"$a.x || 'n/a'"`): its value, any type;
- otherwise interpolated text (`"Hello, $request.path_params.name!"`), where `$ref.path` and
  `${expression}` are replaced by their text form and `$$` is a literal `$`.

Evaluating then only walks what can change: constant parts are computed at compile time and a
dict template copies its constant entries and evaluates the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from orkestra.errors import ExpressionError
from orkestra.expr import nodes
from orkestra.expr.parser import MAX_LENGTH, Parser
from orkestra.expr.scanner import is_name_start

Scope = Mapping[str, Any]
Evaluator = Callable[[Scope], Any]

MAX_TEMPLATE_DEPTH = 100  # nesting of dicts and lists in one template


class Template(ABC):
    """A compiled template or expression; immutable, safe to evaluate from concurrent tasks.

    `references`: root names used (`request`, a source's name, ...). `path_params`: the X of each
    `$request.path_params.X`, in order of first use. `is_constant`: nothing to look up or compute.
    """

    __slots__ = ("is_constant", "path_params", "references")

    references: frozenset[str]
    path_params: tuple[str, ...]
    is_constant: bool

    @abstractmethod
    def evaluate(self, scope: Scope) -> Any:
        """The value of the template in `scope`; missing roots and paths are None, not errors."""

    def evaluator(self) -> Evaluator:
        """The cheapest callable computing `evaluate` (saves a call level in containers)."""
        return self.evaluate

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _set(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _describe(
        self, references: Iterable[str], path_params: Iterable[str], is_constant: bool = False
    ) -> None:
        self._set(
            references=frozenset(references),
            path_params=tuple(dict.fromkeys(path_params)),
            is_constant=is_constant,
        )


class ConstantTemplate(Template):
    """No references: the value is computed once. Treat it as read-only, it is shared."""

    __slots__ = ("value",)
    value: Any

    def __init__(self, value: Any) -> None:
        self._set(value=value)
        self._describe((), (), is_constant=True)

    def evaluate(self, scope: Scope) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"ConstantTemplate({self.value!r})"


class ExpressionTemplate(Template):
    __slots__ = ("node", "source")
    node: nodes.Node
    source: str

    def __init__(self, node: nodes.Node, source: str) -> None:
        self._set(node=node, source=source)
        references, path_params = _analyse(node)
        self._describe(references, path_params)

    def evaluate(self, scope: Scope) -> Any:
        return self.node.evaluate(scope)

    def evaluator(self) -> Evaluator:
        return self.node.evaluate

    def __repr__(self) -> str:
        return f"ExpressionTemplate({self.source!r})"


class ContainerTemplate(Template):
    """A dict or list template. Evaluating copies the container of constants and fills in the
    entries that are not constant; the copy keeps YAML's key order without rebuilding the dict."""

    __slots__ = ("_base", "_dynamic")
    _base: dict[Any, Any] | list[Any]
    _dynamic: tuple[tuple[Any, Evaluator], ...]

    def __init__(
        self, base: dict[Any, Any] | list[Any], entries: Iterable[tuple[Any, Template]]
    ) -> None:
        dynamic = [(key, t) for key, t in entries if not t.is_constant]
        self._set(_base=base, _dynamic=tuple((key, t.evaluator()) for key, t in dynamic))
        self._describe(
            (name for _, t in dynamic for name in t.references),
            (name for _, t in dynamic for name in t.path_params),
        )

    def evaluate(self, scope: Scope) -> Any:
        result = self._base.copy()
        for key, evaluate in self._dynamic:
            result[key] = evaluate(scope)
        return result


def compile_template(value: Any) -> Template:
    """Compile any YAML value; raises ExpressionError for a string that is a broken expression."""
    return _compile(value, 0)


def compile_expression(text: str) -> Template:
    """Compile `text` as exactly one expression (a `condition:`, a filter): no interpolated text."""
    if not isinstance(text, str):
        if text is None or isinstance(text, (bool, int, float)):
            return ConstantTemplate(text)  # YAML `condition: true`
        raise ExpressionError(f"expected an expression string, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("empty expression", text, 0)
    _check_length(text)
    return _finish(Parser(text).parse_all(), text)


def _compile(value: Any, depth: int) -> Template:
    if depth > MAX_TEMPLATE_DEPTH:
        raise ExpressionError(f"template nested more than {MAX_TEMPLATE_DEPTH} levels deep")
    if isinstance(value, str):
        return _compile_string(value)
    if isinstance(value, Mapping):
        items = {key: _compile_entry(key, item, depth) for key, item in value.items()}
        constants = {key: _constant_or_none(t) for key, t in items.items()}
        if all(t.is_constant for t in items.values()):
            return ConstantTemplate(constants)
        return ContainerTemplate(constants, items.items())
    if isinstance(value, (list, tuple)):
        elements = [_compile_entry(index, item, depth) for index, item in enumerate(value)]
        values = [_constant_or_none(t) for t in elements]
        if all(t.is_constant for t in elements):
            return ConstantTemplate(values)
        return ContainerTemplate(values, enumerate(elements))
    return ConstantTemplate(value)


def _compile_entry(key: Any, value: Any, depth: int) -> Template:
    """Compile one entry of a dict or list; an error learns the key path to the broken string.

    The path is left on the error as `key_path` (a tuple of keys and indexes, outermost first) so
    the config loader can point at the line of the string itself, not of the whole template.
    """
    try:
        return _compile(value, depth + 1)
    except ExpressionError as exc:
        exc.key_path = (key, *exc.key_path)
        raise


def _compile_string(text: str) -> Template:
    if "$" not in text:
        return ConstantTemplate(text)
    if len(text) <= MAX_LENGTH:
        parser = Parser(text)
        try:
            return _finish(parser.parse_all(), text)
        except ExpressionError:
            if parser.committed:  # `"$a.x || 'n/a"`: a broken expression, not a sentence
                raise
    return _finish(_parse_interpolation(text), text)


def _parse_interpolation(text: str) -> nodes.Node:
    parts: list[str | nodes.Node] = []
    literal: list[str] = []
    position = 0
    while position < len(text):
        dollar = text.find("$", position)
        if dollar < 0:
            literal.append(text[position:])
            break
        literal.append(text[position:dollar])
        following = text[dollar + 1 : dollar + 2]
        if following == "$":
            literal.append("$")
            position = dollar + 2
            continue
        if following == "{":
            parser = Parser(text, dollar + 2)
            node = parser.parse_expression()
            parser.expect("}", "to close '${'")
        elif following and is_name_start(following):
            parser = Parser(text, dollar)
            node = parser.parse_reference_in_text()
        else:
            literal.append("$")  # "$5": a dollar that starts no reference is text
            position = dollar + 1
            continue
        position = parser.pos
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(node)
    if literal:
        parts.append("".join(literal))
    if all(type(part) is str for part in parts):
        return nodes.Literal("".join(parts))  # type: ignore[arg-type]
    return nodes.Interpolation(tuple(parts))


def _finish(node: nodes.Node, source: str) -> Template:
    if type(node) is nodes.Literal:
        return ConstantTemplate(node.value)
    template = ExpressionTemplate(node, source)
    if not template.references and all(
        not isinstance(n, (nodes.Call, nodes.MethodCall)) or n.function.pure for n in node.walk()
    ):
        return ConstantTemplate(node.evaluate({}))
    return template


def _analyse(node: nodes.Node) -> tuple[list[str], list[str]]:
    references: list[str] = []
    path_params: list[str] = []
    for child in node.walk():
        if type(child) is nodes.Reference:
            references.append(child.root)
            path = child.path
            is_path_param = len(path) >= 2 and path[0] == "path_params" and type(path[1]) is str
            if child.root == "request" and is_path_param:
                path_params.append(path[1])
    return references, path_params


def _constant_or_none(template: Template) -> Any:
    return template.value if isinstance(template, ConstantTemplate) else None


def _check_length(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", text[:80], None)
