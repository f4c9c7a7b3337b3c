"""`orkestra init`: a runnable project — config, a sample SQLite database, a trained local model."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from orkestra.extras import MissingExtraError

DATABASE = Path("data/app.db")
MODEL = Path("models/iris.skops")

_README = """# {name}

An Orkestra project: YAML in `config/`, data in `data/app.db`, a model in `models/iris.skops`.

    orkestra run --config-path ./config      # then open http://127.0.0.1:8000/docs
    orkestra validate --config-path ./config

Try:

    curl http://127.0.0.1:8000/orchestrator/iris/predict/42
    curl -X POST http://127.0.0.1:8000/orchestrator/iris/classify \\
         -H 'content-type: application/json' \\
         -d '{{"sepal_length": 6.1, "sepal_width": 2.8, "petal_length": 4.7, "petal_width": 1.2}}'
    curl 'http://127.0.0.1:8000/orchestrator/iris/flowers?species=virginica&limit=3'
    curl http://127.0.0.1:8000/orchestrator/iris/hello/world
"""


def template_dir() -> Path:
    return Path(str(resources.files("orkestra") / "templates" / "project"))


def create_project(
    directory: Path, *, console: Console | None = None, with_model: bool = True
) -> None:
    console = console or Console()
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template_dir(), directory, dirs_exist_ok=True)
    (directory / "README.md").write_text(_README.format(name=directory.resolve().name))
    (directory / "requirements.txt").write_text("orkestra[ml]>=0.1.0\n")
    ensure_assets(directory, console=console, with_model=with_model)


def ensure_assets(
    project_dir: Path, *, console: Console | None = None, with_model: bool = True
) -> None:
    """Create the sample database and train the demo model if they are missing."""
    console = console or Console()
    db = project_dir / DATABASE
    if not db.exists():
        create_sample_database(db)
        console.print(f"[green]✓[/] sample database {DATABASE} (150 iris flowers)")
    model = project_dir / MODEL
    if with_model and not model.exists():
        train_demo_model(model, console)


def create_sample_database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with resources.files("orkestra").joinpath("templates/iris.csv").open() as f:
        rows = [
            (
                int(r["id"]),
                float(r["sepal_length"]),
                float(r["sepal_width"]),
                float(r["petal_length"]),
                float(r["petal_width"]),
                r["species"],
            )
            for r in csv.DictReader(f)
        ]
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as conn:
        conn.execute(
            "CREATE TABLE iris_flowers (id INTEGER PRIMARY KEY, sepal_length REAL, sepal_width REAL,"
            " petal_length REAL, petal_width REAL, species TEXT NOT NULL)"
        )
        conn.executemany("INSERT INTO iris_flowers VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    tmp.replace(path)


def train_demo_model(path: Path, console: Console) -> dict[str, Any] | None:
    try:
        from orkestra.training import train_iris
    except ImportError:
        console.print(
            "[yellow]scikit-learn is not installed: skipped the demo model[/] "
            "(pip install 'orkestra[ml]', then run `orkestra init` again)"
        )
        return None
    columns = (
        TextColumn("[bold]training demo model[/]"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("starting", total=1.0)

        def report(step: str, fraction: float) -> None:
            progress.update(task, description=step, completed=fraction)

        try:
            info = train_iris(path, progress=report)
        except (ImportError, MissingExtraError) as exc:
            progress.stop()
            console.print(
                f"[yellow]skipped the demo model: {exc}[/]\n"
                "(pip install 'orkestra[ml]', then run `orkestra init` again)"
            )
            return None
        progress.update(task, description="done", completed=1.0)
    accuracy = info.get("accuracy") if isinstance(info, dict) else None
    detail = (
        f" ({accuracy:.0%} accuracy on held-out flowers)" if isinstance(accuracy, float) else ""
    )
    console.print(f"[green]✓[/] model {MODEL}{detail}")
    return info
