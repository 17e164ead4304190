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
    edm_date,
    item_number,
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


_BILLING_TYPES: Mapping[str, tuple[str, str]] = {
    "sale": ("F2", codes.VBTYP_INVOICE),
    "service": ("F2", codes.VBTYP_INVOICE),
    "return": ("G2", codes.VBTYP_CREDIT_MEMO),
    "price_difference": ("L2", codes.VBTYP_DEBIT_MEMO),
}


class DocumentRows:
    """Renders document facts for a system in time zone `tz` keeping its books in `local` currency."""

    def __init__(self, tz: dt.tzinfo, local: str) -> None:
        self.tz = tz
        self.local = local

    # -- sales documents -----------------------------------------------------------------------------------------
    def _pricing(self, line: Any, currency: str) -> list[Row]:
        rate, per = sap_price(line.unit_price)
        elements: list[Row] = [
            {"PricingProcedureStep": "010", "ConditionType": "PPR0", "ConditionClass": "B", "ConditionRateValue": rate,
             "ConditionCurrency": currency, "ConditionQuantity": per, "ConditionAmount": line.gross,
             "ConditionIsForStatistics": False, "ConditionInactiveReason": ""},
        ]  # fmt: skip
        if line.discount:
            percent = (line.discount * 100 / line.gross).quantize(Decimal("0.001")) if line.gross else Decimal(0)
            elements.append(
                {"PricingProcedureStep": "100", "ConditionType": "K007", "ConditionClass": "A",
                 "ConditionRateValue": -percent, "ConditionCurrency": "%", "ConditionQuantity": Decimal(0),
                 "ConditionAmount": -line.discount, "ConditionIsForStatistics": False, "ConditionInactiveReason": ""}
            )  # fmt: skip
        elements.append(
            {"PricingProcedureStep": "900", "ConditionType": "MWST", "ConditionClass": "D",
             "ConditionRateValue": line.vat_rate, "ConditionCurrency": "%", "ConditionQuantity": Decimal(0),
             "ConditionAmount": line.vat, "ConditionIsForStatistics": False, "ConditionInactiveReason": ""}
        )  # fmt: skip
        # A statistical cost condition (VPRS) is never part of the price.
        elements.append(
            {"PricingProcedureStep": "950", "ConditionType": "VPRS", "ConditionClass": "B",
             "ConditionRateValue": line.unit_price, "ConditionCurrency": currency, "ConditionQuantity": Decimal(1),
             "ConditionAmount": line.gross / 2, "ConditionIsForStatistics": True, "ConditionInactiveReason": ""}
        )  # fmt: skip
        return elements

    def order(self, doc: DocumentFact) -> Row:
        o: Order = doc.record
        process = {"closed": "C", "shippable": "B"}.get(o.status, "A")
        svc = "API_SALES_ORDER_SRV"
        partners = [{"SalesOrder": o.number, "PartnerFunction": "AG", "Customer": codes.alpha_in(o.account_code, 10),
                     "Personnel": ""}]  # fmt: skip
        if o.sales_rep_code:
            partners.append({"SalesOrder": o.number, "PartnerFunction": "VE", "Customer": "",
                             "Personnel": o.sales_rep_code})  # fmt: skip
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
            "AccountingExchangeRate": o.rate,
            "TotalNetAmount": o.totals.net,
            "OverallSDProcessStatus": process,
            "OverallSDDocumentRejectionSts": "C" if o.status == "cancelled" else "A",
            "DeliveryBlockReason": "01" if o.status == "proposal" else "",
            "to_Item": lambda: [self._order_item(o, line) for line in o.lines],
            "_type_to_Item": f"{svc}.A_SalesOrderItemType",
            "to_Partner": lambda: partners,
            "_type_to_Partner": f"{svc}.A_SalesOrderHeaderPartnerType",
        }

    def _order_item(self, o: Order, line: Any) -> Row:
        closed = o.status == "cancelled" or line.closed
        status = "C" if closed else "B" if line.shipped_quantity else "A"
        return {
            "SalesOrder": o.number,
            "SalesOrderItem": item_number(line.line_no),
            "SalesOrderItemCategory": "TAD" if line.kind == "service" else "TAN",
            "Material": codes.alpha_in(line.product_code or "", codes.MATNR_LENGTH),
            "RequestedQuantity": line.quantity,
            "RequestedQuantityUnit": sap_unit(line.unit),
            "NetAmount": line.net,
            "TaxAmount": line.vat,
            "TransactionCurrency": o.currency,
            "ProductionPlant": PLANT,
            "StorageLocation": line.warehouse_code or "",
            "SDProcessStatus": status,
            "SalesDocumentRjcnReason": "Z1" if o.status == "cancelled" else "",
            "to_PricingElement": lambda: self._pricing(line, o.currency),
            "_type_to_PricingElement": "API_SALES_ORDER_SRV.A_SalesOrderItemPrcgElmntType",
        }

    def billing(self, doc: DocumentFact) -> Row:
        inv: Invoice = doc.record
        cancellation = bool(doc.cancels)
        if cancellation:
            billing_type, category = ("S1", codes.VBTYP_INVOICE_CANCELLATION)
        else:
            billing_type, category = _BILLING_TYPES[inv.kind]
        issued = (inv.issued_at or doc.created).astimezone(self.tz)
        svc = "API_BILLING_DOCUMENT_SRV"
        partners = [{"BillingDocument": inv.number, "PartnerFunction": "AG", "Customer": codes.alpha_in(
            inv.account_code, codes.KUNNR_LENGTH), "Personnel": ""}]  # fmt: skip
        if inv.sales_rep_code:
            partners.append({"BillingDocument": inv.number, "PartnerFunction": "VE", "Customer": "",
                             "Personnel": inv.sales_rep_code})  # fmt: skip
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
            "AccountingExchangeRate": inv.rate,
            "TotalNetAmount": inv.totals.net,
            "TotalGrossAmount": inv.totals.total,
            "BillingDocumentIsCancelled": inv.cancelled and not cancellation,
            "CancelledBillingDocument": doc.cancels,
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": str(inv.date.year),
            "AccountingDocument": inv.number,
            "DocumentReferenceID": inv.document_no or "",
            "to_Item": lambda: [self._billing_item(inv, line) for line in inv.lines],
            "_type_to_Item": f"{svc}.A_BillingDocumentItemType",
            "to_Partner": lambda: partners,
            "_type_to_Partner": f"{svc}.A_BillingDocumentPartnerType",
        }

    def _billing_item(self, inv: Invoice, line: Any) -> Row:
        service = line.kind == "service"
        category = "TAD" if service else {"return": "G2N", "price_difference": "L2N"}.get(inv.kind, "TAN")
        return {
            "BillingDocument": inv.number,
            "BillingDocumentItem": item_number(line.line_no),
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
            "to_PricingElement": lambda: self._pricing(line, inv.currency),
            "_type_to_PricingElement": "API_BILLING_DOCUMENT_SRV.A_BillingDocumentItemPrcgElmntType",
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
            "AbsoluteExchangeRate": p.rate,
            "PaymentMethod": p.method,
            "InvoiceReference": p.invoice_ref,
            "ClearingAccountingDocument": p.cleared_by,
            "ClearingDate": edm_date(p.cleared_on) if p.cleared_on else None,
            "IsReversal": p.reversal,
            "ReverseDocument": p.reversed_by,
            "AccountingDocumentCreationDate": edm_date(entered.date()),
        }
