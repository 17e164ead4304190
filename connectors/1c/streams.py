"""What every 1C stream shares: where it reads (its declared reads, bound to the infobase), its look-ups,
keys (Ref_Key) and versions (DataVersion)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import Stream
from connectors.catalog import Need
from mapping.errors import RecordError
from mapping.schema import CollectionMethod, LedgerKind, MovementKind, OrderStatus
from mapping.text import code, flag

from .declare import Field, Query, Read, guid, unique
from .flavours import Flavour
from .lookups import Lookups
from .odata import OData, Row, is_ref
from .readings import Operation

__all__ = ["OneCEnv", "OneCStream", "code_of"]


@dataclass
class OneCEnv:
    """Everything a stream needs, resolved once from the settings."""

    odata: OData
    flavour: Flavour
    sets: Mapping[str, str]  # role -> entity set name, the settings' overrides applied
    renames: Mapping[str, str]  # "<vendor set>.<vendor field>" -> the field's name in this base
    codes: Mapping[str, str]  # role -> the field a catalog's feed code comes from
    tz: ZoneInfo
    local_currency: str
    lookback: dt.timedelta
    collections: Mapping[str, CollectionMethod]  # incoming payment document set -> method
    operations: Mapping[str, Mapping[str, Operation]]  # stream -> operation kind -> include / exclude
    vat_rates: Mapping[str, Decimal | None]
    vat_kinds: Mapping[str, Decimal | None]
    order_statuses: Mapping[str, OrderStatus]
    ledger_kinds: Mapping[str, LedgerKind]  # account_ledger: operation or recorder document -> kind
    currency_codes: Mapping[str, str]
    stock_reserved: tuple[str, ...]
    stock_accounts: tuple[str, ...]
    receivable_accounts: tuple[str, ...]
    movement_kinds: Mapping[str, MovementKind] = field(default_factory=dict)  # stock_movements: recorder -> kind
    price_list_types: str = "sales"  # УТ/ERP: "sales" (ИспользоватьПриПродаже) or "all" price types not a deal
    zero_price_unlists: bool = True  # a ЦеныНоменклатуры record with Цена 0 ends the item's listing
    _queries: dict[Read, Query] = field(default_factory=dict)

    def physical(self, read: Read) -> str:
        """The container's name in this base: the role's set (renamed by `sets`) with the read's suffix
        (a tabular section "_Товары", a virtual table "/Balance")."""
        if not read.role:
            return read.container  # a set named by a setting itself (collection_documents)
        default = self.flavour.sets[read.role]
        return self.sets[read.role] + read.container.removeprefix(default)

    def query(self, read: Read) -> Query:
        """The read bound to this base; optional fields it lacks are found once (1C answers 400)."""
        found = self._queries.get(read)
        if found is None:
            physical = self.physical(read)
            absent = frozenset(
                f.name
                for f in read.fields
                if f.optional and not self.odata.has(physical, self.renames.get(f"{read.container}.{f.name}", f.name))
            )
            found = self._queries[read] = Query(read, physical, self.renames, absent)
        return found

    def needs(self, reads: list[Read]) -> list[Need]:
        return [need for read in reads for need in read.needs(self.physical(read), self.renames)]

    def catalog(self, role: str, *fields: tuple[Field, ...] | Field) -> Read:
        """A read of a catalog (or register) by its role: Ref_Key and `fields`."""
        flat: list[Field] = list(guid("Ref_Key")) if self.flavour.sets[role].startswith(("Catalog_", "Chart")) else []
        for group in fields:
            flat.extend(group if isinstance(group, tuple) else (group,))
        return Read(self.flavour.sets[role], unique(flat), role)

    def lookups(self) -> Lookups:
        return Lookups(self)


def code_of(table: Mapping[str, Row], ref: Any, what: str, field: str, attribute: str = "Code") -> str | None:
    """The code of a referenced catalog item; None for an empty reference, RecordError for a dangling one."""
    if not is_ref(ref):
        return None
    row = table.get(ref)
    if row is None:
        raise RecordError(f"refers to a {what} that is not in the published catalog ({ref})", field)
    return code(row.get(attribute), field)


def yes(row: Row, name: str, field: str) -> bool:
    """An Edm.Boolean attribute (DeletionMark, Posted, ...): true or false; a null or anything else is an error."""
    return flag(row.get(name), field, (True,), (False,))


class OneCStream(Stream):
    """A stream over 1C objects. Items are the JSON rows 1C returned, with what was fetched for them under
    "_"-prefixed keys (tabular sections, resolved numbers), so a dead letter keeps the whole evidence."""

    def __init__(self, env: OneCEnv) -> None:
        self.env = env
        self.flavour = env.flavour
        self.sets = env.sets
        self.tz = env.tz
        self.lookups = env.lookups()
        self.digest = ""

    def reads(self) -> list[Read]:
        """Every query shape the stream sends, its look-ups included: what check() verifies."""
        raise NotImplementedError

    def needs(self) -> list[Need]:
        return self.env.needs(self.reads())

    def code(self, role: str) -> str:
        return self.env.codes[role]

    def prepare(self) -> None:
        """Load the stream's look-ups afresh (once per read): codes may have changed since the last run."""
        self.lookups = self.env.lookups()
        self.load(self.lookups)
        self.digest = self.lookups.digest()

    def load(self, lookups: Lookups) -> None:
        """Touch every look-up map() needs, so the digest covers them."""

    def probe(self) -> None:
        """What check() runs once the schema is proven: the look-ups load (their rows are readable)."""
        self.prepare()

    def key(self, item: Row) -> str:
        return str(item.get("Ref_Key"))

    def version(self, item: Row) -> str | None:
        """The object's DataVersion with the look-ups' digest and anything resolved for it: equal only when
        nothing the record is built from has changed."""
        data_version = item.get("DataVersion")
        if data_version is None:
            return None
        return f"{data_version}|{item.get('_resolved', '')}|{self.digest}"

    def raw(self, item: Row) -> dict[str, Any]:
        return dict(item)
