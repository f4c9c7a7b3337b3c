"""What every scenario runs against, built fresh in a work directory: a SQLite table of customers,
the brief's credit model (trained at bench time, skops) and the Orkestra config directories.

The Orkestra configs and the hand-written baselines (bench/baseline.py) do the same work: same
query, same backend calls, same model, same response fields.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from orkestra.training import CREDIT_OUTPUTS, train_credit_model

CUSTOMERS = 1000
API_DELAY_MS = 10  # the composite's HTTP API: a realistic fast internal service
FANOUT_DELAY_MS = 50
CHAIN_LENGTH = 3
DIRECT_BODY = {
    "service": "orkestra-bench",
    "version": 1,
    "features": ["database", "api", "ml"],
    "limits": {"requests_per_second": 1000, "burst": 50},
}


def create_database(path: Path) -> None:
    """CUSTOMERS rows with a deterministic credit score and income (fixed seed)."""
    rng = random.Random(7)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " credit_score INTEGER NOT NULL, annual_income REAL NOT NULL)"
        )
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?)",
            [
                (i, f"customer {i}", rng.randint(300, 850), round(rng.uniform(15_000, 250_000), 2))
                for i in range(1, CUSTOMERS + 1)
            ],
        )
    db.close()


def write_config(directory: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(content, sort_keys=False))
    return directory


def _settings() -> dict[str, Any]:
    # access logs off on both sides (uvicorn --no-access-log for the baselines); tracking stays
    # at its defaults: it is what a user gets
    return {"app": {"name": "orkestra-bench"}, "server": {"log_level": "warning"}}


def _fanout_endpoint(n: int) -> dict[str, Any]:
    sources = [
        {
            "name": f"s{i}",
            "type": "api",
            "source_id": "backend",
            "operation": "delayed",
            "params": {"ms": FANOUT_DELAY_MS},
        }
        for i in range(n)
    ]
    return {
        "path": f"/fanout/{n}",
        "method": "get",
        "data_sources": sources,
        "response_mapping": {f"s{i}": f"$s{i}.value" for i in range(n)},
    }


def _chain_endpoint() -> dict[str, Any]:
    sources: list[dict[str, Any]] = []
    for i in range(CHAIN_LENGTH):
        params: dict[str, Any] = {"ms": FANOUT_DELAY_MS}
        if i:
            params["after"] = f"$c{i - 1}.value"  # a real reference: c{i} needs c{i-1}'s answer
        sources.append(
            {
                "name": f"c{i}",
                "type": "api",
                "source_id": "backend",
                "operation": "delayed",
                "params": params,
            }
        )
    return {
        "path": "/chain",
        "method": "get",
        "data_sources": sources,
        "response_mapping": {f"c{i}": f"$c{i}.value" for i in range(CHAIN_LENGTH)},
    }


def scenario_config(
    directory: Path, database: Path, model: Path, backend_url: str, fanouts: list[int]
) -> Path:
    """One config with every endpoint of scenarios 1-5 (a handful of routes)."""
    customer = {
        "name": "customer_data",
        "type": "database",
        "operation": "get_customer",
        "params": {"customer_id": "int($request.path_params.customer_id)"},
    }
    score = {
        "name": "risk",
        "type": "ml",
        "source_id": "credit_model",
        "operation": "predict",
        "params": {
            "features": {
                "credit_score": "$customer_data.credit_score",
                "income": "$customer_data.annual_income",
            }
        },
    }
    endpoints: dict[str, Any] = {
        "composite": {
            "path": "/composite/{customer_id}",
            "method": "get",
            "data_sources": [
                customer,
                {
                    "name": "market",
                    "type": "api",
                    "source_id": "backend",
                    "operation": "delayed",
                    "params": {"ms": API_DELAY_MS},
                },
                score,
            ],
            "response_mapping": {
                "customer_id": "$customer_data.customer_id",
                "name": "$customer_data.name",
                "risk_score": "$risk.score",
                "risk_tier": "$risk.risk_tier",
                "market_value": "$market.value",
            },
        },
        "passthrough": {
            "path": "/passthrough",
            "method": "get",
            "data_sources": [
                {
                    "name": "item",
                    "type": "api",
                    "source_id": "backend",
                    "operation": "delayed",
                    "params": {"ms": 0},
                }
            ],
            "primary_source": "item",
        },
        "direct": {
            "path": "/direct",
            "method": "get",
            "endpoint_type": "direct",
            "response": DIRECT_BODY,
        },
        "batch": {
            "path": "/batch",
            "method": "post",
            "data_sources": [
                {
                    "name": "customers",
                    "type": "database",
                    "operation": "get_customers",
                    "params": {"ids": "$request.body.ids"},
                },
                {
                    "name": "risks",
                    "type": "ml",
                    "source_id": "credit_model",
                    "operation": "predict",
                    "params": {"features": "$customers"},
                },
            ],
            "response_mapping": {"customers": "$customers", "risks": "$risks"},
        },
        # the same work one entity at a time: for_each makes one backend call per item (no
        # source type implements call_batch), 10 at a time
        "batch_for_each": {
            "path": "/batch_for_each",
            "method": "post",
            "data_sources": [
                {
                    **customer,
                    "name": "customers",
                    "for_each": "$request.body.ids",
                    "params": {"customer_id": "$item"},
                },
                {
                    **score,
                    "name": "risks",
                    "for_each": "$customers",
                    "params": {
                        "features": {
                            "credit_score": "$item.credit_score",
                            "income": "$item.annual_income",
                        }
                    },
                },
            ],
            "response_mapping": {"customers": "$customers", "risks": "$risks"},
        },
        "chain": _chain_endpoint(),
    }
    for n in fanouts:
        endpoints[f"fanout_{n}"] = _fanout_endpoint(n)
    return write_config(
        directory,
        {
            "config.yaml": _settings(),
            "database.yaml": {
                "database": {
                    "sources": {
                        "default": {"connection_string": f"sqlite:///{database}", "pool_size": 10}
                    },
                    "operations": {
                        "get_customer": {
                            "query": "SELECT customer_id, name, credit_score, annual_income"
                            " FROM customers WHERE customer_id = :customer_id",
                            "params": ["customer_id"],
                            "result": "one",
                        },
                        "get_customers": {
                            # named as the model's features, so the rows are its batch as they are
                            "query": "SELECT customer_id, name, credit_score, annual_income AS income"
                            " FROM customers WHERE customer_id IN :ids ORDER BY customer_id",
                            "params": ["ids"],
                            "result": "many",
                        },
                    },
                }
            },
            "integrations/api.yaml": {
                "api": {
                    "sources": {
                        "backend": {
                            "base_url": backend_url,
                            "timeout": 5,
                            "operations": {"delayed": {"path": "/delay/{ms}"}},
                        }
                    }
                }
            },
            "integrations/ml.yaml": {
                "ml": {
                    "sources": {
                        "credit_model": {
                            "models": {
                                "default": {
                                    "source": {"type": "local_artifact", "path": str(model)},
                                    "outputs": dict(CREDIT_OUTPUTS),
                                }
                            }
                        }
                    }
                }
            },
            "domains/bench.yaml": {"domain_id": "bench", "endpoints": endpoints},
        },
    )


def scale_config(directory: Path, endpoints: int, per_domain: int = 100) -> Path:
    """`endpoints` endpoints over domains of `per_domain`, each two sources and a mapping: work
    for the planner (references, ordering) and something to evaluate per request."""
    files: dict[str, Any] = {"config.yaml": _settings()}
    for d in range(0, endpoints, per_domain):
        domain: dict[str, Any] = {}
        for e in range(d, min(d + per_domain, endpoints)):
            domain[f"e{e}"] = {
                "method": "get",
                "data_sources": [
                    {
                        "name": "base",
                        "type": "direct",
                        "params": {"id": e, "label": f"endpoint {e}"},
                    },
                    {
                        "name": "derived",
                        "type": "direct",
                        "params": {"double": "$base.id * 2", "tag": "upper($base.label)"},
                    },
                ],
                "response_mapping": {
                    "id": "$base.id",
                    "double": "$derived.double",
                    "tag": "$derived.tag",
                },
            }
        files[f"domains/d{d // per_domain}.yaml"] = {
            "domain_id": f"d{d // per_domain}",
            "endpoints": domain,
        }
    return write_config(directory, files)


# the same model, trained by `orkestra.training` when the example ran: --tiny reuses it when present
EXAMPLE_MODEL = (
    Path(__file__).resolve().parent.parent / "example" / "model_scoring" / "models" / "credit.skops"
)


def build(
    workdir: Path, backend_url: str, fanouts: list[int], train: bool = True
) -> dict[str, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "customers.db"
    model = workdir / "credit.skops"
    create_database(database)
    if train or not EXAMPLE_MODEL.exists():  # a fresh clone has no example model yet
        train_credit_model(model)
    else:
        shutil.copyfile(EXAMPLE_MODEL, model)
    config = scenario_config(workdir / "config", database, model, backend_url, fanouts)
    return {"database": database, "model": model, "config": config}
