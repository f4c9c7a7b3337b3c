"""A circuit breaker per data source: a dead backend is failed fast instead of waited on.

closed     calls go through; consecutive failures (or the failure rate over the last `window`
           calls) beyond the threshold open it
open       calls fail at once with SourceUnavailable naming the source; the backend is not touched
half-open  after `reset_timeout`, one probe call goes through; success closes, failure re-opens
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from orkestra.errors import SourceError, SourceUnavailable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 5,
        failure_rate: float | None = None,
        window: int = 20,
        reset_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.failure_rate = failure_rate
        self.window = window
        self.reset_timeout = reset_timeout
        self.clock = clock
        self.state = CLOSED
        self.consecutive_failures = 0
        self.outcomes: deque[bool] = deque(maxlen=window)  # True = failure
        self.opened_at = 0.0
        self.probe_in_flight = False
        self.rejected = 0  # calls failed fast, for status and tests

    def before_call(self, source: str) -> None:
        """Raise SourceUnavailable when the call must not reach the backend."""
        if self.state == CLOSED:
            return
        if self.state == OPEN and self.clock() - self.opened_at >= self.reset_timeout:
            self.state = HALF_OPEN
        if self.state == HALF_OPEN and not self.probe_in_flight:
            self.probe_in_flight = True  # this call is the probe
            return
        self.rejected += 1
        retry_in = max(0.0, self.reset_timeout - (self.clock() - self.opened_at))
        raise SourceUnavailable(
            source, f"circuit open after repeated failures; next try in {retry_in:.1f}s"
        )

    def record_success(self) -> None:
        self.probe_in_flight = False
        self.consecutive_failures = 0
        self.outcomes.append(False)
        if self.state != CLOSED:
            self.state = CLOSED
            self.outcomes.clear()

    def record_failure(self) -> None:
        self.probe_in_flight = False
        self.consecutive_failures += 1
        self.outcomes.append(True)
        if self.state == HALF_OPEN or self.should_open():
            self.state = OPEN
            self.opened_at = self.clock()

    def release_probe(self) -> None:
        """A probe that was cancelled (its request ended) tells nothing: let the next call probe."""
        self.probe_in_flight = False

    def should_open(self) -> bool:
        if self.consecutive_failures >= self.failure_threshold:
            return True
        if self.failure_rate is None or len(self.outcomes) < self.window:
            return False
        return sum(self.outcomes) / len(self.outcomes) >= self.failure_rate


def counts_as_failure(exc: SourceError) -> bool:
    """Backend trouble opens the breaker; an answer a retry cannot change (a 4xx) does not."""
    return exc.retryable or isinstance(exc, SourceUnavailable)
