"""Rules every SQL adapter's declared reads keep (Logo, Mikro, Netsis, on each one's demo database).

An optional column is read as NULL where a database lacks it: that may only ever leave a feed field
empty, so no statement may pick, join, group or order rows by one (unless the stream asks the
database first and filters on it only where it exists: `optional(..., guarded=True)`). A column the settings declare
absent (`columns: {T.C: null}`) is seen by check, and refused at run time where a stream needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors import registry
from connectors.base import ConnectorError, SourceContext
from connectors.sql_schema import filtering, full_name, needs, tables_of
from dealersync.demo import open_demo
from scenario.generate import build

SCENARIO = build(invoice_lines=400)


@pytest.fixture(scope="module", params=["logo", "mikro", "netsis"])
def erp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    directory = tmp_path_factory.mktemp(request.param)
    demo = open_demo(request.param, SCENARIO, directory)
    settings = dict(demo.settings)
    demo.close()
    settings["url"] = settings["url"].replace("sqlite:///", f"sqlite:///{directory}/", 1)
    return request.param, settings


def _adapter(kind: str, settings: dict[str, Any]) -> Any:
    adapter_class = registry.load(kind)
    context = SourceContext(f"{kind}-reads", ZoneInfo(SCENARIO.timezone))
    return adapter_class(context, adapter_class.Settings(**settings))


def test_no_statement_picks_joins_or_orders_rows_by_an_optional_column(erp: tuple[str, dict[str, Any]]) -> None:
    kind, settings = erp
    with _adapter(kind, settings) as adapter:
        for stream in adapter.streams():
            for statement in stream.statements():
                guarded = {(full_name(t), c.name) for t in tables_of(statement) for c in t.c if c.info.get("guarded")}
                optional = {(n.container, n.name) for n in needs([statement]) if n.optional is not None} - guarded
                wrong = optional & filtering(statement)
                assert not wrong, f"{kind} {stream.name} picks, joins or orders rows by optional {wrong}"


def test_a_required_column_set_to_null_fails_check_and_refuses_to_run(
    erp: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    kind, settings = erp
    required = {
        "logo": "INVOICE.CANCELLED",
        "mikro": "CARI_HESAP_HAREKETLERI.cha_iptal",
        "netsis": "TBLSTHAR.STHAR_GCMIK",
    }
    with _adapter(kind, {**settings, "columns": {required[kind]: None}}) as adapter:
        failed = {r.name: r.detail for r in adapter.check() if not r.ok}
        (detail,) = [d for name, d in failed.items() if name.endswith("invoices: schema")]
        assert f".{required[kind].partition('.')[2]} is set to null in the settings, but the stream cannot" in detail
        with pytest.raises((ConnectorError, sa.exc.StatementError), match="cannot do without that column"):
            list(adapter.stream("invoices").read(None))
