"""The vocabulary every part of carbon254 speaks. Imports nothing else of the project."""

from .instrument import InstrumentId, InvalidInstrumentId
from .intervals import (
    NonexistentLocalTime,
    hour_ending_to_start,
    hours_in_day,
    interval_starts,
    local_day_of,
    market_day,
    nth_hour_start,
    repeated_hour_flags,
)
from .markets import Iso, LocationType, Market, Product
from .peak import PeakDefinition, is_on_peak, nerc_holidays, peak_definition
from .schema import (
    BATCH_SCHEMA,
    COMPONENT_TOLERANCE,
    INSTRUMENT_SCHEMA,
    LOCATION_SCHEMA,
    PRICE_SCHEMA,
    RESAMPLE_SCHEMA,
    SchemaError,
    validate_locations,
    validate_prices,
)

__all__ = [
    "BATCH_SCHEMA",
    "COMPONENT_TOLERANCE",
    "INSTRUMENT_SCHEMA",
    "LOCATION_SCHEMA",
    "PRICE_SCHEMA",
    "RESAMPLE_SCHEMA",
    "InstrumentId",
    "InvalidInstrumentId",
    "Iso",
    "LocationType",
    "Market",
    "NonexistentLocalTime",
    "PeakDefinition",
    "Product",
    "SchemaError",
    "hour_ending_to_start",
    "hours_in_day",
    "interval_starts",
    "is_on_peak",
    "local_day_of",
    "market_day",
    "nerc_holidays",
    "nth_hour_start",
    "peak_definition",
    "repeated_hour_flags",
    "validate_locations",
    "validate_prices",
]
