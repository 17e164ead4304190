"""1C:Enterprise 8.3 adapter: the standard OData interface (/<base>/odata/standard.odata) of УТ 11, 1C:ERP 2
or Бухгалтерия предприятия 3, read with basic auth. See README.md beside this file.

The folder name is not a Python identifier: the entry point loads it through connectors/onec.py, and
modules here import each other relatively.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator

from connectors.base import Adapter, CheckResult, ConnectorError, SourceContext
from connectors.http import AuthFailed, HttpClient, HttpSourceError, HttpSourceSettings
from mapping.errors import RecordError
from mapping.schema import CollectionMethod

from .documents import Collections, Invoices, Orders
from .flavours import FLAVOURS, Flavour
from .masters import Accounts, Products
from .odata import OData
from .snapshots import Discounts, RiskLimits, StockLevels
from .streams import OneCEnv, OneCStream

__all__ = ["OneCAdapter", "OneCSettings"]


class OneCSettings(HttpSourceSettings):
    url: str = Field(description="the OData root, e.g. https://1c.example.ru/trade/odata/standard.odata")
    configuration: Literal["ut11", "erp2", "bp3"] = Field(
        "ut11", description="the typical configuration: picks set and field names (ut11, erp2, bp3)"
    )
    local_currency: str = Field("RUB", pattern="^[A-Z]{3}$", description="the infobase's regulated currency")
    lookback_days: int = Field(
        45, ge=0, le=3650, description="documents dated this many days before the cursor are re-read (re-posting)"
    )
    sets: dict[str, str] = Field(default_factory=dict, description="role -> entity set name, for renamed sets")
    collection_documents: dict[str, CollectionMethod] | None = Field(
        None, description="incoming payment document sets -> method; default per configuration"
    )
    receivable_accounts: list[str] = Field(["62.01"], description="BP 3: chart-of-accounts codes of receivables")
    stock_accounts: list[str] = Field(["41.01"], description="BP 3: chart-of-accounts codes of goods in stock")
    refs_per_request: int = Field(
        25, ge=1, le=200, description="GUIDs per or-ed $filter: keeps the URL under IIS's default 2048-byte query"
    )

    @field_validator("sets")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        roles = {role for flavour in FLAVOURS.values() for role in flavour.sets}
        unknown = sorted(set(value) - roles)
        if unknown:
            raise ValueError(f"unknown set role(s) {', '.join(unknown)}; known: {', '.join(sorted(roles))}")
        return value


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
            s = self.settings
            self._client = HttpClient(s, params={"$format": "json"})
            self._env = OneCEnv(
                odata=OData(self._client, self.context.chunk_size, s.refs_per_request),
                flavour=self.flavour,
                sets={**self.flavour.sets, **s.sets},
                tz=self.context.timezone,
                local_currency=s.local_currency,
                lookback=dt.timedelta(days=s.lookback_days),
                collections=dict(s.collection_documents or self.flavour.collections),
                receivable_accounts=tuple(s.receivable_accounts),
                stock_accounts=tuple(s.stock_accounts),
            )
        return self._env

    def streams(self) -> list[OneCStream]:  # type: ignore[override]
        env = self.env()
        return [
            Accounts(env),
            Products(env),
            StockLevels(env),
            Discounts(env),
            RiskLimits(env),
            Orders(env),
            Invoices(env),
            Collections(env),
        ]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._env = None

    def check(self) -> list[CheckResult]:
        env = self.env()
        where = env.odata.client.root
        try:
            published = env.odata.published()
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
        results = [CheckResult("connect", True, f"connected to {where} ({self.flavour.label})")]
        for stream in self.streams():
            name = stream.name
            missing = sorted({n for n in stream.needs() if n not in published})
            if missing:
                detail = (
                    f"not published in the standard OData interface: {', '.join(missing)}; add them "
                    "(Настройка стандартного интерфейса OData / УстановитьСоставСтандартногоИнтерфейсаOData)"
                )
                results.append(CheckResult(f"stream {name}", False, detail))
                continue
            try:
                stream.probe()
                count = stream.count()
            except (ConnectorError, RecordError) as exc:  # HttpSourceError and UnpublishedSet are ConnectorErrors
                results.append(CheckResult(f"stream {name}", False, str(exc)))
                continue
            results.append(CheckResult(f"stream {name}", True, "published" if count is None else f"{count} objects"))
        return results
