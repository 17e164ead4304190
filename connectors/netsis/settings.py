"""NetsisSettings: where the company databases are, and the UNCONFIRMED readings as named settings."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from connectors.base import ConnectorError
from connectors.netsis import codes
from connectors.netsis.tables import validate_identifier
from connectors.sql import SqlSourceSettings
from mapping.schema import AccountKind, CollectionMethod, DiscountKind, LedgerKind, MovementKind, OrderStatus

__all__ = ["NetsisSettings"]

# SQL Server database names as Netsis creates them (GIDA2026, ANTPAK_2025): no dots, brackets or quotes,
# since a name becomes the database of a connection URL.
_DATABASE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-$#@]{0,127}$")
KodColumn = Literal["KOD_1", "KOD_2", "KOD_3", "KOD_4", "KOD_5"]
RaporColumn = Literal["RAPOR_KODU1", "RAPOR_KODU2", "RAPOR_KODU3", "RAPOR_KODU4", "RAPOR_KODU5"]
RiskColumn = Literal["CARISK", "CCRISK", "SARISK", "SCRISK"]
UnitColumn = Literal["OLCU_BR1", "OLCU_BR2", "OLCU_BR3"]


def _database(name: object, setting: str) -> str:
    if not isinstance(name, str) or not _DATABASE.fullmatch(name):
        raise ValueError(f"setting {setting!r}: {str(name)[:40]!r} is not a database name (letters, digits, _-$#@)")
    return name


class NetsisSettings(SqlSourceSettings):
    """A Netsis company: one database per fiscal year on one SQL Server, plus the NETSIS system database.

    `url` reaches the server (its database part is the default when `databases` is empty); every listed
    database is opened with the same login.
    """

    databases: list[str] = Field(
        default_factory=list,
        description="the company's databases, oldest year first, e.g. [GIDA2025, GIDA2026]; empty: the url's one",
    )
    master_database: str | None = Field(
        None, description="where account/product/condition cards are maintained (default: the last of databases)"
    )
    company: str | None = Field(
        None, description="key prefix of cards, stable across years (default: the master database without its year)"
    )
    rates_database: str = Field("NETSIS", description="the system database holding the DOVIZ exchange-rate table")
    rate_column: Literal["DOV_ALIS", "DOV_SATIS", "EFF_ALIS", "EFF_SATIS"] = Field(
        "DOV_ALIS", description="the DOVIZ rate documents are booked at (UNCONFIRMED: buying rate, as tax law asks)"
    )
    local_currency: str = Field("TRY", pattern="^[A-Z]{3}$")
    currency_codes: dict[int, str] = Field(
        default_factory=lambda: dict(codes.DEFAULT_CURRENCY_CODES),
        description="Netsis currency number (DOVIZ.SIRA) -> ISO code; 0 is always the local currency",
    )
    repair_turkish: bool = Field(
        True, description="text holds cp1254 bytes in a Latin-1 collation (Ý Þ Ð ý þ ð): map it back to İ Ş Ğ ı ş ğ"
    )
    cancelled_column: str | None = Field(
        None,
        description="CHAR(1) column on TBLFATUIRS/TBLSIPAMAS/TBLCAHAR marking a cancelled document, where the install "
        "adds one; null (Netsis's own tables have none): cancelled documents are deleted, and the deletes reach the "
        "feed on reconcile",
    )
    cancelled_value: str = Field(codes.YES, min_length=1, max_length=1)
    line_stamps: bool = Field(
        True, description="TBLSTHAR/TBLSIPATRA carry DUZELTMETARIHI, so an edited line re-reads its document"
    )
    account_kinds: dict[str, AccountKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_ACCOUNT_KINDS), description="TBLCASABIT.CARI_TIP -> account kind"
    )
    collection_kinds: dict[str, CollectionMethod] = Field(
        default_factory=lambda: dict(codes.DEFAULT_COLLECTION_KINDS),
        description="TBLCAHAR.HAREKET_TURU of credit (ALACAK) rows that are collections -> method (UNCONFIRMED)",
    )
    credits_left_out: dict[str, str] = Field(
        default_factory=lambda: dict(codes.DEFAULT_CREDITS_LEFT_OUT),
        description="HAREKET_TURU of credit rows that are not collections -> why (the census shows the reason)",
    )
    debit_reversals: dict[str, CollectionMethod] = Field(
        default_factory=lambda: dict(codes.DEFAULT_DEBIT_REVERSALS),
        description="TBLCAHAR.HAREKET_TURU of debit (BORC) rows that undo a collection (I protested note, J bounced "
        "cheque) -> the method they reverse: sent as negative collections (UNCONFIRMED); {} leaves them out",
    )
    debits_left_out: dict[str, str] = Field(
        default_factory=lambda: dict(codes.DEFAULT_DEBITS_LEFT_OUT),
        description="HAREKET_TURU of debit (BORC) rows known to dealersync that are not reversals -> what they are",
    )
    ledger_debits: dict[str, LedgerKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_LEDGER_DEBITS),
        description="TBLCAHAR.HAREKET_TURU of debit (BORC) rows -> account_ledger kind (UNCONFIRMED but A, B); "
        "debit_reversals letters are cheque_return, a letter in neither is kind other",
    )
    ledger_credits: dict[str, LedgerKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_LEDGER_CREDITS),
        description="TBLCAHAR.HAREKET_TURU of credit (ALACAK) rows -> account_ledger kind (UNCONFIRMED but A, C); "
        "collection_kinds letters are collections, a letter in neither is kind other",
    )
    order_statuses: dict[str, OrderStatus] = Field(
        default_factory=lambda: dict(codes.DEFAULT_ORDER_STATUSES),
        description="TBLSIPAMAS.ONAYTIPI -> status of an order neither cancelled nor closed",
    )
    closed_line_code: str = Field(codes.CLOSED_ORDER_LINE, min_length=1, max_length=1)
    service_group: str = Field(codes.SERVICE_GROUP, description="TBLSTSABIT.GRUP_KODU of service cards")
    invoice_tipis: dict[int, codes.InvoiceTipi] = Field(
        default_factory=lambda: dict(codes.DEFAULT_INVOICE_TIPIS),
        description="TBLFATUIRS.TIPI -> invoice (kind sale or service by its lines) or price_difference; an invoice "
        "of another TIPI is a dead letter until mapped here",
    )
    return_line_code: str = Field(
        codes.RETURN_LINE, min_length=1, max_length=1, description="TBLSTHAR.STHAR_HTUR of return lines"
    )
    movement_kinds: dict[str, MovementKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_MOVEMENT_KINDS),
        description="TBLSTHAR.STHAR_HTUR (key 'H'), or STHAR_HTUR on one document type STHAR_FTIRSIP (key 'H:F'), "
        "-> stock_movements kind (UNCONFIRMED but J:1, J:2, L:2, H:3, H:4, B); the pair wins over the letter alone; "
        "a movement in neither is kind other, sent with its code in erp_kind",
    )
    invoice_line_bgtip: str = Field(
        codes.BGTIP_INVOICE,
        min_length=1,
        max_length=1,
        description="TBLSTHAR.STHAR_BGTIP of an invoice's lines: a sale or return movement of such a line names its "
        "invoice (invoice_number = FISNO)",
    )
    discount_kinds: dict[str, DiscountKind] = Field(
        default_factory=lambda: dict(codes.DEFAULT_DISCOUNT_KINDS),
        description="TBLKOSULMAS.ISKONTO_TIPI -> percent, amount or fixed_price",
    )
    sales_price_side: str = Field(
        codes.SALES_PRICE,
        min_length=1,
        max_length=1,
        description="TBLSTOKFIAT.A_S of sales prices (price_lists reads these; other values are purchase prices)",
    )
    price_units: dict[int, UnitColumn] = Field(
        default_factory=lambda: dict(codes.PRICE_UNITS),
        description="TBLSTOKFIAT.OLCUBR -> the card's unit column it names (one production query); another "
        "number is a dead letter",
    )
    price_list_column: Literal["FIYATLISTEKODU", "FIYATGRUBU"] = Field(
        "FIYATLISTEKODU",
        description="UNCONFIRMED: the TBLSTOKFIAT column naming a price list (a site keying its lists by price "
        "group names FIYATGRUBU)",
    )
    dealer_price_groups: bool = Field(
        True,
        description="UNCONFIRMED: a TBLSTOKFIAT row whose FIYATGRUBU is an account code (TBLCASABIT.CARI_KOD) is "
        "that dealer's own price, left out of price_lists",
    )
    price_vat_included: bool | None = Field(
        None,
        description="UNCONFIRMED: whether TBLSTOKFIAT prices include VAT (no source names a flag): null = not held",
    )
    product_group_column: KodColumn = "KOD_1"
    brand_column: KodColumn = "KOD_2"
    region_column: RaporColumn = "RAPOR_KODU1"
    unit_factor: Literal["PAY/PAYDA", "PAYDA/PAY"] = Field(
        "PAY/PAYDA", description="first-unit quantity in one of OLCU_BR2 (PAY_1, PAYDA_1) and OLCU_BR3 (PAY2, PAYDA2)"
    )
    uncashed_risk_columns: list[RiskColumn] = Field(
        default_factory=lambda: ["CARISK", "CCRISK", "SARISK", "SCRISK"],
        description="TBLCASABIT cheque/note risk columns summed as uncashed cheques and notes",
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: Any) -> Any:
        """A config written before invoice_tipis named one TIPI the price difference and read every other as an
        invoice: refuse it with what to write instead, since guessing would change which invoices arrive."""
        if isinstance(data, dict) and "price_difference_tipi" in data:
            old = data["price_difference_tipi"]
            tipi = old if isinstance(old, int) and not isinstance(old, bool) else "<its TIPI>"
            tipis = {**{n: "invoice" for n in (1, 2) if n != tipi}, tipi: "price_difference"}
            raise ValueError(
                "price_difference_tipi was replaced by invoice_tipis: write invoice_tipis: "
                f"{{{', '.join(f'{k}: {v}' for k, v in tipis.items())}}}, plus every other TIPI your invoices use as "
                "invoice (dealersync discover --codes lists them; an unmapped TIPI is a dead letter), and remove "
                "price_difference_tipi"
            )
        return data

    @field_validator("databases")
    @classmethod
    def _databases(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("setting 'databases' lists a database twice")
        return [_database(name, "databases") for name in value]

    @field_validator("master_database", "rates_database")
    @classmethod
    def _one_database(cls, value: str | None) -> str | None:
        return None if value is None else _database(value, "database")

    @field_validator("company")
    @classmethod
    def _company(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or ":" in value or len(value) > 40):
            raise ValueError("setting 'company' must be 1..40 characters without ':' (it prefixes keys)")
        return value

    @field_validator("cancelled_column")
    @classmethod
    def _cancel_column(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_identifier(value, "cancelled_column")
        except ConnectorError as exc:
            raise ValueError(str(exc)) from None

    @field_validator(
        "collection_kinds",
        "credits_left_out",
        "debit_reversals",
        "debits_left_out",
        "ledger_debits",
        "ledger_credits",
        "account_kinds",
        "order_statuses",
        "discount_kinds",
    )
    @classmethod
    def _one_letter_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if len(k) != 1]
        if bad:
            raise ValueError(f"keys must be single Netsis code letters, not {bad[0]!r}")
        return value

    @field_validator("movement_kinds")
    @classmethod
    def _movement_keys(cls, value: dict[str, MovementKind]) -> dict[str, MovementKind]:
        bad = [k for k in value if not re.fullmatch(r"[^:\s](:[^:\s])?", k)]
        if bad:
            raise ValueError(
                f"keys must be an STHAR_HTUR letter ('B') or a letter and an STHAR_FTIRSIP ('J:1'), not {bad[0]!r}"
            )
        return value

    @field_validator("order_statuses")
    @classmethod
    def _live_statuses(cls, value: dict[str, OrderStatus]) -> dict[str, OrderStatus]:
        # Cancelled and closed come from the cancel flag and the lines, never from the approval code.
        wrong = sorted({s for s in value.values() if s not in ("proposal", "open", "shippable")})
        if wrong:
            raise ValueError(f"order_statuses may map to proposal, open or shippable only, not {wrong[0]!r}")
        return value

    @field_validator("currency_codes")
    @classmethod
    def _currencies(cls, value: dict[int, str]) -> dict[int, str]:
        if codes.LOCAL_CURRENCY_CODE in value:
            raise ValueError("currency number 0 is the local currency: set local_currency instead")
        return value

    @model_validator(mode="after")
    def _credits_once(self) -> NetsisSettings:
        both = sorted(set(self.collection_kinds) & set(self.credits_left_out))
        if both:
            raise ValueError(f"HAREKET_TURU {both[0]!r} is both in collection_kinds and in credits_left_out")
        both = sorted(set(self.debit_reversals) & set(self.debits_left_out))
        if both:
            raise ValueError(
                f"HAREKET_TURU {both[0]!r} is both in debit_reversals and in debits_left_out: remove it from "
                "debits_left_out to send its rows as negative collections (the default for I and J), or set "
                "debit_reversals without it to leave them out"
            )
        return self

    @model_validator(mode="after")
    def _ledger_once(self) -> NetsisSettings:
        """A collection (or a bounced cheque) is what the collections stream reads: one setting decides it."""
        for setting, kinds, decided, by in (
            ("ledger_credits", self.ledger_credits, self.collection_kinds, "collection_kinds"),
            ("ledger_debits", self.ledger_debits, self.debit_reversals, "debit_reversals"),
        ):
            if "collection" in kinds.values():
                raise ValueError(f"{setting} may not map to collection: collection_kinds names the collections")
            both = sorted(set(kinds) & set(decided))
            if both:
                raise ValueError(
                    f"HAREKET_TURU {both[0]!r} is both in {setting} and in {by}, which decides its ledger kind "
                    f"(collection, cheque_return): remove it from {setting}"
                )
        return self

    def given(self, name: str) -> bool:
        """Whether the integrator set `name` (else it holds its default)."""
        return name in self.model_fields_set

    @model_validator(mode="after")
    def _master_listed(self) -> NetsisSettings:
        if self.master_database is not None and self.databases and self.master_database not in self.databases:
            raise ValueError(f"master_database {self.master_database!r} is not one of databases")
        return self
