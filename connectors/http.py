"""HTTP for adapters that read an ERP's web API (SAP OData and SOAP, 1C OData), and the parts the loyalty
sink shares with them: auth settings (basic, bearer, API key, OAuth2 client credentials), Retry-After,
secret-free error descriptions and the retry policy.

    client = HttpClient(settings, params={"sap-client": "100"})
    page = client.get_json("API_BUSINESS_PARTNER/A_Customer", {"$top": 1000})

Retried, with full-jitter backoff or exactly the server's Retry-After: 429, 500, 502, 503, 504, connection
errors and timeouts. Never retried: any other 4xx, which resending cannot cure. Errors name the host and
path, never the query string (gateways carry keys there), headers, tokens or passwords.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import msgspec
import requests
import structlog
from pydantic import BaseModel, ConfigDict, Field, FilePath, PositiveFloat, SecretStr, field_validator, model_validator
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt
from tenacity import wait_random_exponential as backoff
from tenacity.wait import wait_base

from connectors.base import AdapterSettings, ConnectorError

__all__ = [
    "RETRY_STATUSES",
    "USER_AGENT",
    "ApiKeyAuth",
    "AuthFailed",
    "Authenticator",
    "BasicAuth",
    "BearerAuth",
    "HttpClient",
    "HttpSourceError",
    "HttpSourceSettings",
    "NoAuth",
    "NotFound",
    "OAuth2Auth",
    "RetryAfterOrBackoff",
    "RetryableStatus",
    "authenticator",
    "check_url",
    "describe_error",
    "excerpt",
    "is_retryable",
    "retry_after_seconds",
]

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Answers that say "not now" rather than "no": worth the same request again after a pause.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _version() -> str:
    try:
        return metadata.version("dealersync")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"dealersync/{_version()}"


# --- auth settings ------------------------------------------------------------------------------------------


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


def check_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not carry credentials: use the auth settings")
    if parts.fragment:
        raise ValueError(f"{what} must not have a #fragment")
    return value


class _Auth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # The field holding the secret, which may come inline or from `<field>_file`.
    secret_field: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _read_file(cls, data: Any) -> Any:
        return _secret_from_file(data, cls.secret_field) if cls.secret_field else data


class NoAuth(_Auth):
    kind: Literal["none"] = "none"


class BasicAuth(_Auth):
    secret_field = "password"
    kind: Literal["basic"] = "basic"
    username: str = Field(min_length=1)
    password: SecretStr
    password_file: FilePath | None = None


class BearerAuth(_Auth):
    secret_field = "token"
    kind: Literal["bearer"] = "bearer"
    token: SecretStr
    token_file: FilePath | None = None


class ApiKeyAuth(_Auth):
    secret_field = "key"
    kind: Literal["api_key"] = "api_key"
    header: str = Field("X-API-Key", pattern=r"^[A-Za-z0-9-]+$")
    key: SecretStr
    key_file: FilePath | None = None


class OAuth2Auth(_Auth):
    """OAuth2 client credentials (RFC 6749 §4.4)."""

    secret_field = "client_secret"
    kind: Literal["oauth2"] = "oauth2"
    token_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    client_secret_file: FilePath | None = None
    scope: str | None = None
    client_auth: Literal["basic", "body"] = "basic"  # how the client authenticates at token_url (RFC 6749 §2.3.1)

    @field_validator("token_url")
    @classmethod
    def _check_token_url(cls, value: str) -> str:
        return check_url(value, "token_url")


AnyAuth = NoAuth | BasicAuth | BearerAuth | ApiKeyAuth | OAuth2Auth


# --- wire helpers -------------------------------------------------------------------------------------------


class RetryableStatus(Exception):
    """An HTTP answer worth retrying (429, 5xx); carries the server's Retry-After in seconds, if any."""

    def __init__(self, status: int, retry_after: float | None, where: str) -> None:
        super().__init__(f"HTTP {status} from {where}")
        self.status = status
        self.retry_after = retry_after


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
    if not isinstance(exc, requests.RequestException | OSError):
        return str(exc)
    root = _root_cause(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        detail = root.verify_message or "certificate verify failed"
    elif isinstance(root, ssl.SSLError):
        detail = root.reason or "TLS error"
    elif isinstance(root, TimeoutError) or isinstance(exc, requests.Timeout):
        detail = "timed out"
    elif isinstance(root, OSError) and root.strerror:
        detail = root.strerror
    else:
        detail = ""
    return f"{type(exc).__name__} ({detail})" if detail else type(exc).__name__


def excerpt(response: requests.Response, secrets: list[str], limit: int = 200) -> str:
    """The start of a response body on one line, secrets masked: error bodies often say what is wrong."""
    text = " ".join(response.text[: limit * 2].split())
    for secret in secrets:
        text = text.replace(secret, "***")
    return text if len(text) <= limit else text[:limit] + "…"


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not pass by itself within minutes: fail fast
    if isinstance(exc, RetryableStatus | requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    # Other clients' HTTP errors (zeep's TransportError) carry the status as status_code.
    return getattr(exc, "status_code", None) in RETRY_STATUSES


class RetryAfterOrBackoff(wait_base):
    """The server's Retry-After when it sent one (capped), else the jittered backoff."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap)
        return float(self.fallback(retry_state))


# --- authenticators -----------------------------------------------------------------------------------------


class Authenticator:
    """Headers that authenticate a request, and the secrets to mask in anything shown."""

    def __init__(self, headers: dict[str, str] | None = None, secrets: list[str] | None = None) -> None:
        self._headers = headers or {}
        self.secrets = secrets or []

    def headers(self) -> dict[str, str]:
        return self._headers

    def refresh(self) -> bool:
        """After a 401: True when new credentials were obtained and the request is worth one resend."""
        return False


class _OAuth2(Authenticator):
    def __init__(
        self,
        settings: OAuth2Auth,
        post: Callable[..., requests.Response],
        clock: Callable[[], float],
        refused: Callable[[str, int], Exception],
    ) -> None:
        secret = settings.client_secret.get_secret_value()
        super().__init__(secrets=[secret])
        self.settings = settings
        self._post = post
        self._clock = clock
        self._refused = refused
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
        response = self._post(s.token_url, data=form, auth=auth, headers={"Accept": "application/json"})
        status = response.status_code
        if status in RETRY_STATUSES:
            raise RetryableStatus(status, retry_after_seconds(response.headers.get("Retry-After")), "token endpoint")
        if status != 200:
            raise self._refused(
                f"OAuth2 token endpoint refused client {s.client_id!r} (HTTP {status}): check client_id, "
                f"client_secret and scope; {excerpt(response, self.secrets)}",
                status,
            )
        try:
            document = response.json()
            token = str(document["access_token"])
            expires_in = float(document.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise self._refused("OAuth2 token endpoint answered 200 without an access_token", status) from None
        # Renew a little early so a token does not expire between our check and the server's.
        self._expires_at = self._clock() + expires_in - min(60.0, expires_in * 0.1)
        self._token = token
        self.secrets = [secret, token]


def authenticator(
    auth: AnyAuth,
    post: Callable[..., requests.Response],
    clock: Callable[[], float],
    refused: Callable[[str, int], Exception],
) -> Authenticator:
    """The authenticator for some auth settings; `post` sends token requests, `refused` makes the error
    raised when the token endpoint turns the client away."""
    if isinstance(auth, BasicAuth):
        password = auth.password.get_secret_value()
        basic = requests.auth._basic_auth_str(auth.username, password)
        return Authenticator({"Authorization": basic}, [password, basic.split(" ", 1)[1]])
    if isinstance(auth, BearerAuth):
        token = auth.token.get_secret_value()
        return Authenticator({"Authorization": f"Bearer {token}"}, [token])
    if isinstance(auth, ApiKeyAuth):
        key = auth.key.get_secret_value()
        return Authenticator({auth.header: key}, [key])
    if isinstance(auth, OAuth2Auth):
        return _OAuth2(auth, post, clock, refused)
    return Authenticator()


# --- reading an ERP's web API -------------------------------------------------------------------------------


class HttpSourceError(ConnectorError):
    """An ERP's web API failed; the message is secret-free and names host and path."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthFailed(HttpSourceError):
    """401/403, or the OAuth2 token endpoint refusing the client."""


class NotFound(HttpSourceError):
    """404: a service, entity set or function not published at this URL."""


def _default_basic(data: Any) -> Any:
    if isinstance(data, dict) and isinstance(data.get("auth"), dict) and "kind" not in data["auth"]:
        return {**data, "auth": {"kind": "basic", **data["auth"]}}
    return data


class HttpSourceSettings(AdapterSettings):
    """Where an ERP's web API is and how to log in: the common part of a web adapter's settings."""

    url: str = Field(description="service root, e.g. https://host:44300/sap/opu/odata/sap")
    auth: Annotated[BasicAuth | OAuth2Auth, Field(discriminator="kind")]  # `kind` defaults to basic
    verify: bool = True
    ca_bundle: FilePath | None = None  # PEM of an internal CA; replaces the system CAs when set
    timeout_seconds: tuple[PositiveFloat, PositiveFloat] = (10.0, 120.0)  # (connect, read)
    max_attempts: int = Field(5, ge=1)
    backoff_max_seconds: PositiveFloat = 30.0
    max_retry_after_seconds: float = Field(120.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _auth_kind(cls, data: Any) -> Any:
        return _default_basic(data)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_url(value, "url")

    @model_validator(mode="after")
    def _check_tls(self) -> HttpSourceSettings:
        if self.ca_bundle is not None and not self.verify:
            raise ValueError("ca_bundle is set but verify is false: drop one of them")
        return self

    def secrets(self) -> list[str]:
        auth = self.auth
        if isinstance(auth, BasicAuth):
            return [auth.password.get_secret_value()]
        return [auth.client_secret.get_secret_value()]


class _SessionAuth(requests.auth.AuthBase):
    """Puts the authenticator's headers on every request of the session, including zeep's."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self.auth.headers())
        return request


def _auth_refused(message: str, status: int) -> Exception:
    return AuthFailed(message, status)


class HttpClient:
    """GET/POST against one service root with auth, TLS, default parameters and the retry policy."""

    def __init__(
        self,
        settings: HttpSourceSettings,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.params = dict(params or {})
        self._parts = urlsplit(settings.url)
        self._sleep = sleep
        self._verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else settings.verify
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers.update(headers or {})
        self.session.verify = self._verify
        self._tokens = requests.Session()  # token requests must not carry the bearer auth they are fetching
        self._auth = authenticator(settings.auth, self._post_token, time.monotonic, _auth_refused)
        self.session.auth = _SessionAuth(self._auth)

    # where --------------------------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        """The service root without query string: what messages may show."""
        p = self._parts
        return urlunsplit((p.scheme, p.netloc, p.path.rstrip("/"), "", ""))

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The full URL of `path` (relative to the root, or absolute) with the default and given parameters;
        a given parameter set to None leaves a default out (1C's $metadata is XML only: no $format=json)."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            present = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
            extra = _present({k: v for k, v in self.params.items() if k not in present} | dict(params or {}))
            query = "&".join(q for q in (parts.query, _encode(extra)) if q)
            return urlunsplit(parts._replace(query=query))
        base = self._parts
        full = base.path.rstrip("/") + "/" + path.lstrip("/")
        query = "&".join(q for q in (base.query, _encode(_present({**self.params, **(params or {})}))) if q)
        # Non-ASCII (Cyrillic set names) is percent-encoded by requests when it prepares the request.
        return urlunsplit((base.scheme, base.netloc, full, query, ""))

    @staticmethod
    def where(url: str) -> str:
        p = urlsplit(url)
        return urlunsplit((p.scheme, p.netloc, p.path, "", ""))

    # requests -----------------------------------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> requests.Response:
        return self._request("GET", self.url(path, params), None, headers, retry)

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> Any:
        url = self.url(path, params)
        response = self._request("GET", url, None, {"Accept": "application/json", **(headers or {})}, retry)
        try:
            return msgspec.json.decode(response.content)  # several times faster than json on large OData pages
        except msgspec.DecodeError:
            raise HttpSourceError(
                f"{self.where(url)} answered HTTP {response.status_code} without JSON: "
                f"{excerpt(response, self._auth.secrets)}",
                response.status_code,
            ) from None

    def post(
        self, path: str, body: bytes, *, headers: Mapping[str, str] | None = None, retry: bool = True
    ) -> requests.Response:
        return self._request("POST", self.url(path), body, headers, retry)

    def retrying(self, call: Callable[[], T], *, retry: bool = True, what: str | None = None) -> T:
        """Run a request-issuing call (a zeep operation, say) under the retry policy; connection failures,
        timeouts and 429/5xx answers that outlast the attempts become HttpSourceError."""
        s = self.settings
        policy = Retrying(
            retry=retry_if_exception(is_retryable),
            wait=RetryAfterOrBackoff(backoff(multiplier=0.5, max=s.backoff_max_seconds), s.max_retry_after_seconds),
            stop=stop_after_attempt(s.max_attempts if retry else 1),
            before_sleep=partial(self._log_retry, what or self.root),
            sleep=self._sleep,
            reraise=False,
        )
        try:
            return policy(call)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            attempts = exc.last_attempt.attempt_number
            raise self._gave_up(last or exc, what or self.root, attempts) from None
        except requests.RequestException as exc:
            raise self._gave_up(exc, what or self.root, 1) from None

    def close(self) -> None:
        self.session.close()
        self._tokens.close()

    # internals ----------------------------------------------------------------------------------------------

    def _post_token(self, url: str, **kwargs: Any) -> requests.Response:
        return self._tokens.post(
            url, timeout=self.settings.timeout_seconds, verify=self._verify, allow_redirects=False, **kwargs
        )

    def _request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str] | None, retry: bool
    ) -> requests.Response:
        return self.retrying(lambda: self._attempt(method, url, body, headers), retry=retry, what=self.where(url))

    def _attempt(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str] | None
    ) -> requests.Response:
        def send() -> requests.Response:
            return self.session.request(
                method, url, data=body, headers=dict(headers or {}), timeout=self.settings.timeout_seconds,
                verify=self._verify,
            )  # fmt: skip

        response = send()
        if response.status_code == 401 and self._auth.refresh():
            response = send()
        return self.checked(response)

    def checked(
        self, response: requests.Response, *, not_found: str = "is it published/activated at this URL?"
    ) -> requests.Response:
        """`response` when it is a 2xx; else the client's error for it: RetryableStatus (429, 5xx), AuthFailed,
        NotFound (with the `not_found` hint) or HttpSourceError. For other clients on `session` (zeep)."""
        status = response.status_code
        if 200 <= status < 300:
            return response
        where = self.where(response.url)
        if status in RETRY_STATUSES:
            raise RetryableStatus(status, retry_after_seconds(response.headers.get("Retry-After")), where)
        body_text = excerpt(response, self._auth.secrets)
        if status in (401, 403):
            who = self.settings.auth
            login = f"user {who.username!r}" if isinstance(who, BasicAuth) else f"client {who.client_id!r}"
            what = "refused the credentials of" if status == 401 else "denied access to"
            raise AuthFailed(
                f"{where} {what} {login} (HTTP {status}): check the username/password (or client) and its "
                f"authorisations; {body_text}",
                status,
            )
        if status == 404:
            raise NotFound(f"{where} not found (HTTP 404): {not_found} {body_text}", status)
        raise HttpSourceError(f"{where} answered HTTP {status}: {body_text}", status)

    def _gave_up(self, exc: BaseException, where: str, attempts: int) -> HttpSourceError:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(exc, HttpSourceError):
            return exc
        if isinstance(exc, RetryableStatus):
            return HttpSourceError(f"{exc}{tries}", exc.status)
        status = getattr(exc, "status_code", None)
        if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.exceptions.SSLError):
            host = self._parts.netloc
            return HttpSourceError(f"cannot reach {host} ({where}){tries}: {describe_error(exc)}", status)
        if isinstance(exc, requests.Timeout):
            timeout = self.settings.timeout_seconds[1]
            return HttpSourceError(f"{where} did not answer within {timeout:g}s{tries}", status)
        if isinstance(exc, requests.exceptions.SSLError):
            hint = "; if the server's certificate comes from an internal CA, set ca_bundle to that CA's PEM file"
            return HttpSourceError(f"TLS failure with {where}: {describe_error(exc)}{hint}", status)
        return HttpSourceError(f"{where} failed{tries}: {describe_error(exc)}", status)

    def _log_retry(self, where: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "ERP request failed, retrying",
            where=where,
            attempt=state.attempt_number,
            status=getattr(exc, "status", None) or getattr(exc, "status_code", None),
            error=describe_error(exc) if exc is not None else None,
            wait_seconds=round(state.upcoming_sleep, 3),
        )


def _present(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _encode(params: Mapping[str, Any]) -> str:
    """Query string with %20 for spaces (OData servers do not all read "+"), OData's punctuation kept."""
    return urlencode({k: str(v) for k, v in params.items()}, quote_via=quote, safe="$'(),:")
