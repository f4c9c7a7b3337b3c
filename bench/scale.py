"""6. Scale: a generated config of N endpoints. How long validate + plan, building the app and
starting take, in a fresh process; the memory it holds; and 2 uvicorn workers vs 1
(`orkestra run --workers`), throughput on the first and the last route.

    python -m bench.scale probe CONFIG_DIR      # one fresh process: prints the timings as JSON
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import fixtures
from bench.scenarios import Row, Settings, closed, interleaved
from bench.servers import ROOT, Server, free_port, rss_of


def probe(config: Path) -> dict[str, float]:
    began = time.perf_counter()
    from orkestra.runtime import load_runtime
    from orkestra.service import Orkestra

    imported = time.perf_counter()
    runtime = load_runtime(config)  # parse, validate, bind sources, plan every endpoint
    loaded = time.perf_counter()
    service = Orkestra(config, runtime=runtime)  # the FastAPI app and its routes
    built = time.perf_counter()

    async def start() -> None:
        await service.start()
        await service.close()

    import asyncio

    asyncio.run(start())
    started = time.perf_counter()
    return {
        "endpoints": float(len(runtime.plans)),
        "import_s": imported - began,
        "validate_plan_s": loaded - imported,
        "build_app_s": built - loaded,
        "start_s": started - built,
        "rss_mb": rss_of("self") / 2**20,
    }


def run_probe(config: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "probe", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scale probe failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def cli_server(config: Path, workers: int) -> Server:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "orkestra",
        "run",
        "--config-path",
        str(config),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    return Server(f"orkestra-{workers}-worker", argv, port=port)


def scale(settings: Settings, workdir: Path) -> tuple[list[Row], dict[str, Any]]:
    n = settings.scale_endpoints
    config = fixtures.scale_config(workdir / f"scale-{n}", n)
    facts: dict[str, Any] = {"probe": run_probe(config)}
    first = "/orchestrator/d0/e0"
    last_domain = (n - 1) // 100
    last = f"/orchestrator/d{last_domain}/e{n - 1}"
    with cli_server(config, 1).start(workdir) as one, cli_server(config, 2).start(workdir) as two:
        facts["ready_s"] = {"1 worker": one.ready_seconds, "2 workers": two.ready_seconds}
        facts["rss_mb"] = {
            "1 worker": one.rss_bytes() / 2**20,
            "2 workers": two.rss_bytes() / 2**20,
        }
        rows = interleaved(
            settings,
            f"scale ({n} endpoints)",
            {
                "1 worker, first route": closed(one.url + first, settings),
                "2 workers, first route": closed(two.url + first, settings),
                "1 worker, last route": closed(one.url + last, settings),
                "2 workers, last route": closed(two.url + last, settings),
            },
        )
    return list(rows.values()), facts


if __name__ == "__main__":
    if sys.argv[1:2] != ["probe"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.scale probe CONFIG_DIR")
    print(json.dumps(probe(Path(sys.argv[2]))))
