"""ERCOT datasets: MIS document lists and the public API (one module per dataset).

`transport` holds both ERCOT transports; each dataset module registers itself on import.
The AS/ORDC modules are imported only when present (they are written separately).
"""

from importlib import import_module
from importlib.util import find_spec

from . import sced_lmp, spp_da, spp_rt, transport

__all__ = ["sced_lmp", "spp_da", "spp_rt", "transport"]

for _name in ("ordc", "ancillary", "sced_disclosure"):
    if find_spec(f"{__name__}.{_name}") is not None:
        import_module(f"{__name__}.{_name}")
