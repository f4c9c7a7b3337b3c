"""Serve ./config from a checkout: `python main.py` (options: `orkestra run --help`).

The checked-in config uses data/app.db and models/iris.skops; they are created on first run.
"""

from pathlib import Path

from orkestra.cli import main
from orkestra.scaffold import ensure_assets

if __name__ == "__main__":
    ensure_assets(Path(__file__).resolve().parent)
    main(["run", "--config-path", str(Path(__file__).resolve().parent / "config")])
