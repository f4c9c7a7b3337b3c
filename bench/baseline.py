"""The hand-written glue Orkestra is measured against: the endpoints a competent engineer would
write in FastAPI for the same work, with the same libraries Orkestra uses.

- one SQLAlchemy async engine (pool of 10, like the bench config) and one aiohttp session,
  created at startup and shared by every request;
- independent calls (the database row, the HTTP API) run together with `asyncio.gather`;
- the model is loaded once (skops, the same artifact) and `predict` runs in a thread pool, off the
  event loop;
- a declared return type, so FastAPI serializes straight to JSON bytes through Pydantic (its
  recommended fast path; ORJSONResponse is deprecated); `/direct` is the bare endpoint returning
  the same dict.

Settings come from the environment (BENCH_DATABASE, BENCH_MODEL, BENCH_BACKEND):

    uvicorn --factory bench.baseline:create_app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import pandas as pd
import skops.io as sio
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.fixtures import API_DELAY_MS, DIRECT_BODY

GET_CUSTOMER = text(
    "SELECT customer_id, name, credit_score, annual_income FROM customers WHERE customer_id = :customer_id"
)


class Score(BaseModel):
    customer_id: int
    name: str
    risk_score: int
    risk_tier: str
    market_value: int


def _load_model(path: str) -> Any:
    with open(path, "rb") as f:
        data = f.read()
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


def create_app() -> FastAPI:
    database = os.environ["BENCH_DATABASE"]
    backend = os.environ["BENCH_BACKEND"].rstrip("/")
    model = _load_model(os.environ["BENCH_MODEL"])
    columns = [str(c) for c in model.feature_names_in_]
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["engine"] = create_async_engine(f"sqlite+aiosqlite:///{database}", pool_size=10)
        state["http"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        state["pool"] = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))  # as Orkestra
        yield
        await state["http"].close()
        await state["engine"].dispose()
        state["pool"].shutdown()

    app = FastAPI(lifespan=lifespan)

    async def customer_row(customer_id: int) -> dict[str, Any] | None:
        async with state["engine"].connect() as conn:
            row = (
                (await conn.execute(GET_CUSTOMER, {"customer_id": customer_id})).mappings().first()
            )
        return dict(row) if row is not None else None

    async def market() -> Any:
        async with state["http"].get(f"{backend}/delay/{API_DELAY_MS}") as resp:
            resp.raise_for_status()
            return await resp.json()

    def default_risk(credit_score: float, income: float) -> float:
        frame = pd.DataFrame([[credit_score, income]], columns=columns)
        return float(model.predict_proba(frame)[0][list(model.classes_).index(1)])

    @app.get("/composite/{customer_id}")
    async def composite(customer_id: int) -> Score:
        customer, quote = await asyncio.gather(customer_row(customer_id), market())
        if customer is None:
            raise HTTPException(404, "no such customer")
        loop = asyncio.get_running_loop()
        p = await loop.run_in_executor(
            state["pool"], default_risk, customer["credit_score"], customer["annual_income"]
        )
        tier = "high" if p >= 0.5 else ("medium" if p >= 0.2 else "low")
        return Score(
            customer_id=customer["customer_id"],
            name=customer["name"],
            risk_score=int(Decimal(p * 100).quantize(Decimal(1), ROUND_HALF_UP)),
            risk_tier=tier,
            market_value=quote["value"],
        )

    @app.get("/direct")
    async def direct() -> dict[str, Any]:
        return DIRECT_BODY

    return app
