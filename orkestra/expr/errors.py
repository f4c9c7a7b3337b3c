"""Errors of the expression language.

`ExpressionError` (a syntax problem, found at compile time) lives in `orkestra.errors` so the config
loader can catch it without importing this package; it is re-exported here. `EvaluationError` is for
the rare operation that has no JavaScript meaning at all; ordinary missing or mistyped data gives
`null` instead.
"""

from __future__ import annotations

from orkestra.errors import ExpressionError, OrkestraError

__all__ = ["EvaluationError", "ExpressionError"]


class EvaluationError(OrkestraError):
    """An expression was evaluated on values it cannot give a meaning to."""
