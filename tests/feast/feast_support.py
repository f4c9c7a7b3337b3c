"""Shared pieces of the feast source tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orkestra.config.models import DataSourceSpec
from orkestra.sources.base import CallContext, SourceEnvironment, SourceType
from orkestra.sources.feast import FeastSection, FeastSourceType

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
REFS = tuple(f"iris:{name}" for name in FEATURES)
IN_FEAST = 140  # iris ids 0..139 are materialized; 140..149 exist only in the database table


@dataclass(frozen=True)
class FeastRepo:
    project_dir: Path  # the Orkestra project: config/ and feature_repo/ side by side
    repo: Path
    project: str
    store: Any  # feast.FeatureStore, opened by the test session itself (the reference)

    def expected(self, ids: list[Any]) -> list[dict[str, Any]]:
        """What Feast's own SDK answers for `ids`, as `{ref: value}` rows."""
        data = self.store.get_online_features(
            features=list(REFS), entity_rows=[{"iris_id": i} for i in ids], full_feature_names=True
        ).to_dict()
        return [{ref: data[ref.replace(":", "__")][n] for ref in REFS} for n in range(len(ids))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_feast(
    project_dir: Path,
    sources: dict[str, Any],
    *,
    sibling: Callable[[str], SourceType | None] = lambda name: None,
    secrets: frozenset[str] = frozenset(),
) -> FeastSourceType:
    env = SourceEnvironment(config_dir=project_dir / "config", secrets=secrets, sibling=sibling)
    return FeastSourceType(FeastSection.model_validate({"sources": sources}), env)


def data_source(source_id: str = "iris", **fields: Any) -> DataSourceSpec:
    return DataSourceSpec.model_validate(
        {"name": "features", "type": "feast", "source_id": source_id, **fields}
    )


def call_context(timeout: float | None = None) -> CallContext:
    return CallContext(execution_id="test", source_name="features", timeout=timeout)


def sdk_source(repo: FeastRepo, **extra: Any) -> dict[str, Any]:
    """A source config reading `repo` in SDK mode, with the path relative to the project root."""
    return {
        "repo_path": "feature_repo",
        "project": repo.project,
        "entity_key": "iris_id",
        "feature_services": {"iris_all": {"features": list(REFS)}},
        **extra,
    }
