"""The `orkestra` command: thin commands over the library."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orkestra import __version__
from orkestra.errors import ConfigError

cli = typer.Typer(
    name="orkestra",
    help="Turn YAML into a production API: orchestrate databases, HTTP APIs, Feast and ML models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

ConfigPath = Annotated[Path, typer.Option("--config-path", "-c", help="The config directory.")]


def _print_config_error(exc: ConfigError) -> None:
    count = len(exc.problems)
    err_console.print(
        f"[bold red]Config error{'s' if count > 1 else ''}[/] ({count}):", highlight=False
    )
    for problem in exc.problems:
        err_console.print(f"  {problem}", highlight=False, markup=False)


def _print_warnings(warnings: list[object]) -> None:
    for warning in warnings:
        err_console.print(f"[yellow]warning[/] {warning}", highlight=False)


@cli.command()
def version() -> None:
    """Show the Orkestra version."""
    console.print(f"orkestra {__version__}")


@cli.command()
def validate(
    config_path: ConfigPath = Path("./config"),
    strict: Annotated[
        bool, typer.Option("--strict", help="Unknown keys are errors, not warnings.")
    ] = False,
) -> None:
    """Validate a config directory: YAML, keys, expressions, references, DAGs and routes."""
    from orkestra.runtime import load_runtime

    try:
        runtime = load_runtime(config_path, strict=strict)
    except ConfigError as exc:
        _print_config_error(exc)
        raise typer.Exit(1) from None
    _print_warnings(list(runtime.warnings))
    table = Table(title=f"{len(runtime.plans)} endpoint(s) in {config_path}")
    table.add_column("methods")
    table.add_column("route", overflow="fold")
    table.add_column("sources (stages run in order; a stage runs concurrently)")
    for plan in runtime.plans:
        stages = " → ".join("(" + ", ".join(stage) + ")" for stage in plan.stages) or "-"
        table.add_row(",".join(plan.methods), escape(plan.route), escape(stages))
    console.print(table)
    console.print("[green]config is valid[/]")


@cli.command()
def run(
    config_path: ConfigPath = Path("./config"),
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: server.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: server.port, 8000).")] = None,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart on code and config changes (development).")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: server.workers, 1).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Unknown config keys are errors.")
    ] = False,
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="text or json (default: server.log_format).")
    ] = None,
) -> None:
    """Serve the API described by a config directory."""
    import uvicorn

    from orkestra.runtime import load_runtime
    from orkestra.server.asgi import CONFIG_ENV, STRICT_ENV

    try:
        runtime = load_runtime(config_path, strict=strict)  # fail fast, before any server starts
    except ConfigError as exc:
        _print_config_error(exc)
        raise typer.Exit(1) from None
    _print_warnings(list(runtime.warnings))
    server = runtime.settings.server
    host = host or server.host
    port = port if port is not None else server.port
    workers = workers or server.workers
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    os.environ[STRICT_ENV] = "1" if strict else "0"
    from orkestra.observability.logs import configure_logging

    if log_format not in (None, "text", "json"):
        err_console.print(f"[red]--log-format must be text or json[/], not {escape(log_format)}")
        raise typer.Exit(2)

    # one handler on the root logger, JSON lines with `server.log_format: json`; worker processes
    # read the same choice from the environment (orkestra.observability.logs.configure_from_env)
    configure_logging(server.log_level, log_format or server.log_format)
    console.print(
        f"[bold]Orkestra[/] serving {len(runtime.plans)} endpoint(s) on http://{host}:{port}  "
        f"(docs: http://{host}:{port}/docs)",
        highlight=False,
    )
    # log_config=None: uvicorn's own loggers propagate to Orkestra's handler, in the same format
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": server.log_level.lower(),
        "factory": True,
        "log_config": None,
    }
    if reload:
        uvicorn.run(
            "orkestra.server.asgi:create_app",
            reload=True,
            reload_dirs=[str(config_path.resolve()), str(Path(__file__).parent)],
            reload_includes=["*.py", "*.yaml", "*.yml"],
            **options,
        )
    else:
        uvicorn.run(
            "orkestra.server.asgi:create_app",
            workers=workers,
            timeout_graceful_shutdown=math.ceil(server.shutdown_timeout),
            **options,
        )


@cli.command()
def init(
    directory: Annotated[Path, typer.Argument(help="The project directory to create.")],
    force: Annotated[
        bool, typer.Option("--force", help="Write into an existing non-empty directory.")
    ] = False,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Skip training the demo model.")
    ] = False,
) -> None:
    """Create a runnable project: config, a sample SQLite database and a trained local model."""
    from orkestra.scaffold import create_project

    if directory.exists() and any(directory.iterdir()) and not force:
        err_console.print(
            f"[red]{directory} exists and is not empty[/] (use --force to write into it)"
        )
        raise typer.Exit(1)
    create_project(directory, console=console, with_model=not no_model)
    console.print(
        f"\n[green]Created {directory}[/]. Next:\n  cd {directory}\n  orkestra run --config-path ./config\n"
        "  open http://127.0.0.1:8000/docs"
    )


def main(argv: list[str] | None = None) -> None:
    cli(args=argv if argv is not None else sys.argv[1:], prog_name="orkestra")
