"""Managed subprocess models: started at service start, health-checked, restarted by the supervisor
after being killed (503 naming the model meanwhile), stopped at shutdown, secrets kept out of
errors. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from orkestra.errors import SourceUnavailable
from orkestra.sources.base import ComponentState
from orkestra.sources.ml import MLSourceType
from tests.ml.conftest import CTX, MakeML, bind
from tests.ml.ml_support import SERVER_SCRIPT, eventually, reference

START = 60.0  # a cold python + scikit-learn import on a busy 2-core machine


def managed(command: str, **extra: Any) -> dict[str, Any]:
    return {
        "health_interval": 0.2,
        "restart_backoff": 0.2,
        "startup_timeout": START,
        "models": {
            "iris": {"source": {"type": "local_artifact", "startup_command": command, **extra}}
        },
    }


def serve_iris() -> str:
    # Relative model path and environment: proves `cwd` (the project root) and `environment` reach it.
    return f"python {SERVER_SCRIPT} --port {{port}}"


def health_only_server(path: Path, prelude: str) -> Path:
    """A script that runs `prelude`, then answers 200 to every GET on the port in argv[1]."""
    path.write_text(
        "import signal, sys\n"
        "from http.server import BaseHTTPRequestHandler, HTTPServer\n"
        f"{prelude}\n"
        "class H(BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers()\n"
        "    def log_message(self, *a):\n"
        "        pass\n"
        "HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n"
    )
    return path


def pid_of(ml: MLSourceType, model_id: str = "models/iris") -> int:
    pid = ml.status()[model_id].details.get("pid")
    assert isinstance(pid, int)
    return pid


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_killed_model_server_gives_503_then_is_restarted(
    make_ml: MakeML, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml(
        {
            "models": managed(
                serve_iris(), environment={"MODEL_PATH": "models/iris.skops", "MODEL_NAME": "iris"}
            )
        }
    )
    status = ml.status()["models/iris"]
    assert status.state is ComponentState.READY, status.as_dict()
    assert status.details["kind"] == "process" and status.details["restarts"] == 0
    op = bind(ml, "models", "iris")
    labels, _ = reference(iris_model, iris_rows)
    assert [o["prediction"] for o in await op.call({"features": iris_rows}, CTX)] == labels

    first_pid = pid_of(ml)
    os.kill(first_pid, signal.SIGKILL)
    with pytest.raises(SourceUnavailable) as info:
        await op.call({"features": iris_rows[0]}, CTX)
    assert info.value.status == 503 and "models/iris" in str(info.value)

    async def restarted() -> bool:
        return ml.status()["models/iris"].state is ComponentState.READY and pid_of(ml) != first_pid

    await eventually(restarted, timeout=START, what="restarted")
    assert ml.status()["models/iris"].details["restarts"] == 1
    assert [o["prediction"] for o in await op.call({"features": iris_rows}, CTX)] == labels


async def test_close_stops_the_process(make_ml: MakeML, models_dir: Path) -> None:
    ml = await make_ml(
        {"models": managed(serve_iris(), environment={"MODEL_PATH": "models/iris.skops"})}
    )
    pid = pid_of(ml)
    assert not process_gone(pid)
    await ml.close()
    assert process_gone(pid)  # close() awaited the exit (and reaped it)
    assert ml.status()["models/iris"].state is ComponentState.STOPPED


async def test_a_server_ignoring_sigterm_is_killed_after_the_grace_period(
    make_ml: MakeML, tmp_path: Path
) -> None:
    script = health_only_server(
        tmp_path / "stubborn.py", "signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    )
    ml = await make_ml({"models": managed(f"python {script} {{port}}", stop_timeout=0.5)})
    pid = pid_of(ml)
    await ml.close()
    assert process_gone(pid)


async def test_a_server_that_exits_at_start_fails_with_its_output_secrets_masked(
    make_ml: MakeML,
) -> None:
    secret = "s3cr3t-token-value"
    command = f"""{sys.executable} -c "import os, sys; print('token is ' + os.environ['MODEL_TOKEN']); sys.exit(3)" """
    ml = await make_ml(
        {"models": managed(command, environment={"MODEL_TOKEN": secret})},
        secrets=frozenset({secret}),
    )
    status = ml.status()["models/iris"]
    assert status.state is ComponentState.FAILED
    assert "exited with code 3" in (status.error or "") and "token is ***" in (status.error or "")
    assert secret not in repr(status.as_dict())
    with pytest.raises(SourceUnavailable) as info:
        await bind(ml, "models", "iris").call({"features": {"x": 1}}, CTX)
    assert "models/iris" in str(info.value) and secret not in str(info.value)


async def test_a_server_never_healthy_fails_at_the_startup_timeout_and_is_stopped(
    make_ml: MakeML,
) -> None:
    config = managed(f'{sys.executable} -c "import time; time.sleep(120)"')
    config["startup_timeout"] = 1.0
    config["restart_backoff"] = 30.0  # no retry during this test
    ml = await make_ml({"models": config})
    status = ml.status()["models/iris"]
    assert status.state is ComponentState.FAILED and "startup_timeout (1s)" in (status.error or "")
    pid = status.details["pid"]
    assert isinstance(pid, int) and process_gone(pid)


async def test_a_chatty_server_without_newlines_does_not_block_on_its_output(
    make_ml: MakeML, tmp_path: Path
) -> None:
    """1 MB of progress-bar output (no newline) overflows a pipe nobody drains: the server would
    block on write and never answer its health check."""
    script = health_only_server(
        tmp_path / "chatty.py", "sys.stdout.write('.' * 1_000_000); sys.stdout.flush()"
    )
    config = managed(f"python {script} {{port}}")
    config["startup_timeout"] = 20.0
    ml = await make_ml({"models": config})
    assert ml.status()["models/iris"].state is ComponentState.READY, ml.status()[
        "models/iris"
    ].as_dict()


async def test_a_managed_server_spoken_to_in_v2(
    make_ml: MakeML, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    config = managed(
        f"python {SERVER_SCRIPT} --model models/iris.skops --name iris --port {{port}}"
    )
    config["models"]["iris"]["protocol"] = "v2"
    ml = await make_ml({"models": config})
    status = ml.status()["models/iris"]
    assert status.state is ComponentState.READY, status.as_dict()
    batch = await bind(ml, "models", "iris").call({"features": iris_rows}, CTX)
    assert [row["predict"] for row in batch] == reference(iris_model, iris_rows)[0]


async def test_a_command_that_does_not_exist_fails_naming_the_program(make_ml: MakeML) -> None:
    ml = await make_ml({"models": managed("no-such-model-server --port {port}")})
    status = ml.status()["models/iris"]
    assert status.state is ComponentState.FAILED
    assert "cannot start 'no-such-model-server'" in (status.error or "")
