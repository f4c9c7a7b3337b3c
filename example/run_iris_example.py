"""The iris example: set up a database, a model and a Feast feature repo, serve, call the
database->model, local-model, compare and Feast->model endpoints, print the results.
Needs orkestra[ml,feast].  Run from anywhere: python example/run_iris_example.py"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datetime import UTC

from _runner import call, serve, show

HERE = Path(__file__).resolve().parent / "iris"
FLOWERS = [1, 51, 101, 71, 134]  # one of each species, and two the model may find hard
IN_FEAST = 140  # flowers 1-140 are materialized into Feast; 141-150 come from the database fallback
FEAST_FLOWERS = [7, 88, 145]


def set_up() -> None:
    from orkestra.scaffold import create_sample_database
    from orkestra.training import train_iris

    database = HERE / "data" / "iris.db"
    if not database.exists():
        create_sample_database(database)
        print(f"created {database.relative_to(HERE.parent)}")
    model = HERE / "models" / "iris.skops"
    if not model.exists():
        info = train_iris(model, progress=lambda step, done: print(f"  [{done:4.0%}] {step}"))
        print(f"trained {model.relative_to(HERE.parent)} (accuracy {info['accuracy']:.1%})")
    set_up_feast(database)


def set_up_feast(database: Path) -> None:
    """Write the flowers to parquet, `feast apply` the definitions, materialize flowers 1-140."""
    repo = HERE / "feature_repo"
    if (repo / "data" / "online.db").exists():
        return
    import importlib.util
    import sqlite3
    from datetime import datetime, timedelta

    import feast
    import pandas as pd

    (repo / "data").mkdir(exist_ok=True)
    with sqlite3.connect(database) as conn:
        frame = pd.read_sql(
            "SELECT id AS flower_id, sepal_length, sepal_width, petal_length, petal_width FROM iris_flowers",
            conn,
        )
    conn.close()
    now = datetime.now(UTC)
    frame = frame[frame.flower_id <= IN_FEAST].assign(event_timestamp=now - timedelta(hours=1))
    frame.to_parquet(repo / "data" / "iris.parquet")
    spec = importlib.util.spec_from_file_location("iris_definitions", repo / "definitions.py")
    assert spec is not None and spec.loader is not None
    definitions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(definitions)
    store = feast.FeatureStore(repo_path=str(repo))
    store.apply([definitions.flower, definitions.iris, definitions.measurements])
    store.materialize(now - timedelta(days=1), now)
    print(f"materialized flowers 1-{IN_FEAST} into Feast ({repo.relative_to(HERE.parent)})")


def main() -> dict[str, object]:
    set_up()
    results: dict[str, object] = {}
    with serve(HERE / "config") as base:
        api = f"{base}/orchestrator/iris"
        for flower in FLOWERS:
            status, body = call(f"{api}/predict_from_db/{flower}")
            show(f"database -> model, flower {flower}", status, body)
            results[f"predict_from_db/{flower}"] = body
        sample = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
        status, body = call(f"{api}/predict", sample)
        show("local model, measurements in the body", status, body)
        results["predict"] = body
        rows = []
        for flower in FLOWERS:
            status, body = call(f"{api}/compare/{flower}")
            rows.append(body)
            results[f"compare/{flower}"] = body
        print("── model vs. database")
        for row in rows:
            print(
                f"  flower {row['flower_id']:>3}: actual {row['actual']:<11} predicted {row['predicted']:<11} {row['verdict']}"
            )
        print()
        for flower in FEAST_FLOWERS:
            status, body = call(f"{api}/predict_from_features/{flower}")
            show(
                f"Feast -> model, flower {flower} (features from {body.get('features_from')})",
                status,
                body,
            )
            results[f"predict_from_features/{flower}"] = body
    return results


if __name__ == "__main__":
    main()
