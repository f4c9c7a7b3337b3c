"""A SQL statement compiled once at bind time: its parameters, whether it only reads, and how the
evaluated params are bound to it (always as bind values, never pasted into the SQL)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.sql.elements import TextClause

# Comments and quoted text are removed before looking at keywords, so that `'IN :x'` in a literal
# or `-- delete` in a comment does not change how the statement is classified.
_COMMENTS_AND_QUOTES = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`", re.DOTALL
)
# text() would take `:name` in a literal or comment for a placeholder; `\:` keeps it text.
_COLON_BEFORE_NAME = re.compile(r"(?<![:\w\\]):(?=\w)")
# `id IN :ids` is only valid SQL once the list is expanded, so writing it is the declaration.
_EXPANDING = re.compile(r"\bIN\s*:(\w+)\b", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|REPLACE|UPSERT)\b", re.IGNORECASE)
_READING_STATEMENTS = frozenset({"SELECT", "WITH", "VALUES", "SHOW", "TABLE"})
_LIST_TYPES = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class CompiledStatement:
    clause: TextClause
    param_names: tuple[str, ...]  # in order of first appearance in the query
    expanding: frozenset[str]  # params written as `IN :name`, bound as a list
    read_only: bool  # SELECT / WITH without a data-modifying part: safe to retry

    def bind_values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The values for every placeholder: a missing param is NULL (so `WHERE id = :id` matches
        nothing), a scalar for an `IN :name` param is a one-item list, extra keys are ignored."""
        values: dict[str, Any] = {}
        for name in self.param_names:
            value = params.get(name)
            if name in self.expanding:
                value = list(value) if isinstance(value, _LIST_TYPES) else [value]
            values[name] = value
        return values


def compile_statement(sql: str) -> CompiledStatement:
    bare = _COMMENTS_AND_QUOTES.sub(" ", sql)
    clause = text(_COMMENTS_AND_QUOTES.sub(_escape_colons, sql))
    names = tuple(clause.compile().params)
    expanding = frozenset(m.group(1) for m in _EXPANDING.finditer(bare)) & frozenset(names)
    if expanding:
        clause = clause.bindparams(*(bindparam(name, expanding=True) for name in expanding))
    return CompiledStatement(clause, names, expanding, _is_read_only(bare))


def _escape_colons(quoted_or_comment: re.Match[str]) -> str:
    return _COLON_BEFORE_NAME.sub(r"\\:", quoted_or_comment.group(0))


def _is_read_only(bare_sql: str) -> bool:
    first = _FIRST_WORD.search(bare_sql)
    if first is None or first.group(0).upper() not in _READING_STATEMENTS:
        return False
    # `WITH x AS (...) DELETE ...` and data-modifying CTEs write despite their first word.
    return _WRITES.search(bare_sql) is None
