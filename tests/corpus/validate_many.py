"""Run `orkestra validate` on many config directories in one process (a subprocess of the test):
the CLI's own entry point per directory, its exit code and output separated by a marker line.
One interpreter start instead of one per case keeps the corpus run short on a small CI machine."""

from __future__ import annotations

import contextlib
import io
import sys

from orkestra.cli import main

MARKER = "=====ORKESTRA-CASE====="

if __name__ == "__main__":
    for path in sys.argv[1:]:
        out = io.StringIO()
        code: object = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                main(["validate", "--config-path", path])
            except SystemExit as exc:
                code = exc.code
        print(f"{MARKER} {path} rc={code}")
        print(out.getvalue())
