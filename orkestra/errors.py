"""Orkestra's exceptions, drawn once.

    OrkestraError
    ├── ConfigError            a config that cannot be loaded; carries one or more ConfigProblem
    │                          (file, line, key path, what was expected)
    ├── ExpressionError        an expression or template that cannot be parsed (no location yet;
    │                          the config loader turns it into a ConfigError with file:line)
    ├── BindError              a data source that names an unknown source_id / operation / model;
    │                          raised by SourceType.bind, reported as a ConfigError at load time
    ├── RequestError           the client's request is wrong -> 4xx (422 by default)
    └── SourceError            a backend failed while serving a request -> 502
        ├── SourceTimeout      ... did not answer in time -> 504
        └── SourceUnavailable  ... is not ready (a model starting or failed) -> 503

Messages never contain secrets: values that came from `${ENV}` are redacted by the caller before
an error leaves the process (see orkestra.secrets).
"""

from __future__ import annotations

from dataclasses import dataclass


class OrkestraError(Exception):
    """Base class of every error Orkestra raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    key_path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.key_path}" if self.key_path else ""
        return f"{where}{key}: {self.message}"


class ConfigError(OrkestraError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ExpressionError(OrkestraError):
    """A syntax error in an expression; `position` is the 0-based offset in the source text,
    `key_path` where the expression sits inside a template (outermost key first)."""

    MAX_QUOTED = 120  # long expressions are quoted around the error, not whole

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.message = message
        self.text = text
        self.position = position
        self.key_path: tuple[str | int, ...] = ()
        detail = (
            f" at column {position + 1} of {_excerpt(text, position, self.MAX_QUOTED)!r}"
            if position is not None
            else ""
        )
        super().__init__(f"{message}{detail}")


def _excerpt(text: str, position: int, width: int) -> str:
    if len(text) <= width:
        return text
    start = max(0, min(position - width // 2, len(text) - width))
    return (
        ("..." if start else "")
        + text[start : start + width]
        + ("..." if start + width < len(text) else "")
    )


class BindError(OrkestraError):
    """A data source refers to something its source type does not have.

    `key` is the data-source key the problem is about (`source_id`, `operation`, ...), so the loader
    can point at its line.
    """

    def __init__(self, message: str, key: str = "operation") -> None:
        self.key = key
        super().__init__(message)


class RequestError(OrkestraError):
    def __init__(
        self, message: str, status: int = 422, errors: list[dict[str, object]] | None = None
    ) -> None:
        self.status = status
        self.errors = errors or []
        super().__init__(message)


class SourceError(OrkestraError):
    """A backend failed. `source` names the data source (or model) that failed."""

    status = 502
    retryable = True  # False for answers a retry cannot change (a 4xx from the backend)

    def __init__(
        self, source: str, message: str, *, status: int | None = None, retryable: bool | None = None
    ) -> None:
        self.source = source
        self.message = message
        if status is not None:
            self.status = status
        if retryable is not None:
            self.retryable = retryable
        super().__init__(f"source '{source}': {message}")


class SourceTimeout(SourceError):
    status = 504


class SourceUnavailable(SourceError):
    status = 503
    retryable = False
