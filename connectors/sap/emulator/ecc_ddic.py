"""The ECC emulator's data dictionary: the tables it serves, their fields, types and lengths.

Field types are the ABAP internal types RFC_READ_TABLE reports in FIELDS-TYPE: C (character),
N (numeric text), D (date YYYYMMDD), T (time HHMMSS), P (packed decimal), b (one-byte integer,
INT1); each field also has its
DDIC data type (DD03L-DATATYPE), taken from SAP's public field lists where they show it (vendor/ecc)
and else from the ABAP type. A field's length is its output length in characters, which is what
RFC_READ_TABLE lays into the 512-character WA. Only fields the public lists have, or that
vendor/ecc/unverified.tsv names with a reason, are served (tests/test_sap_ecc_vendor.py).

Lengths are SAP's own, except where the scenario's Turkish-ERP codes are longer than SAP's
fields (account "120.01.0001" in the 10-character KUNNR, document "SF2025000123" in VBELN,
group "BAYI-A" in the 2-character KDGRP). Those fields are widened just enough (WIDENED). MATNR is
18 long in ECC and 40 where the extended material number is on: `tables(matnr_length=40)`. The
adapter never assumes a length: it takes them from FIELDS, as every RFC_READ_TABLE client must.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Final

from connectors.sap.emulator.ecc_vendor import ddic

__all__ = ["TABLES", "WIDENED", "Field", "Table", "table", "tables"]

_DDIC_OF: Final = {"C": "CHAR", "N": "NUMC", "D": "DATS", "T": "TIMS", "P": "DEC", "b": "INT1"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # C, N, D, T, P or b
    length: int
    decimals: int = 0
    key: bool = False
    datatype: str = ""  # the DDIC data type: CHAR, NUMC, CUKY, CURR, QUAN ...

    @property
    def ddic_type(self) -> str:
        return self.datatype or _DDIC_OF[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    text: str
    fields: tuple[Field, ...]

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.key)

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def without(self, *names: str) -> Table:
        return Table(self.name, self.text, tuple(f for f in self.fields if f.name not in names))

    def retyped(self, name: str, type_: str, datatype: str) -> Table:
        return Table(
            self.name,
            self.text,
            tuple(replace(f, type=type_, datatype=datatype) if f.name == name else f for f in self.fields),
        )


def table(name: str, text: str, spec: str, client: str | None = "MANDT", matnr_length: int = 18) -> Table:
    """A table from "FIELD:TYPE LENGTH[.DECIMALS][*]" tokens; '*' marks key fields; the client field comes first."""
    known = ddic().get(name, {})
    fields = [Field(client, "C", 3, key=True, datatype="CLNT")] if client else []
    for token in spec.split():
        field_name, _, kind = token.partition(":")
        key = kind.endswith("*")
        kind = kind.rstrip("*")
        size, _, decimals = kind[1:].partition(".")
        length = matnr_length if field_name == "MATNR" else int(size)
        vendor = known.get(field_name)
        datatype = vendor.datatype if vendor is not None else ""
        fields.append(Field(field_name, kind[0], length, int(decimals or 0), key, datatype))
    return Table(name, text, tuple(fields))


# Widened lengths, shared by every table that holds the same kind of value: field -> SAP's own length.
WIDENED: Final = {
    "KUNNR": 10,  # customer numbers; the scenario's are "120.01.0001"
    "KUNN2": 10,
    "KUNAG": 10,
    "KUNRG": 10,
    "LIFNR": 10,
    "VBELN": 10,  # sales and billing document numbers ("SF2025000123")
    "VBELV": 10,
    "VGBEL": 10,
    "AUBEL": 10,
    "SFAKN": 10,
    "BELNR": 10,  # accounting document numbers ("TH2025000123")
    "AUGBL": 10,
    "STBLG": 10,
    "ZTERM": 4,  # payment terms ("30 GÜN")
    "KDGRP": 2,  # customer group "BAYI-A"
    "BZIRK": 6,  # sales district "IC-ANADOLU"
    "STRAS": 35,  # the scenario's one-line addresses
    "TELF1": 16,  # "+90 555 123 45 67"
    "MATKL": 9,  # "YAPI-KIMYASALLARI"
    "MAKTX": 40,  # "Dış Cephe Boyası Silikonlu 0,75 L Şeftali"
    "KONDM": 2,  # "YKM-YAPISTIRICI"
}
KUNNR = "C16"
VBELN = "C16"
BELNR = "C16"
ZTERM = "C8"

_SPECS: Final = (
    ("T001", "Company codes", "BUKRS:C4* BUTXT:C25 ORT01:C25 LAND1:C3 WAERS:C5 SPRAS:C1"),
    (
        "KNA1",
        "Customer master: general data",
        f"KUNNR:{KUNNR}* LAND1:C3 NAME1:C35 NAME2:C35 NAME3:C35 NAME4:C35 ORT01:C35 PSTLZ:C10 REGIO:C3 STRAS:C80"
        f" TELF1:C30 ADRNR:C10 AUFSD:C2 ERDAT:D8 ERNAM:C12 FAKSD:C2 KTOKD:C4 LIFNR:{KUNNR} LIFSD:C2 LOEVM:C1"
        " SPERR:C1 STCD1:C16 STCD2:C11 STCEG:C20 STKZN:C1",
    ),
    (
        "KNB1",
        "Customer master: company code",
        f"KUNNR:{KUNNR}* BUKRS:C4* ERDAT:D8 ERNAM:C12 AKONT:C10 ZTERM:{ZTERM} LOEVM:C1 SPERR:C1",
    ),
    (
        "KNVV",
        "Customer master: sales area",
        f"KUNNR:{KUNNR}* VKORG:C4* VTWEG:C2* SPART:C2* ERDAT:D8 KDGRP:C8 BZIRK:C12 KONDA:C2 PLTYP:C2 WAERS:C5"
        f" ZTERM:{ZTERM} LOEVM:C1 AUFSD:C2",
    ),
    (
        "KNVP",
        "Customer master: partner functions",
        f"KUNNR:{KUNNR}* VKORG:C4* VTWEG:C2* SPART:C2* PARVW:C2* PARZA:N3* KUNN2:{KUNNR} LIFNR:{KUNNR}"
        " PERNR:N8 PARNR:N10",
    ),
    (
        "ADR6",
        "E-mail addresses (business address services)",
        "ADDRNUMBER:C10* PERSNUMBER:C10* DATE_FROM:D8* CONSNUMBER:N3* FLGDEFAULT:C1 SMTP_ADDR:C241",
    ),
    (
        "KNKK",
        "Customer master: credit management",
        f"KUNNR:{KUNNR}* KKBER:C4* KLIMK:P15.2 SAUFT:P15.2 SKFOR:P15.2 SSOBL:P15.2 ERDAT:D8 CTLPC:C3 CRBLB:C1",
    ),
    (
        "MARA",
        "Material master: general data",
        "MATNR:C18* ERSDA:D8 ERNAM:C12 LAEDA:D8 LVORM:C1 MTART:C4 MBRSH:C1 MATKL:C20 MEINS:C3 BRGEW:P13.3"
        " GEWEI:C3 SPART:C2 EAN11:C18 NUMTP:C2 EXTWG:C18",
    ),
    ("MAKT", "Material descriptions", "MATNR:C18* SPRAS:C1* MAKTX:C60 MAKTG:C60"),
    ("MARM", "Units of measure of materials", "MATNR:C18* MEINH:C3* UMREZ:P5 UMREN:P5 EAN11:C18 NUMTP:C2"),
    ("MEAN", "EANs of materials", "MATNR:C18* MEINH:C3* LFNUM:C5* EAN11:C18 EANTP:C2 HPEAN:C1"),
    (
        "MVKE",
        "Material master: sales data",
        "MATNR:C18* VKORG:C4* VTWEG:C2* LVORM:C1 VMSTA:C2 MTPOS:C4 PRODH:C18 KONDM:C16",
    ),
    ("MLAN", "Tax classification of materials", "MATNR:C18* ALAND:C3* TAXM1:C1"),
    (
        "MARD",
        "Storage location stock",
        "MATNR:C18* WERKS:C4* LGORT:C4* LVORM:C1 LABST:P13.3 UMLME:P13.3 INSME:P13.3 SPEME:P13.3",
    ),
    ("T001L", "Storage locations", "WERKS:C4* LGORT:C4* LGOBE:C16"),
    (
        "VBBE",
        "Sales requirements",
        f"MATNR:C18* WERKS:C4* BERID:C10* VBELN:{VBELN}* POSNR:N6* ETENR:N4* LGORT:C4 OMENG:P15.3 MEINS:C3"
        " MBDAT:D8 VBTYP:C1",
    ),
    (
        "VBAK",
        "Sales document: header",
        f"VBELN:{VBELN}* ERDAT:D8 ERZET:T6 ERNAM:C12 AUDAT:D8 VBTYP:C1 AUART:C4 LIFSK:C2 NETWR:P15.2 WAERK:C5"
        f" VKORG:C4 VTWEG:C2 SPART:C2 KNUMV:C10 KUNNR:{KUNNR} AEDAT:D8 VGBEL:{VBELN} VGTYP:C1",
    ),
    (
        "VBAP",
        "Sales document: items",
        f"VBELN:{VBELN}* POSNR:N6* MATNR:C18 ARKTX:C40 PSTYV:C4 ABGRU:C2 MEINS:C3 NETWR:P15.2 WAERK:C5 NETPR:P11.2"
        " KPEIN:P5 KMEIN:C3 KWMENG:P15.3 VRKME:C3 WERKS:C4 LGORT:C4 MWSBP:P13.2 TAXM1:C1",
    ),
    ("VBUK", "Sales document: header status", f"VBELN:{VBELN}* LFSTK:C1 FKSTK:C1 ABSTK:C1 GBSTK:C1 VBTYP:C1"),
    (
        "VBKD",
        "Sales document: business data",
        f"VBELN:{VBELN}* POSNR:N6* KURRF:P9.5 ZTERM:{ZTERM} KURSK:P9.5 PRSDT:D8 FKDAT:D8",
    ),
    (
        "VBPA",
        "Sales document: partners",
        f"VBELN:{VBELN}* POSNR:N6* PARVW:C2* KUNNR:{KUNNR} LIFNR:{KUNNR} PERNR:N8 PARNR:N10 ADRNR:C10",
    ),
    (
        "VBFA",
        "Sales document flow",
        f"VBELV:{VBELN}* POSNV:N6* VBELN:{VBELN}* POSNN:N6* VBTYP_N:C1* RFMNG:P15.3 MEINS:C3 RFWRT:P15.2"
        " VBTYP_V:C1 ERDAT:D8 ERZET:T6",
    ),
    (
        "KONV",
        "Conditions of documents (a cluster table in ECC)",
        "KNUMV:C10* KPOSN:N6* STUNR:N3* ZAEHK:N2* KSCHL:C4 KRECH:C1 KAWRT:P15.2 KBETR:P11.2 WAERS:C5 KPEIN:P5"
        " KMEIN:C3 KWERT:P13.2 KINAK:C1",
    ),
    (
        "VBRK",
        "Billing document: header",
        f"VBELN:{VBELN}* FKART:C4 FKTYP:C1 VBTYP:C1 WAERK:C5 VKORG:C4 VTWEG:C2 SPART:C2 KNUMV:C10 FKDAT:D8"
        f" BUKRS:C4 ZTERM:{ZTERM} KURRF:P9.5 NETWR:P15.2 MWSBK:P13.2 KUNRG:{KUNNR} KUNAG:{KUNNR} XBLNR:C16"
        f" FKSTO:C1 SFAKN:{VBELN} RFBSK:C1 ERNAM:C12 ERDAT:D8 ERZET:T6 AEDAT:D8",
    ),
    (
        "VBRP",
        "Billing document: items",
        f"VBELN:{VBELN}* POSNR:N6* FKIMG:P13.3 VRKME:C3 MEINS:C3 NETWR:P15.2 MWSBP:P13.2 VGBEL:{VBELN} VGPOS:N6"
        f" VGTYP:C1 AUBEL:{VBELN} AUPOS:N6 MATNR:C18 ARKTX:C40 PSTYV:C4 WERKS:C4 LGORT:C4 TAXM1:C1",
    ),
    (
        "BKPF",
        "Accounting document: header",
        f"BUKRS:C4* BELNR:{BELNR}* GJAHR:N4* BLART:C2 BLDAT:D8 BUDAT:D8 CPUDT:D8 CPUTM:T6 AEDAT:D8 USNAM:C12"
        f" TCODE:C20 XBLNR:C16 STBLG:{BELNR} STJAH:N4 WAERS:C5 KURSF:P9.5 AWTYP:C5 AWKEY:C20",
    ),
    ("T052", "Terms of payment", f"ZTERM:{ZTERM}* ZTAGG:N2* ZDART:C1 ZTAG1:N3"),
    ("MKPF", "Header: material document", "MBLNR:C10* MJAHR:N4* BLDAT:D8 BUDAT:D8 CPUDT:D8 CPUTM:T6 XBLNR:C16"),
    (
        "MSEG",
        "Document segment: material",
        f"MBLNR:C10* MJAHR:N4* ZEILE:N4* BWART:C3 XAUTO:C1 MATNR:C18 WERKS:C4 LGORT:C4 KUNNR:{KUNNR} LIFNR:{KUNNR}"
        " SHKZG:C1 MENGE:P13.3 MEINS:C3 ERFMG:P13.3 ERFME:C3 UMWRK:C4 UMLGO:C4 SMBLN:C10 SJAHR:N4 SMBLP:N4",
    ),
    (
        "KONP",
        "Conditions: items",
        "KNUMH:C10* KOPOS:N2* KAPPL:C2 KSCHL:C4 STFKZ:C1 KZBZG:C1 KONMS:C3 KRECH:C1 KBETR:P11.2 KONWA:C5 KPEIN:P5"
        " KMEIN:C3 LOEVM_KO:C1",
    ),
    ("KONM", "Conditions: quantity scales", "KNUMH:C10* KOPOS:N2* KLFN1:N4* KSTBM:P15.3 KBETR:P11.2"),
    (
        "A004",
        "Condition table: material",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* MATNR:C18* DATBI:D8* DATAB:D8 KNUMH:C10",
    ),
    (
        "A007",
        "Condition table: division/customer",
        f"KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* SPART:C2* KUNNR:{KUNNR}* DATBI:D8* DATAB:D8 KNUMH:C10",
    ),
    (
        "A305",
        "Condition table: customer/material with release status",
        f"KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KUNNR:{KUNNR}* MATNR:C18* KFRST:C1* DATBI:D8* DATAB:D8"
        " KBSTAT:C2 KNUMH:C10",
    ),
    (
        "A006",
        "Condition table: price list type/currency/material",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* PLTYP:C2* WAERK:C5* MATNR:C18* DATBI:D8* DATAB:D8 KNUMH:C10",
    ),
    (
        "A904",
        "Condition table (installation's own): price list type/currency/material/sales unit",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* PLTYP:C2* WAERK:C5* MATNR:C18* VRKME:C3* DATBI:D8* DATAB:D8 KNUMH:C10",
    ),
    (
        "A901",
        "Condition table (installation's own): customer group",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KDGRP:C8* DATBI:D8* DATAB:D8 KNUMH:C10",
    ),
    (
        "A902",
        "Condition table (installation's own): material pricing group",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KONDM:C16* DATBI:D8* DATAB:D8 KNUMH:C10",
    ),
    (
        "A903",
        "Condition table (installation's own): customer/material pricing group",
        f"KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KUNNR:{KUNNR}* KONDM:C16* DATBI:D8* DATAB:D8 KNUMH:C10",
    ),
)
# BSID (open) and BSAD (cleared) customer items share one structure.
_ITEMS = (
    f"BUKRS:C4* KUNNR:{KUNNR}* UMSKS:C1* UMSKZ:C1* AUGDT:D8* AUGBL:{BELNR}* ZUONR:C18* GJAHR:N4* BELNR:{BELNR}*"
    " BUZEI:N3* BUDAT:D8 BLDAT:D8 CPUDT:D8 WAERS:C5 XBLNR:C16 BLART:C2 SHKZG:C1 DMBTR:P13.2 WRBTR:P13.2"
    f" SGTXT:C50 ZFBDT:D8 ZBD1T:P3 ZLSCH:C1 VBELN:{VBELN}"
)
# Decimal places of the currencies that do not have two (client-independent).
_TCURX = "CURRKEY:C5* CURRDEC:b3"
# The data dictionary's own field table (client-independent).
_DD03L = (
    "TABNAME:C30* FIELDNAME:C30* AS4LOCAL:C1* AS4VERS:N4* POSITION:N4* KEYFLAG:C1 ROLLNAME:C30 INTTYPE:C1"
    " INTLEN:N6 DATATYPE:C4 LENG:N6 DECIMALS:N6"
)


def tables(matnr_length: int = 18) -> dict[str, Table]:
    """The emulator's tables, MATNR `matnr_length` long."""
    out = {
        name: table(name, text, spec, "CLIENT" if name == "ADR6" else "MANDT", matnr_length)
        for name, text, spec in _SPECS
    }
    out["BSID"] = table("BSID", "Customer items: open", _ITEMS)
    out["BSAD"] = table("BSAD", "Customer items: cleared", _ITEMS)
    out["TCURX"] = table("TCURX", "Decimal places in currencies", _TCURX, client=None)
    out["DD03L"] = table("DD03L", "Table fields", _DD03L, client=None)
    return out


TABLES: Final[dict[str, Table]] = tables()
