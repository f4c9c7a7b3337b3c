"""Plugins through real entry points: an installed distribution adds a source type and a transform."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import orkestra.sources.registry as source_registry
import orkestra.transforms.registry as transform_registry
from orkestra.service import Orkestra
from tests.support.configs import write_config

PLUGIN = """
from typing import Any
from orkestra import Operation, SourceType
from orkestra.sources.base import CallContext


class Doubler(Operation):
    async def call(self, params: Any, ctx: CallContext) -> Any:
        return {"doubled": params["n"] * 2}


class DoublerType(SourceType):
    type_name = "doubler"

    def bind(self, spec: Any) -> Operation:
        return Doubler()


def shout(args: Any):
    return lambda value, scope: {k: (v.upper() if isinstance(v, str) else v) for k, v in value.items()}
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A distribution on sys.path with entry points, as `pip install` would leave it."""
    site = tmp_path / "site"
    (site / "orkestra_doubler-1.0.dist-info").mkdir(parents=True)
    (site / "orkestra_doubler.py").write_text(PLUGIN)
    (site / "orkestra_doubler-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: orkestra-doubler\nVersion: 1.0\n"
    )
    (site / "orkestra_doubler-1.0.dist-info" / "entry_points.txt").write_text(
        textwrap.dedent(
            """
            [orkestra.sources]
            doubler = orkestra_doubler:DoublerType

            [orkestra.transforms]
            shout = orkestra_doubler:shout
            """
        )
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(source_registry, "_entry_points_loaded", False)
    monkeypatch.setattr(transform_registry, "_entry_points_loaded", False)
    yield
    source_registry._registered.pop("doubler", None)
    transform_registry._registered.pop("shout", None)
    sys.modules.pop("orkestra_doubler", None)


async def test_entry_point_source_type_and_transform(
    tmp_path: Path, installed_plugin: None
) -> None:
    config = write_config(
        tmp_path,
        {
            "domains/p.yaml": """
            endpoints:
              twice:
                data_sources:
                  - {name: d, type: doubler, params: {n: "int($request.query_params.n)"}}
                response_mapping: {value: "$d.doubled", label: "twice"}
                transform:
                  - shout: {}
            """
        },
    )
    async with Orkestra(config) as service:
        assert await service.execute("p", "twice", query={"n": "21"}) == {
            "value": 42,
            "label": "TWICE",
        }


async def test_dotted_path_source_type(tmp_path: Path, installed_plugin: None) -> None:
    config = write_config(
        tmp_path,
        {
            "domains/p.yaml": 'endpoints:\n  e:\n    data_sources:\n      - {name: d, type: "orkestra_doubler:DoublerType", params: {n: 2}}\n'
        },
    )
    async with Orkestra(config) as service:
        assert await service.execute("p", "e") == {"doubled": 4}
