"""check()'s proof of the 1C schema: every set and field the enabled streams will use, against the infobase's
own $metadata (or, where the service cannot give it, against per-set probes), every problem at once.

$metadata is EDMX 1.0 / DataServiceVersion 3.0 in namespace StandardODATA: objects and tabular sections
are entity sets; a register's virtual table (`AccumulationRegister_X/Balance`) is a complex type
`AccumulationRegister_X_Balance`, and a tabular section also a complex type `<Set>_RowType`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connectors.base import CheckResult
from connectors.catalog import Catalogue, Need, Words, verify
from connectors.edmx import EdmxError, Metadata, Property, parse
from connectors.http import HttpSourceError

from .odata import OData, UnpublishedSet

__all__ = ["ODATA_WORDS", "catalogue", "check_schema"]

ODATA_WORDS = Words(name="field", names="fields", container="entity set", containers="entity sets")
_KIND_NAMES = {"text": "Edm.String", "number": "Edm.Double", "integer": "Edm.Int64", "guid": "Edm.Guid"}
PUBLISH = "Настройка стандартного интерфейса OData / УстановитьСоставСтандартногоИнтерфейсаOData"


def _from_metadata(meta: Metadata, containers: Iterable[str]) -> Catalogue:
    found = Catalogue(case_sensitive=True)
    for container in containers:
        head, _, table = container.partition("/")
        properties: Mapping[str, Property] | None
        if table:  # a register's virtual table: the complex type X_Balance
            properties = meta.complex_types.get(f"{head}_{table}")
        else:
            entity = meta.entity(container)
            properties = entity.properties if entity else None
            if properties is None:  # a tabular section published only as its owner's row type
                properties = meta.complex_types.get(f"{container}_RowType")
        if properties is not None:
            found.containers[container] = {name: p.kind for name, p in properties.items()}
    return found


def _probed(odata: OData, needs: Mapping[str, list[Need]]) -> Catalogue:
    """What $select probes show: 1C answers 400 for a property a set lacks, 404 for a set it does not publish.
    Types cannot be seen this way: every present field reads as "any"."""
    found = Catalogue(case_sensitive=True)
    by_container: dict[str, set[str]] = {}
    for stream_needs in needs.values():
        for need in stream_needs:
            by_container.setdefault(need.container, set()).add(need.name)
    for container, names in by_container.items():
        try:
            if odata.has(container, ",".join(sorted(names))):  # one request when the set has them all
                present = names
            else:
                present = {n for n in sorted(names) if odata.has(container, n)}
        except UnpublishedSet:
            continue
        except HttpSourceError as exc:
            found.unreadable[container] = str(exc)
            continue
        found.containers[container] = dict.fromkeys(present, "any")
    return found


def catalogue(odata: OData, needs: Mapping[str, list[Need]]) -> tuple[Catalogue, str]:
    """The infobase's catalogue of the containers `needs` use, and how it was read (for the connect line)."""
    containers = {need.container for stream_needs in needs.values() for need in stream_needs}
    try:
        document = odata.metadata()
        meta = parse(document)
        if not (meta.data_service_version or "").startswith(("3", "2")):
            raise EdmxError(f"DataServiceVersion {meta.data_service_version!r} is not OData V3")
        return _from_metadata(meta, containers), "$metadata"
    except (HttpSourceError, EdmxError) as exc:
        return _probed(odata, needs), f"per-set probes ($metadata unusable: {str(exc)[:160]}; types not checked)"


def check_schema(
    odata: OData, needs: Mapping[str, list[Need]], roles: Mapping[str, str]
) -> tuple[list[CheckResult], str]:
    """verify()'s lines for every stream in `needs`; `roles` names the setting of each container."""
    found, how = catalogue(odata, needs)

    def hint(container: str) -> str:
        role = roles.get(container)
        rename = f"sets: {{{role}: <its name here>}}" if role else "collection_documents"
        return f"not published: add it ({PUBLISH}), or name it with {rename}"

    results = verify(needs, found, words=ODATA_WORDS, container_hint=hint, kind_names=_KIND_NAMES)
    return results, how
