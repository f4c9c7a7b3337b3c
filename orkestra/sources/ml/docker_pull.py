"""Pulling an image through the Docker engine, with progress (log lines and a callback)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orkestra.errors import SourceUnavailable
from orkestra.extras import require

log = logging.getLogger("orkestra.ml.docker")


@dataclass
class PullProgress:
    """Where an image pull stands; handed to the `progress` callback after every engine event."""

    image: str
    layers_total: int = 0
    layers_done: int = 0
    bytes_done: int = 0
    bytes_total: int = 0  # of the layers whose size the engine reported so far
    status: str = ""
    _layers: dict[str, tuple[int, int, bool]] = field(default_factory=dict, repr=False)

    def update(self, event: dict[str, Any]) -> None:
        self.status = str(event.get("status") or self.status)
        layer = event.get("id")
        if not layer or self.status.startswith("Pulling from"):
            return
        done, total, finished = self._layers.get(str(layer), (0, 0, False))
        detail = event.get("progressDetail") or {}
        if self.status == "Downloading":
            done, total = int(detail.get("current") or done), int(detail.get("total") or total)
        elif self.status in ("Download complete", "Pull complete", "Already exists"):
            done = total
            finished = finished or self.status in ("Pull complete", "Already exists")
        self._layers[str(layer)] = (done, total, finished)
        self.layers_total = len(self._layers)
        self.layers_done = sum(1 for _, _, f in self._layers.values() if f)
        self.bytes_done = sum(d for d, _, _ in self._layers.values())
        self.bytes_total = sum(t for _, t, _ in self._layers.values())

    def line(self) -> str:
        mb = (
            f", {self.bytes_done / 1e6:.1f}/{self.bytes_total / 1e6:.1f} MB"
            if self.bytes_total
            else ""
        )
        return f"pulling {self.image}: {self.layers_done}/{self.layers_total} layers{mb}"


_PULL_LOG_EVERY = 2.0  # seconds between progress log lines of one pull


def pull_image(
    client: Any,
    image: str,
    *,
    auth: dict[str, str] | None,
    model_id: str,
    progress: Callable[[PullProgress], None] | None = None,
) -> PullProgress:
    """Pull `image` through the engine, streaming its JSON events into logs and `progress`."""
    utils = require("docker.utils", "docker")
    repository, tag = utils.parse_repository_tag(image)
    state = PullProgress(image)
    last_log, last_done = 0.0, -1
    log.info("model '%s': pulling image %s", model_id, image)
    errors = require("docker.errors", "docker")
    try:
        # The engine refuses some pulls at once (auth, unknown registry): an APIError, not an event.
        events = client.api.pull(
            repository, tag=tag or "latest", stream=True, decode=True, auth_config=auth
        )
    except errors.APIError as exc:
        reason = exc.explanation or str(exc)
        raise SourceUnavailable(model_id, f"pulling image '{image}' failed: {reason}") from None
    for event in events:
        if "error" in event:
            raise SourceUnavailable(model_id, f"pulling image '{image}' failed: {event['error']}")
        state.update(event)
        if progress is not None:
            progress(state)
        now = time.monotonic()
        if state.layers_total and (
            now - last_log >= _PULL_LOG_EVERY or state.layers_done != last_done
        ):
            log.info("model '%s': %s", model_id, state.line())
            last_log, last_done = now, state.layers_done
    log.info("model '%s': pulled %s (%s)", model_id, image, state.status)
    return state
