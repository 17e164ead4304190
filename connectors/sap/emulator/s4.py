"""An S/4HANA OData V2 stand-in on loopback, serving a scenario's facts (tests, `dealersync demo`, the benchmark).

    with S4Emulator(build()) as sap:
        sap.fail_next(429, retry_after=1)
        ...read sap.url as user sap.user / sap.password, sap-client sap.client...

Where things are:
  s4_odata.py          the SAP Gateway: HTTP, logon and sap-client, paging, $select/$expand, V2 JSON, faults
  s4_filter.py         the $filter language
  s4_entity_set.py     one entity set: facts by key and the keys a query selects, from indexes where it can
  s4_scenario.py       which entity set holds which fact, and the scenario's later changes
  s4_master_rows.py    partners, products, stock, conditions and credit as S/4 rows
  s4_document_rows.py  sales orders, billing documents and FI receivable lines as S/4 rows
  s4_system.py         the system's organisational units and the SAP forms of values
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.sap.emulator.s4_metadata import RATES_SERVICE, load
from connectors.sap.emulator.s4_odata import ODataServer
from connectors.sap.emulator.s4_scenario import S4Layout
from connectors.sap.emulator.s4_system import DEMO_SETTINGS, PLANT, SAP_UNITS
from scenario.facts import Change, Scenario

__all__ = ["DEMO_SETTINGS", "PLANT", "RATES", "SAP_UNITS", "S4Emulator"]

# The entity set of the rate table the emulator serves (a customer-built service: see s4_metadata.py).
RATES = f"{RATES_SERVICE}/YY1_ExchangeRate"


class S4Emulator(ODataServer):
    """An S/4HANA system holding one scenario, served over OData V2 once started."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        user: str = "DEALERSYNC",
        password: str | None = None,
        client: str = "100",
        client_id: str = "dealersync",
        client_secret: str | None = None,
        page_size: int = 1000,
        token_lifetime: int = 3600,
        cancel_touches_original: bool = True,
        indirect_quotation: frozenset[str] = frozenset(),
        metadata: Mapping[str, bytes] | None = None,
    ) -> None:
        """`cancel_touches_original`: whether cancelling a billing document moves the original's
        LastChangeDateTime (UNCONFIRMED in SAP; the reader copes with either). `indirect_quotation`: currencies
        whose billing documents quote the rate indirectly. `metadata`: documents served as a service's $metadata
        instead of SAP's (another release's, or an OData V4 one)."""
        services = load(metadata)
        self.layout = S4Layout(scenario, services, cancel_touches_original, indirect_quotation)
        super().__init__(
            self.layout.entity_sets(),
            services,
            user=user,
            password=password,
            client=client,
            client_id=client_id,
            client_secret=client_secret,
            page_size=page_size,
            token_lifetime=token_lifetime,
        )

    def apply(self, change: Change) -> None:
        """Make a scenario change in the system; a page being answered sees all of it or none."""
        with self._lock:
            self.layout.apply(change)
