"""The ECC emulator's data dictionary: the tables it serves, their fields, types and lengths.

Field types are the ABAP internal types RFC_READ_TABLE reports in FIELDS-TYPE: C (character),
N (numeric text), D (date YYYYMMDD), T (time HHMMSS), P (packed decimal). A field's length is
its output length in characters, which is what RFC_READ_TABLE lays into the 512-character WA.

Lengths are SAP's own, except where the scenario's Turkish-ERP codes are longer than SAP's
fields (account "120.01.0001" in the 10-character KUNNR, document "SF2025000123" in VBELN,
group "BAYI-A" in the 2-character KDGRP). Those fields are widened just enough and marked
"widened" below. The adapter never assumes a length: it takes them from FIELDS, as every
RFC_READ_TABLE client must (installations differ, e.g. MATNR is 40 long on some).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

__all__ = ["TABLES", "Field", "Table", "table"]


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # C, N, D, T or P
    length: int
    decimals: int = 0
    key: bool = False


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


def table(name: str, text: str, spec: str, client: str = "MANDT") -> Table:
    """A table from "FIELD:TYPE LENGTH[.DECIMALS][*]" tokens; '*' marks key fields; the client field comes first."""
    fields = [Field(client, "C", 3, key=True)]
    for token in spec.split():
        field_name, _, kind = token.partition(":")
        key = kind.endswith("*")
        kind = kind.rstrip("*")
        size, _, decimals = kind[1:].partition(".")
        fields.append(Field(field_name, kind[0], int(size), int(decimals or 0), key))
    return Table(name, text, tuple(fields))


# Widened lengths (SAP's own in the comment), shared by every table that holds the same kind of value.
KUNNR = "C16"  # 10: customer numbers; the scenario's are "120.01.0001"
VBELN = "C16"  # 10: sales and billing document numbers ("SF2025000123")
BELNR = "C16"  # 10: accounting document numbers ("TH2025000123")
ZTERM = "C8"  # 4: payment terms ("30 GÜN")

_SPECS: Final = (
    ("T001", "Company codes", "BUKRS:C4* BUTXT:C25 ORT01:C25 LAND1:C3 WAERS:C5 SPRAS:C1"),
    (
        "KNA1",
        "Customer master: general data",
        f"KUNNR:{KUNNR}* LAND1:C3 NAME1:C35 NAME2:C35 NAME3:C35 NAME4:C35 ORT01:C35 REGIO:C3"
        " STRAS:C80"  # 35, widened: the scenario's one-line addresses
        " TELF1:C30"  # 16, widened: "+90 555 123 45 67"
        f" ADRNR:C10 ERDAT:D8 KTOKD:C4 LIFNR:{KUNNR} LOEVM:C1 SPERR:C1 AUFSD:C2 STCD1:C16 STCD2:C11 STKZN:C1"
        # More of KNA1's own fields: with them a row is wider than RFC_READ_TABLE's 512 characters, as it is in SAP.
        " ANRED:C15 BRSCH:C4 ERNAM:C12 KONZS:C10 KUKLA:C2 MCOD1:C25 MCOD2:C25 MCOD3:C25 ORT02:C35 PFACH:C10"
        " PSTL2:C10 PSTLZ:C10 SORTL:C10 SPRAS:C1 STCD3:C18 STCD4:C18 STCEG:C20 TELF2:C16 TELFX:C31 TELTX:C30"
        " TELX1:C30 DATLT:C14 LZONE:C10 XCPDK:C1",
    ),
    (
        "KNB1",
        "Customer master: company code",
        f"KUNNR:{KUNNR}* BUKRS:C4* ERDAT:D8 AKONT:C10 ZTERM:{ZTERM} LOEVM:C1 SPERR:C1",
    ),
    (
        "KNVV",
        "Customer master: sales area",
        f"KUNNR:{KUNNR}* VKORG:C4* VTWEG:C2* SPART:C2* ERDAT:D8"
        " KDGRP:C8"  # 2, widened: "BAYI-A"
        " BZIRK:C12"  # 6, widened: "IC-ANADOLU"
        f" KONDA:C2 WAERS:C5 ZTERM:{ZTERM} LOEVM:C1 AUFSD:C2 VKBUR:C4 VKGRP:C3",
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
        f"KUNNR:{KUNNR}* KKBER:C4* KLIMK:P15.2 SKFOR:P15.2 SSOBL:P15.2 SAUFT:P15.2 CTLPC:C3 CRBLB:C1 ERDAT:D8 AEDAT:D8",
    ),
    (
        "MARA",
        "Material master: general data",
        "MATNR:C18* ERSDA:D8 LAEDA:D8 LVORM:C1 MTART:C4"
        " MATKL:C20"  # 9, widened: "YAPI-KIMYASALLARI"
        " MEINS:C3 EAN11:C18 NUMTP:C2 EXTWG:C18 SPART:C2 BRGEW:P13.3 GEWEI:C3",
    ),
    (
        "MAKT",
        "Material descriptions",
        "MATNR:C18* SPRAS:C1* MAKTX:C60 MAKTG:C60",  # 40, widened: "Dış Cephe Boyası Silikonlu 0,75 L Şeftali"
    ),
    ("MARM", "Units of measure of materials", "MATNR:C18* MEINH:C3* UMREZ:P5 UMREN:P5 EAN11:C18 NUMTP:C2"),
    ("MEAN", "EANs of materials", "MATNR:C18* MEINH:C3* LFNUM:N5* EAN11:C18 EANTP:C2 HPEAN:C1"),
    (
        "MVKE",
        "Material master: sales data",
        "MATNR:C18* VKORG:C4* VTWEG:C2* LVORM:C1"
        " KONDM:C16"  # 2, widened: "YKM-YAPISTIRICI"
        " MVGR1:C3 VMSTA:C2 PRODH:C18 MTPOS:C4",
    ),
    ("MLAN", "Tax classification of materials", "MATNR:C18* ALAND:C3* TAXM1:C1"),
    (
        "MARD",
        "Storage location stock",
        "MATNR:C18* WERKS:C4* LGORT:C4* LABST:P13.3 INSME:P13.3 SPEME:P13.3 UMLME:P13.3 LVORM:C1 ERSDA:D8",
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
        f"VBELN:{VBELN}* ERDAT:D8 ERZET:T6 AEDAT:D8 AUDAT:D8 VBTYP:C1 AUART:C4 NETWR:P15.2 WAERK:C5 VKORG:C4"
        f" VTWEG:C2 SPART:C2 KUNNR:{KUNNR} KNUMV:C10 LIFSK:C2 VGBEL:{VBELN} VGTYP:C1 BSTNK:C20",
    ),
    (
        "VBAP",
        "Sales document: items",
        f"VBELN:{VBELN}* POSNR:N6* MATNR:C18 ARKTX:C40 PSTYV:C4 ABGRU:C2 KWMENG:P15.3 VRKME:C3 NETWR:P15.2"
        " NETPR:P11.2 KPEIN:P5 KMEIN:C3 MWSBP:P13.2 TAXM1:C1 WERKS:C4 LGORT:C4 KZWI1:P13.2 ERDAT:D8 ERZET:T6"
        " AEDAT:D8",
    ),
    ("VBUK", "Sales document: header status", f"VBELN:{VBELN}* VBTYP:C1 GBSTK:C1 ABSTK:C1 LFSTK:C1 FKSTK:C1"),
    (
        "VBKD",
        "Sales document: business data",
        f"VBELN:{VBELN}* POSNR:N6* KURSK:P9.5 KURRF:P9.5 ZTERM:{ZTERM} PRSDT:D8 FKDAT:D8",
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
        "Conditions of documents",
        "KNUMV:C10* KPOSN:N6* STUNR:N3* ZAEHK:N2* KSCHL:C4 KBETR:P11.2 WAERS:C5 KPEIN:P5 KMEIN:C3 KAWRT:P15.2"
        " KWERT:P13.2 KINAK:C1 KRECH:C1",
    ),
    (
        "VBRK",
        "Billing document: header",
        f"VBELN:{VBELN}* FKART:C4 FKTYP:C1 VBTYP:C1 WAERK:C5 VKORG:C4 VTWEG:C2 SPART:C2 KNUMV:C10 FKDAT:D8"
        f" BUKRS:C4 ZTERM:{ZTERM} KURRF:P9.5 NETWR:P15.2 MWSBK:P13.2 KUNRG:{KUNNR} KUNAG:{KUNNR} XBLNR:C16"
        f" ZUONR:C18 FKSTO:C1 SFAKN:{VBELN} RFBSK:C1 ERNAM:C12 ERDAT:D8 ERZET:T6 AEDAT:D8",
    ),
    (
        "VBRP",
        "Billing document: items",
        f"VBELN:{VBELN}* POSNR:N6* FKIMG:P13.3 VRKME:C3 MEINS:C3 NETWR:P15.2 MWSBP:P13.2 KZWI1:P13.2"
        f" VGBEL:{VBELN} VGPOS:N6 VGTYP:C1 AUBEL:{VBELN} AUPOS:N6 MATNR:C18 ARKTX:C40 PSTYV:C4 WERKS:C4"
        " LGORT:C4 TAXM1:C1 SHKZG:C1 ERDAT:D8 ERZET:T6",
    ),
    (
        "BKPF",
        "Accounting document: header",
        f"BUKRS:C4* BELNR:{BELNR}* GJAHR:N4* BLART:C2 BLDAT:D8 BUDAT:D8 CPUDT:D8 CPUTM:T6 AEDAT:D8 UPDDT:D8"
        f" USNAM:C12 TCODE:C20 XBLNR:C16 STBLG:{BELNR} STJAH:N4 WAERS:C5 KURSF:P9.5 AWTYP:C5 AWKEY:C20",
    ),
    ("T052", "Terms of payment", f"ZTERM:{ZTERM}* ZTAGG:N2* ZDART:C1 ZTAG1:P3"),
    (
        "KONP",
        "Conditions: items",
        "KNUMH:N10* KOPOS:N2* KAPPL:C2 KSCHL:C4 STFKZ:C1 KZBZG:C1 KONMS:C3 KBETR:P11.2 KONWA:C5 KPEIN:P5"
        " KMEIN:C3 KRECH:C1 LOEVM_KO:C1",
    ),
    ("KONM", "Conditions: quantity scales", "KNUMH:N10* KOPOS:N2* KLFN1:N4* KSTBM:P15.3 KBETR:P11.2"),
    (
        "A004",
        "Condition table: material",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* MATNR:C18* DATBI:D8* DATAB:D8 KNUMH:N10",
    ),
    (
        "A007",
        "Condition table: division/customer",
        f"KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* SPART:C2* KUNNR:{KUNNR}* DATBI:D8* DATAB:D8 KNUMH:N10",
    ),
    (
        "A305",
        "Condition table: customer/material with release status",
        f"KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KUNNR:{KUNNR}* MATNR:C18* KFRST:C1* DATBI:D8* DATAB:D8"
        " KBSTAT:C2 KNUMH:N10",
    ),
    (
        "A901",
        "Condition table (installation's own): customer group",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KDGRP:C8* DATBI:D8* DATAB:D8 KNUMH:N10",
    ),
    (
        "A902",
        "Condition table (installation's own): material pricing group",
        "KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KONDM:C16* DATBI:D8* DATAB:D8 KNUMH:N10",
    ),
    (
        "A903",
        "Condition table (installation's own): customer/material pricing group",
        f"KAPPL:C2* KSCHL:C4* VKORG:C4* VTWEG:C2* KUNNR:{KUNNR}* KONDM:C16* DATBI:D8* DATAB:D8 KNUMH:N10",
    ),
)
# BSID (open) and BSAD (cleared) customer items share one structure.
_ITEMS = (
    f"BUKRS:C4* KUNNR:{KUNNR}* UMSKS:C1* UMSKZ:C1* AUGDT:D8* AUGBL:{BELNR}* ZUONR:C18* GJAHR:N4* BELNR:{BELNR}*"
    " BUZEI:N3* BUDAT:D8 BLDAT:D8 CPUDT:D8 WAERS:C5 XBLNR:C16 BLART:C2 SHKZG:C1 DMBTR:P13.2 WRBTR:P13.2"
    f" SGTXT:C50 ZFBDT:D8 ZTERM:{ZTERM} ZBD1T:P3 ZLSCH:C1 REBZG:{BELNR} REBZJ:N4 VBELN:{VBELN}"
)

TABLES: Final[dict[str, Table]] = {
    **{name: table(name, text, spec, "CLIENT" if name == "ADR6" else "MANDT") for name, text, spec in _SPECS},
    "BSID": table("BSID", "Customer items: open", _ITEMS),
    "BSAD": table("BSAD", "Customer items: cleared", _ITEMS),
}
