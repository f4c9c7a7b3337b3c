"""The iris example: set up a database and a model, serve, call database->model, local-model and
compare endpoints, print the results.  Run from anywhere: python example/run_iris_example.py"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runner import call, serve, show  # noqa: E402

HERE = Path(__file__).resolve().parent / "iris"
FLOWERS = [1, 51, 101, 71, 134]  # one of each species, and two the model may find hard


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
            print(f"  flower {row['flower_id']:>3}: actual {row['actual']:<11} predicted {row['predicted']:<11} {row['verdict']}")
    return results


if __name__ == "__main__":
    main()
