"""Scenarios 1-5: each target against its baseline in the same run, rounds interleaved (the order
alternates per round so drift on a shared machine hits both alike), a warm-up first, medians over
rounds. Scenario 6 (scale) is in bench/scale.py."""

from __future__ import annotations

import functools
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import fixtures
from bench.load import Measurement, open_loop, post_script, wrk

Run = Callable[[], Measurement]


@dataclass(frozen=True)
class Settings:
    duration: float = 5.0  # seconds per measured run
    warmup: float = 2.0
    rounds: int = 3
    connections: int = 32  # closed loop: enough to saturate one Python worker
    fanouts: tuple[int, ...] = (1, 3, 10, 30)
    scale_endpoints: int = 1000
    batch_size: int = 100


TINY = Settings(
    duration=1.0,
    warmup=1.0,
    rounds=1,
    connections=4,
    fanouts=(1, 3),
    scale_endpoints=20,
    batch_size=10,
)


@dataclass
class Row:
    """One measured target: the median over rounds of each figure, and every round."""

    scenario: str
    target: str
    rounds: list[Measurement] = field(default_factory=list)

    def median(self, name: str) -> float:
        return float(statistics.median(float(getattr(m, name)) for m in self.rounds))

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "target": self.target,
            "throughput": self.median("throughput"),
            "p50_ms": self.median("p50_ms"),
            "p99_ms": self.median("p99_ms"),
            "errors": sum(m.errors for m in self.rounds),
            "rounds": [m.as_dict() for m in self.rounds],
        }


def interleaved(
    settings: Settings, scenario: str, runs: dict[str, Run], warm: dict[str, Run] | None = None
) -> dict[str, Row]:
    """Warm every target up, then `rounds` rounds of every target, order alternating."""
    for run in (runs if warm is None else warm).values():
        run()
    rows = {name: Row(scenario, name) for name in runs}
    names = list(runs)
    for index in range(settings.rounds):
        for name in names if index % 2 == 0 else reversed(names):
            rows[name].rounds.append(runs[name]())
    return rows


def closed(
    url: str,
    settings: Settings,
    connections: int | None = None,
    script: Path | None = None,
    seconds: float | None = None,
) -> Run:
    return lambda: wrk(
        url, seconds or settings.duration, connections or settings.connections, script
    )


def composite(settings: Settings, orkestra: str, baseline: str) -> list[Row]:
    """1. database + HTTP API (10 ms) + in-process model vs the hand-written FastAPI endpoint.
    Saturated (throughput) and at one connection (latency without queueing)."""
    ork, base = f"{orkestra}/orchestrator/composite/42", f"{baseline}/composite/42"
    rows = interleaved(
        settings,
        "composite",
        {
            "orkestra": closed(ork, settings),
            "fastapi-baseline": closed(base, settings),
            "orkestra (1 connection)": closed(ork, settings, 1),
            "fastapi-baseline (1 connection)": closed(base, settings, 1),
        },
    )
    return list(rows.values())


def fanout(settings: Settings, orkestra: str) -> list[Row]:
    """2. N independent 50 ms sources, and a chain: the saturated throughput, then the latency at
    half of it under a fixed arrival rate (open loop)."""
    targets = {f"fan-out {n}": f"{orkestra}/orchestrator/fanout/{n}" for n in settings.fanouts}
    targets[f"chain {fixtures.CHAIN_LENGTH}"] = f"{orkestra}/orchestrator/chain"
    # at 50 ms a request, C connections give at most 20*C requests/s: use enough to find the peak
    connections = max(settings.connections, 64) if settings.rounds > 1 else settings.connections
    peaks = interleaved(
        settings, "fan-out peak", {t: closed(u, settings, connections) for t, u in targets.items()}
    )
    rows: list[Row] = []
    for target, url in targets.items():
        peak = peaks[target]
        half = max(1.0, peak.median("throughput") / 2)
        row = interleaved(
            settings,
            "fan-out at half peak",
            {target: functools.partial(open_loop, url, half, settings.duration)},
            warm={},
        )[target]
        row.target = f"{target} @ {half:.0f} req/s"
        critical = fixtures.FANOUT_DELAY_MS * (
            fixtures.CHAIN_LENGTH if target.startswith("chain") else 1
        )
        rows += [
            peak,
            row,
            _reference("fan-out critical path", f"{target} critical path", critical),
        ]
    return rows


def _reference(scenario: str, target: str, p50_ms: float) -> Row:
    """A computed baseline (the critical path): latency only."""
    row = Row(scenario, target)
    row.rounds.append(
        Measurement(
            throughput=float("nan"), p50_ms=p50_ms, p99_ms=float("nan"), requests=0, errors=0
        )
    )
    return row


def passthrough(settings: Settings, orkestra: str, backend: str) -> list[Row]:
    """3. one HTTP source returned as is vs the backend called directly."""
    return list(
        interleaved(
            settings,
            "pass-through",
            {
                "orkestra": closed(f"{orkestra}/orchestrator/passthrough", settings),
                "backend direct": closed(f"{backend}/delay/0", settings),
            },
        ).values()
    )


def direct(settings: Settings, orkestra: str, baseline: str) -> list[Row]:
    """4. a `direct` endpoint vs a bare FastAPI endpoint answering the same JSON."""
    return list(
        interleaved(
            settings,
            "direct",
            {
                "orkestra": closed(f"{orkestra}/orchestrator/direct", settings),
                "fastapi-baseline": closed(f"{baseline}/direct", settings),
            },
        ).values()
    )


def batch(settings: Settings, orkestra: str, workdir: Path) -> list[Row]:
    """5. N entities in one request (one `IN :ids` query, one batch predict) vs 1 entity, at one
    connection; and the same N through for_each (one call per item), for contrast."""
    ids = list(range(1, settings.batch_size + 1))
    one = post_script(workdir, json.dumps({"ids": [1]}))
    many = post_script(workdir, json.dumps({"ids": ids}))
    url = f"{orkestra}/orchestrator/batch"
    _check_batch(url, len(ids))
    return list(
        interleaved(
            settings,
            "batch",
            {
                "1 entity": closed(url, settings, 1, one),
                f"{len(ids)} entities": closed(url, settings, 1, many),
                f"{len(ids)} entities, for_each": closed(
                    f"{orkestra}/orchestrator/batch_for_each", settings, 1, many
                ),
            },
        ).values()
    )


def _check_batch(url: str, n: int) -> None:
    """The batch answers every entity: a figure for a broken endpoint would be meaningless."""
    import urllib.request

    body = json.dumps({"ids": list(range(1, n + 1))}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        answer = json.loads(resp.read())
    if len(answer["customers"]) != n or len(answer["risks"]) != n:
        raise RuntimeError(
            f"batch endpoint answered {len(answer['customers'])} customers for {n} ids"
        )
