"""Fixtures shared by the publishing tests."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from campaigns.controls import control_set


@pytest.fixture
def live(settings, running_campaign):
    """LIVE needs three yeses: deployment, global flag, campaign mode."""
    settings.PUBLISHING_MODE = "live"
    control_set(action="live", actor="test")
    control_set(action="live", actor="test", campaign=running_campaign)
    return running_campaign


@pytest.fixture
def threaded_http():
    """serve(path, handler) -> base URL of a threaded local server answering POST ``path`` with ``handler``
    (so concurrent calls really overlap); stopped at the end of the test."""
    servers = []

    def serve(path: str, handler) -> str:
        server = HTTPServer(host="127.0.0.1", threaded=True)
        server.start()
        server.expect_request(path, method="POST").respond_with_handler(handler)
        servers.append(server)
        return server.url_for("").rstrip("/")

    yield serve
    for server in servers:
        server.clear()
        server.stop()
