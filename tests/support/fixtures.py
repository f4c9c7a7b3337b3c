"""Pytest fixtures over tests.support; enable with `pytest_plugins = ["tests.support.fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http_backend import HttpBackend
from tests.support.http_backend import http_backend as _start_http_backend


@pytest.fixture
def http_backend() -> Iterator[HttpBackend]:
    """A loopback HTTP server for one test (see tests/support/http_backend.py for its routes)."""
    with _start_http_backend() as backend:
        yield backend
