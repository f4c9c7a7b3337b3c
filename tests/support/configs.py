"""Write config directories for tests from {relative path: YAML text}."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_config(root: Path, files: dict[str, str]) -> Path:
    """Create `root/config/<path>` for each entry; return the config directory."""
    config = root / "config"
    for rel, text in files.items():
        path = config / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    config.mkdir(parents=True, exist_ok=True)
    return config
