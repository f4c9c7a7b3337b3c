"""The command line as a new user meets it: init, validate, run, version, --help."""

from __future__ import annotations

import filecmp
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orkestra import __version__

REPO = Path(__file__).resolve().parents[1]


def orkestra(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orkestra", *args],
        check=False,  # callers assert on the return code
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_version_and_help() -> None:
    assert orkestra("version").stdout.strip() == f"orkestra {__version__}"
    top = orkestra("--help")
    assert top.returncode == 0
    for command in ("init", "run", "validate", "version"):
        assert command in top.stdout
        sub = orkestra(command, "--help")
        assert sub.returncode == 0 and "Usage" in sub.stdout
    run_help = orkestra("run", "--help").stdout
    for option in ("--config-path", "--host", "--port", "--reload", "--workers"):
        assert option in run_help
    assert "--strict" in orkestra("validate", "--help").stdout


def test_checked_in_config_is_what_init_writes() -> None:
    template = REPO / "orkestra" / "templates" / "project" / "config"
    comparison = filecmp.dircmp(template, REPO / "config")
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    for sub in ("domains", "integrations"):
        assert not filecmp.dircmp(template / sub, REPO / "config" / sub).diff_files


def test_validate_reports_file_line_without_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "domains").mkdir(parents=True)
    (config / "domains" / "shop.yaml").write_text(
        "endpoints:\n  e:\n    data_sources:\n      - name: a\n        type: direct\n        params: {x: '$missing.value'}\n"
    )
    done = orkestra("validate", "--config-path", str(config))
    assert done.returncode == 1
    assert "domains/shop.yaml:6 endpoints.e.data_sources[0].params.x" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    strict = orkestra("run", "--config-path", str(config))
    assert strict.returncode == 1 and "Traceback" not in strict.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_init_then_run_serves_docs_and_a_prediction(tmp_path: Path) -> None:
    created = orkestra("init", "demo", cwd=tmp_path, timeout=300)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "demo"
    assert (project / "data" / "app.db").exists() and (project / "models" / "iris.skops").exists()
    assert "training demo model" in created.stdout
    assert orkestra("validate", "--config-path", "./config", cwd=project).returncode == 0
    again = orkestra("init", "demo", cwd=tmp_path)
    assert again.returncode == 1 and "not empty" in again.stderr

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "orkestra", "run", "--config-path", "./config", "--port", str(port)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if get(f"{base}/ready")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            time.sleep(0.3)
        status, page = get(f"{base}/docs")
        assert status == 200 and b"swagger" in page.lower()
        paths = json.loads(get(f"{base}/openapi.json")[1])["paths"]
        assert "/orchestrator/iris/predict/{flower_id}" in paths
        status, body = get(f"{base}/orchestrator/iris/predict/1")
        prediction = json.loads(body)
        assert status == 200 and prediction["actual_species"] == "setosa"
        assert prediction["predicted_species"] in ("setosa", "versicolor", "virginica")
        status, body = get(f"{base}/orchestrator/iris/flowers?species=virginica&limit=3")
        assert (
            status == 200
            and [f["species"] for f in json.loads(body)["flowers"]] == ["virginica"] * 3
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
