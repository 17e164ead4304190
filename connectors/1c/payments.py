"""Incoming payments: one document set per method (`collection_documents` setting; defaults: bank receipt,
cash receipt order, and in УТ / ERP the card operation). Only the operation kinds the `operations`
setting includes are collections (a client's payment; not a supplier's refund or a loan). The settled
invoices come from the payment breakdown (РасшифровкаПлатежа), whose settled document is a composite
reference (a GUID and its _Type)."""

from __future__ import annotations

from typing import Any

from mapping.errors import RecordError
from mapping.money import fixed, minor_units
from mapping.schema import Collection

from .declare import Field, Read, composite, guid, text
from .documents import Documents, composite_ref
from .lines import to_local
from .odata import Row
from .streams import yes

__all__ = ["Collections"]

_INVOICE_ROLES = ("sales", "returns", "corrections")


class Collections(Documents):
    name = "collections"
    primary_key = ("number",)

    def document_sets(self) -> list[tuple[Read, Any]]:
        f = self.flavour
        payer = guid(f.payer_field) if f.payer_field.endswith("_Key") else composite(f.payer_field)
        fields: tuple[tuple[Field, ...], ...] = (payer, guid(f.currency_field), text(f.operation_field))
        return [(self.header("", name, *fields), method) for name, method in self.env.collections.items()]

    def section_reads(self, header: Read) -> list[tuple[str, Read]]:
        settled = composite(self.flavour.settlement_field)
        return [("РасшифровкаПлатежа", self.section(header, "РасшифровкаПлатежа", settled))]

    def resolve_reads(self) -> list[Read]:
        sets = self.flavour.sets
        return [Read(sets[role], (*guid("Ref_Key"), *text("Number")), role) for role in _INVOICE_ROLES]

    def resolve(self, rows: list[Row]) -> None:
        field = self.flavour.settlement_field
        queries = [self.env.query(read) for read in self.resolve_reads()]
        numbers: dict[str, str] = {}
        for q in queries:
            refs = {
                ref
                for row in rows
                for line in row["_lines"].get("РасшифровкаПлатежа", [])
                if (ref := composite_ref(line, field, q.set))
            }
            for found in self.env.odata.by_refs(q, refs):
                numbers[found["Ref_Key"]] = str(found.get("Number") or "")
        for row in rows:
            settled = {numbers.get(line.get(field) or "") for line in row["_lines"].get("РасшифровкаПлатежа", [])}
            row["_settles"] = sorted(n for n in settled if n)
            row["_resolved"] = ",".join(row["_settles"])

    def map(self, item: Row) -> Collection | None:
        f = self.flavour
        if self.deleted(item) or not self.included(item, "collections", f.operation_field):
            return None
        payer = None
        if not f.payer_field.endswith("_Key"):
            payer = composite_ref(item, f.payer_field, self.env.query(self.lookup_reads()[0]).set)
            if payer is None:
                raise RecordError("the payer (Контрагент) is not a counterparty", "account_code")
        head = self.head(item, payer)
        amount = fixed(item.get("СуммаДокумента"), minor_units(head["currency"]), "amount")
        return Collection(
            **head,
            amount=amount,
            amount_local=to_local(amount, head["rate"]),
            method=item["_tag"],
            cancelled=yes(item, "DeletionMark", "cancelled"),
            settles=item["_settles"],
        )
