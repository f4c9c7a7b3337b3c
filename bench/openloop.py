"""A fixed-rate (open-loop) load generator: `python -m bench.openloop URL RATE SECONDS`.

Requests start on schedule whether or not earlier ones answered, so a slow server shows up as
latency instead of silently lowering the load (what a closed-loop tool does). Bounded: exactly
RATE x SECONDS requests, and a final wait of at most 30 s. Prints one JSON Measurement.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import aiohttp
import uvloop

FINAL_WAIT = 30.0


async def run(url: str, rate: float, seconds: float) -> dict[str, float | int]:
    total = max(1, int(rate * seconds))
    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        began = time.perf_counter()
        try:
            async with session.get(url) as resp:
                await resp.read()
                if resp.status >= 300:
                    errors += 1
                    return
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
            return
        latencies.append((time.perf_counter() - began) * 1000)

    timeout = aiohttp.ClientTimeout(total=FINAL_WAIT)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:
        tasks = []
        start = time.perf_counter()
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session)))
        await asyncio.wait(tasks, timeout=FINAL_WAIT)
        elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = (
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if latencies
        else float("nan")
    )
    return {
        "throughput": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": p99,
        "requests": total,
        "errors": total - len(latencies),  # failed or unanswered within FINAL_WAIT
    }


def main() -> None:
    url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(uvloop.run(run(url, rate, seconds))))


if __name__ == "__main__":
    main()
