"""A sink that POSTs each batch to the loyalty core's ingestion API (docs/openapi/loyalty-ingest.yaml).

One request per batch: `POST <url>/batches`, gzip'd JSON, `Idempotency-Key: <batch id>`, so a
resend after a crash or a lost response is recognised by the server and not applied twice.

Retries inside one push cover passing faults: 429, 5xx, connection errors and timeouts, with
full-jitter exponential backoff, or exactly the server's Retry-After when it sends one. Any
other 4xx means this batch or these credentials will not be taken by resending: the push raises
a permanent SinkError at once. 409 means the server already has this batch id: that is success.

Nothing secret reaches the logs or error messages: no headers, tokens, bodies, or the URL's
query string (some gateways carry a key there, e.g. `?code=`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import json
import math
import ssl
import threading
import time
from collections.abc import Callable
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
import structlog
from pydantic import BaseModel, ConfigDict, Field, FilePath, PositiveFloat, SecretStr, field_validator, model_validator
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from connectors.base import CheckResult
from mapping.schema import SCHEMA_VERSION
from sinks.base import Ack, Batch, Sink, SinkError

__all__ = [
    "ApiKeyAuth",
    "BearerAuth",
    "HttpSink",
    "HttpSinkError",
    "HttpSinkSettings",
    "NoAuth",
    "OAuth2Auth",
    "build_body",
    "retry_after_seconds",
]

BATCHES_PATH = "/batches"
HEALTH_PATH = "/health"

log = structlog.get_logger(__name__)


def _version() -> str:
    try:
        return metadata.version("dealersync")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"dealersync/{_version()}"


# --- settings ------------------------------------------------------------------------------------------------


def _secret_from_file(data: Any, field: str) -> Any:
    """Let a secret come inline or from `<field>_file` (exactly one); the file's stripped text becomes `field`."""
    if not isinstance(data, dict):
        return data
    file_field = f"{field}_file"
    inline, path = data.get(field), data.get(file_field)
    if (inline is None) == (path is None):
        raise ValueError(f"set exactly one of {field} or {file_field}")
    if path is None:
        return data
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read {file_field} {path}: {exc.strerror or exc}") from None
    if not text:
        raise ValueError(f"{file_field} {path} is empty")
    return {**data, field: text}


class _Auth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoAuth(_Auth):
    kind: Literal["none"] = "none"


class BearerAuth(_Auth):
    kind: Literal["bearer"] = "bearer"
    token: SecretStr
    token_file: FilePath | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_file(cls, data: Any) -> Any:
        return _secret_from_file(data, "token")


class ApiKeyAuth(_Auth):
    kind: Literal["api_key"] = "api_key"
    header: str = Field("X-API-Key", pattern=r"^[A-Za-z0-9-]+$")
    key: SecretStr
    key_file: FilePath | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_file(cls, data: Any) -> Any:
        return _secret_from_file(data, "key")


class OAuth2Auth(_Auth):
    """OAuth2 client credentials (RFC 6749 §4.4)."""

    kind: Literal["oauth2"] = "oauth2"
    token_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    client_secret_file: FilePath | None = None
    scope: str | None = None
    client_auth: Literal["basic", "body"] = "basic"  # how the client authenticates at token_url (RFC 6749 §2.3.1)

    @model_validator(mode="before")
    @classmethod
    def _read_file(cls, data: Any) -> Any:
        return _secret_from_file(data, "client_secret")

    @field_validator("token_url")
    @classmethod
    def _check_token_url(cls, value: str) -> str:
        return _check_url(value, "token_url")


AuthSettings = Annotated[NoAuth | BearerAuth | ApiKeyAuth | OAuth2Auth, Field(discriminator="kind")]


def _check_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not carry credentials: use the auth settings")
    if parts.fragment:
        raise ValueError(f"{what} must not have a #fragment")
    return value


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
    compress_level: int = Field(6, ge=1, le=9)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _check_url(value, "url")

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


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None, where: str) -> None:
        super().__init__(f"HTTP {status} from {where}")
        self.status = status
        self.retry_after = retry_after


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


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait for a Retry-After header value (delay-seconds or HTTP-date); None when absent or invalid."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)  # HTTP-dates are GMT
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception under requests' and urllib3's wrappers (they nest via args, .reason and causes)."""
    seen: set[int] = set()
    current = exc
    while id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        inner = next(
            (
                e
                for e in (getattr(current, "reason", None), *current.args, current.__cause__, current.__context__)
                if isinstance(e, BaseException)
            ),
            None,
        )
        if inner is None:
            break
        current = inner
    return current


def describe_error(exc: BaseException) -> str:
    """A short, secret-free account of a failure: never str(exc) of requests' errors, which embed the URL."""
    if isinstance(exc, _RetryableStatus | HttpSinkError):
        return str(exc)
    root = _root_cause(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        detail = root.verify_message or "certificate verify failed"
    elif isinstance(root, ssl.SSLError):
        detail = root.reason or "TLS error"
    elif isinstance(root, TimeoutError):
        detail = "timed out"
    elif isinstance(root, OSError) and root.strerror:
        detail = root.strerror
    else:
        detail = ""
    return f"{type(exc).__name__} ({detail})" if detail else type(exc).__name__


def _excerpt(response: requests.Response, secrets: list[str], limit: int = 200) -> str:
    text = " ".join(response.text[: limit * 2].split())
    for secret in secrets:
        text = text.replace(secret, "***")
    return text if len(text) <= limit else text[:limit] + "…"


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


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not pass by itself within minutes: fail fast, keep the batch
    return isinstance(
        exc,
        _RetryableStatus | requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError,
    )


class _RetryAfterOrBackoff(wait_base):
    """The server's Retry-After when it sent one (capped), else the jittered backoff."""

    def __init__(self, backoff: wait_base, cap: float) -> None:
        self.backoff = backoff
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap)
        return float(self.backoff(retry_state))


# --- auth ----------------------------------------------------------------------------------------------------


class _Authenticator:
    def __init__(self, headers: dict[str, str] | None = None, secrets: list[str] | None = None) -> None:
        self._headers = headers or {}
        self.secrets = secrets or []

    def headers(self) -> dict[str, str]:
        return self._headers

    def refresh(self) -> bool:
        """After a 401: True when new credentials were obtained and the request is worth one resend."""
        return False


class _OAuth2(_Authenticator):
    def __init__(
        self, settings: OAuth2Auth, send: Callable[..., requests.Response], clock: Callable[[], float]
    ) -> None:
        secret = settings.client_secret.get_secret_value()
        super().__init__(secrets=[secret])
        self.settings = settings
        self._send = send
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def _fetch(self) -> None:
        s = self.settings
        secret = s.client_secret.get_secret_value()
        form = {"grant_type": "client_credentials", **({"scope": s.scope} if s.scope else {})}
        auth = None
        if s.client_auth == "basic":
            auth = (s.client_id, secret)
        else:
            form |= {"client_id": s.client_id, "client_secret": secret}
        response = self._send(s.token_url, data=form, auth=auth, headers={"Accept": "application/json"})
        status = response.status_code
        if status == 429 or status >= 500:
            raise _RetryableStatus(status, retry_after_seconds(response.headers.get("Retry-After")), "token endpoint")
        if status != 200:
            raise HttpSinkError(
                f"OAuth2 token endpoint refused client {s.client_id!r} (HTTP {status}): check client_id, "
                f"client_secret and scope; {_excerpt(response, self.secrets)}",
                permanent=True,
                status=status,
            )
        try:
            document = response.json()
            token = str(document["access_token"])
            expires_in = float(document.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise HttpSinkError("OAuth2 token endpoint answered 200 without an access_token", status=status) from None
        # Renew a little early so a token does not expire between our check and the server's.
        self._expires_at = self._clock() + expires_in - min(60.0, expires_in * 0.1)
        self._token = token
        self.secrets = [secret, token]


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
        # Passed per request: requests lets REQUESTS_CA_BUNDLE override a session-level verify path.
        self._verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else settings.verify
        self._cert: tuple[str, str] | str | None = None
        if settings.client_cert is not None:
            cert = str(settings.client_cert)
            self._cert = (cert, str(settings.client_key)) if settings.client_key else cert
        self._auth = self._authenticator(settings.auth, clock)

    # where --------------------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return urlunsplit(self._parts._replace(path=self._parts.path.rstrip("/") + path))

    @property
    def endpoint(self) -> str:
        """The base URL without its query string: what logs and messages may show."""
        p = self._parts
        return urlunsplit((p.scheme, p.netloc, p.path.rstrip("/"), "", ""))

    # transport ----------------------------------------------------------------------------------------------

    def _authenticator(self, auth: AuthSettings, clock: Callable[[], float]) -> _Authenticator:
        if isinstance(auth, BearerAuth):
            token = auth.token.get_secret_value()
            return _Authenticator({"Authorization": f"Bearer {token}"}, [token])
        if isinstance(auth, ApiKeyAuth):
            key = auth.key.get_secret_value()
            return _Authenticator({auth.header: key}, [key])
        if isinstance(auth, OAuth2Auth):
            return _OAuth2(auth, partial(self._raw, "POST"), clock)
        return _Authenticator()

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
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """One authenticated request; a 401 under OAuth2 gets one token refresh and one resend."""
        url = self._url(path)
        response = self._raw(method, url, data=body, headers={**(headers or {}), **self._auth.headers()})
        if response.status_code == 401 and self._auth.refresh():
            log.info("loyalty core refused the access token, fetching a new one", endpoint=self.endpoint)
            response = self._raw(method, url, data=body, headers={**(headers or {}), **self._auth.headers()})
        return response

    # push ---------------------------------------------------------------------------------------------------

    def push(self, batch: Batch) -> Ack:
        body = gzip.compress(build_body(batch), compresslevel=self.settings.compress_level, mtime=0)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Idempotency-Key": batch.id}
        s = self.settings
        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            wait=_RetryAfterOrBackoff(
                wait_random_exponential(multiplier=s.backoff_multiplier, max=s.backoff_max_seconds),
                s.max_retry_after_seconds,
            ),
            stop=stop_after_attempt(s.max_attempts) | stop_before_delay(s.max_elapsed_seconds),
            before_sleep=partial(self._log_retry, batch),
            sleep=self._sleep,
        )
        started = time.monotonic()
        try:
            ack = retrying(self._attempt, batch, body, headers)
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

    def _attempt(self, batch: Batch, body: bytes, headers: dict[str, str]) -> Ack:
        response = self._send("POST", BATCHES_PATH, body, headers)
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            # 409: the server already holds this batch id; its body may repeat the original ack.
            return _parse_ack(response)
        if status == 429 or status >= 500:
            raise _RetryableStatus(status, retry_after_seconds(response.headers.get("Retry-After")), "loyalty core")
        raise HttpSinkError(
            f"loyalty core refused batch {batch.id} ({batch.stream}, {batch.records} records): HTTP {status}"
            f"{_STATUS_HINTS.get(status, '')}; {_excerpt(response, self._auth.secrets)}",
            permanent=400 <= status < 500,
            status=status,
        )

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
        except (HttpSinkError, _RetryableStatus, requests.RequestException) as exc:
            return [CheckResult(name, False, describe_error(exc))]
        status = response.status_code
        if 200 <= status < 300:
            return [CheckResult(name, True, f"{where} is up and accepts our credentials (HTTP {status})")]
        if status in (401, 403):
            what = "credentials rejected" if status == 401 else "credentials lack permission"
            return [CheckResult(name, False, f"{what} by {where} (HTTP {status}): check the auth settings")]
        excerpt = _excerpt(response, self._auth.secrets)
        return [CheckResult(name, False, f"{where}{HEALTH_PATH} answered HTTP {status}: {excerpt}")]

    def close(self) -> None:
        self._session.close()


_STATUS_HINTS = {
    400: " (malformed request: a dealersync bug or a schema mismatch)",
    401: " (credentials rejected: check the auth settings)",
    403: " (credentials lack permission for this source or stream)",
    404: " (no /batches here: check url)",
    413: " (batch too large: lower the batch size)",
    415: " (server does not accept gzip'd JSON)",
    422: " (records do not match the schema the server expects: check schema_version)",
}
