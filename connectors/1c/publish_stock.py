"""Stock in the emulator (УТ 11 / ERP 2): the records of AccumulationRegister_ТоварыНаСкладах that posting a goods
document writes, and the scenario's stock slips as the documents that carry them.

What the configuration says (vendor/README.md names the dumps; the facts are from their Designer XML):
  * ТоварыНаСкладах is a balance register (dimensions Номенклатура, Характеристика, Назначение, Склад, Помещение,
    Серия; resources ВНаличии, КОтгрузке): a Receipt brings goods onto a warehouse's stock, an Expense takes them
    off; its records are read as `AccumulationRegister_ТоварыНаСкладах_RecordType` (Recorder, Recorder_Type,
    Period, LineNumber, Active, RecordType and its fields);
  * РеализацияТоваровУслуг, ВозвратТоваровОтКлиента, ПриобретениеТоваровУслуг and ПеремещениеТоваров name the
    register in their RegisterRecords (with 40 other documents: vendor/README.md lists them);
  * a purchase is Document_ПриобретениеТоваровУслуг (ХозяйственнаяОперация ЗакупкаУПоставщика: the supplier in
    Контрагент and Партнер, the warehouse in Склад), a transfer Document_ПеремещениеТоваров (ХозяйственнаяОперация
    ПеремещениеТоваров, from СкладОтправитель to СкладПолучатель); both keep their goods in the section Товары
    (Номенклатура, Упаковка, КоличествоУпаковок, Количество in the item's own unit);
  * УТ's returns keep one warehouse, the header's (their Товары has no Склад): a returned line goes back there;
  * register quantities are in the item's own unit: a case line moves its count of base units;
  * a document marked for deletion is unposted, and unposting removes its records.
A document's records are numbered 1.. in the order its posting writes them: the goods lines' order (services move
no stock), a transfer's issues first, then its receipts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from mapping.schema import Invoice
from scenario.stock import StockSlip

from .infobase import EMPTY_REF, Row, guid
from .layout import DOCUMENT_TYPE, as_day
from .publish_ledger import LedgerWriter

__all__ = ["STOCK_RECORDS", "StockWriter"]

STOCK_RECORDS = "AccumulationRegister_ТоварыНаСкладах_RecordType"
PURCHASES = "Document_ПриобретениеТоваровУслуг"
TRANSFERS = "Document_ПеремещениеТоваров"
# a slip kind -> (its document set, its ХозяйственнаяОперация)
SLIP_DOCUMENTS = {"purchase": (PURCHASES, "ЗакупкаУПоставщика"), "transfer": (TRANSFERS, "ПеремещениеТоваров")}

Movement = tuple[str, str, Decimal, bool]  # item ref, warehouse ref, quantity in the item's unit, a Receipt


class StockWriter(LedgerWriter):
    """Writes the ТоварыНаСкладах records of posted goods documents, and the stock slips' documents (trade layout;
    БП 3 keeps no such register)."""

    def base_quantity(self, product_code: str, unit: str | None, quantity: Decimal) -> Decimal:
        """A quantity in `unit` as the item's own unit counts it (a case holds `factor` pieces)."""
        product = self.products[product_code]
        if unit in (None, product.base_unit):
            return quantity
        return quantity * next(u.factor for u in product.units if u.unit == unit)

    def move(self, recorder: str, set_name: str, date: str, movements: Iterable[Movement]) -> None:
        """The records of one posted document, numbered in order."""
        if self.bp:
            return
        for line, (item, warehouse, quantity, receipt) in enumerate(movements, 1):
            self.base.add(
                STOCK_RECORDS,
                {
                    "Recorder": recorder,
                    "Recorder_Type": DOCUMENT_TYPE.format(set_name.removeprefix("Document_")),
                    "Period": date,
                    "LineNumber": line,
                    "Active": True,
                    "RecordType": "Receipt" if receipt else "Expense",
                    "Номенклатура_Key": item,
                    "Характеристика_Key": EMPTY_REF,
                    "Назначение_Key": EMPTY_REF,
                    "Склад_Key": warehouse,
                    "Помещение_Key": EMPTY_REF,
                    "Серия_Key": EMPTY_REF,
                    "ВНаличии": float(quantity),
                    "КОтгрузке": 0.0,
                    "КонтролироватьОстатки": not receipt,
                    "Сторно": False,
                },
            )

    def move_invoice(self, recorder: str, set_name: str, header: Row, invoice: Invoice) -> None:
        """A posted sale's or return's goods: out of each line's warehouse (a sale), or back into the return's."""
        if invoice.kind not in ("sale", "return"):
            return  # a correction of prices moves no goods
        back = invoice.kind == "return"
        self.move(
            recorder,
            set_name,
            header["Date"],
            (
                (
                    self.product_ref(line.product_code),
                    header["Склад_Key"] if back else self.warehouse_ref(line.warehouse_code),
                    self.base_quantity(line.product_code, line.unit, line.quantity),
                    back,
                )
                for line in invoice.lines
                if line.kind != "service" and line.product_code in self.products
            ),
        )

    def add_slip(self, slip: StockSlip) -> None:
        """A purchase or a transfer: its document, its goods section and (posted) its register records."""
        if self.bp:
            return
        set_name, operation = SLIP_DOCUMENTS[slip.kind]
        ref = guid("document", slip.number)
        date = as_day(slip.date)
        header: Row = {
            "Ref_Key": ref,
            "DeletionMark": False,
            "Number": slip.number,
            "Date": date,
            "Posted": True,
            "ХозяйственнаяОперация": operation,
            "Комментарий": "",
        }
        source = self.warehouse_ref(slip.warehouse_code)
        if slip.kind == "purchase":
            supplier = slip.account_code or ""
            header.update(
                Контрагент_Key=self.account_ref(supplier), Партнер_Key=guid("partner", supplier), Склад_Key=source
            )
            target = None
        else:
            target = self.warehouse_ref(slip.to_warehouse_code)
            header.update(СкладОтправитель_Key=source, СкладПолучатель_Key=target)
        self.base.add(set_name, header)
        goods: list[tuple[str, Decimal]] = []
        for line in slip.lines:
            product = self.products[line.product_code]
            packaging = EMPTY_REF
            if line.unit != product.base_unit:
                packaging = guid("packaging", product.code, line.unit)
            units = self.base_quantity(line.product_code, line.unit, line.quantity)
            row: Row = {
                "Ref_Key": ref,
                "LineNumber": line.line_no,
                "Номенклатура_Key": self.product_ref(line.product_code),
                "Характеристика_Key": EMPTY_REF,
                "Упаковка_Key": packaging,
                "КоличествоУпаковок": float(line.quantity),
                "Количество": float(units),
            }
            if slip.kind == "purchase":
                row["Склад_Key"] = source
            self.base.add(f"{set_name}_Товары", row)
            goods.append((self.product_ref(line.product_code), units))
        if target is None:
            self.move(ref, set_name, date, ((item, source, units, True) for item, units in goods))
        else:
            issues = [(item, source, units, False) for item, units in goods]
            self.move(ref, set_name, date, [*issues, *((item, target, units, True) for item, _, units, _ in issues)])

    def unpost_stock(self, recorder: str) -> None:
        """Unposting (or marking for deletion) removes the document's records."""
        if self.bp:
            return
        kept = [row for row in self.base.sets[STOCK_RECORDS].rows if row["Recorder"] != recorder]
        self.base.replace_rows(STOCK_RECORDS, kept)
