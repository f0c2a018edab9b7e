"""PJM Data Miner 2 datasets (one module per dataset); `dataminer` is their transport.

Importing this package registers every dataset. Modules written in parallel by others
(ancillary services, capacity, constraints) are imported when present.
"""

import importlib
import importlib.util

from . import lmp, pnode

for _module in ("ancillary", "capacity", "constraints"):
    if importlib.util.find_spec(f"{__name__}.{_module}") is not None:
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["lmp", "pnode"]
