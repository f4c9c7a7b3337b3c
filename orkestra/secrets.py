"""Keeping secrets (values that came from ${ENV}) out of everything Orkestra writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REDACTED = "***"


class Redactor:
    """Replaces every known secret in text and data with `***`. Built once per config load."""

    def __init__(self, secrets: Iterable[str], sensitive_fields: Iterable[str] = ()) -> None:
        # short values (e.g. "1", "true") would redact half of every message; they are not secrets
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self.sensitive = {f.lower() for f in sensitive_fields}

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value) if self.secrets else value
        if isinstance(value, dict):
            return {
                k: (REDACTED if str(k).lower() in self.sensitive else self.data(v))
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value
