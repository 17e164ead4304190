"""A real stand-in for the loyalty core's ingestion API (docs/openapi/loyalty-ingest.yaml) on loopback.

In-process, for tests::

    with LoyaltyServer(token="t0k") as server:
        server.fail_next(503, (429, 1), "timeout", "reset")
        ...push to server.url...
        assert server.records() == [...]

As its own process, for crash drills (a second process inspects what arrived)::

    python -m tests.loyalty_server --port 0 --store /tmp/received.ndjson --token t0k

It prints `listening on <url>` once ready, appends each newly stored batch to the store file
(one JSON line, fsync'd) and reloads the file on start, so it dedups across its own restarts
like the real service. `spawn()` and `read_store()` wrap both ends.

What it does like the real service: decodes (zstd, gzip or none) and validates the body, dedups on
Idempotency-Key (a resend is answered with the original result, or 409 with `duplicate_status=409`,
and is not stored twice), checks bearer tokens / API keys / OAuth2 access tokens it issued at
/oauth/token, answers rejected keys, and says at GET /checkpoint?source= which batches of a source it
holds (`checkpoint=False`, `--no-checkpoint`: a core that predates it, answering 404). It names the
content codings it takes in an Accept-Encoding header on its answers and answers 415 to any other
(`encodings=("gzip",), advertise=False`: a core that predates zstd). Records of rejected keys are not
stored. Faults (`fail_next`) apply to POST /batches only, in order, one per request,
before authentication (as a gateway would).

Files (product images): HEAD /files/{sha256} says whether it holds one (200, or 404); PUT /files/{sha256}
stores the body if its SHA-256 and Content-Digest match the path (201; 200 when held already; 422 otherwise).
A batch's record that names a `sha256` the server does not hold is rejected (the file must come first).
`fail_files_next` injects statuses on PUT /files, in order. Files are kept in memory only.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import hashlib
import json
import os
import secrets
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import zstandard

from mapping.schema import SCHEMA_VERSION

__all__ = ["Fault", "LoyaltyServer", "Pki", "RequestLog", "main", "make_pki", "read_store", "spawn"]

# An int status; (status, Retry-After value); or "timeout" (store, then answer after `timeout_sleep`),
# "reset" (drop the connection unanswered, nothing stored), "reset_after_store" (store, then drop).
Fault = int | tuple[int, str | int | float] | str
_ACTIONS = {"timeout", "reset", "reset_after_store"}
_ENVELOPE_FIELDS = {"stream", "source", "key", "op", "schema_version", "data"}
_BATCH_FIELDS = ("batch_id", "source", "stream", "schema_version")


class RequestLog(NamedTuple):
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-cased names; auth values replaced by "<redacted>"
    status: int  # 0 when the connection was dropped unanswered


class _Reply(NamedTuple):
    status: int
    body: dict[str, Any]


class LoyaltyServer:
    def __init__(
        self,
        *,
        token: str | None = None,
        api_key: str | None = None,
        api_key_header: str = "X-API-Key",
        oauth_clients: Mapping[str, str] | None = None,
        token_ttl: int = 3600,
        reject_keys: Mapping[str, str] | Iterable[str] = (),
        duplicate_status: int = 200,
        timeout_sleep: float = 1.0,
        ack_delay: float = 0.0,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        client_ca: Path | None = None,
        store: Path | None = None,
        checkpoint: bool = True,
        encodings: Sequence[str] = ("zstd", "gzip"),
        advertise: bool = True,
        max_body_bytes: int = 64 * 1024 * 1024,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.api_key = api_key
        self.api_key_header = api_key_header.lower()
        self.oauth_clients = dict(oauth_clients or {})
        self.token_ttl = token_ttl
        self.reject_keys = reject_keys
        self.duplicate_status = duplicate_status
        self.timeout_sleep = timeout_sleep
        self.ack_delay = ack_delay  # stored, not yet acknowledged: the window a crash test aims at
        self.max_body_bytes = max_body_bytes
        self.store = store
        self.checkpoint = checkpoint
        self.encodings = tuple(encodings)  # besides identity; tests may change both to play a rollback
        self.advertise = advertise
        self.batches: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # sha256 -> content type, bytes
        self._file_faults: deque[int] = deque()
        self.received: dict[str, tuple[str, str, str]] = {}  # batch id -> source, stream, received_at
        self.requests: list[RequestLog] = []
        self.token_requests = 0
        self.duplicates = 0
        self.errors: list[str] = []  # handler crashes and TLS handshake failures, for assertions
        self._replies: dict[str, _Reply] = {}
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._faults: deque[Fault] = deque()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        if store is not None:
            self._load_store(store)
        self._httpd = _Server((host, port), _Handler, self, _tls_context(certfile, keyfile, client_ca))
        scheme = "https" if certfile else "http"
        self.url = f"{scheme}://{host}:{self._httpd.server_address[1]}"

    # lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> LoyaltyServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> LoyaltyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # test controls ------------------------------------------------------------------------------------------

    def fail_next(self, *faults: Fault) -> None:
        for fault in faults:
            if isinstance(fault, str) and fault not in _ACTIONS:
                raise ValueError(f"unknown fault {fault!r}; use a status, (status, retry_after) or one of {_ACTIONS}")
        with self._lock:
            self._faults.extend(faults)

    def fail_files_next(self, *statuses: int) -> None:
        with self._lock:
            self._file_faults.extend(statuses)

    def revoke_tokens(self) -> None:
        """Forget every OAuth2 access token issued, as after a key rotation: the next use gets 401."""
        with self._lock:
            self._tokens.clear()

    def records(self) -> list[dict[str, Any]]:
        """All stored envelopes, in arrival order."""
        with self._lock:
            return [record for records in self.batches.values() for record in records]

    def requests_to(self, path: str, method: str = "POST") -> list[RequestLog]:
        with self._lock:
            return [r for r in self.requests if r.path == path and r.method == method]

    # request handling (called from handler threads) ---------------------------------------------------------

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _log(self, method: str, path: str, headers: Mapping[str, str], status: int) -> None:
        secret_headers = {"authorization", "proxy-authorization", "cookie", self.api_key_header}
        shown = {k.lower(): ("<redacted>" if k.lower() in secret_headers else v) for k, v in headers.items()}
        with self._lock:
            self.requests.append(RequestLog(method, path, shown, status))

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        if not (self.token or self.api_key or self.oauth_clients):
            return True
        if self.api_key and headers.get(self.api_key_header) == self.api_key:
            return True
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return False
        if self.token and secrets.compare_digest(credential, self.token):
            return True
        with self._lock:
            expiry = self._tokens.get(credential)
        return expiry is not None and time.monotonic() < expiry

    def _issue_token(self, headers: Mapping[str, str], body: bytes) -> _Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return _Reply(400, {"error": "unsupported_grant_type"})
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        expected = self.oauth_clients.get(client_id or "")
        if expected is None or secret is None or not secrets.compare_digest(expected, secret):
            return _Reply(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
            self.token_requests += 1
        return _Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl})

    def _ingest(self, headers: Mapping[str, str], raw: bytes) -> _Reply:
        key = headers.get("idempotency-key")
        if not key:
            return _Reply(400, {"error": "Idempotency-Key header is required"})
        if not headers.get("content-type", "").startswith("application/json"):
            return _Reply(415, {"error": "Content-Type must be application/json"})
        coding = headers.get("content-encoding", "identity").strip().lower()
        if coding != "identity" and coding not in self.encodings:
            return _Reply(415, {"error": f"Content-Encoding {coding} is not supported"})
        try:
            document = json.loads(_decode(raw, coding))
        except (OSError, EOFError, zlib.error, zstandard.ZstdError, ValueError) as exc:
            return _Reply(400, {"error": f"body is not {coding} JSON: {exc}"})
        problems = _validate(document, key)
        if problems:
            return _Reply(422, {"error": "invalid batch", "problems": problems})
        with self._lock:
            if key in self._replies:
                self.duplicates += 1
                original = self._replies[key]
                return _Reply(409, original.body) if self.duplicate_status == 409 else original
            return self._store(key, document)

    def _put_file(self, sha: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        with self._lock:
            fault = self._file_faults.popleft() if self._file_faults else None
            if fault is not None:
                return _Reply(fault, {"error": "injected fault"})
            if sha in self.files:
                return _Reply(200, {"sha256": sha, "stored": False})
            digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
            if hashlib.sha256(body).hexdigest() != sha or headers.get("content-digest", digest) != digest:
                return _Reply(422, {"error": "the body's SHA-256 is not the one in the path or Content-Digest"})
            self.files[sha] = (headers.get("content-type", "application/octet-stream"), body)
            return _Reply(201, {"sha256": sha, "stored": True})

    def _store(self, key: str, document: dict[str, Any]) -> _Reply:
        refused = self._refused_keys()
        for r in document["records"]:  # a record naming a file the server does not hold: the file must come first
            named = (r.get("data") or {}).get("sha256")
            if named is not None and named not in self.files:
                refused[r["key"]] = f"file {named} was not uploaded before the record"
        rejected = [{"key": r["key"], "reason": refused[r["key"]]} for r in document["records"] if r["key"] in refused]
        kept = [r for r in document["records"] if r["key"] not in refused]
        reply = _Reply(200, {"accepted": len(kept), "rejected": rejected})
        received_at = dt.datetime.now(dt.UTC).isoformat()
        if self.store is not None:
            line = {
                **{f: document[f] for f in _BATCH_FIELDS},
                "received_at": received_at,
                "reply": reply.body,
                "records": kept,
            }
            with self.store.open("ab") as handle:
                handle.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        self.batches[key] = kept
        self.received[key] = (document["source"], document["stream"], received_at)
        self._replies[key] = reply
        return reply

    def _checkpoint(self, source: str) -> _Reply:
        with self._lock:
            streams: dict[str, str] = {}
            for batch_source, stream, received_at in self.received.values():
                if batch_source == source and received_at > streams.get(stream, ""):
                    streams[stream] = received_at
        if not streams:
            return _Reply(200, {"source": source, "holds_batches": False, "newest_batch_at": None, "streams": {}})
        newest = max(streams.values())
        return _Reply(200, {"source": source, "holds_batches": True, "newest_batch_at": newest, "streams": streams})

    def _refused_keys(self) -> dict[str, str]:
        if isinstance(self.reject_keys, Mapping):
            return dict(self.reject_keys)
        return {key: "rejected by the test server" for key in self.reject_keys}

    def _load_store(self, store: Path) -> None:
        for line in _store_lines(store):
            self.batches[line["batch_id"]] = line["records"]
            self.received[line["batch_id"]] = (line["source"], line["stream"], line["received_at"])
            self._replies[line["batch_id"]] = _Reply(200, line.get("reply", {"accepted": len(line["records"])}))


def _decode(raw: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.decompress(raw)
    if coding == "zstd":
        # decompressobj, unlike decompress(), also reads frames that do not state their content size.
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    return raw


def _validate(document: Any, key: str) -> list[str]:
    """What is wrong with a POST /batches body, at most 20 problems; empty when it is fine."""
    if not isinstance(document, dict):
        return ["body must be a JSON object"]
    problems = [f"{f} must be a non-empty string" for f in _BATCH_FIELDS if not _text(document.get(f))]
    records = document.get("records")
    if not isinstance(records, list):
        problems.append("records must be an array")
    if problems:
        return problems
    if document["batch_id"] != key:
        problems.append("batch_id differs from the Idempotency-Key header")
    if document["schema_version"].split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        problems.append(f"schema_version {document['schema_version']} is not compatible with {SCHEMA_VERSION}")
    for i, record in enumerate(records):
        problems.extend(f"records[{i}]: {p}" for p in _record_problems(record, document))
        if len(problems) >= 20:
            break
    return problems[:20]


def _record_problems(record: Any, batch: dict[str, Any]) -> list[str]:
    if not isinstance(record, dict):
        return ["must be an object"]
    problems = [f"unknown field {f}" for f in sorted(set(record) - _ENVELOPE_FIELDS)]
    problems += [f"{f} must equal the batch's" for f in ("stream", "source") if record.get(f) != batch[f]]
    if not _text(record.get("key")):
        problems.append("key must be a non-empty string")
    if record.get("op") not in ("upsert", "delete"):
        problems.append("op must be upsert or delete")
    if record.get("schema_version") != batch["schema_version"]:
        problems.append("schema_version must equal the batch's")
    data = record.get("data")
    if record.get("op") == "upsert" and not isinstance(data, dict):
        problems.append("data must be an object for op=upsert")
    if record.get("op") == "delete" and data is not None:
        problems.append("data must be null for op=delete")
    return problems


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


# --- HTTP plumbing -------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler asleep in a "timeout" fault must not hold up stop()

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], loyalty: LoyaltyServer, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(address, handler)
        self.loyalty = loyalty
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # Handshake in the handler thread, not in accept(): a client that fails verification must not stall the loop.
        request.settimeout(5)
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.loyalty.errors.append(f"TLS handshake failed: {exc}")
            return
        try:
            super().finish_request(tls_socket, client_address)
        finally:
            tls_socket.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):  # clients hanging up are routine here
            self.loyalty.errors.append(repr(exc))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real server: exercises the client's connection reuse
    server: _Server
    timeout = 10  # idle keep-alive connections end after this

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read server.requests instead

    @property
    def loyalty(self) -> LoyaltyServer:
        return self.server.loyalty

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.loyalty.max_body_bytes:
            return None
        return self.rfile.read(length)

    def do_GET(self) -> None:
        parts, headers = urlsplit(self.path), self._headers()
        path = parts.path
        source = parse_qs(parts.query).get("source", [""])[0]
        if path not in ("/health", "/checkpoint") or (path == "/checkpoint" and not self.loyalty.checkpoint):
            reply = _Reply(404, {"error": "not found"})
        elif not self.loyalty._authorized(headers):
            reply = _Reply(401, {"error": "unauthorized"})
        elif path == "/health":
            reply = _Reply(200, {"status": "ok", "schema_version": SCHEMA_VERSION})
        elif not source:
            reply = _Reply(400, {"error": "the source parameter is required"})
        else:
            reply = self.loyalty._checkpoint(source)
        self.loyalty._log("GET", path, headers, reply.status)
        self._send(reply)

    def do_HEAD(self) -> None:
        path, headers = urlsplit(self.path).path, self._headers()
        sha = path.removeprefix("/files/")
        if not self.loyalty._authorized(headers):
            status = 401
        else:
            with self.loyalty._lock:
                status = 200 if path.startswith("/files/") and sha in self.loyalty.files else 404
        self.loyalty._log("HEAD", path, headers, status)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self) -> None:
        path, headers = urlsplit(self.path).path, self._headers()
        body = self._body()
        if body is None:
            self.close_connection = True
            return self._answer(path, headers, _Reply(413, {"error": "body too large"}), method="PUT")
        if not path.startswith("/files/"):
            return self._answer(path, headers, _Reply(404, {"error": "not found"}), method="PUT")
        if not self.loyalty._authorized(headers):
            return self._answer(path, headers, _Reply(401, {"error": "unauthorized"}), method="PUT")
        reply = self.loyalty._put_file(path.removeprefix("/files/"), headers, body)
        return self._answer(path, headers, reply, method="PUT")

    def do_POST(self) -> None:
        path, headers = urlsplit(self.path).path, self._headers()
        body = self._body()
        if body is None:
            self.close_connection = True  # we did not read the body, so the connection is unusable
            return self._answer(path, headers, _Reply(413, {"error": "body too large"}))
        if path == "/oauth/token":
            return self._answer(path, headers, self.loyalty._issue_token(headers, body))
        if path != "/batches":
            return self._answer(path, headers, _Reply(404, {"error": "not found"}))
        fault = self.loyalty._next_fault()
        if fault == "reset":
            return self._reset(path, headers)
        if isinstance(fault, int | tuple):
            status, retry_after = fault if isinstance(fault, tuple) else (fault, None)
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return self._answer(path, headers, _Reply(status, {"error": "injected fault"}), extra, from_core=False)
        if not self.loyalty._authorized(headers):
            return self._answer(path, headers, _Reply(401, {"error": "unauthorized"}), {"WWW-Authenticate": "Bearer"})
        reply = self.loyalty._ingest(headers, body)
        if fault == "reset_after_store":
            return self._reset(path, headers)
        if fault == "timeout":
            self.loyalty._log("POST", path, headers, reply.status)  # logged now: the client is gone by the answer
            time.sleep(self.loyalty.timeout_sleep)
            return self._send(reply)
        if self.loyalty.ack_delay:
            time.sleep(self.loyalty.ack_delay)
        return self._answer(path, headers, reply)

    def _answer(
        self,
        path: str,
        headers: dict[str, str],
        reply: _Reply,
        extra: dict[str, str] | None = None,
        *,
        from_core: bool = True,
        method: str = "POST",
    ) -> None:
        self.loyalty._log(method, path, headers, reply.status)
        self._send(reply, extra, from_core=from_core)

    def _send(self, reply: _Reply, extra: dict[str, str] | None = None, *, from_core: bool = True) -> None:
        """`from_core=False`: an injected fault, answered as a gateway would, without the core's headers."""
        payload = json.dumps(reply.body).encode()
        own = {"Content-Type": "application/json"}
        if from_core and self.loyalty.advertise:
            own["Accept-Encoding"] = ", ".join(self.loyalty.encodings)  # RFC 7694: what request bodies may be
        try:
            self.send_response(reply.status)
            for name, value in {**own, **(extra or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client left (e.g. after its read timeout)

    def _reset(self, path: str, headers: dict[str, str]) -> None:
        self.loyalty._log("POST", path, headers, 0)
        # Linger 0 makes close() send RST instead of FIN: the client sees "connection reset", not a clean end.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _tls_context(certfile: Path | None, keyfile: Path | None, client_ca: Path | None) -> ssl.SSLContext | None:
    if certfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


# --- certificates for TLS tests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A private CA with a server certificate for 127.0.0.1/localhost and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_pki(folder: Path) -> Pki:
    """Create a test CA and certificates with the openssl CLI; raises FileNotFoundError when openssl is absent."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=dealersync test CA",
        *ca_ext)  # fmt: skip
    for name, usage, san in (("server", "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
                             ("client", "clientAuth", "")):  # fmt: skip
        (folder / f"{name}.ext").write_text(f"basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n{san}")
        run("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=dealersync-{name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
            str(secrets.randbits(63)), "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext")  # fmt: skip
    return Pki(
        folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem", folder / "client.key"
    )


# --- standalone process --------------------------------------------------------------------------------------


def _store_lines(store: Path) -> list[dict[str, Any]]:
    if not store.exists():
        return []
    lines = []
    for raw in store.read_bytes().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            break  # a line torn by a kill mid-write: everything after it is suspect
    return lines


def read_store(store: Path) -> dict[str, list[dict[str, Any]]]:
    """What a standalone server stored: batch id -> accepted envelopes, in arrival order."""
    return {line["batch_id"]: line["records"] for line in _store_lines(store)}


def spawn(store: Path, *args: str, timeout: float = 10.0) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m tests.loyalty_server` on a free port; return the process and its URL once it listens."""
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.loyalty_server", "--port", "0", "--store", str(store), *args],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))},
    )
    stdout = process.stdout
    assert stdout is not None
    first: list[str] = []
    # readline() has no timeout of its own: read in a thread so a server that never starts cannot hang the test.
    reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not first or not first[0].startswith("listening on "):
        process.kill()
        raise RuntimeError(f"loyalty server did not start: {first[:1]}")
    return process, first[0].removeprefix("listening on ").strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.loyalty_server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--store", type=Path, required=True, help="NDJSON file of stored batches (appended)")
    parser.add_argument("--token", help="expected bearer token")
    parser.add_argument("--api-key", help="expected API key (X-API-Key)")
    parser.add_argument("--oauth-client", action="append", default=[], metavar="ID:SECRET")
    parser.add_argument("--reject-key", action="append", default=[], metavar="KEY")
    parser.add_argument("--duplicate-status", type=int, choices=(200, 409), default=200)
    parser.add_argument("--fail-next", action="append", default=[], metavar="STATUS|timeout|reset")
    parser.add_argument("--timeout-sleep", type=float, default=1.0)
    parser.add_argument("--ack-delay", type=float, default=0.0, help="seconds between storing a batch and answering")
    parser.add_argument("--no-checkpoint", action="store_true", help="answer 404 at /checkpoint, like an older core")
    args = parser.parse_args(argv)
    server = LoyaltyServer(
        host=args.host,
        port=args.port,
        store=args.store,
        token=args.token,
        api_key=args.api_key,
        oauth_clients=dict(c.split(":", 1) for c in args.oauth_client),
        reject_keys=args.reject_key,
        duplicate_status=args.duplicate_status,
        timeout_sleep=args.timeout_sleep,
        ack_delay=args.ack_delay,
        checkpoint=not args.no_checkpoint,
    )
    server.fail_next(*(int(f) if f.isdigit() else f for f in args.fail_next))
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with server:
        print(f"listening on {server.url}", flush=True)
        stopping.wait()


if __name__ == "__main__":
    main()
