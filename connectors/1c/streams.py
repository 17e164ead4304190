"""What every 1C stream shares: where it reads, its look-ups, keys (Ref_Key) and versions (DataVersion)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import Stream
from mapping.errors import RecordError
from mapping.schema import CollectionMethod

from .flavours import Flavour
from .lookups import Lookups
from .odata import OData, Row, is_ref

__all__ = ["OneCEnv", "OneCStream", "code_of"]


@dataclass(frozen=True)
class OneCEnv:
    """Everything a stream needs, resolved once from the settings."""

    odata: OData
    flavour: Flavour
    sets: Mapping[str, str]  # role -> entity set name, the settings' overrides applied
    tz: ZoneInfo
    local_currency: str
    lookback: dt.timedelta
    collections: Mapping[str, CollectionMethod]  # incoming payment document set -> method
    receivable_accounts: tuple[str, ...]
    stock_accounts: tuple[str, ...]

    def lookups(self) -> Lookups:
        return Lookups(self.odata, dict(self.sets), self.local_currency)


def code_of(table: Mapping[str, Row], ref: Any, what: str, field: str, attribute: str = "Code") -> str | None:
    """The code of a referenced catalog item; None for an empty reference, RecordError for a dangling one."""
    if not is_ref(ref):
        return None
    row = table.get(ref)
    if row is None:
        raise RecordError(f"refers to a {what} that is not in the published catalog ({ref})", field)
    return str(row.get(attribute) or "") or None


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

    def prepare(self) -> None:
        """Load the stream's look-ups afresh (once per read): codes may have changed since the last run."""
        self.lookups = self.env.lookups()
        self.load(self.lookups)
        self.digest = self.lookups.digest()

    def load(self, lookups: Lookups) -> None:
        """Touch every look-up map() needs, so the digest covers them."""

    def probes(self) -> list[tuple[str, tuple[str, ...] | None]]:
        """(set, $select) of every query read() sends beyond the look-ups: check() asks each for one row."""
        raise NotImplementedError

    def probe(self) -> None:
        """What check() runs: the look-ups, then one row of each query, so a field a customised base lacks
        is named now (1C answers 400 with the field's name) rather than at the first sync."""
        self.prepare()
        for set_name, select in self.probes():
            params: dict[str, Any] = {"$top": 1}
            if select is not None:
                params["$select"] = ",".join(select)
            self.env.odata.get(set_name, params, retry=False)

    def needs(self) -> list[str]:
        """Every entity set the stream reads (tabular sections included): what check() asks to be published."""
        raise NotImplementedError

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
