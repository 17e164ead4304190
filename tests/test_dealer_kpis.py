"""The dealer_kpis stream through the real engine: every demo ERP's feed against the scenario's own documents, and
what an incremental sync, a catch-up, a deleted document and a disabled stream do to it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
import sqlalchemy as sa

from connectors.base import Adapter, AdapterSettings, CheckResult, Partition, SourceContext, Stream
from connectors.registry import load
from dealersync.demo import open_demo
from engine.state import kpi_facts_t, kpi_ready_t
from mapping.schema import Collection, Invoice, Record, Totals
from scenario.generate import build
from tests.commands import with_source
from tests.nochange import held
from tests.reconcile import Feed

D = Decimal


def feed_in(folder: Path) -> Feed:
    folder.mkdir(parents=True, exist_ok=True)
    return Feed(folder)


SALES = {"sale", "service", "price_difference"}


def _expected(invoices: Sequence[Any], collections: Sequence[Any], orders: Sequence[Any]) -> dict[str, dict]:
    """Per `account|month`, the sums a dealer-month must show, added up here from the documents themselves."""
    out: dict[str, dict] = defaultdict(lambda: defaultdict(Decimal))

    def at(account: str, day: Any) -> dict:
        day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        return out[f"{account}|{day:%Y-%m}"]

    for i in invoices:
        if _get(i, "cancelled"):
            continue
        month = at(_get(i, "account_code"), _get(i, "date"))
        totals = _get(i, "totals_local")
        is_return = _get(i, "kind") == "return"
        month["return_invoices" if is_return else "invoices"] += 1
        if totals is not None:
            month["returns" if is_return else "sales"] += D(_get(totals, "net"))
    for c in collections:
        if not _get(c, "cancelled"):
            at(_get(c, "account_code"), _get(c, "date"))["collections"] += D(_get(c, "amount_local"))
    for o in orders:
        if _get(o, "status") != "cancelled":
            at(_get(o, "account_code"), _get(o, "date"))["orders"] += 1
    return out


def _demo(erp: str, scenario: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ERP laid as `dealersync demo` lays it; a SQL demo's database URL is relative to its folder."""
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    return open_demo(erp, scenario, folder)


@contextmanager
def _logo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: int, disabled: frozenset[str] = frozenset()
) -> Iterator[tuple[Any, Any, Callable[[], Any]]]:
    """The scenario laid into Logo's demo tables: (scenario, the demo, a maker of adapters reading it)."""
    scenario = build(invoice_lines=lines)
    side = _demo("logo", scenario, tmp_path / "erp", monkeypatch)
    adapter_type = load("logo")
    settings = adapter_type.Settings(**side.settings)
    context = SourceContext("logo-kpis", ZoneInfo(scenario.timezone), disabled=disabled)
    try:
        yield scenario, side, lambda: adapter_type(context, settings)
    finally:
        side.close()


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def _check(kpis: dict[str, Any], expected: dict[str, dict]) -> None:
    assert set(expected) <= set(kpis), sorted(set(expected) - set(kpis))[:5]
    for key, record in kpis.items():
        want = expected.get(key, {})
        for name in ("sales", "returns", "collections"):
            assert D(record[name]) == want.get(name, D(0)), (key, name)
        for name in ("invoices", "return_invoices", "orders"):
            assert record[name] == want.get(name, 0), (key, name)
        assert D(record["net_sales"]) == D(record["sales"]) - D(record["returns"])


@pytest.mark.parametrize("erp", ["logo", "mikro", "netsis", "sap", "1c"])
def test_every_erp_gives_dealer_months_that_add_up_to_its_own_documents(
    erp: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = build(invoice_lines=400)
    side = _demo(erp, scenario, tmp_path / "erp", monkeypatch)
    try:
        adapter_type = load(erp)
        settings = adapter_type.Settings(**side.settings)
        context = SourceContext(f"{erp}-kpis", ZoneInfo(scenario.timezone))
        with adapter_type(context, settings) as adapter, feed_in(tmp_path / "run") as feed:
            results = feed.engine.sync(adapter)
            assert [r.stream for r in results][-2:] == ["dealer_kpis", "account_balances"]
            assert all(r.status == "ok" for r in results), [(r.stream, r.error) for r in results]
            sent = {s: list(held(feed, s).values()) for s in ("invoices", "collections", "orders")}
            kpis = held(feed, "dealer_kpis")
    finally:
        side.close()
    assert kpis and len(kpis) >= len(scenario.accounts) // 2
    _check(kpis, _expected(sent["invoices"], sent["collections"], sent["orders"]))
    if erp in ("logo", "mikro", "netsis"):  # the same account codes and local figures as the scenario's
        documents = [list(x.record for x in it()) for it in (scenario.invoices, scenario.collections, scenario.orders)]
        _check(kpis, _expected(*documents))


def test_an_incremental_sync_recomputes_the_dealers_whose_documents_moved_and_ends_as_a_fresh_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _logo(tmp_path, monkeypatch, 600) as (scenario, side, logo):
        with logo() as adapter, feed_in(tmp_path / "run") as feed:
            feed.engine.sync(adapter)
            first = held(feed, "dealer_kpis")
            accounts = {i.record.number: i.record.account_code for i in scenario.invoices()}
            touched = set()
            for change in scenario.changes:
                side.apply(change)
                record = change.invoice or change.collection
                if record is not None:
                    touched.add(record.account_code)
                elif change.kind == "cancel_invoice":
                    touched.add(accounts[change.number])
            assert touched
            result, sent = feed.sync(adapter, "invoices")
            assert result.pushed
            feed.sync(adapter, "collections")
            result, sent = feed.sync(adapter, "dealer_kpis")
            assert sent and {e["key"].split("|")[0] for e in sent} <= touched
            assert result.read < len(first) / 2  # only the dealers whose documents moved
            after = held(feed, "dealer_kpis")
            assert after != first
            # A second run has nothing to recompute.
            result, sent = feed.sync(adapter, "dealer_kpis")
            assert (result.read, sent) == (0, [])
        with logo() as adapter, feed_in(tmp_path / "fresh") as fresh:
            fresh.engine.sync(adapter)
            assert held(fresh, "dealer_kpis") == after


def test_a_store_without_facts_catches_up_in_one_complete_read_and_resends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _logo(tmp_path, monkeypatch, 300) as (_, _, logo), logo() as adapter, feed_in(tmp_path / "run") as feed:
        feed.engine.sync(adapter)
        with feed.state.engine.begin() as conn:
            facts = conn.execute(sa.select(sa.func.count()).select_from(kpi_facts_t)).scalar_one()
            conn.execute(sa.delete(kpi_facts_t))
            conn.execute(sa.delete(kpi_ready_t))  # as a store from before this release
        results = {r.stream: r for r in feed.engine.sync(adapter)}
        assert all(r.status == "ok" for r in results.values())
        assert all(r.pushed == 0 for r in results.values()), {s: r.pushed for s, r in results.items()}
        assert results["dealer_kpis"].unchanged == results["dealer_kpis"].read > 0
        with feed.state.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(kpi_facts_t)).scalar_one() == facts


def test_a_source_that_disables_dealer_kpis_keeps_no_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disabled = frozenset({"dealer_kpis"})
    with _logo(tmp_path, monkeypatch, 200, disabled) as (_, _, logo), logo() as adapter, feed_in(tmp_path) as feed:
        assert "dealer_kpis" not in [r.stream for r in feed.engine.sync(adapter)]
        kept = sa.select(kpi_facts_t.c.stream).distinct()
        with feed.state.engine.connect() as conn:  # account_balances, still enabled, keeps the ledger's
            assert set(conn.execute(kept).scalars()) == {"account_ledger"}
        with pytest.raises(ValueError, match="disables dealer_kpis"):
            feed.engine.sync(adapter, ["dealer_kpis"])


# -- documents deleted or moved, on a source whose documents are a list -----------------------------------
class _Docs(Stream):
    """A snapshot of records held in a list: a complete read each time, so a record taken out is a delete."""

    primary_key = ("number",)

    def __init__(self, name: str, records: list[Record]) -> None:
        self.name = name  # type: ignore[misc]
        self.records = records
        self.broken = False

    def read(self, since: dt.datetime | None, partition: Partition | None = None) -> Iterator[Sequence[Any]]:
        yield list(self.records[:1])
        if self.broken:
            raise ConnectionError("the ERP went away mid-read")
        yield list(self.records[1:])

    def key(self, item: Any) -> str:
        return str(item.number)

    def map(self, item: Any) -> Record:
        return item  # type: ignore[no-any-return]


class _Listed(Adapter):
    kind = "listed"
    Settings = AdapterSettings

    def __init__(self, invoices: list[Record], collections: list[Record]) -> None:
        super().__init__(SourceContext("listed", ZoneInfo("Europe/Istanbul")), AdapterSettings())
        self._streams = [_Docs("invoices", invoices), _Docs("collections", collections)]

    def check(self) -> list[CheckResult]:
        return []

    def streams(self) -> list[Stream]:
        return list(self._streams)


def _invoice(number: str, account: str, day: str, total: str) -> Invoice:
    t = Totals(gross=D(total), discount=D(0), net=D(total), vat=D(0), total=D(total))
    return Invoice(number=number, account_code=account, date=dt.date.fromisoformat(day), currency="TRY",
                   rate=D(1), totals=t, totals_local=t, kind="sale")  # fmt: skip


def _collection(number: str, account: str, day: str, amount: str) -> Collection:
    return Collection(number=number, account_code=account, date=dt.date.fromisoformat(day), amount=D(amount),
                      currency="TRY", rate=D(1), amount_local=D(amount), method="cash")  # fmt: skip


def test_a_dealer_whose_documents_are_deleted_or_moved_loses_its_months(tmp_path: Path) -> None:
    invoices: list[Record] = [
        _invoice("S1", "A", "2026-01-10", "100"),
        _invoice("S2", "A", "2026-03-10", "50"),
        _invoice("S3", "B|X", "2026-02-10", "70"),  # a code with the key's separator in it
    ]
    collections: list[Record] = [
        _collection("C1", "A", "2026-02-01", "100"),
    ]
    adapter = _Listed(invoices, collections)
    with Feed(tmp_path) as feed:
        feed.engine.sync(adapter)
        assert sorted(held(feed, "dealer_kpis")) == ["A|2026-01", "A|2026-02", "A|2026-03", "B|X|2026-02"]
        invoices.pop(1)  # S2 deleted: A's March goes
        invoices[1] = _invoice("S3", "B", "2026-02-10", "70")  # moved from dealer "B|X" to "B"
        feed.engine.sync(adapter)
        kpis = held(feed, "dealer_kpis")
        assert sorted(kpis) == ["A|2026-01", "A|2026-02", "B|2026-02"]
        assert D(kpis["A|2026-02"]["balance"]) == D(0) and kpis["B|2026-02"]["invoices"] == 1
        invoices.clear()
        collections.clear()
        feed.engine.sync(adapter)
        assert held(feed, "dealer_kpis") == {}


def test_the_kpis_command_shows_a_dealers_months_and_the_documents_behind_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = build(invoice_lines=300)
    side = _demo("logo", scenario, tmp_path / "erp", monkeypatch)
    try:
        source = {"name": "logo-demo", "kind": "logo", **side.settings}
        source["url"] = f"sqlite:///{tmp_path / 'erp' / 'logo.db'}"
        run = with_source(tmp_path, source)
        assert run("sync").returncode == 0
        invoice = next(i.record for i in scenario.invoices() if not i.record.cancelled and i.record.kind == "sale")
        month = f"{invoice.date:%Y-%m}"
        shown = run("kpis", invoice.account_code)
        assert shown.returncode == 0 and month in shown.stdout and "Overdue" in shown.stdout
        why = run("kpis", invoice.account_code, "-m", month, "--explain")
        assert why.returncode == 0 and invoice.number in why.stdout and "Net sales by product group" in why.stdout
        unknown = run("kpis", "NO-SUCH-DEALER")
        assert unknown.returncode == 1 and "no invoice, order or collection" in unknown.stdout
        assert run("kpis", "X", "-m", "2026-13").returncode == 2
        assert run("kpis", "X", "--explain").returncode == 2
    finally:
        side.close()


def test_dealer_kpis_wait_for_a_first_complete_read_of_an_input_but_not_for_a_later_failure(tmp_path: Path) -> None:
    invoices: list[Record] = [_invoice("S1", "A", "2026-01-10", "100"), _invoice("S2", "A", "2026-01-11", "50")]
    adapter = _Listed(invoices, [])
    with Feed(tmp_path) as feed:
        adapter._streams[0].broken = True  # type: ignore[attr-defined]
        results = {r.stream: r for r in feed.engine.sync(adapter)}
        assert results["invoices"].status == "error" and results["dealer_kpis"].status == "skipped"
        assert "waits for a first complete read of invoices" in (results["dealer_kpis"].error or "")
        assert held(feed, "dealer_kpis") == {}  # S1's fact is kept, but no figure is made from half a read
        adapter._streams[0].broken = False  # type: ignore[attr-defined]
        results = {r.stream: r for r in feed.engine.sync(adapter)}
        assert results["dealer_kpis"].status == "ok"
        assert D(held(feed, "dealer_kpis")["A|2026-01"]["sales"]) == D(150)
        # A later failure leaves the facts of the batches it sent, in step with the receiver: no reason to wait.
        invoices.append(_invoice("S3", "A", "2026-01-12", "25"))
        invoices.append(_invoice("S4", "A", "2026-01-13", "5"))
        adapter._streams[0].broken = True  # type: ignore[attr-defined]
        results = {r.stream: r for r in feed.engine.sync(adapter)}
        assert results["invoices"].status == "error" and results["dealer_kpis"].status == "ok"
        assert D(held(feed, "dealer_kpis")["A|2026-01"]["sales"]) == D(150)  # S3 and S4 were not sent yet


def test_a_new_product_recomputes_no_dealer_and_a_relabelled_one_recomputes_every_dealer(tmp_path: Path) -> None:
    from mapping.schema import Product

    products: list[Record] = [Product(code="P1", name="one", group_code="G1")]
    adapter = _Listed([_invoice("S1", "A", "2026-01-10", "100"), _invoice("S2", "B", "2026-01-10", "100")], [])
    adapter._streams.insert(0, _Docs("products", products))
    adapter._streams[0].key = lambda item: str(item.code)  # type: ignore[method-assign]
    with Feed(tmp_path) as feed:
        feed.engine.sync(adapter)
        products.append(Product(code="P2", name="two", group_code="G2"))
        assert {r.stream: r.read for r in feed.engine.sync(adapter)}["dealer_kpis"] == 0
        products[0] = Product(code="P1", name="one", group_code="G9")
        assert {r.stream: r.read for r in feed.engine.sync(adapter)}["dealer_kpis"] == 2


def test_kpis_disabled_then_enabled_again_start_from_a_complete_read(tmp_path: Path) -> None:
    invoices: list[Record] = [_invoice("S1", "A", "2026-01-10", "100"), _invoice("S2", "B", "2026-01-10", "50")]
    adapter = _Listed(invoices, [])
    with Feed(tmp_path) as feed:
        feed.engine.sync(adapter)
        adapter.context = SourceContext("listed", ZoneInfo("Europe/Istanbul"), disabled=frozenset({"dealer_kpis"}))
        invoices.pop()  # B's only invoice goes while the stream is off
        feed.engine.sync(adapter)
        adapter.context = SourceContext("listed", ZoneInfo("Europe/Istanbul"))
        feed.engine.sync(adapter)
        assert sorted(held(feed, "dealer_kpis")) == ["A|2026-01"]


def _kpis_of(engine: Any, sink: Any) -> dict[str, Any]:
    """What a receiver holds of dealer_kpis after every batch the recording sink took."""
    import msgspec

    out: dict[str, Any] = {}
    for batch in sink.batches:
        if batch.stream == "dealer_kpis":
            for line in batch.payload.splitlines():
                e = msgspec.json.decode(line)
                if e["op"] == "delete":
                    out.pop(e["key"], None)
                else:
                    out[e["key"]] = e["data"]
    return out


def test_dealers_whose_codes_differ_only_by_case_keep_their_own_months(tmp_path: Path) -> None:
    invoices: list[Record] = [
        _invoice("S1", "abc", "2026-01-10", "100"),
        _invoice("S2", "ABC", "2026-02-10", "70"),
        _invoice("S3", "ABC", "2026-03-10", "30"),
    ]
    adapter = _Listed(invoices, [])
    with Feed(tmp_path) as feed:
        feed.engine.sync(adapter)
        invoices[0] = _invoice("S1", "abc", "2026-01-10", "101")  # only abc moves
        results = {r.stream: r for r in feed.engine.sync(adapter)}
        assert results["dealer_kpis"].deleted == 0
        assert sorted(held(feed, "dealer_kpis")) == ["ABC|2026-02", "ABC|2026-03", "abc|2026-01"]


def test_a_record_the_receiver_rejected_counts_in_no_kpi_and_its_fact_goes_when_it_is_deleted(
    tmp_path: Path,
) -> None:
    from tests.test_engine import make_engine

    invoices: list[Record] = [_invoice("S1", "A", "2026-01-10", "100"), _invoice("S2", "A", "2026-01-11", "50")]
    adapter = _Listed(invoices, [])
    engine, sink = make_engine(tmp_path)
    sink.reject = {"S2": "unknown dealer"}
    engine.sync(adapter)
    assert D(_kpis_of(engine, sink)["A|2026-01"]["sales"]) == D(100)  # S2 is not at the receiver
    invoices.pop()  # S2 deleted in the ERP before it was ever taken
    sink.reject = {}
    engine.sync(adapter)
    with engine.state.engine.connect() as conn:
        keys = sorted(conn.execute(sa.select(kpi_facts_t.c.key)).scalars())
    assert keys == ["S1"] and D(_kpis_of(engine, sink)["A|2026-01"]["sales"]) == D(100)


def test_dealer_kpis_wait_until_every_input_stream_has_run_since_facts_are_kept(tmp_path: Path) -> None:
    invoices: list[Record] = [_invoice("S1", "A", "2026-01-10", "100")]
    collections: list[Record] = [
        _collection("C1", "A", "2026-01-20", "100"),
    ]
    adapter = _Listed(invoices, collections)
    with Feed(tmp_path) as feed:
        feed.engine.sync(adapter, ["invoices"])
        [waiting] = feed.engine.sync(adapter, ["dealer_kpis"])
        assert waiting.status == "skipped" and "collections" in (waiting.error or "")
        feed.engine.sync(adapter, ["collections", "dealer_kpis"])
        assert D(held(feed, "dealer_kpis")["A|2026-01"]["balance"]) == D(0)


def test_a_dead_lettered_dealer_month_is_recomputed_on_retry(tmp_path: Path) -> None:
    from tests.test_engine import make_engine

    adapter = _Listed([_invoice("S1", "A", "2026-01-10", "100")], [])
    engine, sink = make_engine(tmp_path)
    sink.reject = {"A|2026-01": "the core refused it"}
    engine.sync(adapter)
    assert [d.key for d in engine.state.dead_letters()] == ["A|2026-01"]
    sink.reject = {}
    outcome = engine.retry_dead_letters(adapter)
    assert (outcome.retried, outcome.fixed) == (1, 1)
    assert D(_kpis_of(engine, sink)["A|2026-01"]["sales"]) == D(100)


def test_a_catch_up_writes_its_facts_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.state import StateStore
    from tests.test_engine import make_engine

    invoices: list[Record] = [_invoice(f"S{i}", "A", "2026-01-10", "1") for i in range(10)]
    adapter = _Listed(invoices, [])
    engine, _ = make_engine(tmp_path)  # batches of 4
    engine.sync(adapter)
    with engine.state.engine.begin() as conn:
        conn.execute(sa.delete(kpi_facts_t))
        conn.execute(sa.delete(kpi_ready_t))
    sizes: list[int] = []
    commit = StateStore.commit
    monkeypatch.setattr(StateStore, "commit", lambda self, w: (sizes.append(len(w.facts)), commit(self, w))[1])
    engine.sync(adapter, ["invoices"])
    assert sum(sizes) == 10 and max(sizes) <= 4


@pytest.mark.postgres
def test_dealer_kpis_with_the_state_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    from tests.test_engine import make_engine

    invoices: list[Record] = [_invoice("S1", "a|b", "2026-01-10", "100"), _invoice("S2", "A|B", "2026-02-10", "50")]
    adapter = _Listed(invoices, [])
    engine, sink = make_engine(tmp_path, url=pg_url)
    engine.sync(adapter)
    invoices[0] = _invoice("S1", "a|b", "2026-01-10", "120")  # marks a|b again: the upsert of a mark
    invoices.pop()  # A|B's only invoice deleted: its month goes
    engine.sync(adapter)
    kpis = _kpis_of(engine, sink)
    assert sorted(kpis) == ["a|b|2026-01"] and D(kpis["a|b|2026-01"]["sales"]) == D(120)
    assert engine.state.dirty_dealers("listed", "dealer_kpis") == []


def test_a_quiet_dealer_gains_the_month_its_unpaid_invoice_falls_due_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.derived import DealerKpis

    day = [dt.date(2026, 1, 20)]
    monkeypatch.setattr(DealerKpis, "today", staticmethod(lambda: day[0]))
    invoice = _invoice("S1", "A", "2026-01-10", "100")
    invoices: list[Record] = [msgspec.structs.replace(invoice, due_date=dt.date(2026, 3, 10))]
    adapter = _Listed(invoices, [])
    with Feed(tmp_path) as feed:
        feed.engine.sync(adapter)
        assert sorted(held(feed, "dealer_kpis")) == ["A|2026-01"]
        day[0] = dt.date(2026, 2, 5)
        feed.engine.sync(adapter)  # nothing changed in the ERP; February has begun
        assert sorted(held(feed, "dealer_kpis")) == ["A|2026-01", "A|2026-02"]
        day[0] = dt.date(2026, 4, 2)
        feed.engine.sync(adapter)
        kpis = held(feed, "dealer_kpis")
        assert sorted(kpis) == ["A|2026-01", "A|2026-02", "A|2026-03"] and D(kpis["A|2026-03"]["overdue"]) == D(100)
        assert feed.engine.sync(adapter)[-1].read == 0  # and then it waits no more


def test_a_rejected_update_leaves_the_kpis_at_the_version_the_receiver_holds(tmp_path: Path) -> None:
    from tests.test_engine import make_engine

    invoices: list[Record] = [_invoice("S1", "A", "2026-01-10", "100")]
    adapter = _Listed(invoices, [])
    engine, sink = make_engine(tmp_path)
    engine.sync(adapter)
    invoices[0] = _invoice("S1", "A", "2026-01-10", "120")
    sink.reject = {"S1": "the core refused the change"}
    engine.sync(adapter)
    assert D(_kpis_of(engine, sink)["A|2026-01"]["sales"]) == D(100)  # what the receiver holds
    sink.reject = {}
    engine.sync(adapter)  # the rejected record's hash was dropped: it is sent again, and taken
    assert D(_kpis_of(engine, sink)["A|2026-01"]["sales"]) == D(120)
