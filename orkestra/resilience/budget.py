"""A retry budget: retries are allowed only as a fraction of first attempts.

Per-call retries alone multiply load on a backend that is already failing (3 attempts = 3x). The
budget earns `ratio` tokens per first attempt and spends one per retry, so over time a failing
backend sees at most about (1 + ratio) calls per client call. A small reserve lets the first
failures of a quiet source still be retried.
"""

from __future__ import annotations


class RetryBudget:
    def __init__(self, ratio: float = 0.2, reserve: float = 3.0) -> None:
        self.ratio = ratio
        self.reserve = reserve
        self.tokens = reserve
        self.calls = 0
        self.retries = 0

    def record_call(self) -> None:
        self.calls += 1
        self.tokens = min(self.reserve, self.tokens + self.ratio)

    def try_retry(self) -> bool:
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        self.retries += 1
        return True
