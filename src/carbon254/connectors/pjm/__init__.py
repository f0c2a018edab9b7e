"""PJM Data Miner 2 datasets (one module per dataset)."""
