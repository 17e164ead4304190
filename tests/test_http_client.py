"""connectors/http.py against a real server on loopback: auth, URLs, the retry policy and its errors."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest
from pydantic import ValidationError

from connectors.http import AuthFailed, HttpClient, HttpSourceError, HttpSourceSettings, NotFound

PASSWORD = "s3cr3t-Pa55"


class Scripted(ThreadingHTTPServer):
    """Answers from a script of (status, headers, body) or "sleep"; then 200 with the request echoed."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: deque[Any] = deque()
        self.seen: list[dict[str, Any]] = []
        self.tokens_issued = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sap/opu/odata/sap"


class _Handler(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        if self.path == "/token":
            self.server.tokens_issued += 1
            self._reply(200, {"access_token": f"tok{self.server.tokens_issued}", "expires_in": 3600})
            return
        self.server.seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        self._reply(200, {"echo": body})

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
        step = self.server.script.popleft() if self.server.script else None
        if step == "sleep":
            time.sleep(1.0)
            step = None
        if step is None:
            self._reply(200, {"d": {"path": unquote(self.path)}})
            return
        status, headers, body = step
        self._reply(status, body, headers)


@pytest.fixture
def server() -> Iterator[Scripted]:
    srv = Scripted()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def settings(url: str, **extra: Any) -> HttpSourceSettings:
    base = {"url": url, "auth": {"username": "RFC_USER", "password": PASSWORD}, "backoff_max_seconds": 0.01}
    return HttpSourceSettings(**{**base, **extra})


def client(url: str, **extra: Any) -> HttpClient:
    return HttpClient(settings(url, **extra), params={"sap-client": "100"})


def test_basic_auth_default_params_and_encoded_urls(server: Scripted) -> None:
    c = client(server.url)
    got = c.get_json(
        "API_BUSINESS_PARTNER/A_Customer",
        {"$filter": "LastChangeDateTime gt datetimeoffset'2024-01-01T00:00:00Z'", "$top": 2},
    )
    path = server.seen[0]["path"]
    assert path.startswith("/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_Customer?sap-client=100&")
    assert "%20gt%20" in path and "+" not in path and "$filter=" in path and "'" in path
    assert got["d"]["path"].endswith("$top=2")
    expected = "Basic " + base64.b64encode(f"RFC_USER:{PASSWORD}".encode()).decode()
    assert server.seen[0]["auth"] == expected


def test_cyrillic_set_names_are_percent_encoded_utf8(server: Scripted) -> None:
    c = HttpClient(settings(server.url), params={"$format": "json"})
    got = c.get_json("Catalog_Контрагенты", {"$filter": "Description eq 'Ромашка'"})
    raw = server.seen[0]["path"]
    assert raw.isascii() and "%D0%9A%D0%BE%D0%BD" in raw  # "Кон" as UTF-8 percent escapes
    assert "Catalog_Контрагенты?$format=json" in got["d"]["path"] and "'Ромашка'" in got["d"]["path"]


def test_a_parameter_given_as_none_leaves_a_default_out() -> None:
    c = HttpClient(settings("https://1c.example.ru/trade/odata/standard.odata"), params={"$format": "json"})
    assert c.url("$metadata", {"$format": None}) == "https://1c.example.ru/trade/odata/standard.odata/$metadata"
    assert c.url("Catalog_X", {"$top": 1}).endswith("Catalog_X?$format=json&$top=1")
    assert c.url("https://1c.example.ru/x?$skip=5", {"$format": None}) == "https://1c.example.ru/x?$skip=5"


def test_next_links_are_used_as_given_with_default_params_added_once(server: Scripted) -> None:
    c = client(server.url)
    c.get_json(f"{server.url}/API_SALES_ORDER_SRV/A_SalesOrder?sap-client=100&$skiptoken=20")
    path = server.seen[0]["path"]
    assert path.count("sap-client=100") == 1 and "$skiptoken=20" in path


def test_429_with_retry_after_then_success(server: Scripted) -> None:
    server.script.extend([(429, {"Retry-After": "0"}, {}), (503, {}, {}), (502, {}, {})])
    slept: list[float] = []
    c = HttpClient(settings(server.url), sleep=slept.append)
    assert c.get_json("X")["d"]
    assert len(server.seen) == 4 and slept[0] == 0.0


def test_timeouts_are_retried(server: Scripted) -> None:
    server.script.extend(["sleep"])
    c = client(server.url, timeout_seconds=(1.0, 0.3))
    assert c.get_json("X")["d"]
    assert len(server.seen) == 2


def test_retries_spent_raise_a_clear_error(server: Scripted) -> None:
    server.script.extend([(503, {}, {"error": "down"})] * 3)
    c = client(server.url, max_attempts=3)
    with pytest.raises(HttpSourceError, match=r"HTTP 503 from .*/X after 3 attempts") as info:
        c.get("X")
    assert info.value.status == 503 and len(server.seen) == 3


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, AuthFailed, "refused the credentials of user 'RFC_USER'"),
        (403, AuthFailed, "denied access to user 'RFC_USER'"),
        (404, NotFound, "not found (HTTP 404)"),
        (400, HttpSourceError, "answered HTTP 400: "),
    ],
)
def test_4xx_is_never_retried(server: Scripted, status: int, error: type[Exception], words: str) -> None:
    server.script.append((status, {}, {"error": {"message": {"value": f"nope, {PASSWORD}"}}}))
    c = client(server.url)
    with pytest.raises(error) as info:
        c.get("A_Customer", {"secret_param": "zz"})
    assert len(server.seen) == 1
    message = str(info.value)
    assert words in message and PASSWORD not in message and "secret_param" not in message
    assert "nope, ***" in message  # the body's reason, secrets masked


def test_unreachable_host(server: Scripted) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = client(f"http://127.0.0.1:{port}/odata", max_attempts=2)
    with pytest.raises(HttpSourceError, match=rf"cannot reach 127.0.0.1:{port} .* after 2 attempts: .*refused"):
        c.get("X")
    c = client(f"http://127.0.0.1:{port}/odata")
    started = time.monotonic()
    with pytest.raises(HttpSourceError, match="cannot reach"):
        c.get("X", retry=False)
    assert time.monotonic() - started < 1


def test_retrying_runs_foreign_calls_under_the_policy(server: Scripted) -> None:
    class TransportError(Exception):  # the shape of zeep's: an HTTP status as status_code
        def __init__(self, status_code: int) -> None:
            super().__init__(f"Server returned HTTP status {status_code}")
            self.status_code = status_code

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransportError(503)
        return "ok"

    c = client(server.url)
    assert c.retrying(flaky) == "ok" and len(calls) == 3

    def refused() -> str:
        raise TransportError(400)

    with pytest.raises(TransportError):
        c.retrying(refused)


def test_oauth2_client_credentials(server: Scripted) -> None:
    token_url = server.url.split("/sap/")[0] + "/token"
    c = HttpClient(
        HttpSourceSettings(
            url=server.url,
            auth={"kind": "oauth2", "token_url": token_url, "client_id": "dealersync", "client_secret": PASSWORD},
        )
    )
    c.get("A")
    c.get("B")
    assert [s["auth"] for s in server.seen] == ["Bearer tok1", "Bearer tok1"]
    server.script.append((401, {}, {}))
    c.get("C")  # a refused token is renewed once
    assert server.seen[-1]["auth"] == "Bearer tok2"


def test_session_carries_auth_for_other_clients(server: Scripted) -> None:
    c = client(server.url)
    c.session.post(f"{server.url}/soap", data=b"<x/>")  # what zeep's Transport does with the session
    assert server.seen[-1]["auth"].startswith("Basic ")


def test_settings_name_the_bad_field(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="url"):
        settings("ftp://host/x")
    with pytest.raises(ValidationError, match="exactly one of password or password_file"):
        HttpSourceSettings(url="http://h/x", auth={"username": "u"})
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    s = HttpSourceSettings(url="http://h/x", auth={"username": "u", "password_file": str(secret)})
    assert s.secrets() == [PASSWORD] and PASSWORD not in repr(s)
