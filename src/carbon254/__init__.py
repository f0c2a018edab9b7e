"""carbon254: North American power-market data and analytics.

`import carbon254` stays light: it loads the core vocabulary only, never the server.
"""

from .core import InstrumentId, Iso, LocationType, Market, Product

__version__ = "0.1.0"

__all__ = ["InstrumentId", "Iso", "LocationType", "Market", "Product", "__version__"]
