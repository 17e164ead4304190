"""check() for S/4: can we log on (right user, password and client), is each service published with OData V2
metadata, does every name each enabled stream reads exist there with a type that keeps its value (one pass, every
problem at once), do the streams page by the service's whole key, and does each stream's entity set answer.
Nothing here retries: check must answer fast."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from connectors.base import CheckResult
from connectors.catalog import Catalogue, Words, verify
from connectors.edmx import Metadata
from connectors.http import AuthFailed, BasicAuth, HttpClient, HttpSourceError, NotFound
from connectors.sap.s4.odata import ODataReader
from connectors.sap.s4.shape import Read
from connectors.sap.s4.streams import S4Stream

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["ODATA_WORDS", "check", "schema"]

ODATA_WORDS = Words(name="property", names="properties", container="entity set", containers="entity sets")
_EDM = {"text": "Edm.String", "number": "a number (Edm.Decimal/Double)", "integer": "an Edm.Int", "boolean":
        "Edm.Boolean", "datetime": "Edm.DateTime", "time": "Edm.Time", "guid": "Edm.Guid"}  # fmt: skip
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


def schema(stream: str, reads: Iterable[Read], metadata: dict[str, Metadata]) -> list[CheckResult]:
    """The stream's schema lines: every name its reads use against the services' metadata, and its paging keys."""
    reads = list(reads)
    catalogue = Catalogue()
    hints: dict[str, str] = {}
    key_problems: dict[str, str] = {}
    for read in reads:
        meta = metadata[read.service]
        paths = [container.split("/", 1)[1] for container, _ in read.containers()]
        catalogue.containers.update(meta.catalogue(paths, f"{read.service}/").containers)
        hints[read.path] = f"name its path on this system with the setting {read.setting}"
        entity = meta.entity(read.entity_set)
        if entity is not None and entity.keys != read.key:
            key_problems[read.path] = (
                f"{read.path} is paged by ({', '.join(read.key)}) but the service's key is "
                f"({', '.join(entity.keys)}): paging by another order could skip or repeat rows"
            )
    needs = {stream: [need for read in reads for need in read.needs()]}
    results = verify(
        needs, catalogue, words=ODATA_WORDS, kind_names=_EDM,
        container_hint=lambda c: hints.get(c, "the service's version lacks this navigation"),
    )  # fmt: skip
    if key_problems:
        line = results[0]
        paging = "; ".join(key_problems.values())
        detail = paging if line.ok else f"{line.detail}; {paging}"
        results[0] = CheckResult(line.name, False, detail)
    return results


def check(client: HttpClient, reader: ODataReader, settings: SapSettings, streams: list[S4Stream]) -> list[CheckResult]:
    services = list(dict.fromkeys(read.service for stream in streams for read in stream.reads()))
    if not services:
        return [CheckResult("streams", True, "every stream is disabled: nothing to check")]
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
    metadata: dict[str, Metadata] = {}
    for service in services:
        try:
            meta = reader.metadata(service, retry=False)
        except HttpSourceError as exc:
            results.append(CheckResult(f"service {service}", False, _service_failure(exc, service, settings)))
            continue
        metadata[service] = meta
        sets = f"{len(meta.sets)} entity set{'' if len(meta.sets) == 1 else 's'}"
        results.append(CheckResult(f"service {service}", True, f"published, OData V2 metadata of {sets}"))
    for stream in streams:
        reads = stream.reads()
        if any(read.service not in metadata for read in reads):
            continue  # its service's line says why
        lines = schema(stream.name, reads, metadata)
        results += lines
        if not lines[0].ok:
            continue
        keys = stream.main.keys_only()
        try:
            client.get_json(stream.path, {"$format": "json", "$top": "1", "$select": keys.select()}, retry=False)
        except HttpSourceError as exc:
            results.append(CheckResult(f"stream {stream.name}", False, f"{stream.path}: {exc}"))
            continue
        results.append(CheckResult(f"stream {stream.name}", True, f"{stream.path} answers"))
    return results
