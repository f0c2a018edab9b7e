"""ERCOT datasets: MIS document lists and the public API (one module per dataset)."""
