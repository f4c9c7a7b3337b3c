"""Every broken config of the corpus is refused with file:line and without a traceback, both by
`load_runtime` (the library, and hot reload) and by `orkestra validate` (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orkestra.errors import ConfigError
from orkestra.service import Orkestra
from tests.corpus.cases import CASES, Case
from tests.corpus.validate_many import MARKER
from tests.support.configs import write_config


def test_the_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 50
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({tuple(sorted(c.files.items())) for c in CASES}) == len(CASES)


def materialize(case: Case, root: Path) -> Path:
    return write_config(root / case.name, case.files)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_refused_with_file_and_line(case: Case, tmp_path: Path) -> None:
    config = materialize(case, tmp_path)
    with pytest.raises(ConfigError) as info:
        Orkestra(config)  # the whole build: runtime, plans and the app (auth checks live there)
    problems = [str(p) for p in info.value.problems]
    # sorted by file: a mistake in an integration file may be listed after what it broke
    assert any(p.startswith(case.where) for p in problems), problems
    assert all(
        p.split(" ", 1)[0].count(":") >= 1 or p.startswith("domains/d.yaml") for p in problems
    ), problems
    assert case.says in str(info.value), str(info.value)
    assert "Traceback" not in str(info.value)


def cli_failures(case: Case, rc: int, out: str) -> str | None:
    if rc == 0 or "Traceback" in out or case.where not in out:
        return f"{case.name}: rc={rc}\n{out[-800:]}"
    return None


# auth requirements are checked when the app is built; `validate` stops at the runtime
CLI_CASES = [c for c in CASES if c.name != "endpoint_auth_without_auth_section"]
ENV = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}


def test_orkestra_validate_refuses_every_case(tmp_path: Path) -> None:
    paths = {str(materialize(case, tmp_path)): case for case in CLI_CASES}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("validate_many.py")), *paths],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    chunks = proc.stdout.split(MARKER)[1:]
    assert len(chunks) == len(paths)
    failures = []
    for chunk in chunks:
        header, _, out = chunk.partition("\n")
        path, _, rc = header.strip().rpartition(" rc=")
        failures.append(cli_failures(paths[path], int(rc) if rc.isdigit() else -1, out))
    assert not [f for f in failures if f], "\n\n".join(f for f in failures if f)


@pytest.mark.parametrize("name", ["unclosed_flow_mapping", "port_not_a_number", "cycle"])
def test_orkestra_validate_as_its_own_process(tmp_path: Path, name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orkestra",
            "validate",
            "--config-path",
            str(materialize(case, tmp_path)),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert cli_failures(case, proc.returncode, proc.stdout + proc.stderr) is None
