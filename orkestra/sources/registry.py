"""The registry of source types: short `type` name -> SourceType class.

Built-in types are imported lazily (the core never imports Feast, boto3 or docker); third-party
types come from `register_source_type`, a dotted path, or the `orkestra.sources` entry point group.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from orkestra.plugins import import_object
from orkestra.sources.base import SourceType

_BUILTIN: dict[str, str] = {
    "direct": "orkestra.sources.direct:DirectSourceType",
    "memory": "orkestra.sources.memory:MemorySourceType",
    "database": "orkestra.sources.database:DatabaseSourceType",
    "api": "orkestra.sources.api:ApiSourceType",
    "feast": "orkestra.sources.feast:FeastSourceType",
    "ml": "orkestra.sources.ml:MLSourceType",
}

_registered: dict[str, type[SourceType]] = {}
_entry_points_loaded = False


def register_source_type(cls: type[SourceType], name: str | None = None) -> type[SourceType]:
    """Register a SourceType subclass under `name` (default: its `type_name`). Usable as a decorator."""
    _registered[name or cls.type_name] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="orkestra.sources"):
        _registered.setdefault(ep.name, ep.load())


def known_source_types() -> list[str]:
    _load_entry_points()
    return sorted(set(_BUILTIN) | set(_registered))


def get_source_type(name: str) -> type[SourceType]:
    """Return the class for `name`; raise KeyError (unknown) or ImportError (extra missing)."""
    _load_entry_points()
    if name in _registered:
        return _registered[name]
    if name in _BUILTIN:
        cls = import_object(_BUILTIN[name])
        assert isinstance(cls, type) and issubclass(cls, SourceType)
        _registered[name] = cls
        return cls
    if ":" in name:
        cls = import_object(name)
        if isinstance(cls, type) and issubclass(cls, SourceType):
            return cls
        raise ImportError(f"'{name}' is not a SourceType subclass")
    raise KeyError(name)
