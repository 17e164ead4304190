"""SAP ECC through SOAP: RFC-enabled function modules (RFC_READ_TABLE, BAPIs) published as web services.

EccSource is the ecc_soap flavour of connectors.sap.SapAdapter. See README.md beside this file.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from connectors.base import CheckResult, ConnectorError, SourceContext, Stream
from connectors.census import CodeCount
from connectors.http import AuthFailed
from connectors.sap.ecc import census as code_census
from connectors.sap.ecc import ddic
from connectors.sap.ecc.currencies import Currencies
from connectors.sap.ecc.declare import needs
from connectors.sap.ecc.documents import Invoices, Orders
from connectors.sap.ecc.ledger import Ledger
from connectors.sap.ecc.masters import Accounts, Products
from connectors.sap.ecc.prices import PriceLists
from connectors.sap.ecc.pricing import Discounts
from connectors.sap.ecc.read_table import TableReader
from connectors.sap.ecc.receivables import Collections
from connectors.sap.ecc.rfc import Rfc, WrongClient
from connectors.sap.ecc.snapshots import RiskLimits, StockLevels
from connectors.sap.ecc.stock import StockMovements
from connectors.sap.ecc.streams import EccEnv, EccStream

if TYPE_CHECKING:
    from connectors.sap import SapSettings

__all__ = ["COMPANY_CODE_FUNCTION", "EccSource"]

COMPANY_CODE_FUNCTION = "BAPI_COMPANYCODE_GETDETAIL"


class EccSource:
    def __init__(self, context: SourceContext, settings: SapSettings) -> None:
        self.context = context
        self.settings = settings
        self._rfc: Rfc | None = None
        self._currencies = Currencies()

    @property
    def rfc(self) -> Rfc:
        if self._rfc is None:
            self._rfc = Rfc(self.settings)
        return self._rfc

    def env(self, *, retry: bool = True) -> EccEnv:
        reader = TableReader(self.rfc, self.settings.ecc, self.context.chunk_size, retry=retry)
        return EccEnv(reader=reader, settings=self.settings, tz=self.context.timezone, currencies=self._currencies)

    def streams(self) -> list[Stream]:
        return list(self._streams(self.env()))

    @staticmethod
    def _streams(env: EccEnv) -> list[EccStream]:
        return [
            Accounts(env),
            Products(env),
            StockLevels(env),
            Discounts(env),
            PriceLists(env),
            RiskLimits(env),
            Orders(env),
            Invoices(env),
            Collections(env),
            Ledger(env),
            StockMovements(env),
        ]

    def census(self, since: dt.date | None = None) -> list[CodeCount]:
        return code_census.census(self.env(), since)

    def close(self) -> None:
        if self._rfc is not None:
            self._rfc.close()
        self._rfc = None
        self._currencies = Currencies()  # the next sync reads TCURX again

    # -- check --------------------------------------------------------------------------------------------
    def check(self) -> list[CheckResult]:
        """Logon and client, the published function modules, the company code, then the schema of every enabled
        stream against the data dictionary (every table and field it reads, their types, the user's right to
        read them), without retries."""
        try:
            published = self.rfc.functions(retry=False)
        except WrongClient as exc:
            return [CheckResult("sap-client", False, str(exc))]
        except AuthFailed as exc:
            return [CheckResult("login", False, str(exc))]
        except ConnectorError as exc:
            return [CheckResult("connect", False, str(exc))]
        results = [CheckResult("connect", True, f"{self.rfc.where} publishes {', '.join(sorted(published))}")]
        needed = [self.settings.ecc.read_table_function]
        if self.settings.company_code:
            needed.append(COMPANY_CODE_FUNCTION)
        missing = [f for f in needed if f not in published]
        if missing:
            detail = (
                f"not published in the WSDL at {self.rfc.where}: {', '.join(missing)} (publish them as web services "
                "in SOAMANAGER, or name them in the WSDL URL's services parameter)"
            )
            return [*results, CheckResult("function modules", False, detail)]
        results.append(CheckResult("function modules", True, ", ".join(needed)))
        if self.settings.company_code:
            results.append(self._check_company())
        results += self._check_tables()
        return results

    def _check_company(self) -> CheckResult:
        code = self.settings.company_code
        try:
            result = self.rfc.call(COMPANY_CODE_FUNCTION, retry=False, COMPANYCODEID=code)
        except ConnectorError as exc:
            return CheckResult("company code", False, str(exc))
        detail = result["COMPANYCODE_DETAIL"]
        currency = (detail["CURRENCY_ISO"] or detail["CURRENCY"] or "").strip() if detail is not None else ""
        if currency != self.settings.local_currency:
            return CheckResult(
                "company code",
                False,
                f"company code {code} keeps its books in {currency or '?'}, but local_currency is "
                f"{self.settings.local_currency}: set local_currency to the company code's currency",
            )
        return CheckResult("company code", True, f"{code} ({(detail['COMP_NAME'] or '').strip()}), {currency}")

    def _check_tables(self) -> list[CheckResult]:
        env = self.env(retry=False)
        enabled = [s for s in self._streams(env) if s.name not in self.context.disabled]
        wanted = {s.name: needs(s.declared()) for s in enabled}
        ecc = self.settings.ecc
        return ddic.check_schema(env.reader, wanted, [*ecc.condition_tables, *ecc.price_list_tables])
