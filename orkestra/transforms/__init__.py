"""Transforms (SPEC §5): an expression, a list of named steps, or a project function.

    compile_transform(spec)              once, at load time
    Transform.apply(value, scope)        per request; `$this` is the value
    register_transform(name, factory)    a plugin step; also the `orkestra.transforms` entry points

See docs/transforms.md.
"""

from orkestra.transforms.base import Transform as Transform
from orkestra.transforms.base import TransformError as TransformError
from orkestra.transforms.base import TransformSpecError as TransformSpecError
from orkestra.transforms.compile import compile_transform as compile_transform
from orkestra.transforms.registry import known_steps as known_steps
from orkestra.transforms.registry import register_transform as register_transform

__all__ = [
    "Transform",
    "TransformError",
    "TransformSpecError",
    "compile_transform",
    "known_steps",
    "register_transform",
]
