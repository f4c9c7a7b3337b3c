"""Loading what plugins and configs name by dotted path (`package.module:attribute`)."""

from __future__ import annotations

import importlib


def import_object(dotted: str) -> object:
    """Import `package.module:attribute` (or `package.module.attribute`)."""
    module_name, sep, attr = dotted.partition(":")
    if not sep:
        module_name, _, attr = dotted.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"'{dotted}' is not of the form 'package.module:name'")
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
