"""Named transform steps: the built-ins, `register_transform`, and the `orkestra.transforms`
entry-point group (loaded once, the first time a name is not found)."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from orkestra.transforms.base import StepFactory
from orkestra.transforms.steps import BUILTIN_STEPS

logger = logging.getLogger(__name__)

_registered: dict[str, StepFactory] = {}
_entry_points_loaded = False


def register_transform(name: str, factory: StepFactory) -> StepFactory:
    """Add the named step `name`: `factory(args)` is called once per use in a config, with the
    value written after the step's name, and returns `step(value, scope) -> value`.

    A registered name takes precedence over a built-in one of the same name.
    """
    if not name or not name.isidentifier():
        raise ValueError(f"transform name {name!r} must be an identifier")
    _registered[name] = factory
    return factory


def get_step_factory(name: str) -> StepFactory | None:
    factory = _registered.get(name) or BUILTIN_STEPS.get(name)
    if factory is None and not _entry_points_loaded:
        _load_entry_points()
        factory = _registered.get(name)
    return factory


def known_steps() -> list[str]:
    _load_entry_points()
    return sorted(set(BUILTIN_STEPS) | set(_registered))


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in entry_points(group="orkestra.transforms"):
        try:
            _registered.setdefault(entry_point.name, entry_point.load())
        except Exception:  # one broken plugin must not take the others (or the service) down
            logger.exception("could not load transform plugin %r", entry_point.value)
