"""The Logo tables the adapter reads (and the test writer fills), as SQLAlchemy Core tables.

A faithful subset: Logo's table and column names and types (amounts are FLOAT as in Logo,
dates DATETIME, flags SMALLINT), only the columns the streams use plus the ones the writer
needs to make the rows look like Logo's. Firm-level tables are LG_FFF_*, period tables
LG_FFF_PP_*, firm-independent ones L_* and LG_SLSMAN. Lines (STLINE, ORFLINE) have no
CAPIBLOCK columns: their changes show through their header.

Every column is in Logo's data dictionary (LDDS, vendor/ldds_columns.tsv) except those marked
`optional(...)`: newer releases' columns and readings the LDDS copy does not list, which the
adapter reads around (NULL, the feed field empty) where a database lacks them, and `alternates`,
the names another release gives a column. The `columns` setting renames any column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Float, Index, Integer, MetaData, SmallInteger, String, Table

from connectors.base import ConnectorError
from connectors.sql_schema import alternates, optional, renamed

# Logo's FLOAT is SQL Server's 8-byte float; say 53 bits so MySQL/MariaDB make it DOUBLE, not 4-byte FLOAT.
FLOAT = Float(precision=53)

__all__ = ["LogoTables", "capiblock", "firm_prefix", "logo_tables", "period_prefix", "validate_firm", "validate_period"]


def validate_firm(firm: object) -> int:
    """The firm number, 1..999: it becomes part of table names, so nothing else gets through."""
    if type(firm) is not int or not 1 <= firm <= 999:
        raise ConnectorError(f"setting 'firm' must be a whole number from 1 to 999, got {str(firm)[:20]!r}")
    return firm


def validate_period(period: object) -> int:
    if type(period) is not int or not 1 <= period <= 99:
        raise ConnectorError(f"setting 'periods' must hold whole numbers from 1 to 99, got {str(period)[:20]!r}")
    return period


def firm_prefix(firm: int) -> str:
    return f"LG_{validate_firm(firm):03d}"


def period_prefix(firm: int, period: int) -> str:
    return f"{firm_prefix(firm)}_{validate_period(period):02d}"


def capiblock() -> list[Column[object]]:
    """Logo's record stamp: date columns plus separate hour/minute/second smallints."""
    return [
        Column("CAPIBLOCK_CREATEDBY", SmallInteger),
        Column("CAPIBLOCK_CREADEDDATE", DateTime),  # sic: Logo spells it CREADED
        Column("CAPIBLOCK_CREATEDHOUR", SmallInteger),
        Column("CAPIBLOCK_CREATEDMIN", SmallInteger),
        Column("CAPIBLOCK_CREATEDSEC", SmallInteger),
        Column("CAPIBLOCK_MODIFIEDBY", SmallInteger),
        Column("CAPIBLOCK_MODIFIEDDATE", DateTime),  # NULL until the first edit
        Column("CAPIBLOCK_MODIFIEDHOUR", SmallInteger),
        Column("CAPIBLOCK_MODIFIEDMIN", SmallInteger),
        Column("CAPIBLOCK_MODIFIEDSEC", SmallInteger),
    ]


def _ref() -> Column[int]:
    return Column("LOGICALREF", Integer, primary_key=True, autoincrement=False)


_LOGICAL = re.compile(r"^L[G]?_(?:\d{3}_)?(?:\d{2}_)?(.+)$")
# Where the names of the columns the LDDS copy lacks come from.
NEWER = "newer Tiger 3 / Go 3 releases (the reference's public sources); not in the LDDS copy (UNCONFIRMED)"
CONVENTION = "no Logo source: dealersync's reading (UNCONFIRMED)"


def logical_name(name: str) -> str:
    """The table's name in settings and the README: LG_001_01_INVOICE -> INVOICE, L_CAPIWHOUSE -> CAPIWHOUSE."""
    found = _LOGICAL.match(name)
    return found.group(1) if found else name


def _table(metadata: MetaData, name: str, *columns: Column[object], names: Mapping[str, str | None]) -> Table:
    # Firm-level tables are shared by every period's LogoTables: define them once per metadata.
    key = f"{metadata.schema}.{name}" if metadata.schema else name
    existing = metadata.tables.get(key)
    if existing is not None:
        return existing
    logical = logical_name(name)
    return Table(name, metadata, _ref(), *renamed(columns, logical, names), info={"logical": logical})


@dataclass(frozen=True)
class LogoTables:
    firm: int
    period: int
    # firm level
    CLCARD: Table
    PAYPLANS: Table
    SLSCLREL: Table
    ITEMS: Table
    SRVCARD: Table
    MARK: Table
    UNITSETF: Table
    UNITSETL: Table
    ITMUNITA: Table
    UNITBARCODE: Table
    PRCLIST: Table
    DISCOUNTS: Table  # the integrator's discount view (discount_view), not a Logo table
    # firm independent
    SLSMAN: Table
    CAPIWHOUSE: Table
    CAPIPERIOD: Table
    # period level
    GNTOTST: Table
    CLRNUMS: Table
    GNTOTCL: Table
    ORFICHE: Table
    ORFLINE: Table
    INVOICE: Table
    STFICHE: Table
    STLINE: Table
    CLFLINE: Table
    PAYTRANS: Table

    def all(self) -> list[Table]:
        return [t for t in vars(self).values() if isinstance(t, Table)]


# The lookups the streams make, indexed as Logo indexes them (its own I_* indexes cover these
# columns); created by the test writer, never by the adapter.
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "STLINE": (("INVOICEREF",), ("STFICHEREF",)),
    "ORFLINE": (("ORDFICHEREF",),),
    "PAYTRANS": (("FICHEREF", "MODULENR"),),
    "ITMUNITA": (("ITEMREF",),),
    "UNITBARCODE": (("ITMUNITAREF",),),
    "GNTOTCL": (("CARDREF", "TOTTYP"),),
    "ORFICHE": (("CLIENTREF",),),
    "SLSCLREL": (("CLIENTREF",),),
    "CLFLINE": (("SOURCEFREF", "MODULENR"),),
    "INVOICE": (("FICHENO",),),
    "GNTOTST": (("STOCKREF", "INVENNO"),),
}


def _indexed(tables: LogoTables) -> LogoTables:
    for attr, column_sets in INDEXES.items():
        table = getattr(tables, attr)
        for columns in column_sets:
            name = f"I_{table.name}_{'_'.join(columns)}"
            if not any(index.name == name for index in table.indexes):
                Index(name, *(table.c[c] for c in columns))
    return tables


def _view(name: str, metadata: MetaData, *columns: Column[object], info: dict[str, object]) -> Table:
    """The integrator's discount view: firm level, so shared by every period like a firm table."""
    existing = metadata.tables.get(name)
    return existing if existing is not None else Table(name, metadata, *columns, info=info)


def logo_tables(
    metadata: MetaData,
    firm: int,
    period: int,
    names: Mapping[str, str | None] | None = None,
    discount_view: str = "DEALERSYNC_DISCOUNTS",
) -> LogoTables:
    """The firm's and the period's tables; `names` is the `columns` setting ({"CLCARD.PARENTCLREF": ...})."""
    f = firm_prefix(firm)
    p = period_prefix(firm, period)
    given = dict(names or {})

    def table(name: str, *columns: Column[object]) -> Table:
        return _table(metadata, name, *columns, names=given)

    return _indexed(
        LogoTables(
            firm=firm,
            period=period,
            CLCARD=table(
                f"{f}_CLCARD",
                Column("ACTIVE", SmallInteger),
                Column("CARDTYPE", SmallInteger),
                Column("CODE", String(17)),
                Column("DEFINITION_", String(201)),
                Column("SPECODE", String(51)),
                Column("SPECODE2", String(51), info=optional("accounts.region_code", source=NEWER)),
                Column("CYPHCODE", String(11)),
                Column("ADDR1", String(201)),
                Column("ADDR2", String(201)),
                Column("CITY", String(21)),
                Column("COUNTRY", String(21)),
                Column("COUNTRYCODE", String(13)),
                Column("TELNRS1", String(51)),
                Column("TELNRS2", String(51)),
                Column("TAXNR", String(16)),
                Column("TAXOFFICE", String(31)),
                Column("TCKNO", String(16), info=optional("accounts.tax_id of individuals", source=NEWER)),
                Column("ISPERSCOMP", SmallInteger, info=optional("accounts.is_individual", source=NEWER)),
                Column("CCURRENCY", SmallInteger),
                Column("DISCRATE", FLOAT),
                Column("PAYMENTREF", Integer),
                Column("BLOCKED", SmallInteger),
                Column("EMAILADDR", String(251)),
                Column("ACCEPTEINV", SmallInteger, info=optional("accounts.e_invoice", source=NEWER)),
                Column("PARENTCLREF", Integer, info=optional("accounts.parent_code", source=CONVENTION)),
                *capiblock(),
            ),
            PAYPLANS=table(
                f"{f}_PAYPLANS", Column("CODE", String(17)), Column("DEFINITION_", String(51)), *capiblock()
            ),
            SLSCLREL=table(f"{f}_SLSCLREL", Column("SALESMANREF", Integer), Column("CLIENTREF", Integer)),
            ITEMS=table(
                f"{f}_ITEMS",
                Column("ACTIVE", SmallInteger),
                Column("CARDTYPE", SmallInteger),
                Column("CODE", String(25)),
                Column("NAME", String(201)),
                Column("STGRPCODE", String(25)),
                Column("SPECODE", String(51)),
                Column("MARKREF", Integer),
                Column("VAT", FLOAT),
                Column("UNITSETREF", Integer),
                *capiblock(),
            ),
            SRVCARD=table(
                f"{f}_SRVCARD",
                Column("CARDTYPE", SmallInteger),
                Column("CODE", String(25)),
                Column("DEFINITION_", String(201)),
                Column("ACTIVE", SmallInteger),
                Column("VAT", FLOAT),
            ),
            MARK=table(f"{f}_MARK", Column("CODE", String(25)), Column("DESCR", String(51))),
            UNITSETF=table(
                f"{f}_UNITSETF",
                Column("CODE", String(25)),
                Column("NAME", String(51)),
                Column("CARDTYPE", SmallInteger),
            ),
            UNITSETL=table(
                f"{f}_UNITSETL",
                Column("CODE", String(11)),
                Column("NAME", String(51)),
                Column("UNITSETREF", Integer),
                Column("LINENR", SmallInteger),
                Column("MAINUNIT", SmallInteger),
                Column("CONVFACT1", FLOAT),
                Column("CONVFACT2", FLOAT),
            ),
            ITMUNITA=table(
                f"{f}_ITMUNITA",
                Column("ITEMREF", Integer),
                Column("LINENR", SmallInteger),
                Column("UNITLINEREF", Integer),
                Column("CONVFACT1", FLOAT),
                Column("CONVFACT2", FLOAT),
            ),
            UNITBARCODE=table(
                f"{f}_UNITBARCODE",
                Column("ITEMREF", Integer),
                Column("UNITLINEREF", Integer),
                Column("ITMUNITAREF", Integer),
                Column("LINENR", SmallInteger),
                Column("BARCODE", String(51)),
            ),
            PRCLIST=table(
                f"{f}_PRCLIST",
                Column("CARDREF", Integer),
                Column("CODE", String(25)),
                Column("DEFINITION_", String(51)),
                Column("PTYPE", SmallInteger),
                Column("PRICE", FLOAT),
                Column("UOMREF", Integer),
                Column("CURRENCY", SmallInteger),
                Column("INCVAT", SmallInteger),
                Column("PRIORITY", SmallInteger),
                Column("BEGDATE", DateTime),
                Column("ENDDATE", DateTime),
                Column("ACTIVE", SmallInteger, info=optional("discounts.active (true)", source=CONVENTION)),
                Column("CLIENTCODE", String(17)),
                Column("CLSPECODE", String(51)),
                Column("MINAMOUNT", FLOAT, info=optional("discounts.min_quantity", source=CONVENTION)),
                *capiblock(),
            ),
            DISCOUNTS=_view(
                discount_view,
                metadata,
                # Not Logo's: the view an integrator defines over wherever the install keeps percent and amount
                # discount rules (campaigns, condition formulas), in dealersync's own terms (README).
                _ref(),
                *renamed(
                    (
                        Column("CODE", String(25)),
                        Column("CLIENTCODE", String(17)),
                        Column("CLSPECODE", String(51)),
                        Column("ITEMCODE", String(25)),
                        Column("ITMSPECODE", String(51)),
                        Column("ISAMOUNT", SmallInteger),
                        Column("DISCRATE", FLOAT),
                        Column("AMOUNT", FLOAT),
                        Column("CURRENCY", SmallInteger),
                        Column("MINAMOUNT", FLOAT),
                        Column("PRIORITY", SmallInteger),
                        Column("BEGDATE", DateTime),
                        Column("ENDDATE", DateTime),
                        Column("ACTIVE", SmallInteger),
                        *capiblock(),
                    ),
                    "DISCOUNT_VIEW",
                    given,
                ),
                info={"logical": "DISCOUNT_VIEW", "vendor": False},
            ),
            SLSMAN=table(
                "LG_SLSMAN",
                Column("CODE", String(25)),
                Column("DEFINITION_", String(51)),
                Column("FIRMNR", SmallInteger),
                Column("ACTIVE", SmallInteger),
            ),
            CAPIWHOUSE=table(
                "L_CAPIWHOUSE",
                Column("FIRMNR", SmallInteger),
                Column("NR", SmallInteger),
                Column("NAME", String(51)),
            ),
            CAPIPERIOD=table(
                "L_CAPIPERIOD",
                Column("FIRMNR", SmallInteger),
                Column("NR", SmallInteger),
                Column("BEGDATE", DateTime),
                Column("ENDDATE", DateTime),
                Column("ACTIVE", SmallInteger),
            ),
            GNTOTST=table(
                f"{p}_GNTOTST",
                Column("STOCKREF", Integer),
                Column("INVENNO", SmallInteger),
                Column("ONHAND", FLOAT),
                Column("ACTSORDER", FLOAT),  # quantity on open sales orders: reserved
            ),
            CLRNUMS=table(
                f"{p}_CLRNUMS",
                Column("CLCARDREF", Integer),
                # The LDDS copy (an older release) has one account limit, RISKLIMIT; newer releases
                # split it by kind (account, cheques/notes, dispatches, orders).
                Column("ACCRISKLIMIT", FLOAT, info=alternates("RISKLIMIT", source=NEWER)),
                Column("CSTCSRISKLIMIT", FLOAT, info=optional("risk_limits.cheque_note_limit", source=NEWER)),
                Column("DESPRISKLIMIT", FLOAT, info=optional("risk_limits.dispatch_limit", source=NEWER)),
                Column("ORDRISKLIMIT", FLOAT, info=optional("risk_limits.order_limit", source=NEWER)),
                Column("CSTCSRISKTOTAL", FLOAT, info=optional("risk_limits.uncashed_cheques", source=CONVENTION)),
                Column("COLLATERAL", FLOAT, info=optional("risk_limits.collateral", source=CONVENTION)),
            ),
            GNTOTCL=table(
                f"{p}_GNTOTCL",
                Column("CARDREF", Integer),
                Column("TOTTYP", SmallInteger),
                Column("DEBIT", FLOAT),
                Column("CREDIT", FLOAT),
            ),
            ORFICHE=table(
                f"{p}_ORFICHE",
                Column("TRCODE", SmallInteger),
                Column("FICHENO", String(17)),
                Column("DATE_", DateTime),
                Column("TIME_", Integer),
                Column("DOCODE", String(33)),
                Column("CLIENTREF", Integer),
                Column("SOURCEINDEX", SmallInteger),
                Column("SALESMANREF", Integer),
                Column("STATUS", SmallInteger),
                Column("CANCELLED", SmallInteger),
                Column("GROSSTOTAL", FLOAT),
                Column("TOTALDISCOUNTS", FLOAT),
                Column("TOTALDISCOUNTED", FLOAT),
                Column("TOTALVAT", FLOAT),
                Column("NETTOTAL", FLOAT),
                Column("TRCURR", SmallInteger),
                Column("TRRATE", FLOAT),
                Column("TRNET", FLOAT),
                *capiblock(),
            ),
            ORFLINE=table(
                f"{p}_ORFLINE",
                Column("ORDFICHEREF", Integer),
                Column("LINENO_", SmallInteger),
                Column("STOCKREF", Integer),
                Column("CLIENTREF", Integer),
                Column("TRCODE", SmallInteger),
                Column("LINETYPE", SmallInteger),
                Column("AMOUNT", FLOAT),
                Column("SHIPPEDAMOUNT", FLOAT),
                Column("PRICE", FLOAT),
                Column("TOTAL", FLOAT),
                Column("DISTDISC", FLOAT),
                Column("VAT", FLOAT),
                Column("VATAMNT", FLOAT),
                Column("LINENET", FLOAT),
                Column("UOMREF", Integer),
                Column("USREF", Integer),
                Column("SOURCEINDEX", SmallInteger),
                Column("SALESMANREF", Integer),
                Column("CLOSED", SmallInteger),
                Column("STATUS", SmallInteger),
                Column("TRCURR", SmallInteger),
                Column("TRRATE", FLOAT),
                Column("PRCURR", SmallInteger),
                Column("PRPRICE", FLOAT),
            ),
            INVOICE=table(
                f"{p}_INVOICE",
                Column("GRPCODE", SmallInteger),
                Column("TRCODE", SmallInteger),
                Column("FICHENO", String(17)),
                Column("DOCODE", String(33)),
                Column("DATE_", DateTime),
                Column("TIME_", Integer),
                Column("CLIENTREF", Integer),
                Column("SOURCEINDEX", SmallInteger),
                Column("SALESMANREF", Integer),
                Column("CANCELLED", SmallInteger),
                Column("GROSSTOTAL", FLOAT),
                Column("TOTALDISCOUNTS", FLOAT),
                Column("TOTALDISCOUNTED", FLOAT),
                Column("TOTALVAT", FLOAT),
                Column("NETTOTAL", FLOAT),
                Column("TRCURR", SmallInteger),
                Column("TRRATE", FLOAT),
                Column("TRNET", FLOAT),
                Column("GVATINC", SmallInteger),
                Column("PAYDEFREF", Integer),
                Column("DOCTRACKINGNR", String(21)),  # a return's original invoice number, by convention (README)
                Column("GUID", String(37), info=optional("invoices.e_invoice_uuid", source=NEWER)),
                *capiblock(),
            ),
            STFICHE=table(
                f"{p}_STFICHE",
                Column("GRPCODE", SmallInteger),
                Column("TRCODE", SmallInteger),
                Column("IOCODE", SmallInteger),
                Column("FICHENO", String(17)),
                Column("DATE_", DateTime),
                Column("FTIME", Integer),
                Column("DOCODE", String(33)),
                Column("INVOICEREF", Integer),
                Column("CLIENTREF", Integer),
                Column("SOURCEINDEX", SmallInteger),
                Column("DESTINDEX", SmallInteger),
                Column("CANCELLED", SmallInteger),
                Column("BILLED", SmallInteger),
                *capiblock(),
            ),
            STLINE=table(
                f"{p}_STLINE",
                Column("INVOICEREF", Integer),
                Column("INVOICELNNO", SmallInteger),
                Column("STFICHEREF", Integer),
                Column("STFICHELNNO", SmallInteger),
                Column("STOCKREF", Integer),
                Column("CLIENTREF", Integer),
                Column("LINETYPE", SmallInteger),
                Column("TRCODE", SmallInteger),
                Column("IOCODE", SmallInteger),
                Column("DATE_", DateTime),
                Column("FTIME", Integer),
                Column("AMOUNT", FLOAT),
                Column("PRICE", FLOAT),
                Column("TOTAL", FLOAT),
                Column("DISTDISC", FLOAT),
                Column("VAT", FLOAT),
                Column("VATAMNT", FLOAT),
                Column("VATMATRAH", FLOAT),
                Column("LINENET", FLOAT),
                Column("UOMREF", Integer),
                Column("USREF", Integer),
                Column("SOURCEINDEX", SmallInteger),
                Column("DESTINDEX", SmallInteger),
                Column("SALESMANREF", Integer),
                Column("CANCELLED", SmallInteger),
                Column("TRCURR", SmallInteger),
                Column("TRRATE", FLOAT),
                Column("PRCURR", SmallInteger),
                Column("PRPRICE", FLOAT),
            ),
            CLFLINE=table(
                f"{p}_CLFLINE",
                Column("CLIENTREF", Integer),
                Column("SOURCEFREF", Integer),
                Column("MODULENR", SmallInteger),
                Column("TRCODE", SmallInteger),
                Column("DATE_", DateTime),
                Column("SIGN", SmallInteger),
                Column("AMOUNT", FLOAT),
                Column("TRCURR", SmallInteger),
                Column("TRRATE", FLOAT),
                Column("TRNET", FLOAT),
                Column("TRANNO", String(17)),
                Column("DOCODE", String(33)),
                Column("LINEEXP", String(251)),
                Column("CANCELLED", SmallInteger),
                *capiblock(),
            ),
            PAYTRANS=table(
                f"{p}_PAYTRANS",
                Column("CARDREF", Integer),
                Column("DATE_", DateTime),
                Column("MODULENR", SmallInteger),
                Column("SIGN", SmallInteger),
                Column("FICHEREF", Integer),
                Column("TOTAL", FLOAT),
                Column("PAID", FLOAT),
                Column("CROSSREF", Integer),
                Column("PAYMENTTYPE", SmallInteger),
                Column("CANCELLED", SmallInteger),
                Column("TRCURR", SmallInteger),
                Column("MODIFIED", SmallInteger),
            ),
        )
    )
