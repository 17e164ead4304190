"""What the invoices and collections streams share: rows of CARI_HESAP_HAREKETLERI, keyed by Mikro's document
identity (cha_evrak_tip:seri:sira), which survives a document being deleted and entered again, and read
by the movement_codes readings (readings.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.base import Partition
from connectors.mikro import codes
from connectors.mikro.readings import MovementCode
from connectors.mikro.streams import MikroStream
from connectors.sql import for_refs, in_chunks
from mapping.errors import RecordError
from mapping.text import required_code

__all__ = ["DISCOUNTS", "VAT", "Movements", "identity", "parse_key"]

VAT = tuple(f"cha_vergi{n}" for n in range(1, 11))
DISCOUNTS = tuple(f"cha_ft_iskonto{n}" for n in range(1, 7))


def identity(row: Any) -> tuple[int, str, int]:
    return (row.cha_evrak_tip, (row.cha_evrakno_seri or "").strip(), row.cha_evrakno_sira)


def parse_key(key: str) -> tuple[int, str, int, int] | None:
    """(evrak_tip, seri, sira, satir_no) of "tip:seri:sira[:satir]" keys; None if malformed."""
    parts = key.split(":")
    if len(parts) not in (3, 4) or not all(p.lstrip("-").isdigit() for p in (parts[0], parts[2], *parts[3:])):
        return None
    return int(parts[0]), parts[1], int(parts[2]), int(parts[3]) if len(parts) == 4 else 0


def further_row_changed(table: sa.Table, at: Any) -> sa.ColumnElement[bool]:
    """A document header (row 0) one of whose further rows (cha_satir_no > 0) was stamped at or after `at`.

    A semi-join the database evaluates once (one pass over the stamps) narrows it to the headers whose sequence
    a recent further row carries; the correlated EXISTS, one look-up per header, then runs only for those.
    """
    h = table.c
    o = table.alias("SIBLING").c
    recent_sira = h.cha_evrakno_sira.in_(
        sa.select(o.cha_evrakno_sira).where(o.cha_satir_no > 0, o.cha_lastup_date >= at)
    )
    sibling = sa.exists().where(
        o.cha_evrak_tip == h.cha_evrak_tip,
        o.cha_evrakno_seri == h.cha_evrakno_seri,
        o.cha_evrakno_sira == h.cha_evrakno_sira,
        o.cha_satir_no > 0,
        o.cha_lastup_date >= at,
    )
    return sa.and_(recent_sira, sibling)


class Movements(MikroStream):
    """Rows of CARI_HESAP_HAREKETLERI, partitioned by document number."""

    prefix = "cha"
    replication_key = "modified"
    partitionable = True  # cha_evrakno_sira % count: every row of a document lands in the same partition

    def table(self) -> sa.Table:
        return self.env.tables.CARI_HESAP_HAREKETLERI

    def partition_clause(self, partition: Partition) -> sa.ColumnElement[bool]:
        return self.col("evrakno_sira") % partition.count == partition.index

    def sibling_select(self) -> sa.Select[Any]:
        """The further rows (cha_satir_no > 0) of invoice documents: a service invoice keeps a row per service."""
        c = self.table().c
        evraks = sorted({r.evrak for r in self.env.movements.readings if r.kind == "invoice"})
        return (
            sa.select(*self.columns())
            .where(c.cha_satir_no > 0, c.cha_evrak_tip.in_(evraks))
            .order_by(c.cha_evrakno_sira, c.cha_satir_no)
        )

    def siblings(self, conn: sa.Connection, heads: Sequence[Row[Any]]) -> dict[tuple[int, str, int], list[Row[Any]]]:
        """The further rows of these documents' header rows, by document identity."""
        found: dict[tuple[int, str, int], list[Row[Any]]] = {}
        if not heads:
            return found
        wanted = {identity(r) for r in heads}
        sira = self.table().c.cha_evrakno_sira
        for row in for_refs(conn, self.sibling_select(), sira, [r.cha_evrakno_sira for r in heads]):
            if identity(row) in wanted:
                found.setdefault(identity(row), []).append(row)
        return found

    def columns(self) -> list[Any]:
        """What every movement row is read with: its identity, stamps, codes and money."""
        c = self.table().c
        return [
            c.cha_Guid.label("GUID"),
            c.cha_lastup_date.label("LASTUP"),
            c.cha_iptal,
            c.cha_hidden,
            c.cha_evrak_tip,
            c.cha_evrakno_seri,
            c.cha_evrakno_sira,
            c.cha_satir_no,
            c.cha_tarihi,
            c.cha_tip,
            c.cha_cinsi,
            c.cha_normal_Iade,
            c.cha_cari_cins,
            c.cha_kod,
            c.cha_ciro_cari_kodu,
            c.cha_d_cins,
            c.cha_d_kur,
            c.cha_meblag,
        ]

    def select_rows(self) -> sa.Select[Any]:
        return sa.select(*self.columns())

    def reading(self, r: Any) -> MovementCode:
        """The row's movement_codes reading; a row no reading matches is a dead letter naming the setting."""
        found = self.env.movements.reading(r.cha_evrak_tip, r.cha_cinsi, r.cha_tip, r.cha_normal_Iade)
        if found is None:
            codes_ = f"{r.cha_evrak_tip}:{r.cha_cinsi}:{r.cha_tip}:{r.cha_normal_Iade}"
            raise RecordError(
                f"cha_evrak_tip:cinsi:tip:normal_Iade {codes_} has no reading: map it in the movement_codes setting",
                "movement_codes",
            )
        return found

    def account_code(self, r: Any) -> str:
        # A document closed to cash or bank (cha_tpoz 1) posts to the cash box or bank in cha_kod;
        # the customer is only in cha_ciro_cari_kodu.
        if r.cha_cari_cins is None:
            raise RecordError(
                "missing (NULL cha_cari_cins: posted to an account, a bank or a cash box?)", "account_code"
            )
        return required_code(r.cha_kod if r.cha_cari_cins == codes.CARI else r.cha_ciro_cari_kodu, "account_code")

    def number(self, r: Any) -> str:
        return required_code(
            codes.document_number(self.env.number_format, r.cha_evrakno_seri, r.cha_evrakno_sira), "number"
        )

    def fetch_rows(self, conn: sa.Connection, wanted: set[tuple[int, str, int, int]]) -> list[Row[Any]]:
        """Rows of the stream (its filter applied) whose (tip, seri, sira, satir) is wanted."""
        rows: list[Row[Any]] = []
        sira = self.col("evrakno_sira")
        for chunk in in_chunks(sorted({w[2] for w in wanted})):
            stmt = self._filtered(self.select_rows(), None).where(sira.in_(chunk)).order_by(self.col("Guid"))
            rows.extend(r for r in conn.execute(stmt) if (*identity(r), r.cha_satir_no) in wanted)
        return rows
