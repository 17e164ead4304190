from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import responses
import zstandard
from pydantic import TypeAdapter, ValidationError
from structlog.testing import capture_logs

from mapping.schema import SCHEMA_VERSION, Envelope, encode
from sinks import SinkSettings, build_sink
from sinks.base import Ack, Batch, Holdings, SinkError
from sinks.http import (
    HttpSink,
    HttpSinkError,
    HttpSinkSettings,
    accepted_codings,
    build_body,
    encode_body,
    parse_checkpoint,
    retry_after_seconds,
)
from tests.loyalty_server import LoyaltyServer, Pki, make_pki, read_store, spawn

TOKEN = "tok-3f9a7c1e5b"
API_KEY = "key-8d2e4f6a0c"
CLIENT_SECRET = "cs-71b3c9d5e2"


def make_batch(batch_id: str = "batch-1", n: int = 3, stream: str = "accounts", source: str = "logo") -> Batch:
    lines = []
    for i in range(n):
        data = msgspec.Raw(encode({"code": f"C{i}", "title": f'Bayi {i} \u015eti\n"q"'}))
        lines.append(encode(Envelope(stream=stream, source=source, key=f"C{i}", op="upsert", data=data)) + b"\n")
    lines.append(encode(Envelope(stream=stream, source=source, key="GONE", op="delete")) + b"\n")
    payload = b"".join(lines)
    return Batch(batch_id, source, stream, n + 1, payload, dt.datetime(2026, 1, 2, tzinfo=dt.UTC))


def envelopes(batch: Batch) -> list[dict[str, Any]]:
    return [json.loads(line) for line in batch.payload.splitlines()]


def settings(url: str, auth: dict[str, Any] | None = None, **overrides: Any) -> HttpSinkSettings:
    fast = {"backoff_multiplier": 0.001, "backoff_max_seconds": 0.005, "timeout_seconds": (2, 2), "max_attempts": 4}
    return HttpSinkSettings(kind="http", url=url, auth=auth or {"kind": "bearer", "token": TOKEN}, **fast | overrides)


@pytest.fixture
def server() -> Iterator[LoyaltyServer]:
    with LoyaltyServer(token=TOKEN, api_key=API_KEY, oauth_clients={"dealersync": CLIENT_SECRET}) as s:
        yield s
    assert s.errors == []  # no handler crashed: every failure a test saw was one it scripted


@pytest.fixture
def sink(server: LoyaltyServer) -> Iterator[HttpSink]:
    s = HttpSink(settings(server.url))
    yield s
    s.close()


# --- the request ---------------------------------------------------------------------------------------------


def test_body_splices_ndjson_into_json() -> None:
    batch = make_batch()
    document = json.loads(build_body(batch))
    assert document == {
        "batch_id": "batch-1",
        "source": "logo",
        "stream": "accounts",
        "schema_version": SCHEMA_VERSION,
        "records": envelopes(batch),
    }
    empty = Batch("e", "logo", "accounts", 0, b"", batch.created_at)
    assert json.loads(build_body(empty))["records"] == []


def test_push_sends_gzip_json_with_headers(server: LoyaltyServer, sink: HttpSink) -> None:
    batch = make_batch()
    assert sink.push(batch) == Ack()

    assert server.batches == {"batch-1": envelopes(batch)}
    [request] = server.requests_to("/batches")
    assert request.status == 200
    headers = request.headers
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == "batch-1"
    assert headers["user-agent"].startswith("dealersync/")
    assert headers["authorization"] == "<redacted>"


@responses.activate
def test_wire_body_is_gzip() -> None:
    responses.post("http://loyalty.test/api/batches?code=q", status=202, body="")
    HttpSink(settings("http://loyalty.test/api/?code=q")).push(make_batch())
    sent = responses.calls[0].request
    assert json.loads(gzip.decompress(sent.body))["batch_id"] == "batch-1"


# --- content coding ------------------------------------------------------------------------------------------


def codings(server: LoyaltyServer) -> list[tuple[str, str, int]]:
    """(Content-Encoding, Idempotency-Key, status) of each POST /batches, in order."""
    return [
        (r.headers.get("content-encoding", "identity"), r.headers["idempotency-key"], r.status)
        for r in server.requests_to("/batches")
    ]


def test_auto_sends_gzip_until_the_core_names_zstd_then_zstd(server: LoyaltyServer, sink: HttpSink) -> None:
    first, second = make_batch("b-1"), make_batch("b-2", stream="invoices")
    assert sink.coding == "gzip"
    sink.push(first)
    assert sink.coding == "zstd"  # learnt from the first answer's Accept-Encoding
    sink.push(second)
    assert codings(server) == [("gzip", "b-1", 200), ("zstd", "b-2", 200)]
    assert server.batches == {"b-1": envelopes(first), "b-2": envelopes(second)}


def test_the_checkpoint_answer_is_enough_to_learn_zstd(server: LoyaltyServer, sink: HttpSink) -> None:
    sink.holdings("logo")
    sink.push(make_batch())
    assert codings(server) == [("zstd", "batch-1", 200)]
    assert server.records() == envelopes(make_batch())


def test_an_older_core_that_names_no_coding_only_ever_gets_gzip() -> None:
    with LoyaltyServer(token=TOKEN, encodings=("gzip",), advertise=False) as older:
        sink = HttpSink(settings(older.url))
        assert sink.holdings("logo") == Holdings(None)
        for i in range(3):
            sink.push(make_batch(f"b-{i}"))
    assert codings(older) == [("gzip", f"b-{i}", 200) for i in range(3)]


def test_a_415_to_zstd_resends_the_batch_gzipped_under_its_key_and_gzip_stays(
    server: LoyaltyServer, sink: HttpSink
) -> None:
    sink.push(make_batch("b-1"))
    sink.push(make_batch("b-2"))
    # Rolled back to a release without zstd (or a node behind the same URL that lacks it):
    server.encodings, server.advertise = ("gzip",), False
    with capture_logs() as logs:
        assert sink.push(make_batch("b-3")) == Ack()
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "loyalty core refused zstd, sending gzip from now on"
    ]
    sink.push(make_batch("b-4"))
    # Even a core that names zstd again does not get it before the sink is made anew: it was wrong once.
    server.encodings, server.advertise = ("zstd", "gzip"), True
    sink.push(make_batch("b-5"))
    assert codings(server) == [
        ("gzip", "b-1", 200),
        ("zstd", "b-2", 200),
        ("zstd", "b-3", 415),
        ("gzip", "b-3", 200),
        ("gzip", "b-4", 200),
        ("gzip", "b-5", 200),
    ]
    assert list(server.batches) == ["b-1", "b-2", "b-3", "b-4", "b-5"]
    assert server.duplicates == 0


def test_forced_zstd_from_the_first_batch_and_a_415_is_a_permanent_error_not_about_the_batch() -> None:
    with LoyaltyServer(token=TOKEN) as core:
        sink = HttpSink(settings(core.url, compression="zstd"))
        sink.push(make_batch())
        assert codings(core) == [("zstd", "batch-1", 200)]
    with LoyaltyServer(token=TOKEN, encodings=("gzip",)) as older:
        with pytest.raises(HttpSinkError) as failure:
            HttpSink(settings(older.url, compression="zstd")).push(make_batch())
        assert codings(older) == [("zstd", "batch-1", 415)]
    assert failure.value.permanent and not failure.value.about_batch and failure.value.status == 415
    assert "set compression to auto or gzip" in str(failure.value)


@pytest.mark.parametrize(("compression", "coding"), [("gzip", "gzip"), ("none", "identity")])
def test_forced_gzip_or_none_ignores_what_the_core_names(server: LoyaltyServer, compression: str, coding: str) -> None:
    sink = HttpSink(settings(server.url, compression=compression))
    sink.holdings("logo")
    for i in range(2):
        sink.push(make_batch(f"b-{i}"))
    assert codings(server) == [(coding, f"b-{i}", 200) for i in range(2)]
    assert len(server.records()) == 8


def test_encode_body_round_trips() -> None:
    plain = build_body(make_batch(n=500))
    assert zstandard.ZstdDecompressor().decompress(encode_body(plain, "zstd", 1)) == plain
    assert gzip.decompress(encode_body(plain, "gzip", 1)) == plain
    assert len(encode_body(plain, "gzip", 9)) < len(encode_body(plain, "gzip", 1)) < len(plain)
    assert encode_body(plain, "identity", 1) is plain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zstd, gzip", {"zstd", "gzip"}),
        ("gzip;q=1.0, ZSTD ; q=0.5, br;q=0", {"gzip", "zstd"}),
        ("gzip, zstd;q=0", {"gzip"}),
        ("zstd;q=zero", set()),
        ("", set()),
        ("*", {"*"}),
    ],
)
def test_accepted_codings(value: str, expected: set[str]) -> None:
    assert accepted_codings(value) == expected


def test_push_from_other_threads_and_several_at_once(server: LoyaltyServer, sink: HttpSink) -> None:
    # The engine's pusher thread is not the one that made the sink; the scheduler's sources share it.
    def push(names: list[str]) -> None:
        for name in names:
            sink.push(make_batch(name, n=200))

    threads = [threading.Thread(target=push, args=([f"t{t}-b{i}" for i in range(5)],)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(server.batches) == sorted(f"t{t}-b{i}" for t in range(4) for i in range(5))
    assert all(len(records) == 201 for records in server.batches.values())
    assert server.duplicates == 0
    assert {r.status for r in server.requests_to("/batches")} == {200}


@responses.activate
def test_a_gateways_cookies_are_not_kept() -> None:
    # A jar the pushing threads share would be iterated by one while another fills it.
    responses.post("http://loyalty.test/batches", status=200, headers={"Set-Cookie": "AWSALB=sticky; Path=/"})
    sink = HttpSink(settings("http://loyalty.test"))
    sink.push(make_batch())
    sink.push(make_batch("b-2"))
    assert "Cookie" not in responses.calls[1].request.headers


def test_api_key_auth(server: LoyaltyServer) -> None:
    sink = HttpSink(settings(server.url, {"kind": "api_key", "key": API_KEY}))
    assert sink.push(make_batch()) == Ack()
    assert server.requests_to("/batches")[0].headers["x-api-key"] == "<redacted>"


# --- idempotency and faults ----------------------------------------------------------------------------------


def test_resend_is_stored_once(server: LoyaltyServer, sink: HttpSink) -> None:
    batch = make_batch()
    sink.push(batch)
    sink.push(batch)
    assert len(server.requests_to("/batches")) == 2
    assert server.duplicates == 1
    assert server.records() == envelopes(batch)


def test_409_for_a_known_batch_is_success_with_the_original_ack() -> None:
    with LoyaltyServer(duplicate_status=409, reject_keys={"C1": "unknown dealer"}) as server:
        sink = HttpSink(settings(server.url, {"kind": "none"}))
        first = sink.push(make_batch())
        again = sink.push(make_batch())
    assert first == again == Ack(rejected={"C1": "unknown dealer"})
    assert [r.status for r in server.requests_to("/batches")] == [200, 409]


def test_500_then_success(server: LoyaltyServer, sink: HttpSink) -> None:
    server.fail_next(500, 503)
    assert sink.push(make_batch()) == Ack()
    assert [r.status for r in server.requests_to("/batches")] == [500, 503, 200]
    assert len(server.records()) == 4


def test_429_retry_after_is_honoured(server: LoyaltyServer, sink: HttpSink) -> None:
    server.fail_next((429, 1))
    started = time.monotonic()
    sink.push(make_batch())
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in server.requests_to("/batches")] == [429, 200]


def test_timeout_then_success_stores_once() -> None:
    with LoyaltyServer(timeout_sleep=0.6) as server:
        sink = HttpSink(settings(server.url, {"kind": "none"}, timeout_seconds=(2, 0.3)))
        server.fail_next("timeout")
        batch = make_batch()
        assert sink.push(batch) == Ack()
    # The server had stored the batch before its late answer: the resend must not store it again.
    assert len(server.requests_to("/batches")) == 2
    assert server.records() == envelopes(batch)


@pytest.mark.parametrize("fault", ["reset", "reset_after_store"])
def test_connection_reset_then_success(server: LoyaltyServer, sink: HttpSink, fault: str) -> None:
    server.fail_next(fault)
    batch = make_batch()
    assert sink.push(batch) == Ack()
    assert [r.status for r in server.requests_to("/batches")] == [0, 200]
    assert server.records() == envelopes(batch)


@pytest.mark.parametrize("status", [400, 403, 413, 422])
def test_client_errors_are_permanent_and_not_retried(server: LoyaltyServer, sink: HttpSink, status: int) -> None:
    server.fail_next(status)
    with pytest.raises(HttpSinkError) as failure:
        sink.push(make_batch())
    assert failure.value.permanent
    assert failure.value.status == status
    assert f"HTTP {status}" in str(failure.value)
    assert len(server.requests_to("/batches")) == 1


def test_bad_token_is_permanent(server: LoyaltyServer) -> None:
    sink = HttpSink(settings(server.url, {"kind": "bearer", "token": "wrong-token-value"}))
    with pytest.raises(SinkError) as failure:
        sink.push(make_batch())
    assert failure.value.permanent
    assert "401" in str(failure.value)
    assert "wrong-token-value" not in str(failure.value)
    assert len(server.requests_to("/batches")) == 1


def test_retries_exhausted_is_not_permanent(server: LoyaltyServer, sink: HttpSink) -> None:
    server.fail_next(503, 503, 503, 503)
    with pytest.raises(SinkError) as failure:
        sink.push(make_batch())
    assert not failure.value.permanent
    assert "after 4 attempts" in str(failure.value)
    assert "HTTP 503" in str(failure.value)
    assert len(server.requests_to("/batches")) == 4


def test_unreachable_host_is_not_permanent() -> None:
    sink = HttpSink(settings(f"http://127.0.0.1:{free_port()}", max_attempts=2))
    with pytest.raises(SinkError) as failure:
        sink.push(make_batch())
    assert not failure.value.permanent
    assert "ConnectionError" in str(failure.value)


def test_rejected_keys_come_back_in_the_ack() -> None:
    with LoyaltyServer(reject_keys={"C0": "unknown dealer", "C2": "blocked"}) as server:
        ack = HttpSink(settings(server.url, {"kind": "none"})).push(make_batch())
    assert ack == Ack(rejected={"C0": "unknown dealer", "C2": "blocked"})
    assert [r["key"] for r in server.records()] == ["C1", "GONE"]


# --- OAuth2 --------------------------------------------------------------------------------------------------


def oauth(server: LoyaltyServer, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "oauth2",
        "token_url": f"{server.url}/oauth/token",
        "client_id": "dealersync",
        "client_secret": CLIENT_SECRET,
    } | extra


@pytest.mark.parametrize("client_auth", ["basic", "body"])
def test_oauth2_token_is_fetched_once_reused_and_refreshed_after_401(server: LoyaltyServer, client_auth: str) -> None:
    sink = HttpSink(settings(server.url, oauth(server, client_auth=client_auth, scope="ingest")))
    for i in range(3):
        sink.push(make_batch(f"b{i}"))
    assert server.token_requests == 1

    server.revoke_tokens()
    assert sink.push(make_batch("b3")) == Ack()
    assert server.token_requests == 2
    assert [r.status for r in server.requests_to("/batches")][-2:] == [401, 200]
    assert len(server.batches) == 4


def test_oauth2_token_is_renewed_before_it_expires() -> None:
    now = [0.0]
    with LoyaltyServer(oauth_clients={"dealersync": CLIENT_SECRET}, token_ttl=100) as server:
        sink = HttpSink(settings(server.url, oauth(server)), clock=lambda: now[0])
        sink.push(make_batch("b1"))
        now[0] = 89.0  # inside the last 10% of the token's life
        sink.push(make_batch("b2"))
        assert server.token_requests == 1
        now[0] = 91.0
        sink.push(make_batch("b3"))
        assert server.token_requests == 2


def test_oauth2_bad_client_secret_is_permanent(server: LoyaltyServer) -> None:
    sink = HttpSink(settings(server.url, oauth(server, client_secret="nope-secret")))
    with pytest.raises(HttpSinkError) as failure:
        sink.push(make_batch())
    assert failure.value.permanent and failure.value.status == 401
    assert "token endpoint" in str(failure.value)
    assert server.requests_to("/batches") == []
    assert not sink.check()[0].ok


# --- secrets stay out of logs --------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["bearer", "api_key", "oauth2"])
def test_retry_logs_carry_no_secrets(server: LoyaltyServer, auth: str) -> None:
    choice = {
        "bearer": {"kind": "bearer", "token": TOKEN},
        "api_key": {"kind": "api_key", "key": API_KEY},
        "oauth2": oauth(server),
    }[auth]
    sink = HttpSink(settings(server.url + "/?code=query-secret", choice, max_attempts=4))
    server.fail_next(503, "reset", (429, 0), 500)
    with capture_logs() as logs, pytest.raises(SinkError) as failure:
        sink.push(make_batch())

    retries = [e for e in logs if e["event"] == "loyalty push failed, retrying"]
    assert [e["attempt"] for e in retries] == [1, 2, 3]
    assert all({"status", "attempt", "wait_seconds"} <= set(e) for e in retries)
    text = repr(logs) + str(failure.value)
    for secret in (TOKEN, API_KEY, CLIENT_SECRET, "query-secret", "Authorization", "Bearer"):
        assert secret not in text
    assert not any(t in text for t in server._tokens)  # the issued OAuth2 access tokens


@responses.activate
def test_error_excerpt_hides_an_echoed_secret() -> None:
    responses.post("http://loyalty.test/batches", status=400, body=f"bad request; you sent Bearer {TOKEN}")
    with pytest.raises(SinkError) as failure:
        HttpSink(settings("http://loyalty.test")).push(make_batch())
    assert TOKEN not in str(failure.value)
    assert "Bearer ***" in str(failure.value)


# --- Retry-After and ack parsing (responses) -----------------------------------------------------------------


def test_retry_after_values() -> None:
    now = dt.datetime(2015, 10, 21, 7, 27, 30, tzinfo=dt.UTC)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0.0
    assert retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds("-3") == 0.0
    for bad in (None, "", "soon", "inf", "nan"):
        assert retry_after_seconds(bad) is None


@responses.activate
def test_retry_after_http_date_and_cap() -> None:
    in_two_minutes = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120), usegmt=True)
    responses.post("http://loyalty.test/batches", status=503, headers={"Retry-After": in_two_minutes})
    responses.post("http://loyalty.test/batches", status=429, headers={"Retry-After": "3600"})
    responses.post("http://loyalty.test/batches", status=200, json={"accepted": 4, "rejected": []})
    slept: list[float] = []
    sink = HttpSink(settings("http://loyalty.test", max_retry_after_seconds=300), sleep=slept.append)
    assert sink.push(make_batch()) == Ack()
    assert 118 <= slept[0] <= 120
    assert slept[1] == 300


@responses.activate
def test_a_retry_after_beyond_the_time_budget_gives_up_without_waiting() -> None:
    responses.post("http://loyalty.test/batches", status=503, headers={"Retry-After": "120"})
    slept: list[float] = []
    sink = HttpSink(settings("http://loyalty.test", max_elapsed_seconds=60), sleep=slept.append)
    with pytest.raises(SinkError) as failure:
        sink.push(make_batch())
    assert not failure.value.permanent
    assert slept == []
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, "", Ack()),
        (202, "<html>ok</html>", Ack()),
        (200, '{"accepted": 3}', Ack()),
        (
            200,
            '{"accepted": 2, "rejected": [{"key": "C1", "reason": "bad"}, {"reason": "no key"}]}',
            Ack({"C1": "bad"}),
        ),
        (409, '{"error": "duplicate"}', Ack()),
    ],
)
def test_ack_bodies(status: int, body: str, expected: Ack) -> None:
    responses.post("http://loyalty.test/batches", status=status, body=body)
    assert HttpSink(settings("http://loyalty.test")).push(make_batch()) == expected


# --- check() -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_check(server: LoyaltyServer, sink: HttpSink) -> None:
    [ok] = sink.check()
    assert ok.ok and "HTTP 200" in ok.detail

    [bad] = HttpSink(settings(server.url, {"kind": "bearer", "token": "wrong"})).check()
    assert not bad.ok and "credentials rejected" in bad.detail and "401" in bad.detail

    [gone] = HttpSink(settings(f"http://127.0.0.1:{free_port()}")).check()
    assert not gone.ok and "cannot reach" in gone.detail

    [lost] = HttpSink(settings(server.url + "/nowhere")).check()
    assert not lost.ok and "HTTP 404" in lost.detail


# --- what the core holds -------------------------------------------------------------------------------------


def test_holdings_come_from_the_checkpoint(server: LoyaltyServer, sink: HttpSink) -> None:
    assert sink.holdings("logo") == Holdings(None)
    sink.push(make_batch("b-1", stream="accounts"))
    sink.push(make_batch("b-2", stream="invoices"))
    sink.push(make_batch("b-3", stream="orders", source="mikro"))
    held = sink.holdings("logo")
    assert held is not None and held.streams is not None
    assert set(held.streams) == {"accounts", "invoices"} and held.newest == max(held.streams.values())
    assert held.newest is not None and abs(held.newest - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert [r.status for r in server.requests_to("/checkpoint", "GET")] == [200, 200]
    # The base URL's own query string (a gateway's key) stays, and the source is asked for beside it.
    keyed = HttpSink(settings(server.url + "?code=q")).holdings("mikro")
    assert keyed is not None and keyed.streams is not None and set(keyed.streams) == {"orders"}


def test_a_core_without_the_checkpoint_cannot_tell() -> None:
    with LoyaltyServer(token=TOKEN, checkpoint=False) as core:
        assert HttpSink(settings(core.url)).holdings("logo") is None


def test_a_checkpoint_that_cannot_be_read_is_an_error(server: LoyaltyServer) -> None:
    with pytest.raises(HttpSinkError, match="401"):
        HttpSink(settings(server.url, {"kind": "bearer", "token": "wrong"})).holdings("logo")
    with pytest.raises(HttpSinkError, match="cannot ask the loyalty core"):
        HttpSink(settings(f"http://127.0.0.1:{free_port()}")).holdings("logo")


@responses.activate
@pytest.mark.parametrize(
    "body",
    [{"holds_batches": "yes"}, {"holds_batches": True}, {"holds_batches": True, "newest_batch_at": "yesterday"}, []],
)
def test_a_checkpoint_answer_dealersync_cannot_read_is_an_error(body: Any) -> None:
    responses.get("http://loyalty.test/checkpoint", json=body)
    with pytest.raises(HttpSinkError, match="not readable"):
        HttpSink(settings("http://loyalty.test")).holdings("logo")


def test_checkpoint_answers() -> None:
    assert parse_checkpoint({"holds_batches": False}) == Holdings(None)
    when = dt.datetime(2026, 12, 1, 10, 15, tzinfo=dt.UTC)
    source_only = parse_checkpoint({"holds_batches": True, "newest_batch_at": "2026-12-01T10:15:00Z"})
    assert source_only == Holdings(when) and source_only.holding(["accounts", "orders"]) == ["accounts", "orders"]
    by_stream = parse_checkpoint(
        {"holds_batches": True, "newest_batch_at": "2026-12-01T10:15:00Z", "streams": {"orders": "2026-12-01T10:15Z"}}
    )
    assert by_stream == Holdings(when, {"orders": when}) and by_stream.holding(["accounts", "orders"]) == ["orders"]


# --- TLS -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make test certificates and is not installed")
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_custom_ca_bundle(pki: Pki) -> None:
    with LoyaltyServer(certfile=pki.server_cert, keyfile=pki.server_key) as server:
        assert server.url.startswith("https://")
        trusted = HttpSink(settings(server.url, {"kind": "none"}, ca_bundle=pki.ca))
        assert trusted.push(make_batch()) == Ack()
        assert trusted.check()[0].ok

        default = HttpSink(settings(server.url, {"kind": "none"}))
        with pytest.raises(SinkError) as failure:
            default.push(make_batch("b2"))
        assert not failure.value.permanent
        assert "ca_bundle" in str(failure.value)
        [check] = default.check()
        assert not check.ok and "TLS" in check.detail and "ca_bundle" in check.detail
    assert list(server.batches) == ["batch-1"]


def test_client_certificate(pki: Pki) -> None:
    with LoyaltyServer(certfile=pki.server_cert, keyfile=pki.server_key, client_ca=pki.ca) as server:
        mtls = settings(server.url, {"kind": "none"}, ca_bundle=pki.ca)
        assert HttpSink(mtls.model_copy(update={"client_cert": pki.client_cert, "client_key": pki.client_key})).push(
            make_batch()
        )
        with pytest.raises(SinkError):
            HttpSink(mtls).push(make_batch("b2"))
    assert list(server.batches) == ["batch-1"]


# --- settings ------------------------------------------------------------------------------------------------


def test_secret_from_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    s = HttpSinkSettings(kind="http", url="https://x.test", auth={"kind": "bearer", "token_file": str(token_file)})
    assert s.auth.token.get_secret_value() == TOKEN  # type: ignore[union-attr]
    assert TOKEN not in repr(s)


@pytest.mark.parametrize(
    "auth",
    [
        {"kind": "bearer"},
        {"kind": "bearer", "token": "a", "token_file": "/etc/hostname"},
        {"kind": "bearer", "token_file": "/no/such/file"},
        {"kind": "api_key", "key_file": "/no/such/file"},
        {"kind": "oauth2", "token_url": "ftp://x", "client_id": "c", "client_secret": "s"},
        {"kind": "basic"},
    ],
)
def test_bad_auth_settings(auth: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HttpSinkSettings(kind="http", url="https://x.test", auth=auth)


@pytest.mark.parametrize(
    "overrides",
    [
        {"url": "https://user:pw@x.test"},
        {"url": "x.test/batches"},
        {"verify": False, "ca_bundle": "/etc/hostname"},
        {"ca_bundle": "/no/such/ca.pem"},
        {"client_key": "/etc/hostname"},
    ],
)
def test_bad_settings(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HttpSinkSettings(**{"kind": "http", "url": "https://x.test", "auth": {"kind": "none"}} | overrides)


@pytest.mark.parametrize(
    ("field", "value"),
    [("compression", "brotli"), ("compression", "ZSTD"), ("compress_level", 0), ("compress_level", 10)],
)
def test_bad_compression_settings_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as failure:
        HttpSinkSettings(kind="http", url="https://x.test", auth={"kind": "none"}, **{field: value})
    assert [error["loc"] for error in failure.value.errors()] == [(field,)]


def test_compression_defaults() -> None:
    s = HttpSinkSettings(kind="http", url="https://x.test", auth={"kind": "none"})
    assert (s.compression, s.compress_level) == ("auto", 1)


def test_build_sink_http() -> None:
    parsed = TypeAdapter(SinkSettings).validate_python(
        {"kind": "http", "url": "https://x.test", "auth": {"kind": "none"}}
    )
    assert isinstance(build_sink(parsed), HttpSink)


# --- the stand-in as its own process -------------------------------------------------------------------------


def test_standalone_server_stores_to_file_and_dedups_across_restarts(tmp_path: Path) -> None:
    store = tmp_path / "received.ndjson"
    batch = make_batch()
    for _ in range(2):
        process, url = spawn(store, "--token", TOKEN)
        with process:  # closes its stdout pipe and reaps it
            try:
                assert HttpSink(settings(url)).push(batch) == Ack()
            finally:
                process.terminate()
    assert read_store(store) == {"batch-1": envelopes(batch)}
    assert len(store.read_text().splitlines()) == 1
