"""Orkestra: turn YAML into a production API."""

from __future__ import annotations

__version__ = "0.1.0"

from orkestra.errors import ConfigError as ConfigError
from orkestra.errors import OrkestraError as OrkestraError
from orkestra.errors import RequestError as RequestError
from orkestra.errors import SourceError as SourceError
from orkestra.sources.base import Operation as Operation
from orkestra.sources.base import SourceType as SourceType
from orkestra.sources.registry import register_source_type as register_source_type


def __getattr__(name: str) -> object:
    # The service pulls in FastAPI; import it only when asked for.
    if name == "Orkestra":
        from orkestra.service import Orkestra

        return Orkestra
    if name == "register_transform":
        from orkestra.transforms import register_transform

        return register_transform
    raise AttributeError(name)


__all__ = [
    "ConfigError",
    "Operation",
    "Orkestra",
    "OrkestraError",
    "RequestError",
    "SourceError",
    "SourceType",
    "register_source_type",
    "register_transform",
]
