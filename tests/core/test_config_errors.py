"""Broken configs: each gives a clear error naming file, line and key path — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from orkestra.config.loader import load_config
from orkestra.errors import ConfigError
from orkestra.runtime import load_runtime
from tests.support.configs import write_config

MEMORY = """
memory:
  sources:
    default:
      operations:
        a: {response: {x: 1}}
        b: {response: {y: 2}}
"""


def problems_of(tmp_path: Path, files: dict[str, str], **kw: object) -> list[str]:
    config = write_config(tmp_path, {"integrations/memory.yaml": MEMORY, **files})
    with pytest.raises(ConfigError) as info:
        load_runtime(config, **kw)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"domains/d.yaml": "endpoints:\n  e:\n    response: {a: 1\n"})
    assert len(problems) == 1
    assert problems[0].startswith("domains/d.yaml:4") or problems[0].startswith("domains/d.yaml:3")
    assert "invalid YAML" in problems[0]


def test_unknown_source_reference(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "domains/d.yaml": """
            endpoints:
              e:
                data_sources:
                  - name: first
                    type: memory
                    operation: a
                    params:
                      v: "$nope.value"
            """
        },
    )
    assert problems == [
        (
            "domains/d.yaml:8 endpoints.e.data_sources[0].params.v: unknown reference $nope: "
            "no data source of this endpoint is called 'nope' (sources: first)"
        )
    ]


def test_cycle(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "domains/d.yaml": """
            endpoints:
              e:
                data_sources:
                  - name: a
                    type: memory
                    operation: a
                    params: {v: "$b.y"}
                  - name: b
                    type: memory
                    operation: b
                    params: {v: "$a.x"}
            """
        },
    )
    assert len(problems) == 1
    assert problems[0].startswith("domains/d.yaml:3 endpoints.e.data_sources: ")
    assert "cycle" in problems[0] and "a" in problems[0] and "b" in problems[0]


def test_bad_expression(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "domains/d.yaml": """
            endpoints:
              e:
                endpoint_type: direct
                response:
                  ok: "$request.body.x +* 2"
            """
        },
    )
    assert len(problems) == 1
    assert problems[0].startswith("domains/d.yaml:5 endpoints.e.response")
    assert "invalid expression" in problems[0]


def test_missing_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORKESTRA_TEST_UNSET", raising=False)
    problems = problems_of(
        tmp_path,
        {
            "integrations/api.yaml": """
            api:
              sources:
                svc:
                  base_url: "http://127.0.0.1:1"
                  headers:
                    Authorization: "Bearer ${ORKESTRA_TEST_UNSET}"
            """
        },
    )
    assert problems == [
        (
            "integrations/api.yaml:6 api.sources.svc.headers.Authorization: environment variable "
            "ORKESTRA_TEST_UNSET is not set (set it, or write ${ORKESTRA_TEST_UNSET:-default})"
        )
    ]


def test_unknown_operation_and_source_type(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "domains/d.yaml": """
            endpoints:
              e:
                data_sources:
                  - name: first
                    type: memory
                    operation: nope
                  - name: second
                    type: warp_drive
            """
        },
    )
    assert any(
        p.startswith(
            "domains/d.yaml:6 endpoints.e.data_sources[0].operation: unknown operation 'nope'"
        )
        for p in problems
    )
    assert any(
        p.startswith("domains/d.yaml:8 ") and "unknown source type 'warp_drive'" in p
        for p in problems
    )


def test_wrong_type_of_value(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"config.yaml": "server:\n  port: eighty\n"})
    assert len(problems) == 1
    assert problems[0].startswith("config.yaml:2 server.port: ")
    assert "integer" in problems[0]


def test_unknown_keys_warn_and_fail_under_strict(tmp_path: Path) -> None:
    files = {
        "domains/d.yaml": """
        endpoints:
          e:
            endpoint_type: direct
            respnse: {a: 1}
            response: {a: 1}
        """
    }
    config = write_config(tmp_path, {"integrations/memory.yaml": MEMORY, **files})
    runtime = load_runtime(config)
    assert [str(w) for w in runtime.warnings] == [
        "domains/d.yaml:4 endpoints.e.respnse: unknown key"
    ]
    problems = problems_of(tmp_path, files, strict=True)
    assert problems == ["domains/d.yaml:4 endpoints.e.respnse: unknown key"]


def test_env_default_and_secret_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORKESTRA_TEST_TOKEN", "s3cr3t-value")
    config = write_config(
        tmp_path,
        {
            "config.yaml": 'app:\n  name: "${ORKESTRA_TEST_NAME:-Fallback name}"\n',
            "integrations/a.yaml": "memory:\n  sources:\n    default:\n      operations:\n        a: {response: '${ORKESTRA_TEST_TOKEN}'}\n",
        },
    )
    loaded = load_config(config)
    assert loaded.settings.app.name == "Fallback name"
    assert "s3cr3t-value" in loaded.secrets


def test_integration_files_merge_and_domain_scoped_override(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "integrations/one.yaml": "memory:\n  sources:\n    default:\n      operations:\n        a: {response: global}\n",
            "integrations/two.yaml": "memory:\n  sources:\n    other:\n      operations:\n        b: {response: other}\n",
            "domains/plain.yaml": """
            endpoints:
              e:
                data_sources:
                  - {name: x, type: memory, operation: a}
                  - {name: y, type: memory, source_id: other, operation: b}
            """,
            "domains/special.yaml": """
            endpoints:
              e:
                data_sources:
                  - {name: x, type: memory, operation: a}
            """,
            "domains/special/integrations/memory.yaml": "memory:\n  sources:\n    default:\n      operations:\n        a: {response: scoped}\n",
        },
    )
    runtime = load_runtime(config)
    assert {p.key for p in runtime.plans} == {"plain.e", "special.e"}
    assert runtime.plan("plain", "e").nodes["x"].operation.spec.response == "global"  # type: ignore[attr-defined, union-attr]
    assert runtime.plan("special", "e").nodes["x"].operation.spec.response == "scoped"  # type: ignore[attr-defined, union-attr]


def test_many_problems_reported_together(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "domains/a.yaml": "endpoints:\n  e:\n    endpoint_type: direct\n    response: {v: '$x.y'}\n",
            "domains/b.yaml": "endpoints:\n  e:\n    method: fetch\n    endpoint_type: direct\n    response: {}\n",
        },
    )
    assert len(problems) == 2
    assert problems[0].startswith("domains/a.yaml:4")
    assert problems[1].startswith("domains/b.yaml:")
    assert "unknown HTTP method 'FETCH'" in problems[1]


def test_duplicate_routes(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "domains/a.yaml": """
            endpoints:
              one: {endpoint_type: direct, path: /same, response: {}}
              two: {endpoint_type: direct, path: /same, response: {}}
            """
        },
    )
    assert len(problems) == 2  # GET and POST both collide
    assert "already served by a.one" in problems[0]


def test_an_invalid_section_is_reported_once_not_at_every_use(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "integrations/more.yaml": "memory:\n  sources:\n    default:\n      operations:\n        c: {delay: soon}\n",
            "domains/d.yaml": "endpoints:\n  e:\n    data_sources:\n      - {name: x, type: memory, operation: a}\n",
        },
    )
    assert len(problems) == 1
    assert problems[0].startswith(
        "integrations/more.yaml:5 memory.sources.default.operations.c.delay: "
    )


def test_endpoint_requiring_auth_without_any_auth_config_is_a_load_error(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "domains/d.yaml": "endpoints:\n  e:\n    endpoint_type: direct\n    auth: {scopes: [admin]}\n    response: {}\n"
        },
    )
    assert len(problems) == 1 and problems[0].startswith("domains/d.yaml:2 endpoints.e")
