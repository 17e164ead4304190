"""The scenario's facts laid into S/4's entity sets, and its later changes made there.

What S/4 cannot hold as the scenario states it is recorded the way an S/4 system would:
  * a cancelled invoice keeps its number and gets a cancellation billing document (S1) X<number> naming it;
    the cancellation's accounting document X<number> posts the opposite of the invoice's receivable and clears it;
  * receivables of billing documents carry the billing document (BillingDocument); notes are FI documents DA/DR/DG
    with their number in DocumentReferenceID and their text in DocumentItemText;
  * a collection is an FI document of customer lines: one per invoice that other collections pay too,
    referencing it (REBZG), and one for the rest, which clears itself and the receivables of the invoices
    it alone pays; a cancelled collection is reversed by document R<number>;
  * a price list is a price list type (PLTYP: SATIS 01, IHRACAT 02; its name, in T189T, is in no API); each entry
    is a PPR0 condition record of its own; a per-case price beside the per-piece one is keyed by the sales unit too;
  * stock of 100 or more has a tenth in quality inspection (stock type 02);
  * some places also hold special stock the scenario does not know (the adapter must keep it apart from the own
    stock): sales order stock (E), customer consignment stock at the dealer's site (W, no storage location) and
    project stock (Q);
  * goods movements are material documents (s4_stock_rows.py): a sale's goods issue (601), a return's receipt
    (653), a purchase's goods receipt (101), a transfer's 311 document of two items per line, and a cancelled
    invoice's movement reversed (602/654);
  * exchange rates have five decimals and FI's local amounts are the document amounts at that rate; the rate table
    (the customer-built service `s4.exchange_rates` reads) holds each day's rate the documents use.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from connectors.sap import codes
from connectors.sap.emulator.s4_document_rows import CustomerLine, DocumentFact, DocumentRows
from connectors.sap.emulator.s4_entity_set import EntitySet
from connectors.sap.emulator.s4_filter import Row
from connectors.sap.emulator.s4_master_rows import MasterRows, PriceFact
from connectors.sap.emulator.s4_metadata import RATES_SERVICE, Service
from connectors.sap.emulator.s4_stock_rows import MaterialDocument, StockRows
from connectors.sap.emulator.s4_system import COMPANY_CODE, CREDIT_SEGMENT, local_at, rate5
from mapping.money import to_local_totals
from mapping.schema import Collection, Invoice, PriceListEntry, StockLevel
from scenario.facts import Change, Note, Scenario

__all__ = ["S4Layout"]

_NOTE_TYPES = {"opening": "DA", "debit_note": "DR", "credit_note": "DG"}
_METHOD_LETTERS = {"cash": "B", "card": "K", "cheque": "C", "promissory_note": "W", "bank_transfer": "U"}


class S4Layout:
    """Where S/4 keeps each fact: entity sets built from the scenario, changed by `apply`."""

    def __init__(
        self,
        scenario: Scenario,
        services: Mapping[str, Service],
        cancel_touches_original: bool,
        indirect: frozenset[str],
    ) -> None:
        self.scenario = scenario
        self.services = services
        self.cancel_touches_original = cancel_touches_original
        self.tz = scenario.as_of.tzinfo or dt.UTC
        masters = MasterRows(self.tz, scenario.local_currency, scenario.as_of)
        documents = DocumentRows(self.tz, scenario.local_currency, indirect)
        self.partners = self._set("API_BUSINESS_PARTNER", "A_BusinessPartner", masters.partner)
        self.products = self._set("API_PRODUCT_SRV", "A_Product", masters.product, change="LastChangeDateTime")
        self.stock = self._set("API_MATERIAL_STOCK_SRV", "A_MatlStkInAcctMod", masters.stock)
        self.conditions = self._set(
            "API_SLSPRICINGCONDITIONRECORD_SRV",
            "A_SlsPrcgConditionRecord",
            masters.condition,
            change="LastChangeDateTime",
        )
        # Each price list entry's condition record number, by (list_code, product_code, unit, valid_from).
        self.price_records: dict[tuple[str, str, str | None, dt.date | None], str] = {}
        self.credit = self._set("API_CRDTMBUSINESSPARTNER", "CreditManagementAccount", masters.credit)
        self.rates = self._set(RATES_SERVICE, "YY1_ExchangeRate", masters.rate)
        self.orders = self._set("API_SALES_ORDER_SRV", "A_SalesOrder", documents.order, change="LastChangeDateTime")
        self.billing = self._set(
            "API_BILLING_DOCUMENT_SRV", "A_BillingDocument", documents.billing, change="LastChangeDateTime"
        )
        self.items = self._set(
            "API_OPLACCTGDOCITEMCUBE_SRV",
            "A_OperationalAcctgDocItemCube",
            documents.fi_item,
            change="AccountingDocumentCreationDate",
            indexed=("ClearingAccountingDocument",),
        )
        self.movements = StockRows(self.tz)
        self.material_documents = self._set(
            "API_MATERIAL_DOCUMENT_SRV", "A_MaterialDocumentHeader", self.movements.header, change="CreationDate"
        )
        self._fill()

    def _set(
        self,
        service: str,
        name: str,
        render: Callable[[Any], Row],
        change: str | None = None,
        indexed: tuple[str, ...] = (),
    ) -> EntitySet:
        """An entity set keyed as SAP's metadata keys it."""
        keys = self.services[service].entity_type(name).keys
        return EntitySet(service, name, keys, render, change, indexed)

    def entity_sets(self) -> list[EntitySet]:
        return [
            self.partners,
            self.products,
            self.stock,
            self.conditions,
            self.credit,
            self.orders,
            self.billing,
            self.items,
            self.rates,
            self.material_documents,
        ]

    # -- building ----------------------------------------------------------------------------------------------
    def _fill(self) -> None:
        s = self.scenario
        for st in s.accounts:
            self.partners.put((codes.alpha_in(st.record.code, codes.KUNNR_LENGTH),), st)
        for st in s.products:
            self.products.put((codes.alpha_in(st.record.code, codes.MATNR_LENGTH),), st)
        for service in s.services:
            self.products.put((codes.alpha_in(service.code, codes.MATNR_LENGTH),), service)
        orders = list(s.orders())
        dealers = [st.record.code for st in s.accounts if st.record.kind != "supplier"]
        for i, level in enumerate(s.stock_levels):
            for stock_type, quantity in self._stock_split(level):
                self._put_stock(level, stock_type, quantity, {})
            special = self._special_stock(i, orders[i % len(orders)].record.number, dealers[i % len(dealers)])
            if special:
                self._put_stock(level, "01", Decimal(5), special)
        for st in s.discounts:
            self.conditions.put((st.record.code,), st)
        for i, entry in enumerate(s.price_lists, start=1):
            self._add_price(entry, i)
        for limit in s.risk_limits:
            self.credit.put((codes.alpha_in(limit.account_code, codes.KUNNR_LENGTH), CREDIT_SEGMENT), limit)
        for st in orders:
            self.orders.put(
                (st.record.number,), DocumentFact(st.record, st.created_at, st.modified_at or st.created_at)
            )
        settlers: dict[str, list[str]] = {}
        collections = list(s.collections())
        for st in collections:
            for number in st.record.settles:
                settlers.setdefault(number, []).append(st.record.number)
        invoices: dict[str, Invoice] = {}
        for st in s.invoices():
            self._add_invoice(st.record, st.created_at, st.modified_at or st.created_at)
            invoices[st.record.number] = st.record
        for slip in s.stock_slips():
            self._put_movement(self.movements.slip(slip.record, slip.created_at))
        posted = {st.record.number: st.record.date for st in collections}
        for st in collections:
            self._add_collection(st.record, st.created_at, st.modified_at, settlers)
        for i, st in enumerate(s.notes(), start=1):
            self._add_note(st.record, st.created_at, i)
        for record in [*(st.record for st in orders), *invoices.values(), *(st.record for st in collections)]:
            self._add_rate(record.currency, record.date, record.rate)
        # A single payment clears the invoice's receivable; partial payments reference it (REBZG) instead.
        for number, payers in settlers.items():
            if len(payers) == 1 and number in invoices:
                self._clear(invoices[number], payers[0], posted[payers[0]])

    def _add_price(self, entry: PriceListEntry, number: int) -> None:
        """An entry as its own condition record, numbered from 0000500001, entered a week before it is valid (the
        open-ended ones a week before the scenario's day, at the latest)."""
        record = f"{500_000 + number:010d}"
        start = dt.datetime.combine(entry.valid_from or self.scenario.as_of.date(), dt.time(10), self.tz)
        created = min(start - dt.timedelta(days=7), self.scenario.as_of - dt.timedelta(days=7))
        key = (entry.list_code, entry.product_code, entry.unit, entry.valid_from)
        self.price_records[key] = record
        self.conditions.put((record,), PriceFact(entry, record, created, created))

    def reprice(self, record: str, price: Decimal, at: dt.datetime) -> None:
        """Change the rate of a price condition record (VK12), which stamps its LastChangeDateTime."""
        fact: PriceFact = self.conditions.facts[(record,)]
        entry = msgspec.structs.replace(fact.entry, price=price)
        self.conditions.put((record,), dataclasses.replace(fact, entry=entry, changed=at))

    def _put_stock(self, level: StockLevel, stock_type: str, quantity: Decimal, special: dict[str, str]) -> None:
        row = self.stock.render((level, stock_type, quantity, special))
        self.stock.put(tuple(str(row[k]) for k in self.stock.key_fields), (level, stock_type, quantity, special))

    @staticmethod
    def _special_stock(i: int, order: str, dealer: str) -> dict[str, str]:
        """Special stock at some places: sales order stock, customer consignment (at the dealer's site, so no
        storage location), project stock."""
        if i % 7 == 3:
            return {"InventorySpecialStockType": "E", "SDDocument": order, "SDDocumentItem": "10"}
        if i % 11 == 5:
            return {"InventorySpecialStockType": "W", "StorageLocation": "",
                    "Customer": codes.alpha_in(dealer, codes.KUNNR_LENGTH)}  # fmt: skip
        if i % 13 == 7:
            return {"InventorySpecialStockType": "Q", "WBSElementInternalID": f"{i:08d}",
                    "WBSElementExternalID": f"P-{i:04d}.01"}  # fmt: skip
        return {}

    def _add_rate(self, currency: str, day: dt.date, rate: Decimal | None) -> None:
        if rate is not None and currency != self.scenario.local_currency:
            key = ("M", currency, self.scenario.local_currency, day.isoformat())
            self.rates.facts.setdefault(key, (currency, self.scenario.local_currency, day, rate5(rate)))
            self.rates.put(key, self.rates.facts[key])

    @staticmethod
    def _stock_split(level: StockLevel) -> list[tuple[str, Decimal]]:
        """Unrestricted stock, with a tenth of larger quantities in quality inspection (stock type 02)."""
        if level.on_hand < 100:
            return [("01", level.on_hand)]
        inspection = (level.on_hand / 10).quantize(Decimal("0.001"))
        return [("01", level.on_hand - inspection), ("02", inspection)]

    def _put_movement(self, doc: MaterialDocument | None) -> None:
        if doc is not None:
            self.material_documents.put((doc.year, doc.number), doc)

    def _add_invoice(self, inv: Invoice, created: dt.datetime, changed: dt.datetime) -> None:
        self.billing.put((inv.number,), DocumentFact(inv, created, changed))
        self._put_movement(self.movements.invoice(inv, created))
        if inv.cancelled:
            self._add_cancellation(inv, changed)
        sign = -1 if inv.kind == "return" else 1
        self.items.put(
            (COMPANY_CODE, str(inv.date.year), inv.number, "001"),
            CustomerLine(
                doc=inv.number,
                item="001",
                doc_type="RV",
                account=inv.account_code,
                posted=inv.date,
                due=inv.due_date,
                amount=sign * inv.totals.total,
                amount_local=sign * self._local_total(inv),
                currency=inv.currency,
                rate=inv.rate,
                method="",
                entered=created,
                # The cancellation's accounting document clears the receivable it reverses.
                cleared_by=f"X{inv.number}" if inv.cancelled else "",
                cleared_on=changed.astimezone(self.tz).date() if inv.cancelled else None,
                billing=inv.number,
            ),
        )

    def _local_total(self, inv: Invoice) -> Decimal:
        """What FI posts for an invoice's receivable: the document total at its five-decimal rate."""
        if inv.currency == self.scenario.local_currency or inv.rate is None:
            return inv.totals.total
        return to_local_totals(inv.totals, rate5(inv.rate), self.scenario.local_currency).total

    def _add_cancellation(self, inv: Invoice, at: dt.datetime) -> None:
        """The S1 document that cancelled `inv`: its own billing document pointing at the original; its goods
        movement, if it made one, reversed."""
        moved = self.movements.by_invoice.get(inv.number)
        if moved is not None and not any(it.cancelled for it in moved.items):
            self._put_movement(self.movements.reversal(moved, at))
            self._put_movement(moved)
        cancel = msgspec.structs.replace(inv, number=f"X{inv.number}", lines=[], date=at.astimezone(self.tz).date())
        self.billing.put((cancel.number,), DocumentFact(cancel, at, at, cancels=inv.number))
        # Its accounting document posts the opposite of the receivable and clears both.
        sign = 1 if inv.kind == "return" else -1
        self.items.put(
            (COMPANY_CODE, str(cancel.date.year), cancel.number, "001"),
            CustomerLine(
                doc=cancel.number,
                item="001",
                doc_type="RV",
                account=inv.account_code,
                posted=cancel.date,
                due=cancel.date,
                amount=sign * inv.totals.total,
                amount_local=sign * self._local_total(inv),
                currency=inv.currency,
                rate=inv.rate,
                method="",
                entered=at,
                cleared_by=cancel.number,
                cleared_on=cancel.date,
                billing=cancel.number,
            ),
        )

    def _add_note(self, n: Note, created: dt.datetime, number: int) -> None:
        """A note as an FI document on the customer (no billing document): an opening as a customer document (DA),
        a debit note as a customer invoice (DR, FB70), a credit note as a customer credit memo (DG, FB75), numbered
        from 1800000001 (an FI number range), its own number in the reference, its text in the item text; due at
        once; left open."""
        doc = f"{1_800_000_000 + number:010d}"
        amount = -n.amount if n.kind == "credit_note" else n.amount
        self.items.put(
            (COMPANY_CODE, str(n.date.year), doc, "001"),
            CustomerLine(
                doc=doc,
                item="001",
                doc_type=_NOTE_TYPES[n.kind],
                account=n.account_code,
                posted=n.date,
                due=n.date,
                amount=amount,
                amount_local=amount,
                currency=self.scenario.local_currency,
                rate=Decimal(1),
                method="",
                entered=created,
                reference=n.number,
                text=n.description,
            ),
        )

    def _add_collection(
        self, c: Collection, created: dt.datetime, modified: dt.datetime | None, settlers: Mapping[str, list[str]]
    ) -> None:
        partial = [n for n in c.settles if len(settlers.get(n, ())) > 1]
        shares = _split(c.amount, len(partial) + (1 if len(partial) < len(c.settles) or not partial else 0))
        local = c.amount_local if c.currency == self.scenario.local_currency else local_at(c.amount, c.rate)
        local_shares = _split(local, len(shares))
        refs = [*partial, ""][: len(shares)]
        for i, (ref, share, local_share) in enumerate(zip(refs, shares, local_shares, strict=True), start=1):
            line = CustomerLine(
                doc=c.number,
                item=f"{i:03d}",
                doc_type=codes.CUSTOMER_PAYMENT_DOCUMENT_TYPE,
                account=c.account_code,
                posted=c.date,
                due=c.due_date,
                amount=-share,
                amount_local=-local_share,
                currency=c.currency,
                rate=c.rate,
                method=_METHOD_LETTERS[c.method],
                entered=created,
                invoice_ref=ref,
                # A payment that clears invoices clears its own customer line in the same document.
                cleared_by=c.number if not ref and c.settles else "",
                cleared_on=c.date if not ref and c.settles else None,
            )
            if c.cancelled and modified is not None:
                line.reversed_by = f"R{c.number}"
            self.items.put((COMPANY_CODE, str(c.date.year), c.number, line.item), line)
        if c.cancelled and modified is not None:
            reversal = CustomerLine(
                doc=f"R{c.number}",
                item="001",
                doc_type=codes.CUSTOMER_PAYMENT_DOCUMENT_TYPE,
                account=c.account_code,
                posted=c.date,
                due=None,
                amount=c.amount,
                amount_local=local,
                currency=c.currency,
                rate=c.rate,
                method=_METHOD_LETTERS[c.method],
                entered=modified,
                reversal=True,
                reversed_by=c.number,
            )
            self.items.put((COMPANY_CODE, str(c.date.year), reversal.doc, "001"), reversal)

    def _clear(self, inv: Invoice, payment: str, on: dt.date) -> None:
        key = (COMPANY_CODE, str(inv.date.year), inv.number, "001")
        line = self.items.facts.get(key)
        if line is not None:
            self.items.put(key, dataclasses.replace(line, cleared_by=payment, cleared_on=on))

    # -- changes -----------------------------------------------------------------------------------------------
    def apply(self, change: Change) -> None:
        if change.kind == "new_invoice" and change.invoice is not None:
            self._add_invoice(change.invoice, change.at, change.at)
            self._add_rate(change.invoice.currency, change.invoice.date, change.invoice.rate)
        elif change.kind == "cancel_invoice" and change.number:
            doc: DocumentFact = self.billing.facts[(change.number,)]
            cancelled = msgspec.structs.replace(doc.record, cancelled=True)
            changed = change.at if self.cancel_touches_original else doc.changed
            self.billing.put((change.number,), DocumentFact(cancelled, doc.created, changed))
            self._add_cancellation(cancelled, change.at)
            key = (COMPANY_CODE, str(cancelled.date.year), cancelled.number, "001")
            cleared_on = change.at.astimezone(self.tz).date()
            receivable = dataclasses.replace(
                self.items.facts[key], cleared_by=f"X{cancelled.number}", cleared_on=cleared_on
            )
            self.items.put(key, receivable)
        elif change.kind == "new_collection" and change.collection is not None:
            self._add_collection(change.collection, change.at, None, {})
            self._add_rate(change.collection.currency, change.collection.date, change.collection.rate)
        elif change.kind == "discount_value" and change.number:
            st = self.conditions.facts[(change.number,)]
            record = msgspec.structs.replace(st.record, value=change.value)
            self.conditions.put((change.number,), type(st)(record, st.created_at, change.at))
        else:
            raise ValueError(f"cannot apply change {change.kind!r}")


def _split(amount: Decimal, parts: int) -> list[Decimal]:
    """`amount` in `parts` shares of whole cents, the last taking the remainder."""
    cents = int(amount * 100)
    share = cents // parts
    shares = [Decimal(share).scaleb(-2)] * (parts - 1)
    return [*shares, Decimal(cents - share * (parts - 1)).scaleb(-2)]
