"""1C:Enterprise 8.3 adapter: the standard OData interface (/<base>/odata/standard.odata) of УТ 11, 1C:ERP 2
or Бухгалтерия предприятия 3, read with basic auth. See README.md beside this file.

The folder name is not a Python identifier: the entry point loads it through connectors/onec.py, and
modules here import each other relatively.
"""

from __future__ import annotations

import datetime as dt

from connectors.base import Adapter, CheckResult, ConnectorError, SourceContext
from connectors.census import CodeCount
from connectors.http import AuthFailed, HttpClient, HttpSourceError
from mapping.errors import RecordError

from .census import census
from .flavours import FLAVOURS, Flavour
from .goods import Invoices, Orders
from .ledger import TradeLedger
from .ledger_bp import AccountingLedger
from .masters import Accounts, Products
from .odata import OData
from .payments import Collections
from .prices import PriceLists
from .readings import ORDER_STATUSES, VAT_KINDS, VAT_RATES, ledger_defaults, movement_defaults, operation_defaults
from .schema import check_schema
from .settings import OneCSettings
from .snapshots import Discounts, RiskLimits, StockLevels
from .stock import StockMovements
from .streams import OneCEnv, OneCStream

__all__ = ["OneCAdapter", "OneCSettings"]


class OneCAdapter(Adapter):
    kind = "1c"
    Settings = OneCSettings

    def __init__(self, context: SourceContext, settings: OneCSettings) -> None:  # type: ignore[override]
        super().__init__(context, settings)
        self.settings: OneCSettings = settings
        self.flavour: Flavour = FLAVOURS[settings.configuration]
        self._client: HttpClient | None = None
        self._env: OneCEnv | None = None

    def env(self) -> OneCEnv:
        if self._env is None:
            s, f = self.settings, self.flavour
            self._client = HttpClient(s, params={"$format": "json"})
            operations = operation_defaults(f.layout)
            for stream, values in s.operations.items():
                operations[stream] = {**operations.get(stream, {}), **values}
            self._env = OneCEnv(
                odata=OData(self._client, self.context.chunk_size, s.refs_per_request),
                flavour=f,
                sets={**f.sets, **s.sets},
                renames=dict(s.fields),
                codes={**f.codes, **s.codes},
                tz=self.context.timezone,
                local_currency=s.local_currency,
                lookback=dt.timedelta(days=s.lookback_days),
                collections=dict(s.collection_documents or f.collections),
                operations=operations,
                vat_rates={**VAT_RATES, **s.vat_rates},
                vat_kinds={**VAT_KINDS, **s.vat_kinds},
                order_statuses={**ORDER_STATUSES, **s.order_statuses},
                ledger_kinds={**ledger_defaults(f.layout), **s.ledger_kinds},
                movement_kinds={**movement_defaults(), **s.movement_kinds},
                currency_codes=dict(s.currency_codes),
                stock_reserved=tuple(s.stock_reserved),
                stock_accounts=tuple(s.stock_accounts),
                receivable_accounts=tuple(s.receivable_accounts),
                price_list_types=s.price_list_types,
                zero_price_unlists=s.zero_price_unlists,
            )
        return self._env

    def streams(self) -> list[OneCStream]:  # type: ignore[override]
        env = self.env()
        # БП 3 keeps no credit limit (its contracts have no ДопустимаяСуммаЗадолженности): no risk_limits stream.
        risk = [RiskLimits(env)] if self.flavour.trade else []
        ledger = [self.ledger(env)]
        # БП 3 keeps goods as accounting records on account 41 (no stock register): no stock_movements stream there.
        stock = [StockMovements(env)] if self.flavour.trade else []
        return [
            Accounts(env),
            Products(env),
            StockLevels(env),
            Discounts(env),
            PriceLists(env),
            *risk,
            Orders(env),
            Invoices(env),
            Collections(env),
            *ledger,
            *stock,
        ]

    def ledger(self, env: OneCEnv) -> TradeLedger | AccountingLedger:
        """РасчетыСКлиентами's records (УТ / ERP), or the accounting register's on the receivable accounts (БП)."""
        return TradeLedger(env) if self.flavour.trade else AccountingLedger(env)

    def census(self, since: dt.date | None = None) -> list[CodeCount]:
        env = self.env()
        stock = StockMovements(env) if self.flavour.trade else None
        return census(env, Products(env), Invoices(env), Collections(env), Orders(env), self.ledger(env), since, stock)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._env = None

    def check(self) -> list[CheckResult]:
        env = self.env()
        where = env.odata.client.root
        try:
            env.odata.published()
        except AuthFailed as exc:
            user = getattr(self.settings.auth, "username", None) or "the configured client"
            if exc.status == 403:
                detail = f"1C at {where} denied user {user!r} access: give it read rights on the published objects"
            else:
                detail = (
                    f"1C at {where} refused the credentials of user {user!r}: check the infobase user's name and "
                    "password (1C:Enterprise authentication)"
                )
            return [CheckResult("connect", False, detail)]
        except HttpSourceError as exc:
            return [CheckResult("connect", False, f"cannot read the OData service document of {where}: {exc}")]
        streams = [s for s in self.streams() if s.name not in self.context.disabled]
        roles = {env.physical(r): r.role for s in streams for r in s.reads() if r.role}
        lines, how = check_schema(env.odata, {s.name: s.needs() for s in streams}, roles)
        results = [CheckResult("connect", True, f"connected to {where} ({self.flavour.label}; schema from {how})")]
        results += lines
        failed = {r.name.removesuffix(": schema").removeprefix("stream ") for r in lines if not r.ok}
        for stream in streams:
            if stream.name in failed:
                continue
            try:
                stream.probe()
                count = stream.count()
            except (ConnectorError, RecordError) as exc:  # HttpSourceError and UnpublishedSet are ConnectorErrors
                results.append(CheckResult(f"stream {stream.name}", False, str(exc)))
                continue
            detail = "look-ups read (a snapshot)" if count is None else f"{count} objects"
            results.append(CheckResult(f"stream {stream.name}", True, detail))
        return results
