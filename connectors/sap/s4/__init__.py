"""S/4HANA (on-premise or cloud) through its standard OData V2 APIs; see connectors/sap/README.md."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from connectors.base import CheckResult, SourceContext, Stream
from connectors.census import CodeCount
from connectors.http import HttpClient
from connectors.sap.s4.census import census
from connectors.sap.s4.check import check
from connectors.sap.s4.documents import Invoices, Orders
from connectors.sap.s4.ledger import Ledger
from connectors.sap.s4.masters import Accounts, Products
from connectors.sap.s4.odata import ODataReader
from connectors.sap.s4.prices import PriceLists
from connectors.sap.s4.receivables import Collections
from connectors.sap.s4.snapshots import Discounts, RiskLimits, StockLevels
from connectors.sap.s4.stock import StockMovements
from connectors.sap.s4.streams import S4Env, S4Stream

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["S4Source"]


class S4Source:
    """The eleven streams of one S/4 system, over one HTTP client (sap-client on every call)."""

    def __init__(self, context: SourceContext, settings: SapSettings) -> None:
        self.context = context
        self.settings = settings
        self.client = HttpClient(settings, params={"sap-client": settings.sap_client})
        self.reader = ODataReader(self.client, settings.s4.page_size)
        self.env = S4Env(self.reader, settings, context.timezone)
        self._streams: list[S4Stream] = [
            Accounts(self.env),
            Products(self.env),
            StockLevels(self.env),
            Discounts(self.env),
            PriceLists(self.env),
            RiskLimits(self.env),
            Orders(self.env),
            Invoices(self.env),
            Collections(self.env),
            Ledger(self.env),
            StockMovements(self.env),
        ]

    def streams(self) -> list[Stream]:
        return list(self._streams)

    def check(self) -> list[CheckResult]:
        enabled = [s for s in self._streams if s.name not in self.context.disabled]
        return check(self.client, self.reader, self.settings, enabled)

    def census(self, since: dt.date | None) -> list[CodeCount]:
        return census(self.env, since, self.context.disabled)

    def close(self) -> None:
        self.client.close()
