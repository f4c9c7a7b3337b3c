"""The brief's model-scoring example, verbatim: customer data from SQLite, a credit risk model
trained here, `outputs:` turning its probabilities into score and tier.
Run: python example/run_model_scoring_example.py"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runner import call, serve, show

HERE = Path(__file__).resolve().parent / "model_scoring"
CUSTOMERS = [
    (1, "Ada", 812, 142000.0),
    (2, "Brook", 655, 48000.0),
    (3, "Casey", 430, 19000.0),
    (4, "Devon", 590, 61000.0),
]


def set_up() -> None:
    from orkestra.training import train_credit_model

    database = HERE / "data" / "customers.db"
    if not database.exists():
        database.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(database) as conn:
            conn.execute(
                "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, credit_score INTEGER, annual_income REAL)"
            )
            conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", CUSTOMERS)
        conn.close()
        print(f"created {database.relative_to(HERE.parent)}")
    model = HERE / "models" / "credit.skops"
    if not model.exists():
        info = train_credit_model(
            model, progress=lambda step, done: print(f"  [{done:4.0%}] {step}")
        )
        print(f"trained {model.relative_to(HERE.parent)} (accuracy {info['accuracy']:.1%})")


def main() -> dict[str, object]:
    set_up()
    results: dict[str, object] = {}
    with serve(HERE / "config") as base:
        for customer_id, *_ in CUSTOMERS:
            status, body = call(f"{base}/orchestrator/model_scoring/predict/{customer_id}")
            show(f"customer {customer_id}", status, body)
            results[str(customer_id)] = body
    return results


if __name__ == "__main__":
    main()
