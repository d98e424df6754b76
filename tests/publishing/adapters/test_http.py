"""The one HTTP helper: what it sends, and whether a failure happened before or after sending."""

from __future__ import annotations

import socket
import threading

import pytest
from pytest_httpserver import HTTPServer

from publishing.adapters.base import HttpRequest, OutcomeUnknownError, PermanentError, RetryAfterError
from publishing.adapters.http import USER_AGENT, HttpClient


def _post(url: str) -> HttpRequest:
    return HttpRequest(method="POST", url=url, headers={"Content-Type": "application/json"}, body={"a": 1})


def test_it_sends_user_agent_and_returns_status_headers_and_parsed_body(httpserver: HTTPServer, base_url: str):
    httpserver.expect_request("/thing", method="POST", json={"a": 1}).respond_with_json(
        {"ok": True}, status=201, headers={"X-Thing": "7"}
    )

    response = HttpClient("test").send(_post(f"{base_url}/thing"))

    assert (response.status, response.body, response.headers["x-thing"]) == (201, {"ok": True}, "7")
    assert httpserver.log[0][0].headers["User-Agent"] == USER_AGENT == "campaign-automation/0.1"


def test_it_returns_a_non_json_body_as_text_and_an_empty_one_as_none(httpserver: HTTPServer, base_url: str):
    httpserver.expect_request("/text").respond_with_data("plain", status=502)
    httpserver.expect_request("/empty").respond_with_data("", status=201)

    assert HttpClient("test").send(_post(f"{base_url}/text")).body == "plain"
    assert HttpClient("test").send(_post(f"{base_url}/empty")).body is None


def test_it_does_not_follow_a_redirect_of_a_post(httpserver: HTTPServer, base_url: str):
    httpserver.expect_request("/moved", method="POST").respond_with_data(
        "", status=307, headers={"Location": f"{base_url}/other"}
    )

    assert HttpClient("test").send(_post(f"{base_url}/moved")).status == 307
    assert [request.path for request, _ in httpserver.log] == ["/moved"]


def test_connection_refused_is_safe_to_retry(settings):
    settings.HTTP_TIMEOUT_SECONDS = 1.0
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(RetryAfterError, match="not sent") as caught:
        HttpClient("test").send(_post(f"http://127.0.0.1:{port}/x"))
    assert 0 < caught.value.retry_after <= 60


def test_dns_failure_is_safe_to_retry(settings, monkeypatch: pytest.MonkeyPatch):
    settings.HTTP_TIMEOUT_SECONDS = 1.0

    def no_such_host(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)

    with pytest.raises(RetryAfterError, match="not sent"):
        HttpClient("test").send(_post("http://api.example.invalid/x"))


def test_read_timeout_after_sending_a_post_is_outcome_unknown_and_sent_once(hang, base_url: str):
    hang.at("/slow")

    with pytest.raises(OutcomeUnknownError, match="reconcile"):
        HttpClient("test").send(_post(f"{base_url}/slow"))
    assert hang.received("/slow") == 1


def test_read_timeout_of_a_get_is_safe_to_retry(hang, base_url: str):
    hang.at("/slow", method="GET")

    with pytest.raises(RetryAfterError):
        HttpClient("test").send(HttpRequest(method="GET", url=f"{base_url}/slow", headers={}))
    assert hang.received("/slow") == 1


def test_connection_dropped_after_the_request_was_read_is_outcome_unknown(settings):
    settings.HTTP_TIMEOUT_SECONDS = 2.0
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received: list[bytes] = []

    def read_then_hang_up() -> None:
        conn, _ = server.accept()
        received.append(conn.recv(65536))
        conn.close()

    thread = threading.Thread(target=read_then_hang_up)
    thread.start()
    try:
        with pytest.raises(OutcomeUnknownError):
            HttpClient("test").send(_post(f"http://127.0.0.1:{server.getsockname()[1]}/x"))
    finally:
        thread.join(5)
        server.close()
    assert received and received[0].startswith(b"POST /x ")


def test_a_malformed_base_url_is_a_configuration_error(settings):
    with pytest.raises(PermanentError, match="base URL"):
        HttpClient("test").send(_post("not-a-url/x"))
