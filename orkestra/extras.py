"""Optional dependencies: import lazily, fail at use with the install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from orkestra.errors import OrkestraError


class MissingExtraError(OrkestraError):
    pass


def require(module: str, extra: str) -> ModuleType:
    """Import `module`, or explain which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"'{module}' is not installed; install it with: pip install 'orkestra[{extra}]'"
        ) from exc
