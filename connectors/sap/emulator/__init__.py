"""SAP stand-ins on loopback that serve a scenario's facts: S/4HANA OData (s4.py) and ECC SOAP (ecc.py).

They are product code: the tests, `dealersync demo --erp sap` and the benchmark all read from them.
"""
