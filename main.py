"""Serve ./config from a checkout: `python main.py` (any `orkestra run` option works too:
`python main.py --port 8100`).

The checked-in config uses data/app.db and models/iris.skops; they are created on first run.
"""

import sys
from pathlib import Path

from orkestra.cli import main
from orkestra.scaffold import ensure_assets

if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    ensure_assets(root)
    main(["run", "--config-path", str(root / "config"), *sys.argv[1:]])
