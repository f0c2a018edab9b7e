"""The vocabulary every part of carbon254 speaks. Imports nothing else of the project."""

from .directory import check_no_overlap, validate_locations
from .instrument import InstrumentId, InvalidInstrumentId, check_location
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
    instrument_codes,
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
    "check_location",
    "check_no_overlap",
    "hour_ending_to_start",
    "hours_in_day",
    "instrument_codes",
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
