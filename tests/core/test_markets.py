"""The ISO / market / product / location-type vocabulary in `carbon254.core.markets`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from carbon254.core import Iso, LocationType, Market, Product

H = timedelta(hours=1)


def test_the_six_isos() -> None:
    assert {iso.value for iso in Iso} == {"PJM", "MISO", "CAISO", "ERCOT", "SPP", "NYISO"}


@pytest.mark.parametrize(
    ("iso", "tz_name"),
    [
        (Iso.PJM, "America/New_York"),
        (Iso.NYISO, "America/New_York"),
        (Iso.ERCOT, "America/Chicago"),
        (Iso.SPP, "America/Chicago"),
        (Iso.CAISO, "America/Los_Angeles"),
        (Iso.MISO, "Etc/GMT+5"),
    ],
)
def test_market_clock_names(iso: Iso, tz_name: str) -> None:
    assert iso.tz_name == tz_name
    assert iso.tz.key == tz_name


# UTC offsets in mid-winter and mid-summer, from the published US zone rules.
@pytest.mark.parametrize(
    ("iso", "winter", "summer"),
    [
        (Iso.PJM, -5, -4),
        (Iso.NYISO, -5, -4),
        (Iso.ERCOT, -6, -5),
        (Iso.SPP, -6, -5),
        (Iso.CAISO, -8, -7),
        (Iso.MISO, -5, -5),  # fixed EST all year
    ],
)
def test_market_clock_offsets(iso: Iso, winter: int, summer: int) -> None:
    assert datetime(2024, 1, 15, 12, tzinfo=iso.tz).utcoffset() == winter * H
    assert datetime(2024, 7, 15, 12, tzinfo=iso.tz).utcoffset() == summer * H


def test_miso_is_fixed_est_even_on_us_dst_transition_days() -> None:
    for month, day in ((3, 10), (11, 3)):
        for hour in range(24):
            assert datetime(2024, month, day, hour, tzinfo=Iso.MISO.tz).utcoffset() == -5 * H


def test_only_miso_ignores_dst() -> None:
    assert {iso for iso in Iso if not iso.observes_dst} == {Iso.MISO}
    assert Iso.PJM.observes_dst
    assert Iso.CAISO.observes_dst


def test_iso_is_a_str_enum() -> None:
    assert Iso("ERCOT") is Iso.ERCOT
    assert str(Iso.ERCOT) == "ERCOT"
    assert f"{Iso.SPP}" == "SPP"
    assert Iso.PJM == "PJM"


def test_iso_lookup_is_case_sensitive_at_enum_level() -> None:
    # Case-insensitivity belongs to InstrumentId.parse, not to the enum itself.
    with pytest.raises(ValueError):
        Iso("pjm")
    with pytest.raises(ValueError):
        Iso("ISONE")


def test_markets() -> None:
    assert {m.value for m in Market} == {"DA", "RT5", "RT15", "RTH"}


@pytest.mark.parametrize(
    ("market", "interval"),
    [
        (Market.DA, timedelta(hours=1)),
        (Market.RT5, timedelta(minutes=5)),
        (Market.RT15, timedelta(minutes=15)),
        (Market.RTH, timedelta(hours=1)),
    ],
)
def test_market_interval(market: Market, interval: timedelta) -> None:
    assert market.interval == interval


def test_every_market_has_an_interval_dividing_an_hour() -> None:
    for market in Market:
        assert timedelta(hours=1) % market.interval == timedelta(0)


def test_products_named_in_the_design_exist() -> None:
    names = {p.value for p in Product}
    for name in ("LMP", "SPP", "REG", "SPIN", "NSPIN", "RRS", "ECRS", "CAPACITY"):
        assert name in names
    assert {"RTORPA", "RTORDPA"} <= names  # ERCOT ORDC adders
    # ERCOT reliability deployment adders after RTC+B (NP6-323-CD from 2025-12-05)
    assert {"RTRDPA", "RTRDPARUS", "RTRDPARDS", "RTRDPARRS", "RTRDPAECRS", "RTRDPANSS"} <= names


def test_rtcb_adders_are_system_prices_without_components():
    for name in ("RTRDPA", "RTRDPARUS", "RTRDPARDS", "RTRDPARRS", "RTRDPAECRS", "RTRDPANSS"):
        product = Product(name)
        assert not product.has_components
        assert not product.is_period_priced


def test_only_lmp_has_components() -> None:
    assert {p for p in Product if p.has_components} == {Product.LMP}
    assert not Product.SPP.has_components
    assert not Product.REG.has_components


def test_only_capacity_is_period_priced() -> None:
    assert {p for p in Product if p.is_period_priced} == {Product.CAPACITY}
    assert not Product.LMP.is_period_priced


def test_location_types() -> None:
    values = {t.value for t in LocationType}
    assert {"HUB", "ZONE", "LOAD_ZONE", "GENERATOR", "NODE", "INTERFACE", "SYSTEM"} <= values
    assert "TRADING_HUB" not in values


@pytest.mark.parametrize("enum", [Iso, Market, Product, LocationType])
def test_member_names_equal_values(enum: type) -> None:
    # validate_locations checks membership by name; ids are written with values.
    for member in enum:
        assert member.name == member.value
        assert member.value == member.value.upper()
        assert "." not in member.value  # "." separates InstrumentId parts
