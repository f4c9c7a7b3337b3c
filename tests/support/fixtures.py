"""Pytest fixtures over tests.support; enable with `pytest_plugins = ["tests.support.fixtures"]`."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http_backend import HttpBackend
from tests.support.http_backend import http_backend as _start_http_backend


@pytest.fixture
def http_backend() -> Iterator[HttpBackend]:
    """A loopback HTTP server for one test (see tests/support/http_backend.py for its routes)."""
    with _start_http_backend() as backend:
        yield backend


@pytest.fixture
def https_backend(tmp_path: Path) -> Iterator[HttpBackend]:
    """The same server over HTTPS, with a self-signed certificate for 127.0.0.1 (not trusted)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with _start_http_backend(tls=context) as backend:
        yield backend
