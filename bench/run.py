"""Run every scenario against its baseline and write docs/benchmarks/results.{md,json} and plots.

    python -m bench [--tiny] [--out docs/benchmarks] [--only composite,fanout,...] [--workdir DIR]

Everything runs on 127.0.0.1, each server in its own process (uvicorn, uvloop + httptools, one
worker unless the scenario says otherwise), the load generator in another.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import fixtures, report, scale, scenarios, servers
from bench.scenarios import Row, Settings

SCENARIOS = ("composite", "fanout", "passthrough", "direct", "batch", "scale")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny", action="store_true", help="seconds, not minutes: checks that it all runs"
    )
    parser.add_argument("--out", type=Path, default=servers.ROOT / "docs" / "benchmarks")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep databases, configs and logs here"
    )
    parser.add_argument("--duration", type=float, default=None, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    settings = scenarios.TINY if args.tiny else Settings()
    if args.duration is not None:
        settings = dataclasses.replace(settings, duration=args.duration)
    if args.rounds is not None:
        settings = dataclasses.replace(settings, rounds=args.rounds)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="orkestra-bench-"))
    try:
        written = run(settings, chosen, workdir, args.out)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    for path in written:
        print(f"wrote {path}")


def run(settings: Settings, chosen: list[str], workdir: Path, out: Path) -> list[Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    meta = report.machine()
    meta["settings"] = {k: v for k, v in dataclasses.asdict(settings).items()}
    rows: list[Row] = []
    facts: dict[str, object] = {}
    began = time.monotonic()
    if set(chosen) - {"scale"}:
        with servers.backend().start(workdir) as backend:
            paths = fixtures.build(
                workdir, backend.url, list(settings.fanouts), train=settings.rounds > 1
            )
            orkestra = servers.orkestra(paths["config"])
            orkestra.health = "/ready"  # the model is loaded
            baseline = servers.baseline(paths["database"], paths["model"], backend.url)
            with orkestra.start(workdir), baseline.start(workdir):
                o, b = orkestra.url, baseline.url
                steps: dict[str, Callable[[], list[Row]]] = {
                    "composite": lambda: scenarios.composite(settings, o, b),
                    "fanout": lambda: scenarios.fanout(settings, o),
                    "passthrough": lambda: scenarios.passthrough(settings, o, backend.url),
                    "direct": lambda: scenarios.direct(settings, o, b),
                    "batch": lambda: scenarios.batch(settings, o, workdir),
                }
                for name, step in steps.items():
                    if name in chosen:
                        _progress(f"{name}...", began)
                        rows += step()
    if "scale" in chosen:
        _progress("scale...", began)
        scale_rows, facts = scale.scale(settings, workdir)
        rows += scale_rows
    _progress("writing results", began)
    return report.write(out, settings, meta, rows, facts)


def _progress(message: str, began: float) -> None:
    print(f"[{time.monotonic() - began:6.1f}s] {message}", file=sys.stderr, flush=True)
