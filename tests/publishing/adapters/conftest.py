"""Fixtures for the adapter tests: a local fake platform, loopback-only sockets, specs on disk."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SPECS_DIR = (Path(__file__).resolve().parents[3] / "../shared/specs").resolve()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A base URL left pointing at a real platform fails loudly instead of reaching the internet."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host).is_loopback:
            raise RuntimeError(f"test tried to reach {host}: only loopback is allowed")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def base_url(httpserver: HTTPServer, settings) -> str:
    """Every platform's base URL points at the local fake."""
    url = httpserver.url_for("").rstrip("/")
    settings.X_API_BASE_URL = url
    settings.LINKEDIN_API_BASE_URL = url
    settings.LINKEDIN_API_VERSION = "202510"
    settings.GRAPH_API_BASE_URL = url
    settings.GRAPH_API_VERSION = "v23.0"
    settings.BLUESKY_PDS_URL = url
    settings.MASTODON_BASE_URL = url
    settings.HTTP_TIMEOUT_SECONDS = 2.0
    return url


class Hang:
    """Makes the fake read a request and answer only after the client has given up."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.httpserver = httpserver
        self.release = threading.Event()
        self.path = ""

    def at(self, path: str, method: str = "POST") -> None:
        def handler(request: Request) -> Response:
            self.release.wait(timeout=5)
            return Response('{"id": "late"}', status=200, content_type="application/json")

        self.httpserver.expect_request(path, method=method).respond_with_handler(handler)
        self.path = path

    def received(self, path: str) -> int:
        """Release the handler, let any queued resend arrive, and count requests to ``path``."""
        self._drain()
        time.sleep(0.2)  # a resend would be queued behind the hung request; give it time to be served
        return self._count(path)

    def _drain(self) -> None:
        """Release the hung handler and wait until the server has logged it."""
        self.release.set()
        deadline = time.monotonic() + 5
        while self.path and not self._count(self.path) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _count(self, path: str) -> int:
        return sum(1 for request, _ in self.httpserver.log if request.path == path)


@pytest.fixture
def hang(httpserver: HTTPServer, base_url: str, settings) -> Iterator[Hang]:
    settings.HTTP_TIMEOUT_SECONDS = 0.3
    hanging = Hang(httpserver)
    yield hanging
    hanging._drain()  # never leave the shared server blocked for the next test
