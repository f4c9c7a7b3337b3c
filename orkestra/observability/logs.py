"""Logging: the execution id on every line, JSON lines on request, secrets kept out.

`execution_id` is a contextvar the service sets around each execution; asyncio tasks copy it, so
lines logged by sources running concurrently carry their request's id. `configure_logging` installs
one handler on the root logger (uvicorn's loggers propagate to it when it is given no log config).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

import orjson

from orkestra.secrets import Redactor

execution_id: ContextVar[str | None] = ContextVar("orkestra_execution_id", default=None)

FORMAT_ENV = "ORKESTRA_LOG_FORMAT"  # set by `orkestra run` so worker processes log alike
LEVEL_ENV = "ORKESTRA_LOG_LEVEL"
_TEXT = "%(asctime)s %(levelname)s %(name)s [%(execution_id)s]: %(message)s"


def bind_execution_id(value: str) -> None:
    """For the rest of the current task (an HTTP request's task, access log line included)."""
    execution_id.set(value)


@contextmanager
def execution_context(value: str) -> Iterator[None]:
    token = execution_id.set(value)
    try:
        yield
    finally:
        execution_id.reset(token)


class RedactingFilter(logging.Filter):
    """Adds `execution_id` to each record and redacts known secrets from its message.

    The redactor is replaced when a reload brings new secrets (`set_redactor`)."""

    redactor = Redactor(())

    def filter(self, record: logging.LogRecord) -> bool:
        record.execution_id = execution_id.get() or "-"
        if self.redactor.secrets:
            message = record.getMessage()
            record.msg, record.args = self.redactor.text(message), None
        return True


def set_redactor(redactor: Redactor) -> None:
    RedactingFilter.redactor = redactor


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "execution_id": getattr(record, "execution_id", None) or execution_id.get(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            # the type and redacted message; a traceback would be a multi-line field nobody greps
            line["error"] = (
                f"{type(record.exc_info[1]).__name__}: {RedactingFilter.redactor.text(str(record.exc_info[1]))}"
            )
        return orjson.dumps(line).decode()


class _OrkestraHandler(logging.StreamHandler):  # type: ignore[type-arg]
    pass


def configure_logging(
    level: str = "info", fmt: str = "text", stream: TextIO | None = None
) -> logging.Handler:
    """Install Orkestra's handler on the root logger (replacing one installed before)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OrkestraHandler)]:
        root.removeHandler(old)
    handler = _OrkestraHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    os.environ[FORMAT_ENV], os.environ[LEVEL_ENV] = fmt, level
    return handler


def configure_from_env() -> None:
    """In a worker process `orkestra run` spawned: log as the parent was asked to."""
    fmt = os.environ.get(FORMAT_ENV)
    root = logging.getLogger()
    if fmt and not any(isinstance(h, _OrkestraHandler) for h in root.handlers):
        configure_logging(os.environ.get(LEVEL_ENV, "info"), fmt)
