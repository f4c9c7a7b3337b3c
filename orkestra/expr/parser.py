"""Text -> node tree, by recursive descent directly over the characters.

There is no separate tokenizer because what a character means depends on where it is: after a
member dot, `1` and `iris:sepal_length` are keys (`$p.probabilities.1`, `$f.iris:sepal_length`),
elsewhere they are a number and a ternary colon. Binary operators use precedence climbing, so the
Python stack grows with parentheses and prefix operators, not with the length of a chain; both the
syntactic nesting and the depth of the resulting tree are bounded, so no input reaches RecursionError.
"""

from __future__ import annotations

from typing import Any

from orkestra.errors import ExpressionError, OrkestraError
from orkestra.expr import nodes
from orkestra.expr.functions import FUNCTIONS, METHODS, Function
from orkestra.expr.operators import BINARY_OPERATORS, negate, plus
from orkestra.expr.scanner import Scanner, is_key_char, is_name_start

MAX_LENGTH = 10_000
MAX_NESTING = 64  # parentheses, brackets, prefix operators, calls
MAX_DEPTH = 160  # of the node tree, which is what evaluation recurses over

# operator -> (precedence, right-associative); longest spellings first so "===" wins over "==".
_BINARY: dict[str, tuple[int, bool]] = {
    "===": (3, False), "!==": (3, False), "**": (7, True),
    "??": (1, False), "||": (1, False), "&&": (2, False), "==": (3, False), "!=": (3, False),
    "<=": (4, False), ">=": (4, False), "<": (4, False), ">": (4, False),
    "+": (5, False), "-": (5, False), "*": (6, False), "/": (6, False), "%": (6, False),
}  # fmt: skip
# Operators that no sentence uses: once one is seen, the text is an expression, and a later
# syntax error is reported instead of the text being taken as literal words.
_COMMITTING = frozenset({"||", "&&", "??", "==", "!=", "===", "!=="})
# Likewise a binary operator followed by one of these ("$a +* 2", "$a + )"): no sentence does that.
_NOT_AN_OPERAND = frozenset("*/%=<>&|?:)]},.")
_NAMESPACES = ("Math", "Object", "JSON")
_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None, "undefined": None}


class Parser(Scanner):
    """Parses one expression of `text`, starting at `position`."""

    def __init__(self, text: str, position: int = 0) -> None:
        super().__init__(text, position)
        self.nesting = 0
        self.committed = False  # see _COMMITTING; also set by errors no plain text can cause
        self.after_operator = False  # a binary operator was read, its right operand not yet
        # id -> (node, depth); holding the node keeps its id from being reused by another one
        self._depths: dict[int, tuple[nodes.Node, int]] = {}

    # -- entry points ---------------------------------------------------------------------------

    def parse_all(self) -> nodes.Node:
        node = self.parse_expression()
        self.skip_blanks()
        if self.pos < len(self.text):
            raise self.error(f"unexpected {self.text[self.pos]!r}")
        return node

    def parse_expression(self) -> nodes.Node:
        self.enter()
        try:
            return self.parse_conditional()
        finally:
            self.nesting -= 1

    def parse_reference_in_text(self) -> nodes.Node:
        """`$root.key[0]` inside text: stops at the first character that cannot continue the path,
        so "Hi $a.name." ends the reference before the final dot."""
        self.pos += 1  # the "$"
        node = self.parse_root()
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "." and self.pos + 1 < len(text) and is_key_char(text[self.pos + 1]):
                self.pos += 1
                node = self.extend(node, nodes.Literal(self.read_key()))
            elif char == "[":
                start = self.pos
                try:
                    node = self.parse_bracket(node)
                except ExpressionError:
                    if self.committed:
                        raise
                    self.pos = start  # "$price [USD]": the bracket is text, not a path
                    break
            else:
                break
        return node

    # -- grammar --------------------------------------------------------------------------------

    def parse_conditional(self) -> nodes.Node:
        test = self.parse_binary(1)
        self.skip_blanks()
        if not self.at("?") or self.at("??") or self.at_optional_chain():
            return test
        self.pos += 1
        then = self.parse_expression()
        self.skip_blanks()
        if not self.at(":"):
            raise self.error("expected ':' of 'a ? b : c'")
        self.pos += 1
        otherwise = self.parse_expression()
        return self.make(nodes.Conditional(test, then, otherwise))

    def parse_binary(self, min_precedence: int) -> nodes.Node:
        left = self.parse_unary()
        while True:
            self.skip_blanks()
            operator = self.peek_operator()
            if operator is None:
                return left
            precedence, right_associative = _BINARY[operator]
            if precedence < min_precedence:
                return left
            self.pos += len(operator)
            self.after_operator = True
            if operator in _COMMITTING:
                self.committed = True
            if right_associative:
                self.enter()
            right = self.parse_binary(precedence if right_associative else precedence + 1)
            if right_associative:
                self.nesting -= 1
            left = self.make(self.binary_node(operator, left, right))

    def parse_unary(self) -> nodes.Node:
        self.skip_blanks()
        char = self.peek()
        if char in ("!", "-", "+") and not self.at("!="):
            self.pos += 1
            self.enter()
            operand = self.parse_unary()
            self.nesting -= 1
            if char == "!":
                return self.make(nodes.Not(operand))
            return self.make(nodes.Unary(negate if char == "-" else plus, operand))
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, node: nodes.Node) -> nodes.Node:
        self.after_operator = False
        while True:
            self.skip_blanks()
            if self.at("?.") and not self.at_optional_chain():
                return node
            if self.at("?.["):
                self.pos += 2
                node = self.parse_bracket(node)
            elif self.at(".") or self.at("?."):
                self.pos += 2 if self.at("?.") else 1
                key_start = self.pos
                key = self.read_key()
                if not key:
                    raise self.error("expected a name after '.'")
                if self.at("("):  # only when adjacent: "$user.name (admin)" is text
                    node = self.parse_method_call(node, key, key_start)
                else:
                    node = self.extend(node, nodes.Literal(key))
            elif self.at("["):
                node = self.parse_bracket(node)
            else:
                return node

    def parse_bracket(self, target: nodes.Node) -> nodes.Node:
        self.pos += 1  # "["
        if isinstance(target, nodes.Reference) and target.root == "env" and not target.path:
            name = self.read_bare_env_name()  # $ENV[NAME]: a bare name is the variable's name
            if name is not None:
                return self.extend(target, nodes.Literal(name))
        key = self.parse_expression()
        self.expect("]", "to close '['")
        return self.extend(target, key)

    def read_bare_env_name(self) -> str | None:
        start = self.pos
        self.skip_blanks()
        name = self.read_name()
        self.skip_blanks()
        if name and self.at("]"):
            self.pos += 1
            return name
        self.pos = start
        return None

    def parse_primary(self) -> nodes.Node:
        self.skip_blanks()
        if self.pos >= len(self.text):
            raise self.error("unexpected end of expression")
        char = self.text[self.pos]
        if char == "$":
            self.pos += 1
            return self.parse_root()
        if char in "'\"":
            return nodes.Literal(self.read_string())
        if char.isascii() and (char.isdigit() or (char == "." and self.next_is_digit())):
            return nodes.Literal(self.read_number())
        if char == "(":
            self.pos += 1
            inner = self.parse_expression()
            self.expect(")", "to close '('")
            return inner
        if char == "[":
            self.pos += 1
            items = self.parse_items("]")
            return self.make(nodes.ListNode(tuple(items)))
        if char == "{":
            return self.parse_object()
        if is_name_start(char):
            return self.parse_name()
        if self.after_operator and char in _NOT_AN_OPERAND:
            self.committed = True
        raise self.error(f"unexpected {char!r}")

    def parse_root(self) -> nodes.Node:
        start = self.pos
        name = self.read_name()
        if not name:
            raise self.error("expected a name after '$'", start - 1)
        return nodes.Reference("env" if name == "ENV" else name)

    def parse_name(self) -> nodes.Node:
        start = self.pos
        name = self.read_name()
        if name in _KEYWORDS:
            return nodes.Literal(_KEYWORDS[name])
        if name in _NAMESPACES and self.at(".") and is_name_start(self.peek(1)):
            self.pos += 1
            name = f"{name}.{self.read_name()}"
        if not self.at("("):  # only when adjacent: "$n - see (below)" is text
            raise self.error(f"unexpected name '{name}' (references start with '$')", start)
        function = FUNCTIONS.get(name)
        if function is None:
            self.committed = True
            raise self.error(f"unknown function '{name}'", start)
        self.pos += 1
        args = self.parse_items(")")
        self.check_arity(name, function, len(args), start)
        return self.make(nodes.Call(name, function, tuple(args)))

    def parse_method_call(self, target: nodes.Node, name: str, start: int) -> nodes.Node:
        method = METHODS.get(name)
        if method is None:
            self.committed = True
            raise self.error(f"unknown method '{name}'", start)
        self.pos += 1  # "("
        args = self.parse_items(")")
        self.check_arity(name, method, len(args) + 1, start, is_method=True)
        return self.make(nodes.MethodCall(name, method, target, tuple(args)))

    def parse_items(self, closing: str) -> list[nodes.Node]:
        """Comma-separated expressions up to `closing` (already past the opening bracket)."""
        items: list[nodes.Node] = []
        self.skip_blanks()
        while not self.at(closing):
            items.append(self.parse_expression())
            self.skip_blanks()
            if self.at(","):
                self.pos += 1
                self.skip_blanks()
            elif not self.at(closing):
                raise self.error(f"expected ',' or '{closing}'")
        self.pos += 1
        return items

    def parse_object(self) -> nodes.Node:
        self.pos += 1  # "{"
        keys: list[str] = []
        values: list[nodes.Node] = []
        self.skip_blanks()
        while not self.at("}"):
            char = self.peek()
            if char in ("'", '"'):
                key = self.read_string()
            elif is_key_char(char):
                key = self.read_name_chars()
            else:
                raise self.error("expected a key in '{...}'" if char else "unterminated '{'")
            self.skip_blanks()
            self.expect(":", "after an object key")
            keys.append(key)
            values.append(self.parse_expression())
            self.skip_blanks()
            if self.at(","):
                self.pos += 1
                self.skip_blanks()
            elif not self.at("}"):
                raise self.error("expected ',' or '}'")
        self.pos += 1
        return self.make(nodes.ObjectNode(tuple(keys), tuple(values)))

    # -- node construction ----------------------------------------------------------------------

    def binary_node(self, operator: str, left: nodes.Node, right: nodes.Node) -> nodes.Node:
        if operator == "||":
            return nodes.Or(left, right)
        if operator == "&&":
            return nodes.And(left, right)
        if operator == "??":
            return nodes.Nullish(left, right)
        return nodes.Binary(BINARY_OPERATORS[operator], left, right)

    def extend(self, target: nodes.Node, key: nodes.Node) -> nodes.Node:
        """`target[key]`: a constant key on a reference joins its precomputed path."""
        if (
            isinstance(target, nodes.Reference)
            and isinstance(key, nodes.Literal)
            and type(key.value) in (str, int, float, bool)  # hashable, so the path can use dict.get
        ):
            return nodes.Reference(target.root, (*target.path, key.value))
        return self.make(nodes.Member(target, key))

    def make(self, node: nodes.Node) -> nodes.Node:
        """Bound the tree depth, and fold a node whose inputs are all constants into a constant."""
        children = node.children()
        depth = 1 + max((self._depths.get(id(c), (c, 1))[1] for c in children), default=0)
        if depth > MAX_DEPTH:
            self.committed = True
            raise self.error("expression is too deeply nested")
        impure = isinstance(node, (nodes.Call, nodes.MethodCall)) and not node.function.pure
        if children and not impure and all(type(child) is nodes.Literal for child in children):
            try:
                return nodes.Literal(node.evaluate({}))
            except OrkestraError:
                pass
        self._depths[id(node)] = (node, depth)
        return node

    # -- small helpers --------------------------------------------------------------------------

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            self.committed = True
            raise self.error(f"expression nested more than {MAX_NESTING} levels deep")

    def at_optional_chain(self) -> bool:
        """`?.name` is optional chaining; `? .5 : 1` is a ternary (as in JavaScript)."""
        following = self.peek(2)
        return self.at("?.") and (
            following == "[" or (is_key_char(following) and not following.isdigit())
        )

    def peek_operator(self) -> str | None:
        for operator in _BINARY:
            if self.text.startswith(operator, self.pos):
                return operator
        return None

    def check_arity(
        self, name: str, function: Function, count: int, position: int, is_method: bool = False
    ) -> None:
        low, high = function.min_args, function.max_args
        if low <= count and (high is None or count <= high):
            return
        shift = 1 if is_method else 0  # a method's target is its first argument
        low, high = low - shift, None if high is None else high - shift
        expected = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
        self.committed = True
        raise self.error(f"{name}() takes {expected} argument(s), {count - shift} given", position)
