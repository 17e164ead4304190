"""What kind of stock movement a STOK_HAREKETLERI row is: the stock_movement_kinds setting over sourced defaults.

Mikro tells a stock movement apart by `sth_evraktip` (the document: an invoice, a dispatch note, a warehouse slip, a
transfer...), `sth_cins` (what moved: wholesale, retail, waste, consumption, a count, an opening...), `sth_tip` (0
in, 1 out, 2 warehouse transfer) and `sth_normal_iade` (1: a return); each list is on Mikro's page for the table
(vendor/STOK_HAREKETLERI.tsv, vendor/code_lists.tsv). The direction is `sth_tip` alone (a transfer row is two
movements: out of `sth_cikis_depo_no`, into `sth_giris_depo_no`); the kind is read here.

Keys are "evraktip[:cins[:tip[:iade]]]", '*' for any value, the most specific key that matches deciding (as
movement_codes' keys). A row no key matches goes out as kind `other` with its codes in `erp_kind`, and the census
shows it. Each default names its source: Mikro's page where its lists name the movement (an outgoing invoice that is
not a return is a sale; a count is a count), UNCONFIRMED where the kind is read from the names and no row Mikro
wrote has been seen (a return on an outgoing document is a return to a supplier; a production slip's issues are the
materials it used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, get_args

from connectors.census import UNCONFIRMED
from connectors.mikro.codes import DOCS_STH
from connectors.mikro.readings import YOURS, CodePattern, split_key
from mapping.schema import MovementKind

__all__ = ["DEFAULT_STOCK_KINDS", "SETTING", "StockKind", "StockKinds", "parse_stock_kinds"]

SETTING: Final = "stock_movement_kinds"
_KINDS = frozenset(get_args(MovementKind))
# The ERP reference's reading of invoice lines, from rows Mikro wrote (ErpBridge): a sale's line is sth_evraktip 4,
# sth_tip 1; a sales return's line sth_evraktip 3, sth_tip 0, sth_normal_iade 1.
ROWS: Final = "Mikro docs: STOK_HAREKETLERI; invoice lines as Mikro writes them (ERP reference)"
# A Mikro add-on's stored procedures look up the row Mikro's screens wrote for each document by its codes (tip, cins,
# iade, evraktip): Toptan Alış İrsaliyesi 0/0/0/13, Toptan Satış İrsaliyesi 1/0/0/1, Alış Faturası 0/0/0/3, Satış
# Faturası 1/0/0/4, Depolar Arası Sevk Fişi 2/6/0/2 (index file id 62936952884); a query on a live v16 database lists
# the transfers as sth_tip 2, sth_evraktip 2, sth_cins 6, sth_normal_iade 0 (index file id 17015551949).
SCREENS: Final = "Mikro docs: STOK_HAREKETLERI; rows Mikro's screens write (public add-on queries)"

# key (evraktip[:cins[:tip[:iade]]]) -> (kind, source, what Mikro calls the rows).
DEFAULT_STOCK_KINDS: Final[Mapping[str, tuple[str, str, str]]] = {
    "4:*:*:0": ("sale", ROWS, "Çıkış Faturası"),
    "3:*:*:1": ("sale_return", ROWS, "Giriş Faturası, İade"),
    "3:*:*:0": ("purchase", SCREENS, "Giriş Faturası"),
    "1:*:*:0": ("sale", SCREENS, "Çıkış İrsaliyesi"),
    "13:*:*:0": ("purchase", SCREENS, "Giriş İrsaliyesi"),
    "2": ("transfer", SCREENS, "Depo Transfer Fişi"),
    "12:10": ("count", DOCS_STH, "Depo Giriş Fişi, Sayım"),
    "0:10": ("count", DOCS_STH, "Depo Çıkış Fişi, Sayım"),
    "12:11": ("count", DOCS_STH, "Depo Giriş Fişi, Stok Açılış"),
    "0:4": ("consumption", DOCS_STH, "Depo Çıkış Fişi, Fire"),
    "0:5": ("consumption", DOCS_STH, "Depo Çıkış Fişi, Sarf"),
    # Read from the names alone: no row Mikro wrote has been seen.
    "4:*:*:1": ("purchase_return", UNCONFIRMED, "Çıkış Faturası, İade: goods back to a supplier"),
    "1:*:*:1": ("purchase_return", UNCONFIRMED, "Çıkış İrsaliyesi, İade: goods back to a supplier"),
    "13:*:*:1": ("sale_return", UNCONFIRMED, "Giriş İrsaliyesi, İade: goods back from a customer"),
    "7:*:0": ("production", UNCONFIRMED, "Üretim Fişi, Giriş: goods made"),
    "7:*:1": ("consumption", UNCONFIRMED, "Üretim Fişi, Çıkış: materials used"),
}


@dataclass(frozen=True)
class StockKind(CodePattern):
    """One key of stock_movement_kinds (evrak = sth_evraktip, cinsi = sth_cins, tip = sth_tip, iade =
    sth_normal_iade): which rows it matches and their kind."""

    kind: MovementKind
    source: str
    label: str = ""


def parse_stock_kinds(setting: Mapping[str, str | None]) -> list[StockKind]:
    """The effective readings: the defaults with the setting's keys over them (null drops a default)."""
    merged: dict[str, tuple[str, str, str]] = dict(DEFAULT_STOCK_KINDS)
    for key, value in setting.items():
        if value is None:
            merged.pop(key, None)
            continue
        default = DEFAULT_STOCK_KINDS.get(key)
        merged[key] = default if default and default[0] == value else (value, YOURS, "")
    readings: list[StockKind] = []
    seen: dict[tuple[Any, ...], str] = {}
    for key, (kind, source, label) in merged.items():
        evrak, cins, tip, iade = split_key(key, SETTING)
        if kind not in _KINDS:
            raise ValueError(f"{SETTING} {key!r}: {kind!r} must be one of {', '.join(sorted(_KINDS))}")
        if (evrak, cins, tip, iade) in seen:
            raise ValueError(f"{SETTING} keys {seen[evrak, cins, tip, iade]!r} and {key!r} name the same codes")
        seen[evrak, cins, tip, iade] = key
        readings.append(StockKind(key, evrak, cins, tip, iade, kind, source, label))  # type: ignore[arg-type]
    return sorted(readings, key=lambda r: (r.evrak, r.rank))


class StockKinds:
    """The readings in force; `of` gives a row's reading, or None (the row goes out as `other`)."""

    def __init__(self, setting: Mapping[str, str | None]) -> None:
        self.readings = parse_stock_kinds(setting)
        self.by_evrak: dict[int, list[StockKind]] = {}
        for r in self.readings:
            self.by_evrak.setdefault(r.evrak, []).append(r)
        self.of = lru_cache(maxsize=4096)(self._of)

    def _of(self, evraktip: Any, cins: Any, tip: Any, iade: Any) -> StockKind | None:
        return next((r for r in self.by_evrak.get(evraktip, ()) if r.matches(cins, tip, iade)), None)
