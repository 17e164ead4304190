"""The code census: every code value the company's data holds, with its rows, its money and what dealersync does
with it; an unknown value that carries money makes check warn, naming the setting that maps it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.census import UNCONFIRMED, CodeCount, census_warnings
from connectors.census import mapped as mapped_reading
from scenario.generate import build
from tests.mikro_dbs import adapter, insert, read, write

SCENARIO = build(invoice_lines=2000)
ACCOUNT = "120.01.0003"
ADVANCE = {  # 98 Tahsil Edilen Avans Makbuzu: an advance the dealer paid, a code no default reads
    "cha_Guid": "5d1c6a52-0000-4000-8000-000000000098",
    "cha_evrak_tip": 98,
    "cha_evrakno_seri": "AV",
    "cha_evrakno_sira": 7,
    "cha_tarihi": dt.datetime(2026, 11, 2),
    "cha_lastup_date": dt.datetime(2026, 11, 2, 10),
    "cha_tip": 1,
    "cha_cari_cins": 0,
    "cha_kod": ACCOUNT,
    "cha_d_kur": 1.0,
    "cha_meblag": 12500.0,
    "cha_aratoplam": 12500.0,
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('mikro') / 'census.db'}"
    write(url, SCENARIO)
    return url


def _census(url: str, since: dt.date | None = None, **settings: object) -> list[CodeCount]:
    with adapter(url, SCENARIO, **settings) as source:
        return source.census(since)


def test_the_demo_data_has_no_unknown_code(url: str) -> None:
    counts = _census(url)
    assert {c.column.name for c in counts} == {
        "cha_evrak_tip x cha_cinsi x cha_tip x cha_normal_Iade",
        "cha_d_cins",
        "sth_tip x sth_cins x sth_evraktip",
        "sth_evraktip x sth_cins x sth_tip x sth_normal_iade",
        "sth_vergi_pntr",
        "sip_tip x sip_cins",
        "sip_doviz_cinsi",
        "sto_pasif_fl",
        "sto_toptan_vergi",
        "bar_master",
        "cari_baglanti_tipi",
        "sfiyat_listesirano",
        "sfiyat_doviz",
        "sfl_kdvdahil",
    }
    assert [c for c in counts if c.reading is None] == []
    assert all(c.reading is not None and c.reading.source for c in counts)
    assert census_warnings(counts) == []
    movements = {c.value: c for c in counts if c.column.setting == "movement_codes"}
    assert movements[1, 17, 1, 0].reading is not None and not movements[1, 17, 1, 0].reading.sent
    assert movements[93, 17, 1, 0].money == movements[1, 17, 1, 0].money  # the promises' money, once, when closed
    assert movements[63, 6, 0, 0].reading is not None and movements[63, 6, 0, 0].reading.source != UNCONFIRMED
    # The notes are no invoice or collection: the ledger carries them, each read from Mikro's evrak list.
    assert all(movements[code].reading.sent is False for code in ((29, 16, 0, 0), (31, 5, 0, 0), (32, 5, 1, 0)))
    ledger = {c.value: c.reading for c in counts if c.column.setting == "ledger_kinds"}
    assert {code: (r.action, r.source) for code, r in ledger.items() if code[0] in (29, 31, 32)} == {
        (29, 16, 0, 0): (
            "ledger entry, kind opening (29 Açılış Fişi)",
            "Mikro docs: SIPARISLER.sip_onodeme_evrak_tip list",
        ),
        (31, 5, 0, 0): (
            "ledger entry, kind debit_note (31 Borç Dekontu)",
            "Mikro docs: SIPARISLER.sip_onodeme_evrak_tip list",
        ),
        (32, 5, 1, 0): (
            "ledger entry, kind credit_note (32 Alacak Dekontu)",
            "Mikro docs: SIPARISLER.sip_onodeme_evrak_tip list",
        ),
    }
    assert ledger[63, 6, 0, 0].action.startswith("ledger entry, kind invoice")
    assert ledger[1, 17, 1, 0].action.startswith("ledger entry, kind collection")  # the promise credits the account
    assert (93, 17, 1, 0) not in ledger  # the closing posts to the bank, not to the account


def test_money_adds_up_to_the_feed_in_local_currency(url: str) -> None:
    """The census's money of the collection codes is what the feed's collections carry (local currency)."""
    counts = [c for c in _census(url) if c.column.setting == "movement_codes"]
    collected = sum(
        (c.money or Decimal(0) for c in counts if c.reading and c.reading.action.startswith("collection")), Decimal(0)
    )
    with adapter(url, SCENARIO) as source:
        feed = sum((record.amount_local for _, record, _ in read(source.stream("collections"))), Decimal(0))
    assert abs(collected - feed) < Decimal("1.00")  # the census converts row by row, the feed document by document


def test_an_unknown_code_is_shown_with_its_money_and_check_warns_until_it_is_mapped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'advance.db'}"
    write(url, SCENARIO)
    insert(url, "CARI_HESAP_HAREKETLERI", ADVANCE)
    since = dt.date(2026, 1, 1)
    counts = _census(url, since)
    unknown = [c for c in counts if c.reading is None]
    assert [(c.column.setting, c.value, c.rows, c.money) for c in unknown] == [
        ("movement_codes", (98, 0, 1, 0), 1, Decimal("12500.00"))
    ]
    (warning,) = census_warnings(counts, since)
    assert warning.warning and "98 x 0 x 1 x 0 (1 rows, 12,500.00)" in warning.detail
    assert "movement_codes" in warning.detail
    with adapter(url, SCENARIO) as source:
        assert "98:AV:7:0" not in {k for k, _, _ in read(source.stream("collections"))}
    # The ledger sends the row all the same, as kind other, and says it has no reading for it.
    other = next(c.reading for c in counts if c.value == (98, 0, 1, 0) and c.column.setting == "ledger_kinds")
    assert other is not None and other.action.startswith("ledger entry, kind other") and other.source == UNCONFIRMED
    mapped = {"98": "collection:cash"}
    counts = _census(url, since, movement_codes=mapped)
    assert census_warnings(counts, since) == []
    readings = {c.column.setting: c.reading for c in counts if c.value == (98, 0, 1, 0)}
    reading = readings["movement_codes"]
    assert reading is not None and reading.sent and reading.source == "your settings"
    assert readings["ledger_kinds"] == mapped_reading("ledger entry, kind collection", "your settings")
    with adapter(url, SCENARIO, movement_codes=mapped) as source:
        got = {k: r for k, r, _ in read(source.stream("collections"))}
    advance = got["98:AV:7:0"]
    assert (advance.account_code, advance.amount, advance.method) == (ACCOUNT, Decimal("12500.00"), "cash")


def test_the_census_counts_documents_since_a_date(url: str) -> None:
    whole = {(c.column.name, c.value): c.rows for c in _census(url)}
    recent = {(c.column.name, c.value): c.rows for c in _census(url, dt.date(2026, 6, 1))}
    invoices = ("cha_evrak_tip x cha_cinsi x cha_tip x cha_normal_Iade", (63, 6, 0, 0))
    assert 0 < recent[invoices] < whole[invoices]
    accounts = [k for k in whole if k[0] == "cari_baglanti_tipi"]
    assert all(recent[k] == whole[k] for k in accounts)  # cards are counted whole


def test_dealersync_check_warns_about_the_unknown_code_naming_the_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mikro.db'}"
    write(url, SCENARIO)
    yesterday = dt.datetime.combine(dt.date.today() - dt.timedelta(days=1), dt.time())
    insert(url, "CARI_HESAP_HAREKETLERI", {**ADVANCE, "cha_tarihi": yesterday, "cha_lastup_date": yesterday})
    (tmp_path / "dealersync.yaml").write_text(
        "state: {url: 'sqlite:///state.db'}\n"
        "sink: {kind: file, path: ./feed, fsync: false}\n"
        "sources:\n"
        "  - {name: mikro, kind: mikro, timezone: Europe/Istanbul, url: 'sqlite:///mikro.db',\n"
        "     vat_rates: {0: 0, 1: 0, 2: 1, 3: 10, 4: 20, 5: 26}, product_passive_value: 1}\n",
        encoding="utf-8",
    )
    command = [str(Path(sys.executable).parent / "dealersync"), "check"]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "400"}
    )
    assert result.returncode == 0, result.stdout + result.stderr  # a warning, not a failure
    # The table wraps a long detail over lines: gather the codes line's detail cells.
    detail: list[str] = []
    capturing = False
    for cells in (ln.split("│") for ln in result.stdout.splitlines() if ln.startswith("│")):
        if cells[2].strip():
            capturing = cells[2].strip() == "codes invoices, collections"
        if capturing:
            detail.append(cells[4].strip())
    text = " ".join(" ".join(detail).split())
    assert "values dealersync does not know" in text and "98 x 0 x 1 x 0 (1 rows, 12,500.00)" in text
    assert "the setting movement_codes" in text
    assert "with warnings" in result.stdout


def test_the_price_lists_codes_say_which_stream_reads_them(url: str) -> None:
    """general_price_lists splits the price rows between price_lists and discounts; sfl_kdvdahil is read through
    price_list_vat_value, from public queries (no Mikro page), and says so."""
    counts = _census(url)
    lists = {c.value[0]: c for c in counts if c.column.name == "sfiyat_listesirano"}
    general = [c for c in lists.values() if c.reading is not None and c.reading.action.endswith(": price_lists")]
    assert {c.value[0] for c in general} == {1, 2, 3, 4, 5}
    assert sum(c.rows for c in general) == len(SCENARIO.price_lists)
    assert all(c.reading is not None and c.reading.source == "your settings" for c in general)  # the site's [1..5]
    own = [c for c in lists.values() if c not in general]
    assert own and all(c.reading is not None and "discounts (fixed_price)" in c.reading.action for c in own)
    vat = [c for c in counts if c.column.name == "sfl_kdvdahil"]
    assert [(c.value, c.reading.action if c.reading else None) for c in vat] == [
        ((0,), "the list's prices exclude VAT")
    ]
    assert vat[0].reading is not None and vat[0].reading.source.startswith("public queries")
    flipped = [c for c in _census(url, price_list_vat_value=0) if c.column.name == "sfl_kdvdahil"]
    assert [(c.reading.action, c.reading.source) for c in flipped if c.reading] == [
        ("the list's prices include VAT", "your settings")
    ]
