"""OData service metadata ($metadata, EDMX XML): entity sets, keys, properties, navigations and types.

SAP Gateway (OData V2) and 1C's standard.odata (OData V3, EDMX 1.0) describe their services this
way; `check` reads it to prove every name an adapter uses. An OData V4 document (EDMX 4.0) is
refused with a message saying so: the adapters speak V2/V3 (`d.results`, `/Date()/`, `__next`).
The parser never resolves entities or fetches anything named in the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from connectors.catalog import Catalogue, Kind

__all__ = ["EdmxError", "EntityType", "Metadata", "Property", "parse"]

_EDMX_V1 = "http://schemas.microsoft.com/ado/2007/06/edmx"
_EDMX_V4 = "http://docs.oasis-open.org/odata/ns/edmx"
_META = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"

_KINDS: dict[str, Kind] = {
    "Edm.String": "text",
    "Edm.Decimal": "number",
    "Edm.Double": "number",
    "Edm.Single": "number",
    "Edm.Int16": "integer",
    "Edm.Int32": "integer",
    "Edm.Int64": "integer",
    "Edm.Byte": "integer",
    "Edm.SByte": "integer",
    "Edm.Boolean": "boolean",
    "Edm.DateTime": "datetime",
    "Edm.DateTimeOffset": "datetime",
    "Edm.Time": "time",
    "Edm.Guid": "guid",
    "Edm.Binary": "binary",
}


class EdmxError(ValueError):
    """The document is not OData V2/V3 service metadata."""


@dataclass(frozen=True)
class Property:
    name: str
    type: str  # "Edm.Decimal", or a complex type's name
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None

    @property
    def kind(self) -> Kind:
        return _KINDS.get(self.type, "any")


@dataclass(frozen=True)
class Navigation:
    name: str
    target: str  # the target entity type's qualified name
    many: bool


@dataclass
class EntityType:
    name: str  # qualified: Namespace.Name
    keys: tuple[str, ...]
    properties: dict[str, Property]
    navigations: dict[str, Navigation]


@dataclass
class Metadata:
    """One service's metadata: entity sets by name, entity types by qualified name."""

    version: str  # the EDMX version ("1.0")
    data_service_version: str | None  # "2.0" (SAP Gateway), "3.0" (1C)
    sets: dict[str, str] = field(default_factory=dict)  # entity set -> qualified entity type
    types: dict[str, EntityType] = field(default_factory=dict)
    # Complex types by their bare name (1C publishes a register's virtual table `X/Balance` as `X_Balance`).
    complex_types: dict[str, dict[str, Property]] = field(default_factory=dict)

    def entity(self, path: str) -> EntityType | None:
        """The entity type at `path`: an entity set, then navigation properties ("A_SalesOrder/to_Item")."""
        head, *navigations = path.split("/")
        qualified = self.sets.get(head)
        entity = self.types.get(qualified) if qualified else None
        for name in navigations:
            if entity is None:
                return None
            nav = entity.navigations.get(name)
            entity = self.types.get(nav.target) if nav else None
        return entity

    def catalogue(self, paths: Iterable[str], prefix: str = "") -> Catalogue:
        """What `check` compares with: for each path, its properties and navigations (names -> kinds)."""
        found = Catalogue(case_sensitive=True)
        for path in paths:
            entity = self.entity(path)
            if entity is not None:
                names: dict[str, Kind] = {p.name: p.kind for p in entity.properties.values()}
                names.update(dict.fromkeys(entity.navigations, "any"))
                found.containers[prefix + path] = names
        return found


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def parse(document: bytes) -> Metadata:
    """The metadata in `document` (bytes as received; a UTF-8 byte-order mark is fine)."""
    body = document.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not body.startswith(b"<"):
        raise EdmxError("the answer is not XML (expected the service's $metadata document, EDMX)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise EdmxError(f"the $metadata answer is not well-formed XML: {exc}") from None
    if _local(root.tag) != "Edmx":
        raise EdmxError(f"the answer is XML but not EDMX (root element <{_local(root.tag)}>)")
    namespace = str(root.tag).partition("}")[0].lstrip("{")
    version = root.get("Version") or ""
    if namespace == _EDMX_V4 or version.startswith("4"):
        raise EdmxError(
            f"this is an OData V4 service (EDMX {version}): dealersync reads the OData V2 APIs; publish the V2 "
            "version of the service or point the setting at it"
        )
    if namespace != _EDMX_V1:
        raise EdmxError(f"unknown EDMX namespace {namespace!r}")
    services = [child for child in root if _local(child.tag) == "DataServices"]
    if not services:
        raise EdmxError("the EDMX document has no DataServices element")
    meta = Metadata(version=version, data_service_version=services[0].get(f"{{{_META}}}DataServiceVersion"))
    associations: dict[str, dict[str, tuple[str, bool]]] = {}
    pending: list[tuple[EntityType, str, str, str]] = []  # (entity, name, relationship, to_role)
    for schema in services[0]:
        if _local(schema.tag) != "Schema":
            continue
        ns = schema.get("Namespace") or ""
        alias = schema.get("Alias")
        for element in schema:
            kind = _local(element.tag)
            if kind == "EntityType":
                entity = _entity(element, ns, pending)
                meta.types[entity.name] = entity
            elif kind == "ComplexType":
                meta.complex_types[element.get("Name") or ""] = {
                    p.name: p for p in map(_property, element) if p is not None
                }
            elif kind == "Association":
                ends = {}
                for end in element:
                    if _local(end.tag) == "End":
                        ends[end.get("Role") or ""] = (
                            _qualify(end.get("Type") or "", ns, alias),
                            end.get("Multiplicity") == "*",
                        )
                associations[f"{ns}.{element.get('Name')}"] = ends
                if alias:
                    associations[f"{alias}.{element.get('Name')}"] = ends
            elif kind == "EntityContainer":
                for entity_set in element:
                    if _local(entity_set.tag) == "EntitySet":
                        meta.sets[entity_set.get("Name") or ""] = _qualify(
                            entity_set.get("EntityType") or "", ns, alias
                        )
    for entity, name, relationship, to_role in pending:
        target, many = associations.get(relationship, {}).get(to_role, ("", False))
        entity.navigations[name] = Navigation(name, target, many)
    return meta


def _qualify(name: str, namespace: str, alias: str | None) -> str:
    if alias and name.startswith(alias + "."):
        return namespace + name[len(alias) :]
    return name


def _property(child: etree._Element) -> Property | None:
    if _local(child.tag) != "Property":
        return None
    return Property(
        child.get("Name") or "",
        child.get("Type") or "",
        child.get("Nullable", "true").lower() != "false",
        _int(child.get("MaxLength")),
        _int(child.get("Precision")),
        _int(child.get("Scale")),
    )


def _entity(element: etree._Element, ns: str, pending: list[tuple[EntityType, str, str, str]]) -> EntityType:
    keys: list[str] = []
    properties: dict[str, Property] = {}
    entity = EntityType(f"{ns}.{element.get('Name')}", (), properties, {})
    for child in element:
        kind = _local(child.tag)
        if kind == "Key":
            keys.extend(ref.get("Name") or "" for ref in child if _local(ref.tag) == "PropertyRef")
        elif kind == "Property":
            prop = _property(child)
            if prop is not None:
                properties[prop.name] = prop
        elif kind == "NavigationProperty":
            pending.append(
                (entity, child.get("Name") or "", child.get("Relationship") or "", child.get("ToRole") or "")
            )
    entity.keys = tuple(keys)
    return entity
