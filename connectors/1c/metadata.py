"""The emulator's $metadata: EDMX 1.0 / DataServiceVersion 3.0 in 1C's shape (namespace StandardODATA, open
entity types keyed by Ref_Key, tabular sections as entity sets keyed by Ref_Key and LineNumber and as
<Set>_RowType complex types, virtual tables as <Register>_Balance complex types, the container EnterpriseV8
in a second schema as the captured БП excerpt has it; vendor/bp3_capture_metadata_excerpt.xml). Only the
sets and fields the emulator holds, with the vendor metadata's types. Navigation properties and
associations, which 1C also emits for every reference, are left out: nothing here reads them."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .infobase import Infobase

__all__ = ["edmx"]

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">\n'
    '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
    'm:DataServiceVersion="3.0" m:MaxDataServiceVersion="3.0">\n'
    '<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">\n'
)


def _keys(name: str, fields: tuple[str, ...]) -> tuple[str, ...]:
    if "Ref_Key" in fields and "LineNumber" in fields:
        return ("Ref_Key", "LineNumber")
    if "Ref_Key" in fields:
        return ("Ref_Key",)
    if "Recorder" in fields:
        return ("Recorder", "LineNumber", "Recorder_Type")
    return tuple(f for f in fields if f == "Period" or f.endswith("_Key"))  # an independent register's dimensions


def _properties(types: dict[str, str], keys: tuple[str, ...]) -> list[str]:
    out = []
    for name, kind in types.items():
        nullable = "false" if name in keys else "true"
        out.append(f'<Property Name={quoteattr(name)} Type={quoteattr(kind)} Nullable="{nullable}"/>')
    return out


def edmx(base: Infobase, published: set[str]) -> bytes:
    body: list[str] = [_HEAD]
    container: list[str] = []
    sections = {s for entity_set in base.sets.values() for s in entity_set.sections}
    for name in sorted(base.sets):
        entity_set = base.sets[name]
        owner, _, table = name.partition("/")
        if owner not in published:
            continue
        if table:  # a virtual table: a complex type
            body += [f"<ComplexType Name={quoteattr(f'{owner}_{table}')}>", *_properties(entity_set.types, ())]
            body.append("</ComplexType>")
            continue
        keys = _keys(name, entity_set.fields)
        body.append(f'<EntityType Name={quoteattr(name)} OpenType="true"><Key>')
        body += [f"<PropertyRef Name={quoteattr(k)}/>" for k in keys]
        body += ["</Key>", *_properties(entity_set.types, keys)]
        for section in entity_set.sections:
            short = section[len(name) + 1 :]
            rows = f"Collection(StandardODATA.{section}_RowType)"
            body.append(f'<Property Name={quoteattr(short)} Type={quoteattr(rows)} Nullable="true"/>')
        body.append("</EntityType>")
        if name in sections:
            body += [f"<ComplexType Name={quoteattr(f'{name}_RowType')}>", *_properties(entity_set.types, ())]
            body.append("</ComplexType>")
        container.append(f"<EntitySet Name={quoteattr(name)} EntityType={quoteattr(f'StandardODATA.{name}')}/>")
    body.append("</Schema>\n")
    body.append('<Schema Namespace="Default" xmlns="http://docs.oasis-open.org/odata/ns/edm">\n')
    body.append('<EntityContainer Name="EnterpriseV8" m:IsDefaultEntityContainer="true">\n')
    body += [*container, "</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n"]
    return "\n".join(body).encode("utf-8")
