"""Characters -> names, keys, strings and numbers: the lexical half of the parser.

A `Scanner` is a position in a text; the parser (its subclass) reads the grammar. They are one
object because what the characters mean depends on where the grammar is (see parser.py).
"""

from __future__ import annotations

from orkestra.errors import ExpressionError

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def is_name_start(char: str) -> bool:
    return char.isalpha() or char == "_"


def is_key_char(char: str) -> bool:
    return char.isalnum() or char == "_"


class Scanner:
    def __init__(self, text: str, position: int = 0) -> None:
        self.text = text
        self.pos = position

    def read_name(self) -> str:
        start = self.pos
        if self.pos < len(self.text) and is_name_start(self.text[self.pos]):
            self.pos += 1
            while self.pos < len(self.text) and is_key_char(self.text[self.pos]):
                self.pos += 1
        return self.text[start : self.pos]

    def read_name_chars(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and is_key_char(self.text[self.pos]):
            self.pos += 1
        return self.text[start : self.pos]

    def read_key(self) -> str:
        """A path key: letters, digits, `_`, and `:` between them (`iris:sepal_length`)."""
        text, start = self.text, self.pos
        while self.pos < len(text):
            char = text[self.pos]
            if (
                is_key_char(char)
                or char == ":"
                and self.pos + 1 < len(text)
                and is_key_char(text[self.pos + 1])
            ):
                self.pos += 1
            else:
                break
        return text[start : self.pos]

    def read_string(self) -> str:
        quote, start = self.text[self.pos], self.pos
        self.pos += 1
        pieces: list[str] = []
        text = self.text
        while True:
            end = self.pos
            while end < len(text) and text[end] != quote and text[end] != "\\":
                end += 1
            pieces.append(text[self.pos : end])
            if end >= len(text) or (text[end] == "\\" and end + 1 >= len(text)):
                raise self.error("unterminated string", start)
            if text[end] == quote:
                self.pos = end + 1
                return "".join(pieces)
            pieces.append(self.read_escape(end + 1))

    def read_escape(self, position: int) -> str:
        char = self.text[position]
        self.pos = position + 1
        if char == "u":
            digits = self.text[position + 1 : position + 5]
            if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                self.pos = position + 5
                return chr(int(digits, 16))
            raise self.error("invalid \\u escape", position - 1)
        return _ESCAPES.get(char, char)  # JavaScript: an unknown escape is the character itself

    def read_number(self) -> int | float | None:
        text, start = self.text, self.pos
        while self.pos < len(text) and text[self.pos].isascii() and text[self.pos].isdigit():
            self.pos += 1
        is_float = False
        if self.at(".") and self.next_is_digit():
            is_float = True
            self.pos += 1
            while self.pos < len(text) and text[self.pos].isascii() and text[self.pos].isdigit():
                self.pos += 1
        if self.peek() in ("e", "E"):
            mark = self.pos
            self.pos += 1
            if self.peek() in ("+", "-"):
                self.pos += 1
            if self.peek().isascii() and self.peek().isdigit():
                is_float = True
                while (
                    self.pos < len(text) and text[self.pos].isascii() and text[self.pos].isdigit()
                ):
                    self.pos += 1
            else:
                self.pos = mark
        literal = text[start : self.pos]
        if not is_float:
            return int(literal) if len(literal) <= 300 else None
        value = float(literal)
        return value if value not in (float("inf"), float("-inf")) else None

    def skip_blanks(self) -> None:
        text = self.text
        while self.pos < len(text) and text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def at(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def next_is_digit(self) -> bool:
        char = self.peek(1)
        return char.isascii() and char.isdigit()

    def expect(self, literal: str, why: str) -> None:
        self.skip_blanks()
        if not self.at(literal):
            found = f"found {self.peek()!r}" if self.peek() else "found the end"
            raise self.error(f"expected '{literal}' {why}, {found}")
        self.pos += len(literal)

    def error(self, message: str, position: int | None = None) -> ExpressionError:
        where = self.pos if position is None else position
        return ExpressionError(message, self.text, min(where, len(self.text)))
