"""Forward curves: monthly on-/off-peak prices per hub from history, forecasts and marks.

Pure computation over frames (no store, no HTTP): `build_curve` turns interval prices
into a curve, `check_marks` validates uploaded marks, `apply_marks` lays them over.
"""

from .builder import (
    CURVE_SCHEMA,
    MAX_MONTHS,
    CurveMethod,
    ForwardCurve,
    InsufficientHistory,
    build_curve,
)
from .calendar import add_months, month_bounds, month_hours
from .history import PEAKS
from .marks import MARK_SCHEMA, MAX_MARK_ROWS, apply_marks, check_marks

__all__ = [
    "CURVE_SCHEMA",
    "MARK_SCHEMA",
    "MAX_MARK_ROWS",
    "MAX_MONTHS",
    "PEAKS",
    "CurveMethod",
    "ForwardCurve",
    "InsufficientHistory",
    "add_months",
    "apply_marks",
    "build_curve",
    "check_marks",
    "month_bounds",
    "month_hours",
]
