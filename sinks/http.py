"""A sink that POSTs each batch to the loyalty core's ingestion API (docs/openapi/loyalty-ingest.yaml).

One request per batch: `POST <url>/batches`, compressed JSON, `Idempotency-Key: <batch id>`, so a
resend after a crash or a lost response is recognised by the server and not applied twice.

Compression (`compression`): every core takes gzip; zstd costs a seventh of gzip -6's CPU for the same
size, so `auto` switches to it once the core names it in an `Accept-Encoding` response header (RFC 7694)
on any answer (a batch's, /checkpoint's, /health's). Until then it sends gzip: an older core may answer
an encoding it does not know with 400, which would count against the batch itself. A 415 to a zstd
batch (a node behind the same URL that lacks it, a rollback) gets the same batch gzip'd under the same
Idempotency-Key at once, and gzip from then on for the life of the sink.

Retries inside one push cover passing faults: 429, 5xx, connection errors and timeouts, with
full-jitter exponential backoff, or exactly the server's Retry-After when it sends one. Any
other 4xx means this batch or these credentials will not be taken by resending: the push raises
a permanent SinkError at once. 409 means the server already has this batch id: that is success.

`GET <url>/checkpoint?source=<name>` asks whether the core already holds batches of a source (per
stream, with the newest batch's time): asked only when the state store has no record of a stream,
so that a lost state store is noticed before the whole history is sent again. A core without it
(404, 405, 501) cannot tell; any other failure is an error, because the batches a sync would put in
the outbox meanwhile would be sent anyway once the core answers.

push may be called from any thread, and from several at once (the scheduler's sources share one sink):
the session's connection pool is thread-safe, it keeps no cookies, the OAuth2 token is locked, and the
encoding learnt is one flag, whose race costs at most one batch sent gzip'd or one 415.

Nothing secret reaches the logs or error messages: no headers, tokens, bodies, or the URL's
query string (some gateways carry a key there, e.g. `?code=`).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import http.cookiejar
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
import structlog
import zstandard
from pydantic import BaseModel, ConfigDict, Field, FilePath, PositiveFloat, field_validator, model_validator
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from connectors.base import CheckResult
from connectors.http import (
    USER_AGENT,
    ApiKeyAuth,
    Authenticator,
    BearerAuth,
    NoAuth,
    OAuth2Auth,
    RetryableStatus,
    RetryAfterOrBackoff,
    authenticator,
    check_url,
    describe_error,
    excerpt,
    is_retryable,
    retry_after_seconds,
)
from mapping.schema import SCHEMA_VERSION
from sinks.base import Ack, Attachment, Batch, Holdings, Sink, SinkError

__all__ = [
    "ApiKeyAuth",
    "BearerAuth",
    "Coding",
    "Compression",
    "HttpSink",
    "HttpSinkError",
    "HttpSinkSettings",
    "NoAuth",
    "OAuth2Auth",
    "accepted_codings",
    "build_body",
    "encode_body",
    "parse_checkpoint",
    "retry_after_seconds",
]

BATCHES_PATH = "/batches"
FILES_PATH = "/files"
HEALTH_PATH = "/health"
CHECKPOINT_PATH = "/checkpoint"
# Answers of a core that predates the checkpoint endpoint: it cannot tell what it holds.
_NO_CHECKPOINT = frozenset({404, 405, 501})
# zstd's own default level: as small as gzip -6 on our NDJSON for a seventh of its CPU (README, HTTP sink).
ZSTD_LEVEL = 3

Compression = Literal["auto", "zstd", "gzip", "none"]
Coding = Literal["zstd", "gzip", "identity"]

log = structlog.get_logger(__name__)


# --- settings ------------------------------------------------------------------------------------------------


AuthSettings = Annotated[NoAuth | BearerAuth | ApiKeyAuth | OAuth2Auth, Field(discriminator="kind")]


class HttpSinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["http"]
    url: str  # base URL; the sink appends /batches and /health to its path and keeps any query string
    auth: AuthSettings  # required: "none" must be a stated choice, not an oversight
    verify: bool = True
    ca_bundle: FilePath | None = None  # PEM of an internal CA; replaces the system CAs when set
    client_cert: FilePath | None = None
    client_key: FilePath | None = None
    timeout_seconds: tuple[PositiveFloat, PositiveFloat] = (10.0, 60.0)  # (connect, read)
    max_attempts: int = Field(8, ge=1)
    max_elapsed_seconds: PositiveFloat = 900.0
    backoff_multiplier: PositiveFloat = 1.0
    backoff_max_seconds: PositiveFloat = 60.0
    max_retry_after_seconds: float = Field(300.0, ge=0)
    # auto: zstd once the core says it takes it, else gzip; zstd: from the first batch, for a core known to
    # take it (a 415 is then an error); none: no compression, for a receiver on the same host or LAN.
    compression: Compression = "auto"
    # gzip's level: 1 costs under a third of 6's CPU for a body about 35% larger (README, HTTP sink).
    compress_level: int = Field(1, ge=1, le=9)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_url(value, "url")

    @model_validator(mode="after")
    def _check_tls(self) -> HttpSinkSettings:
        if self.ca_bundle is not None and not self.verify:
            raise ValueError("ca_bundle is set but verify is false: drop one of them")
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("client_key needs client_cert")
        return self


# --- wire helpers --------------------------------------------------------------------------------------------


class HttpSinkError(SinkError):
    """A SinkError that also says which HTTP status (if any) caused it, e.g. so the engine can pause on 401."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message, permanent=permanent, about_batch=permanent and status in _BATCH_STATUSES)
        self.status = status


# Refusals of a batch's content; 401/403/404 and the like would refuse every batch alike.
_BATCH_STATUSES = frozenset({400, 413, 422})


def build_body(batch: Batch) -> bytes:
    """The request JSON, made by splicing the NDJSON lines into an array: no parsing of large payloads."""
    head = json.dumps(
        {"batch_id": batch.id, "source": batch.source, "stream": batch.stream, "schema_version": SCHEMA_VERSION},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    # JSON text never holds a raw newline, so splitting on b"\n" is exact; filter drops the final empty piece.
    records = b",".join(filter(None, batch.payload.split(b"\n")))
    return b"".join((head[:-1].encode(), b',"records":[', records, b"]}"))


def encode_body(body: bytes, coding: Coding, gzip_level: int) -> bytes:
    if coding == "zstd":
        # A compressor per call: they are cheap (about 0.1 ms) and one must not be shared by two threads at once.
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)
    if coding == "gzip":
        return gzip.compress(body, compresslevel=gzip_level, mtime=0)
    return body


def accepted_codings(value: str) -> frozenset[str]:
    """The content codings an `Accept-Encoding` value names as acceptable (q above 0), lower-cased.

    A wildcard is kept as "*" but never read as zstd: the sink uses zstd only where the core names it.
    """
    codings = set()
    for item in value.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        weights = [p.partition("=")[2].strip() for p in params if p.lower().startswith("q=")]
        try:
            acceptable = not weights or float(weights[0]) > 0
        except ValueError:
            acceptable = False
        if coding and acceptable:
            codings.add(coding.lower())
    return frozenset(codings)


def parse_checkpoint(document: Any) -> Holdings:
    """A `GET /checkpoint` answer; ValueError when it is not one (a guess could resend a whole history)."""
    if not isinstance(document, dict) or not isinstance(document.get("holds_batches"), bool):
        raise ValueError("holds_batches must be true or false")
    if not document["holds_batches"]:
        return Holdings(None)
    streams = document.get("streams")
    if streams is not None and not isinstance(streams, dict):
        raise ValueError("streams must be an object")
    try:
        newest = dt.datetime.fromisoformat(document["newest_batch_at"])
        by_stream = None if streams is None else {str(k): dt.datetime.fromisoformat(v) for k, v in streams.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"newest_batch_at and streams must hold ISO 8601 times: {exc}") from None
    return Holdings(newest, by_stream)


def _parse_ack(response: requests.Response) -> Ack:
    if not response.content.strip():
        return Ack()
    try:
        document = response.json()
    except ValueError:
        return Ack()
    rejected = document.get("rejected") if isinstance(document, dict) else None
    if not isinstance(rejected, list):
        return Ack()
    return Ack(
        rejected={
            str(item["key"]): str(item.get("reason", ""))
            for item in rejected
            if isinstance(item, dict) and item.get("key") is not None
        }
    )


# --- the sink ------------------------------------------------------------------------------------------------


class HttpSink(Sink):
    kind = "http"

    def __init__(
        self,
        settings: HttpSinkSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._sleep = sleep  # injectable so tests can observe waits without spending them
        self._parts = urlsplit(settings.url)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        # The API authenticates by header; a gateway's cookies would only be a jar that pushing threads share.
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # Passed per request: requests lets REQUESTS_CA_BUNDLE override a session-level verify path.
        self._verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else settings.verify
        self._cert: tuple[str, str] | str | None = None
        if settings.client_cert is not None:
            cert = str(settings.client_cert)
            self._cert = (cert, str(settings.client_key)) if settings.client_key else cert
        self._auth = self._authenticator(settings.auth, clock)
        # What `auto` has learnt: the core's latest Accept-Encoding named zstd; a 415 to zstd ends that for good.
        self._takes_zstd = False
        self._zstd_refused = False

    # where --------------------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return urlunsplit(self._parts._replace(path=self._parts.path.rstrip("/") + path))

    @property
    def endpoint(self) -> str:
        """The base URL without its query string: what logs and messages may show."""
        p = self._parts
        return urlunsplit((p.scheme, p.netloc, p.path.rstrip("/"), "", ""))

    # transport ----------------------------------------------------------------------------------------------

    def _authenticator(self, auth: AuthSettings, clock: Callable[[], float]) -> Authenticator:
        def refused(message: str, status: int) -> Exception:
            return HttpSinkError(message, permanent=True, status=status)

        return authenticator(auth, partial(self._raw, "POST"), clock, refused)

    def _raw(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self._session.request(
            method,
            url,
            timeout=self.settings.timeout_seconds,
            verify=self._verify,
            cert=self._cert,
            allow_redirects=False,  # a redirect would silently turn our POST into a GET elsewhere
            **kwargs,
        )

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        """One authenticated request; a 401 under OAuth2 gets one token refresh and one resend."""
        url = self._url(path)
        response = self._raw(method, url, data=body, params=params, headers={**(headers or {}), **self._auth.headers()})
        if response.status_code == 401 and self._auth.refresh():
            log.info("loyalty core refused the access token, fetching a new one", endpoint=self.endpoint)
            response = self._raw(
                method, url, data=body, params=params, headers={**(headers or {}), **self._auth.headers()}
            )
        self._learn(response)
        return response

    # content coding -----------------------------------------------------------------------------------------

    @property
    def coding(self) -> Coding:
        """The content coding the next batch goes in."""
        compression = self.settings.compression
        if compression == "none":
            return "identity"
        if compression == "zstd" or (compression == "auto" and self._takes_zstd):
            return "zstd"
        return "gzip"

    def _learn(self, response: requests.Response) -> None:
        # Absent, the header says nothing (older cores, or a gateway's own answer): keep what is known.
        advertised = response.headers.get("Accept-Encoding")
        if self.settings.compression != "auto" or advertised is None or self._zstd_refused:
            return
        takes_zstd = "zstd" in accepted_codings(advertised)
        if takes_zstd != self._takes_zstd:
            log.info("loyalty core content codings", endpoint=self.endpoint, accepts=advertised, zstd=takes_zstd)
        self._takes_zstd = takes_zstd

    # push ---------------------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> Ack:
        plain = build_body(batch)
        encoded: dict[Coding, bytes] = {}

        def body(coding: Coding) -> bytes:
            # Compressed once per coding, however often a retry resends it.
            if coding not in encoded:
                encoded[coding] = encode_body(plain, coding, self.settings.compress_level)
            return encoded[coding]

        s = self.settings
        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            wait=RetryAfterOrBackoff(
                wait_random_exponential(multiplier=s.backoff_multiplier, max=s.backoff_max_seconds),
                s.max_retry_after_seconds,
            ),
            stop=stop_after_attempt(s.max_attempts) | stop_before_delay(s.max_elapsed_seconds),
            before_sleep=partial(self._log_retry, batch),
            sleep=self._sleep,
        )
        started = time.monotonic()
        try:
            for file in batch.files:  # before the records that name them: the core never holds a dangling sha256
                retrying(self._put_file, batch, file)
            ack = retrying(self._attempt, batch, body)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise HttpSinkError(
                f"loyalty core at {self.endpoint} did not take batch {batch.id} after {exc.last_attempt.attempt_number}"
                f" attempts in {time.monotonic() - started:.1f}s; last error: {describe_error(last or exc)}",
                status=getattr(last, "status", None),
            ) from None
        except requests.RequestException as exc:
            raise HttpSinkError(
                f"cannot send batch {batch.id} to {self.endpoint}: {describe_error(exc)}{self._tls_hint(exc)}"
            ) from None
        log.info(
            "batch pushed", batch_id=batch.id, stream=batch.stream, records=batch.records, rejected=len(ack.rejected)
        )
        return ack

    def _attempt(self, batch: Batch, body: Callable[[Coding], bytes]) -> Ack:
        coding = self.coding
        response = self._post_batch(batch, coding, body(coding))
        if response.status_code == 415 and coding == "zstd" and self.settings.compression == "auto":
            # A core that cannot read the body has not taken the batch: the same key may carry it again.
            self._zstd_refused = True
            self._takes_zstd = False
            log.warning("loyalty core refused zstd, sending gzip from now on", endpoint=self.endpoint)
            coding = "gzip"
            response = self._post_batch(batch, coding, body(coding))
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            # 409: the server already holds this batch id; its body may repeat the original ack.
            return _parse_ack(response)
        if status == 429 or status >= 500:
            raise RetryableStatus(status, retry_after_seconds(response.headers.get("Retry-After")), "loyalty core")
        hint = _CODING_HINTS[coding] if status == 415 else _STATUS_HINTS.get(status, "")
        raise HttpSinkError(
            f"loyalty core refused batch {batch.id} ({batch.stream}, {batch.records} records): HTTP {status}"
            f"{hint}; {excerpt(response, self._auth.secrets)}",
            permanent=400 <= status < 500,
            status=status,
        )

    def _put_file(self, batch: Batch, file: Attachment) -> None:
        """One file, once: a HEAD finds one the core already holds (a resend, an image another product shares);
        otherwise a PUT, which the core checks against the SHA-256 in its path and in Content-Digest (RFC 9530)."""
        path = f"{FILES_PATH}/{file.sha256}"
        response = self._send("HEAD", path)
        if response.status_code == 404:
            digest = base64.b64encode(bytes.fromhex(file.sha256)).decode()
            headers = {"Content-Type": file.content_type, "Content-Digest": f"sha-256=:{digest}:"}
            response = self._send("PUT", path, file.data, headers)
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 429 or status >= 500:
            raise RetryableStatus(status, retry_after_seconds(response.headers.get("Retry-After")), "loyalty core")
        raise HttpSinkError(
            f"loyalty core refused file {file.sha256} ({file.content_type}, {len(file.data)} bytes) of batch "
            f"{batch.id}: HTTP {status}{_STATUS_HINTS.get(status, '')}; {excerpt(response, self._auth.secrets)}",
            permanent=400 <= status < 500,
            status=status,
        )

    def _post_batch(self, batch: Batch, coding: Coding, body: bytes) -> requests.Response:
        headers = {"Content-Type": "application/json", "Idempotency-Key": batch.id}
        if coding != "identity":
            headers["Content-Encoding"] = coding
        return self._send("POST", BATCHES_PATH, body, headers)

    def _log_retry(self, batch: Batch, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "loyalty push failed, retrying",
            batch_id=batch.id,
            stream=batch.stream,
            attempt=state.attempt_number,
            status=getattr(exc, "status", None),
            error=describe_error(exc) if exc is not None else None,
            wait_seconds=round(state.upcoming_sleep, 3),
        )

    def _tls_hint(self, exc: BaseException) -> str:
        if not isinstance(exc, requests.exceptions.SSLError):
            return ""
        if self.settings.ca_bundle is not None:
            return f"; the server certificate does not verify against ca_bundle {self.settings.ca_bundle}"
        return "; if the server uses a certificate from an internal CA, set ca_bundle to that CA's PEM file"

    # what the core holds ------------------------------------------------------------------------------------

    def holdings(self, source: str) -> Holdings | None:
        asking = f"cannot ask the loyalty core at {self.endpoint} whether it holds batches of source {source}"
        try:
            response = self._send("GET", CHECKPOINT_PATH, params={"source": source})
        except requests.RequestException as exc:
            raise HttpSinkError(f"{asking}: {describe_error(exc)}{self._tls_hint(exc)}") from None
        status = response.status_code
        if status in _NO_CHECKPOINT:
            return None
        if status != 200:
            hint = {401: _STATUS_HINTS[401], 403: _STATUS_HINTS[403]}.get(status, "")
            raise HttpSinkError(
                f"{asking}: HTTP {status}{hint}; {excerpt(response, self._auth.secrets)}", status=status
            )
        try:
            return parse_checkpoint(response.json())
        except ValueError as exc:
            raise HttpSinkError(f"{asking}: its {CHECKPOINT_PATH} answer is not readable ({exc})") from None

    # check --------------------------------------------------------------------------------------------------

    def check(self) -> list[CheckResult]:
        name = "loyalty core"
        where = self.endpoint
        try:
            response = self._send("GET", HEALTH_PATH)
        except requests.exceptions.SSLError as exc:
            return [CheckResult(name, False, f"TLS failure with {where}: {describe_error(exc)}{self._tls_hint(exc)}")]
        except requests.ConnectionError as exc:
            return [CheckResult(name, False, f"cannot reach {where}: {describe_error(exc)}; check url, DNS, proxy")]
        except requests.Timeout:
            return [CheckResult(name, False, f"{where} did not answer within {self.settings.timeout_seconds[1]}s")]
        except (HttpSinkError, RetryableStatus, requests.RequestException) as exc:
            return [CheckResult(name, False, describe_error(exc))]
        status = response.status_code
        if 200 <= status < 300:
            return [CheckResult(name, True, f"{where} is up and accepts our credentials (HTTP {status})")]
        if status in (401, 403):
            what = "credentials rejected" if status == 401 else "credentials lack permission"
            return [CheckResult(name, False, f"{what} by {where} (HTTP {status}): check the auth settings")]
        body = excerpt(response, self._auth.secrets)
        return [CheckResult(name, False, f"{where}{HEALTH_PATH} answered HTTP {status}: {body}")]

    def close(self) -> None:
        self._session.close()


_STATUS_HINTS = {
    400: " (malformed request: a dealersync bug or a schema mismatch)",
    401: " (credentials rejected: check the auth settings)",
    403: " (credentials lack permission for this source or stream)",
    404: " (no /batches here: check url)",
    413: " (batch too large: lower the batch size)",
    422: " (records do not match the schema the server expects: check schema_version)",
}
_CODING_HINTS: dict[Coding, str] = {
    "zstd": " (server does not take zstd-compressed JSON: set compression to auto or gzip)",
    "gzip": " (server does not take gzip-compressed JSON)",
    "identity": " (server does not take uncompressed JSON: set compression to auto)",
}
