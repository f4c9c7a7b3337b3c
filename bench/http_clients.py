"""Which async HTTP client should orkestra.http_client wrap? httpx.AsyncClient vs aiohttp.ClientSession.

    python bench/http_clients.py [--requests 2000] [--rounds 5] [--concurrency 1,10,50,200]
                                 [--loop uvloop|asyncio] [--markdown]

Both clients are used the way Orkestra uses one: a single shared, keep-alive client with a pool of
200 connections, GET with query params, response body read and parsed as JSON. The backend is an
aiohttp server in a separate process (its own GIL), answering a small JSON document. For every
concurrency level, the rounds interleave the two clients (order alternating per round) so drift
on a shared machine hits both alike; the figures are medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version

import orjson

PAYLOAD = {"id": 0, "name": "customer", "scores": [0.1, 0.2, 0.3], "tags": {"tier": "gold"}}
POOL = 200
SERVER_START_TIMEOUT = 15.0

Fetch = Callable[[str, dict[str, str]], Awaitable[object]]


@dataclass
class RoundResult:
    throughput: float  # requests per second
    p50_ms: float
    p99_ms: float


def serve(port_file: str) -> None:
    """The backend process: aiohttp on uvloop, one JSON route; writes its port to `port_file`."""
    import socket

    import uvloop
    from aiohttp import web

    body = orjson.dumps(PAYLOAD)

    async def item(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/item", item)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock, backlog=1024).start()
        _write_port(port_file, sock.getsockname()[1])
        await asyncio.Event().wait()  # until the parent terminates us

    uvloop.run(main())


def _write_port(port_file: str, port: int) -> None:
    # written then renamed, so the parent never reads a half-written file
    with open(port_file + ".tmp", "w") as fh:
        fh.write(str(port))
    os.replace(port_file + ".tmp", port_file)


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port_file = f"/tmp/orkestra-bench-{os.getpid()}.port"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", port_file])
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not os.path.exists(port_file):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the benchmark backend did not start")
        time.sleep(0.05)
    with open(port_file) as fh:
        port = int(fh.read())
    os.unlink(port_file)
    return proc, f"http://127.0.0.1:{port}/item"


async def run_round(fetch: Fetch, url: str, requests: int, concurrency: int) -> RoundResult:
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def worker() -> None:
        for i in remaining:  # the workers share one iterator: `requests` calls in all
            started = time.perf_counter()
            await fetch(url, {"id": str(i)})
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for _ in range(concurrency):
            tg.create_task(worker())
    elapsed = time.perf_counter() - started
    latencies.sort()
    return RoundResult(
        throughput=requests / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


async def bench(args: argparse.Namespace, url: str) -> dict[tuple[str, int], list[RoundResult]]:
    import aiohttp
    import httpx

    hx = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL), timeout=30
    )
    ah = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=POOL, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=30),
    )

    async def fetch_httpx(url: str, params: dict[str, str]) -> object:
        resp = await hx.get(url, params=params)
        resp.raise_for_status()
        return orjson.loads(resp.content)

    async def fetch_aiohttp(url: str, params: dict[str, str]) -> object:
        async with ah.get(url, params=params) as resp:
            resp.raise_for_status()
            return orjson.loads(await resp.read())

    clients: dict[str, Fetch] = {"httpx": fetch_httpx, "aiohttp": fetch_aiohttp}
    results: dict[tuple[str, int], list[RoundResult]] = {}
    try:
        for fetch in clients.values():  # warm-up: open the pools, not measured
            await run_round(fetch, url, min(args.requests, 400), 50)
        for concurrency in args.concurrency:
            for rnd in range(args.rounds):
                order = list(clients) if rnd % 2 == 0 else list(reversed(clients))
                for name in order:
                    result = await run_round(clients[name], url, args.requests, concurrency)
                    results.setdefault((name, concurrency), []).append(result)
                    print(
                        f"  c={concurrency:<4} round {rnd + 1} {name:<8} {result.throughput:8.0f} req/s"
                        f"  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms",
                        file=sys.stderr,
                    )
    finally:
        await hx.aclose()
        await ah.close()
    return results


def report(args: argparse.Namespace, results: dict[tuple[str, int], list[RoundResult]]) -> str:
    lines = [
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
            f"Python {platform.python_version()}; event loop {args.loop}"
        ),
        (
            f"Versions: httpx {version('httpx')} (httpcore {version('httpcore')}), "
            f"aiohttp {version('aiohttp')}; backend: aiohttp on uvloop {version('uvloop')}, "
            "in its own process"
        ),
        f"{args.requests} requests per round, {args.rounds} interleaved rounds, medians over rounds",
        "",
        "| concurrency | client | throughput (req/s) | p50 (ms) | p99 (ms) |",
        "|---:|---|---:|---:|---:|",
    ]
    for concurrency in args.concurrency:
        for name in ("httpx", "aiohttp"):
            rounds = results[(name, concurrency)]
            lines.append(
                f"| {concurrency} | {name} "
                f"| {statistics.median(r.throughput for r in rounds):,.0f} "
                f"| {statistics.median(r.p50_ms for r in rounds):.2f} "
                f"| {statistics.median(r.p99_ms for r in rounds):.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50, 200]
    )
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    proc, url = start_server()
    try:
        if args.loop == "uvloop":
            import uvloop

            results = uvloop.run(bench(args, url))
        else:
            results = asyncio.run(bench(args, url))
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    print(report(args, results))


if __name__ == "__main__":
    main()
