"""Config and binding mistakes are found when the config loads, before Feast is even imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from orkestra.errors import BindError, RequestError
from orkestra.sources.feast import FeastSection
from orkestra.sources.feast.entities import parse_entities
from tests.feast.feast_support import call_context, data_source, make_feast

SERVER = {
    "feature_server_url": "http://127.0.0.1:6566",
    "entity_key": "iris_id",
    "feature_services": {"iris_all": {"features": ["iris:sepal_length"]}},
}
FALLBACK = {
    "table": "iris_flowers",
    "entity_key": "id",
    "mapping": {"iris:sepal_length": "sepal_length"},
}


def test_loading_and_binding_never_import_feast(tmp_path: Path) -> None:
    # A fresh interpreter: this test session itself imports Feast for the reference answers.
    script = (
        "import sys\n"
        "from tests.feast.feast_support import make_feast, data_source\n"
        f"make_feast(__import__('pathlib').Path({str(tmp_path)!r}), {{'iris': {SERVER!r}}})"
        ".bind(data_source(operation='iris_all'))\n"
        "assert 'feast' not in sys.modules, 'feast was imported'\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_unknown_source_id(tmp_path: Path) -> None:
    with pytest.raises(BindError, match="unknown feast source 'nope'.*configured: iris") as caught:
        make_feast(tmp_path, {"iris": SERVER}).bind(data_source("nope", operation="iris_all"))
    assert caught.value.key == "source_id"


def test_neither_operation_nor_features(tmp_path: Path) -> None:
    with pytest.raises(BindError, match="needs `operation`") as caught:
        make_feast(tmp_path, {"iris": SERVER}).bind(data_source())
    assert caught.value.key == "operation"


def test_malformed_feature_ref(tmp_path: Path) -> None:
    with pytest.raises(BindError, match="'sepal_length' is not a feature reference") as caught:
        make_feast(tmp_path, {"iris": SERVER}).bind(data_source(features=["sepal_length"]))
    assert caught.value.key == "features"


def test_fallback_needs_a_database_source(tmp_path: Path) -> None:
    source = {**SERVER, "database_fallback": FALLBACK}
    with pytest.raises(BindError, match="needs a `database` section") as caught:
        make_feast(tmp_path, {"iris": source}).bind(data_source(operation="iris_all"))
    assert caught.value.key == "source_id"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({"project": "iris"}, "set repo_path"),
        ({"feature_server_url": "localhost:6566"}, "must start with http"),
        (
            {**SERVER, "feature_services": {"s": {"features": ["no_view"]}}},
            "not a feature reference",
        ),
        ({**SERVER, "timeout": 0}, "greater than 0"),
        (
            {**SERVER, "database_fallback": {**FALLBACK, "table": "iris; DROP TABLE x"}},
            "plain identifier",
        ),
        (
            {**SERVER, "database_fallback": {**FALLBACK, "mapping": {"iris:a": "a b"}}},
            "plain identifier",
        ),
        ({**SERVER, "database_fallback": {**FALLBACK, "entity_key": "id--"}}, "plain identifier"),
    ],
)
def test_invalid_section(source: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        FeastSection.model_validate({"sources": {"iris": source}})


def test_schema_qualified_fallback_table_is_accepted() -> None:
    section = FeastSection.model_validate(
        {
            "sources": {
                "iris": {**SERVER, "database_fallback": {**FALLBACK, "table": "ml.iris_flowers"}}
            }
        }
    )
    fallback = section.sources["iris"].database_fallback
    assert fallback is not None and fallback.table == "ml.iris_flowers" and fallback.enabled


@pytest.mark.parametrize(
    ("params", "columns", "many"),
    [
        ({"iris_id": 3}, {"iris_id": [3]}, False),
        ({"iris_id": [1, 2]}, {"iris_id": [1, 2]}, True),
        (
            [{"iris_id": 1, "k": "a"}, {"k": "b", "iris_id": 2}],
            {"iris_id": [1, 2], "k": ["a", "b"]},
            True,
        ),
        (7, {"iris_id": [7]}, False),
        (["7", 8], {"iris_id": ["7", 8]}, True),
        ([], {"iris_id": []}, True),
    ],
)
def test_entity_shapes(params: Any, columns: dict[str, list[Any]], many: bool) -> None:
    parsed = parse_entities(params, "iris_id", "iris")
    assert (parsed.columns, parsed.many) == (columns, many)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (None, "missing"),
        ({}, "no entity keys"),
        ({"a": [1, 2], "b": [1]}, "different lengths"),
        ({"a": [1], "b": 2}, "every entity key as a list"),
        ({"a": {"x": 1}}, "not a string or number"),
        ({"a": True}, "not a string or number"),
        ([{"a": 1}, {"b": 2}], "same keys"),
    ],
)
def test_bad_entity_params_are_request_errors(params: Any, problem: str) -> None:
    with pytest.raises(RequestError, match=problem) as caught:
        parse_entities(params, "iris_id", "iris")
    assert caught.value.status == 422
    assert "feast source 'iris'" in str(caught.value)


def test_bare_values_need_entity_key() -> None:
    with pytest.raises(RequestError, match="set `entity_key`"):
        parse_entities(3, None, "iris")


async def test_empty_entity_list_reads_nothing(tmp_path: Path) -> None:
    # no start(): an empty list must not need Feast at all
    op = make_feast(tmp_path, {"iris": SERVER}).bind(data_source(operation="iris_all"))
    assert await op.call({"iris_id": []}, call_context()) == []
