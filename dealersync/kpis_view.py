"""`dealersync kpis`: a dealer's months as the dealer_kpis stream computes them, and the documents behind one."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from engine.kpis import Dealer, Explained, Labels, dealer, dealers, explain, kpis, product_labels
from engine.state import StateStore
from mapping.schema import DealerKpi


def load_dealer(store: StateStore, source: str, account: str) -> tuple[Dealer, Labels]:
    labels = product_labels(store, source)
    return next(dealers(store, source, [account]), None) or dealer(account, []), labels


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def months_table(title: str, records: list[DealerKpi]) -> Table:
    table = Table(title=title, title_justify="left")
    columns = (
        "Month", "Net sales", "Returns", "Invoices", "Orders", "Collections", "Paid on time", "Paid late",
        "Days to pay", "Balance", "Overdue", "Matching", "Tenure",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("Month", "Matching") else "right")
    for k in records:
        table.add_row(
            k.month, _money(k.net_sales), _money(k.returns), f"{k.invoices + k.return_invoices:,}", f"{k.orders:,}",
            _money(k.collections), _money(k.paid_on_time), _money(k.paid_late), _money(k.average_days_to_pay),
            _money(k.balance), _money(k.overdue), k.matching, f"{k.tenure_months}",
        )  # fmt: skip
    return table


def show(console: Console, store: StateStore, source: str, account: str, month: str | None, why: bool) -> bool:
    """Print the dealer's months (or one month, and with `why` the documents behind it); False: nothing known."""
    d, labels = load_dealer(store, source, account)
    records = kpis(d, labels)
    if month is not None:
        records = [k for k in records if k.month == month]
    if not records:
        where = f" in {month}" if month else ""
        console.print(f"source {source}: no invoice, order or collection of account {account}{where} is known")
        return False
    console.print(months_table(f"dealer_kpis of {account} (source {source}, local currency)", records))
    if month is None:
        return True
    (record,) = records
    for name, shares in (("Product group", record.by_group), ("Brand", record.by_brand)):
        table = Table(title=f"Net sales by {name.lower()}", title_justify="left")
        table.add_column(name)
        table.add_column("Net sales", justify="right")
        for share in shares:
            table.add_row(share.code or "(none)", _money(share.net_sales))
        console.print(table)
    if why:
        explained = explain(d, labels, month)
        if explained is not None:
            for table in documents_tables(explained):
                console.print(table)
    return True


def documents_tables(e: Explained) -> list[Table]:
    invoices = Table(title=f"Invoices of {e.record.month} (net sales, returns)", title_justify="left")
    for column in ("Number", "Date", "Kind", "Net", "Total", "Due"):
        invoices.add_column(column, justify="right" if column in ("Net", "Total") else "left")
    for inv in e.invoices:
        t = inv.totals_local
        invoices.add_row(
            inv.number, inv.date.isoformat(), inv.kind, _money(t.net if t else None), _money(t.total if t else None),
            (inv.due_date or inv.date).isoformat(),
        )  # fmt: skip
    payments = Table(title=f"What the collections and returns of {e.record.month} paid", title_justify="left")
    for column in ("Paid by", "Paid on", "Paid", "Amount", "Due", "On time", "Days", "Matched by"):
        payments.add_column(column, justify="right" if column in ("Amount", "Days") else "left")
    for a in e.payments:
        payments.add_row(
            a.credit.ref, a.credit.paid.isoformat(), a.debit.ref, _money(a.amount), a.debit.due.isoformat(),
            "yes" if a.on_time else "no", f"{a.days}", a.how,
        )  # fmt: skip
    collections = Table(title=f"Collections of {e.record.month}", title_justify="left")
    for column in ("Number", "Date", "Amount", "Settles (ERP)"):
        collections.add_column(column, justify="right" if column == "Amount" else "left")
    for c in e.collections:
        collections.add_row(c.number, c.date.isoformat(), _money(c.amount_local), ", ".join(c.settles) or "-")
    overdue = Table(title=f"Overdue at the end of {e.record.month}", title_justify="left")
    for column in ("Owed", "Date", "Due", "Unpaid"):
        overdue.add_column(column, justify="right" if column == "Unpaid" else "left")
    for debit, unpaid in e.overdue:
        overdue.add_row(debit.ref, debit.date.isoformat(), debit.due.isoformat(), _money(unpaid))
    orders = Table(title=f"Orders of {e.record.month}", title_justify="left")
    for column in ("Number", "Date", "Status"):
        orders.add_column(column)
    for o in e.orders:
        orders.add_row(o.number, o.date.isoformat(), o.status)
    return [invoices, collections, payments, overdue, orders]
