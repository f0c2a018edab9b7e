"""Physical order and hashing of chunks before they reach a backend."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from carbon254.store._prepare import ContentHasher, day_major_order, time_major_order

HOUR = 3_600_000_000
PJM_DAY_START = 1_720_584_000_000_000  # 2024-07-10 04:00Z: a PJM market day starts here


def _time_major(nodes: int, hours: int) -> tuple[np.ndarray, np.ndarray]:
    starts = PJM_DAY_START + np.repeat(np.arange(hours), nodes) * HOUR
    keys = np.tile(np.arange(1, nodes + 1, dtype=np.int32), hours)
    return keys, starts


def test_a_market_day_crossing_utc_midnight_is_one_run_per_instrument() -> None:
    keys, starts = _time_major(nodes=3, hours=24)
    order = day_major_order(keys, starts)
    assert order is not None
    k, t = keys[order], starts[order]
    assert list(k) == [1] * 24 + [2] * 24 + [3] * 24  # not split at 00:00Z
    assert all(np.diff(t[:24]) == HOUR)


def test_two_days_stay_day_major() -> None:
    keys, starts = _time_major(nodes=2, hours=48)
    k = keys[day_major_order(keys, starts)]
    assert list(k) == [1] * 24 + [2] * 24 + [1] * 24 + [2] * 24


def test_sorted_input_needs_no_permutation() -> None:
    keys, starts = _time_major(nodes=2, hours=3)
    assert time_major_order(keys, starts) is None
    order = day_major_order(keys, starts)
    assert day_major_order(keys[order], starts[order]) is None


def test_hash_ignores_dictionary_encoding_but_not_values() -> None:
    def digest(table: pa.Table) -> str:
        hasher = ContentHasher()
        hasher.add(table)
        return hasher.hexdigest()

    plain = pa.table({"instrument": ["PJM.DA.LMP.1"], "value": [1.0]})
    encoded = plain.set_column(0, "instrument", plain["instrument"].dictionary_encode())
    changed = pa.table({"instrument": ["PJM.DA.LMP.1"], "value": [1.5]})
    assert digest(plain) == digest(encoded) != digest(changed)


def test_hash_of_validated_dictionary_encoded_prices() -> None:
    """Validation keeps `instrument` NOT NULL; the hash stream must keep it too."""
    from datetime import UTC, datetime, timedelta

    from carbon254.core import validate_prices

    t0 = datetime(2024, 7, 10, 4, tzinfo=UTC)
    plain = pa.table(
        {
            "instrument": ["PJM.DA.LMP.1", "PJM.DA.LMP.2"],
            "interval_start": [t0, t0],
            "interval_end": [t0 + timedelta(hours=1)] * 2,
            "value": [1.0, 2.0],
        }
    )
    encoded = plain.set_column(0, "instrument", plain["instrument"].dictionary_encode())
    digests = []
    for table in (validate_prices(plain), validate_prices(encoded)):
        hasher = ContentHasher()
        hasher.add(table)
        digests.append(hasher.hexdigest())
    assert digests[0] == digests[1]
