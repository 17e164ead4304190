"""ERP adapters: the contract, the registry, shared SQL/HTTP helpers, and one folder per ERP."""
