"""Documents as S/4's APIs show them: sales orders, billing documents and receivable lines of FI documents.

The facts here carry the bookkeeping S/4 keeps beside a scenario record (DocumentFact), or are FI lines the
scenario's invoices and collections are posted as (CustomerLine); s4_scenario.py makes both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.sap import codes
from connectors.sap.emulator.s4_filter import Row
from connectors.sap.emulator.s4_system import (
    COMPANY_CODE,
    DISTRIBUTION_CHANNEL,
    DIVISION,
    PLANT,
    SALES_ORG,
    SAP_ISO_UNITS,
    edm_date,
    item_number,
    rate5,
    sap_price,
    sap_unit,
    utc_instant,
)
from mapping.schema import Invoice, Order

__all__ = ["CustomerLine", "DocumentFact", "DocumentRows"]


@dataclass
class DocumentFact:
    """A sales order or billing document with the bookkeeping S/4 keeps beside it."""

    record: Any
    created: dt.datetime
    changed: dt.datetime
    cancels: str = ""  # on a cancellation document (S1): the billing document it cancels


@dataclass
class CustomerLine:
    """One customer line of an FI document (a collection's line, a reversal, or an invoice's receivable)."""

    doc: str
    item: str
    doc_type: str
    account: str
    posted: dt.date
    due: dt.date | None
    amount: Decimal  # signed: debit +, credit -
    amount_local: Decimal
    currency: str
    rate: Decimal
    method: str
    entered: dt.datetime
    invoice_ref: str = ""
    cleared_by: str = ""
    cleared_on: dt.date | None = None
    reversal: bool = False
    reversed_by: str = ""
    billing: str = ""  # the billing document whose receivable this is (VBRK-VBELN)
    reference: str = ""  # the reference printed on the document (BKPF-XBLNR): a note's own number
    text: str = ""  # the item text (BSEG-SGTXT)


_BILLING_TYPES: Mapping[str, tuple[str, str]] = {
    "sale": ("F2", codes.VBTYP_INVOICE),
    "service": ("F2", codes.VBTYP_INVOICE),
    "return": ("G2", codes.VBTYP_CREDIT_MEMO),
    "price_difference": ("L2", codes.VBTYP_DEBIT_MEMO),
}


class DocumentRows:
    """Renders document facts for a system in time zone `tz` keeping its books in `local` currency; billing
    documents in the `indirect` currencies quote their rate indirectly (document currency units per local unit)."""

    def __init__(self, tz: dt.tzinfo, local: str, indirect: frozenset[str] = frozenset()) -> None:
        self.tz = tz
        self.local = local
        self.indirect = indirect

    # -- sales documents -----------------------------------------------------------------------------------------
    @staticmethod
    def _pricing(keys: Row, line: Any, currency: str) -> list[Row]:
        rate, per = sap_price(line.unit_price)
        base = {**keys, "PricingProcedureCounter": "001", "ConditionIsForStatistics": False,
                "ConditionInactiveReason": ""}  # fmt: skip
        elements: list[Row] = [
            {**base, "PricingProcedureStep": "010", "ConditionType": "PPR0", "ConditionClass": "B",
             "ConditionRateValue": rate, "ConditionCurrency": currency, "ConditionQuantity": per,
             "ConditionAmount": line.gross},
        ]  # fmt: skip
        if line.discount:
            percent = (line.discount * 100 / line.gross).quantize(Decimal("0.001")) if line.gross else Decimal(0)
            elements.append(
                {**base, "PricingProcedureStep": "100", "ConditionType": "K007", "ConditionClass": "A",
                 "ConditionRateValue": -percent, "ConditionCurrency": "%", "ConditionQuantity": Decimal(0),
                 "ConditionAmount": -line.discount}
            )  # fmt: skip
        elements.append(
            {**base, "PricingProcedureStep": "900", "ConditionType": "MWST", "ConditionClass": "D",
             "ConditionRateValue": line.vat_rate, "ConditionCurrency": "%", "ConditionQuantity": Decimal(0),
             "ConditionAmount": line.vat}
        )  # fmt: skip
        # A statistical cost condition (VPRS) is never part of the price.
        elements.append(
            {**base, "PricingProcedureStep": "950", "ConditionType": "VPRS", "ConditionClass": "B",
             "ConditionRateValue": line.unit_price, "ConditionCurrency": currency, "ConditionQuantity": Decimal(1),
             "ConditionAmount": line.gross / 2, "ConditionIsForStatistics": True}
        )  # fmt: skip
        return elements

    def _order_rate(self, o: Order) -> Decimal:
        """An order's AccountingExchangeRate: none ("0.00000") unless fixed on the order, as captured S/4 answers
        show; here half the foreign-currency orders have one fixed."""
        if o.currency == self.local or int(o.number[-1], 36) % 2 or o.rate is None:
            return Decimal(0)
        return rate5(o.rate)

    def _billing_rate(self, inv: Invoice) -> tuple[Decimal, bool]:
        """(AbsltAccountingExchangeRate, AcctgExchangeRateIsIndrctQtan) of a billing document."""
        if inv.rate is None:
            return Decimal(0), False
        if inv.currency in self.indirect:
            return rate5(1 / rate5(inv.rate)), True
        return rate5(inv.rate), False

    def order(self, doc: DocumentFact) -> Row:
        o: Order = doc.record
        process = {"closed": "C", "shippable": "B"}.get(o.status, "A")
        partners = [{"SalesOrder": o.number, "PartnerFunction": "AG", "Customer": codes.alpha_in(o.account_code, 10)}]
        if o.sales_rep_code:
            partners.append({"SalesOrder": o.number, "PartnerFunction": "VE", "Personnel": o.sales_rep_code})
        return {
            "SalesOrder": o.number,
            "SalesOrderType": "OR",
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "OrganizationDivision": DIVISION,
            "SoldToParty": codes.alpha_in(o.account_code, codes.KUNNR_LENGTH),
            "SalesOrderDate": edm_date(o.date),
            "CreationDate": edm_date(doc.created.astimezone(self.tz).date()),
            "LastChangeDateTime": utc_instant(doc.changed),
            "TransactionCurrency": o.currency,
            "AccountingExchangeRate": self._order_rate(o),
            "TotalNetAmount": o.totals.net,
            "OverallSDProcessStatus": process,
            "OverallSDDocumentRejectionSts": "C" if o.status == "cancelled" else "A",
            "DeliveryBlockReason": "01" if o.status == "proposal" else "",
            "to_Item": lambda: [self._order_item(o, line) for line in o.lines],
            "to_Partner": lambda: partners,
        }

    def _order_item(self, o: Order, line: Any) -> Row:
        closed = o.status == "cancelled" or line.closed
        status = "C" if closed else "B" if line.shipped_quantity else "A"
        unit = sap_unit(line.unit)
        item = item_number(line.line_no)
        return {
            "SalesOrder": o.number,
            "SalesOrderItem": item,
            "SalesOrderItemCategory": "TAD" if line.kind == "service" else "TAN",
            "Material": codes.alpha_in(line.product_code or "", codes.MATNR_LENGTH),
            "RequestedQuantity": line.quantity,
            "RequestedQuantityUnit": unit,
            "RequestedQuantitySAPUnit": unit,
            "RequestedQuantityISOUnit": SAP_ISO_UNITS.get(unit, ""),
            "OrderQuantityUnit": unit,
            "OrderQuantitySAPUnit": unit,
            "OrderQuantityISOUnit": SAP_ISO_UNITS.get(unit, ""),
            "NetAmount": line.net,
            "TaxAmount": line.vat,
            "TransactionCurrency": o.currency,
            "ProductionPlant": PLANT,
            "StorageLocation": line.warehouse_code or "",
            "SDProcessStatus": status,
            "SalesDocumentRjcnReason": "Z1" if o.status == "cancelled" else "",
            "to_PricingElement": lambda: self._pricing(
                {"SalesOrder": o.number, "SalesOrderItem": item}, line, o.currency
            ),
        }

    def billing(self, doc: DocumentFact) -> Row:
        inv: Invoice = doc.record
        cancellation = bool(doc.cancels)
        if cancellation:
            billing_type, category = ("S1", codes.VBTYP_INVOICE_CANCELLATION)
        else:
            billing_type, category = _BILLING_TYPES[inv.kind]
        issued = (inv.issued_at or doc.created).astimezone(self.tz)
        partners = [{"BillingDocument": inv.number, "PartnerFunction": "AG",
                     "Customer": codes.alpha_in(inv.account_code, codes.KUNNR_LENGTH)}]  # fmt: skip
        if inv.sales_rep_code:
            partners.append({"BillingDocument": inv.number, "PartnerFunction": "VE", "Personnel": inv.sales_rep_code})
        rate, indirect = self._billing_rate(inv)
        return {
            "BillingDocument": inv.number,
            "BillingDocumentType": billing_type,
            "SDDocumentCategory": category,
            "BillingDocumentDate": edm_date(inv.date),
            "CreationDate": edm_date(issued.date()),
            "CreationTime": issued.time().replace(microsecond=0),
            "LastChangeDateTime": utc_instant(doc.changed),
            "SalesOrganization": SALES_ORG,
            "DistributionChannel": DISTRIBUTION_CHANNEL,
            "Division": DIVISION,
            "SoldToParty": codes.alpha_in(inv.account_code, codes.KUNNR_LENGTH),
            "PayerParty": codes.alpha_in(inv.account_code, codes.KUNNR_LENGTH),
            "TransactionCurrency": inv.currency,
            "AbsltAccountingExchangeRate": rate,
            "AcctgExchangeRateIsIndrctQtan": indirect,
            "AccountingExchangeRateIsSet": inv.currency != self.local,
            "ExchangeRateDate": edm_date(inv.date),
            "ExchangeRateType": "M",
            "TotalNetAmount": inv.totals.net,
            "TaxAmount": inv.totals.vat,
            "TotalGrossAmount": inv.totals.total,
            "BillingDocumentIsCancelled": inv.cancelled and not cancellation,
            "CancelledBillingDocument": doc.cancels,
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": str(inv.date.year),
            "AccountingDocument": inv.number,
            "DocumentReferenceID": inv.document_no or "",
            "to_Item": lambda: [self._billing_item(inv, line) for line in inv.lines],
            "to_Partner": lambda: partners,
        }

    def _billing_item(self, inv: Invoice, line: Any) -> Row:
        service = line.kind == "service"
        category = "TAD" if service else {"return": "G2N", "price_difference": "L2N"}.get(inv.kind, "TAN")
        item = item_number(line.line_no)
        return {
            "BillingDocument": inv.number,
            "BillingDocumentItem": item,
            "SalesDocumentItemCategory": category,
            "Material": codes.alpha_in(line.product_code or "", codes.MATNR_LENGTH),
            "BillingQuantity": line.quantity,
            "BillingQuantityUnit": sap_unit(line.unit),
            "NetAmount": line.net,
            "TaxAmount": line.vat,
            "TransactionCurrency": inv.currency,
            "Plant": PLANT,
            "StorageLocation": line.warehouse_code or "",
            "ReferenceSDDocument": inv.original_invoice or "",
            "ReferenceSDDocumentCategory": codes.VBTYP_INVOICE if inv.original_invoice else "",
            "to_PricingElement": lambda: self._pricing(
                {"BillingDocument": inv.number, "BillingDocumentItem": item}, line, inv.currency
            ),
        }

    # -- receivables ---------------------------------------------------------------------------------------------
    def fi_item(self, p: CustomerLine) -> Row:
        entered = p.entered.astimezone(self.tz)
        return {
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": str(p.posted.year),
            "AccountingDocument": p.doc,
            "AccountingDocumentItem": p.item,
            "AccountingDocumentType": p.doc_type,
            "FinancialAccountType": "D",
            "Customer": codes.alpha_in(p.account, codes.KUNNR_LENGTH),
            "PostingDate": edm_date(p.posted),
            "DocumentDate": edm_date(p.posted),
            "NetDueDate": edm_date(p.due or p.posted),
            "DebitCreditCode": codes.DEBIT if p.amount >= 0 else codes.CREDIT,
            "AmountInTransactionCurrency": p.amount,
            "TransactionCurrency": p.currency,
            "AmountInCompanyCodeCurrency": p.amount_local,
            "CompanyCodeCurrency": self.local,
            "ExchangeRate": rate5(p.rate),
            "PaymentMethod": p.method,
            "InvoiceReference": p.invoice_ref,
            "ClearingAccountingDocument": p.cleared_by,
            "ClearingDate": edm_date(p.cleared_on) if p.cleared_on else None,
            "IsReversal": p.reversal,
            "ReverseDocument": p.reversed_by,
            "AccountingDocumentCreationDate": edm_date(entered.date()),
            "BillingDocument": p.billing,
            "DocumentReferenceID": p.reference,
            "DocumentItemText": p.text,
        }
