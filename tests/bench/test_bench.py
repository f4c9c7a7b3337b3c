"""The benchmark command runs end to end on a tiny setting and reports every scenario with its
baseline. No timing is asserted: figures from a shared test machine mean nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk not installed (scripts/bench.sh installs it)"
)


@pytest.mark.timeout(600)
def test_bench_tiny_reports_every_scenario_against_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--tiny",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    targets = {(row["scenario"], row["target"]) for row in results["rows"]}
    pairs = [
        ("composite", "orkestra"),
        ("composite", "fastapi-baseline"),
        ("pass-through", "orkestra"),
        ("pass-through", "backend direct"),
        ("direct", "orkestra"),
        ("direct", "fastapi-baseline"),
        ("batch", "1 entity"),
        ("batch", "10 entities"),
        ("fan-out critical path", "chain 3 critical path"),
    ]
    for pair in pairs:
        assert pair in targets
    assert any(s.startswith("scale") and t == "2 workers, first route" for s, t in targets)
    measured = [row for row in results["rows"] if row["scenario"] != "fan-out critical path"]
    for row in measured:
        assert row["errors"] == 0, (
            row
        )  # every request answered 2xx: the figures are of working endpoints
        assert row["throughput"] > 0 and row["p50_ms"] > 0, row
    names = [t["name"] for t in results["targets"]]
    assert sum(name.startswith(("1.", "2.", "3.", "4.", "5.", "6.")) for name in names) >= 9
    assert results["machine"]["versions"]["orkestra"]
    assert results["scale"]["probe"]["endpoints"] == 20
    markdown = (out / "results.md").read_text()
    assert "| 4. direct throughput, Orkestra / bare FastAPI |" in markdown
    for plot in ("throughput.png", "latency.png", "targets.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "work")], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout == ""  # the servers it started are gone
