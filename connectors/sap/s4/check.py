"""check() for S/4: can we log on (right user, password and client), is each service published and
readable, and does each stream's entity set answer. Nothing here retries: check must answer fast."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import CheckResult
from connectors.http import AuthFailed, BasicAuth, HttpClient, HttpSourceError, NotFound
from connectors.sap.s4.streams import S4Stream

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["check"]

# What S/4 says when the sap-client is wrong: the ICF logon page ("client 999 is not available in
# this system") or a logon error naming the client.
_CLIENT_HINTS = ("not available in this system", "client does not exist", "mandant")


def _login(settings: SapSettings) -> str:
    auth = settings.auth
    return f"user {auth.username!r}" if isinstance(auth, BasicAuth) else f"OAuth2 client {auth.client_id!r}"


def _logon_failure(exc: HttpSourceError, settings: SapSettings) -> str:
    client = settings.sap_client
    text = str(exc).lower()
    if any(hint in text for hint in _CLIENT_HINTS) and "client" in text:
        return (
            f"client {client} does not exist or the user has no access in it: SAP refused the logon to "
            f"client {client}; check the sap_client setting"
        )
    if exc.status == 401 and "oauth2 token endpoint" in text:
        return str(exc)
    if exc.status == 401:
        return (
            f"SAP refused the logon of {_login(settings)} in client {client} (HTTP 401): check the username and "
            f"password (or OAuth2 client); if they are right, client {client} does not exist or the user has "
            f"no access in it"
        )
    return str(exc)


def _service_failure(exc: HttpSourceError, service: str, settings: SapSettings) -> str:
    if isinstance(exc, NotFound):
        return (
            f"service {service} is not published: activate it in /IWFND/MAINT_SERVICE (on-premise) or add "
            f"the communication arrangement that exposes it (cloud)"
        )
    if isinstance(exc, AuthFailed) and exc.status == 403:
        return (
            f"{_login(settings)} has no authorisation for service {service}: give it a role with S_SERVICE "
            f"for the service and read access (S_TABU_NAM / business objects) to its data"
        )
    return str(exc)


def check(client: HttpClient, settings: SapSettings, streams: list[S4Stream]) -> list[CheckResult]:
    services = list(dict.fromkeys(stream.path.split("/", 1)[0] for stream in streams))
    try:
        # Gateway logs the user on before it resolves the service: a 404 or 403 here means the logon passed.
        client.get_json(f"{services[0]}/", {"$format": "json"}, retry=False)
    except (NotFound, AuthFailed) as exc:
        if exc.status == 401 or (isinstance(exc, AuthFailed) and "oauth2" in str(exc).lower()):
            return [CheckResult("logon", False, _logon_failure(exc, settings))]
    except HttpSourceError as exc:
        if exc.status is None:
            return [CheckResult("connect", False, str(exc))]
        return [CheckResult("logon", False, _logon_failure(exc, settings))]
    login = f"{_login(settings)} logged on to {client.root} in client {settings.sap_client}"
    results = [CheckResult("logon", True, login)]
    published: set[str] = set()
    for service in services:
        try:
            client.get_json(f"{service}/", {"$format": "json"}, retry=False)
        except HttpSourceError as exc:
            results.append(CheckResult(f"service {service}", False, _service_failure(exc, service, settings)))
            continue
        published.add(service)
        results.append(CheckResult(f"service {service}", True, "published and readable"))
    for stream in streams:
        service = stream.path.split("/", 1)[0]
        if service not in published:
            continue
        try:
            client.get_json(stream.path, {"$format": "json", "$top": "1"}, retry=False)
        except HttpSourceError as exc:
            results.append(CheckResult(f"stream {stream.name}", False, f"{stream.path}: {exc}"))
            continue
        results.append(CheckResult(f"stream {stream.name}", True, f"{stream.path} answers"))
    return results
