"""`InstrumentId`: parsing, formatting, and the errors for every malformed part."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon254.core import InstrumentId, InvalidInstrumentId, Iso, Market, Product

LOCATION_CHARS = "ABCXYZabcxyz0189_-.+/#&()' "


# ---------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("text", "iso", "market", "product", "location"),
    [
        ("PJM.RT5.LMP.51288", Iso.PJM, Market.RT5, Product.LMP, "51288"),
        ("ERCOT.RT15.SPP.HB_NORTH", Iso.ERCOT, Market.RT15, Product.SPP, "HB_NORTH"),
        ("CAISO.DA.LMP.TH_NP15_GEN-APND", Iso.CAISO, Market.DA, Product.LMP, "TH_NP15_GEN-APND"),
        ("PJM.DA.REG.PJM_RTO", Iso.PJM, Market.DA, Product.REG, "PJM_RTO"),
        ("MISO.DA.LMP.AMIL.BGS6", Iso.MISO, Market.DA, Product.LMP, "AMIL.BGS6"),
        ("NYISO.RTH.LMP.N.Y.C.", Iso.NYISO, Market.RTH, Product.LMP, "N.Y.C."),
        ("PJM.DA.LMP.WESTERN HUB", Iso.PJM, Market.DA, Product.LMP, "WESTERN HUB"),
        ("SPP.RT5.LMP.AECC_CSWS-GEN", Iso.SPP, Market.RT5, Product.LMP, "AECC_CSWS-GEN"),
        ("PJM.DA.CAPACITY.RTO", Iso.PJM, Market.DA, Product.CAPACITY, "RTO"),
        ("ERCOT.RT15.RTORPA.SYSTEM", Iso.ERCOT, Market.RT15, Product.RTORPA, "SYSTEM"),
    ],
)
def test_parse_and_format(
    text: str, iso: Iso, market: Market, product: Product, location: str
) -> None:
    iid = InstrumentId.parse(text)
    assert (iid.iso, iid.market, iid.product, iid.location) == (iso, market, product, location)
    assert type(iid.iso) is Iso
    assert type(iid.market) is Market
    assert type(iid.product) is Product
    assert str(iid) == text
    assert InstrumentId.parse(str(iid)) == iid


def test_iso_market_product_are_case_insensitive() -> None:
    canonical = InstrumentId.parse("ERCOT.RT15.SPP.HB_NORTH")
    for text in ("ercot.rt15.spp.HB_NORTH", "Ercot.Rt15.Spp.HB_NORTH", "eRCOT.rT15.sPP.HB_NORTH"):
        assert InstrumentId.parse(text) == canonical
        assert str(InstrumentId.parse(text)) == "ERCOT.RT15.SPP.HB_NORTH"


def test_location_is_case_sensitive() -> None:
    lower = InstrumentId.parse("pjm.da.lmp.western hub")
    assert lower.location == "western hub"
    assert str(lower) == "PJM.DA.LMP.western hub"
    assert lower != InstrumentId.parse("PJM.DA.LMP.WESTERN HUB")


def test_surrounding_whitespace_is_stripped() -> None:
    assert InstrumentId.parse("  PJM.RT5.LMP.51288\n") == InstrumentId.parse("PJM.RT5.LMP.51288")


def test_location_boundary_lengths() -> None:
    assert InstrumentId.parse("PJM.DA.LMP." + "X" * 100).location == "X" * 100
    with pytest.raises(InvalidInstrumentId) as info:
        InstrumentId.parse("PJM.DA.LMP." + "X" * 101)
    assert info.value.part == "location"


# ---------------------------------------------------------------- construction
def test_constructor_with_enums() -> None:
    iid = InstrumentId(Iso.MISO, Market.RT5, Product.LMP, "AMIL.BGS6")
    assert str(iid) == "MISO.RT5.LMP.AMIL.BGS6"


def test_constructor_coerces_plain_strings() -> None:
    iid = InstrumentId("pjm", "rt5", "lmp", "1")
    assert iid == InstrumentId.parse("PJM.RT5.LMP.1")
    assert type(iid.iso) is Iso
    assert str(iid) == "PJM.RT5.LMP.1"


@pytest.mark.parametrize(
    ("args", "part"),
    [
        (("XX", "DA", "LMP", "A"), "iso"),
        (("PJM", "RT1", "LMP", "A"), "market"),
        (("PJM", "DA", "PRICE", "A"), "product"),
        (("PJM", "DA", "LMP", ""), "location"),
        (("PJM", "DA", "LMP", "A,B"), "location"),
        ((Iso.PJM, Market.DA, Product.LMP, " A"), "location"),
    ],
)
def test_constructor_rejects_bad_parts(args: tuple[str, str, str, str], part: str) -> None:
    with pytest.raises(InvalidInstrumentId) as info:
        InstrumentId(*args)
    assert info.value.part == part


def test_frozen_hashable_and_ordered() -> None:
    a = InstrumentId.parse("PJM.RT5.LMP.1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.location = "2"  # type: ignore[misc]
    same = {a, InstrumentId.parse("pjm.rt5.lmp.1"), InstrumentId("PJM", "RT5", "LMP", "1")}
    assert len(same) == 1
    ids = [InstrumentId.parse(t) for t in ("PJM.RT5.LMP.2", "ERCOT.DA.SPP.X", "PJM.DA.LMP.9")]
    assert [str(i) for i in sorted(ids)] == ["ERCOT.DA.SPP.X", "PJM.DA.LMP.9", "PJM.RT5.LMP.2"]


def test_coerce() -> None:
    iid = InstrumentId.parse("CAISO.DA.LMP.TH_SP15_GEN-APND")
    assert InstrumentId.coerce(iid) is iid
    assert InstrumentId.coerce("caiso.da.lmp.TH_SP15_GEN-APND") == iid
    with pytest.raises(InvalidInstrumentId):
        InstrumentId.coerce("CAISO.DA.LMP")


# ---------------------------------------------------------------- malformed ids
@pytest.mark.parametrize(
    ("text", "part", "fragment"),
    [
        ("", "id", "four dot-separated parts"),
        ("PJM", "id", "four dot-separated parts"),
        ("PJM.RT5.LMP", "id", "four dot-separated parts"),
        ("PJM_RT5_LMP_51288", "id", "four dot-separated parts"),
        ("ISONE.DA.LMP.4000", "iso", "'ISONE' is not one of"),
        (".DA.LMP.4000", "iso", "'' is not one of"),
        ("PJM.RT1.LMP.51288", "market", "'RT1' is not one of DA, RT5, RT15, RTH"),
        ("PJM..LMP.51288", "market", "'' is not one of"),
        ("PJM.RT5.PRICE.51288", "product", "'PRICE' is not one of"),
        ("PJM. RT5.LMP.51288", "market", "' RT5' is not one of"),
        ("PJM.RT5.LMP.", "location", "is empty"),
        ("PJM.RT5.LMP. 51288", "location", "leading or trailing spaces"),
        ("PJM.RT5.LMP.A,B", "location", "must be 1-100 characters"),
        ("PJM.RT5.LMP.A\tB", "location", "must be 1-100 characters"),
        ("PJM.RT5.LMP.A;B", "location", "must be 1-100 characters"),
        ("PJM.RT5.LMP.NÖDE", "location", "must be 1-100 characters"),
    ],
)
def test_malformed_ids_name_the_wrong_part(text: str, part: str, fragment: str) -> None:
    with pytest.raises(InvalidInstrumentId) as info:
        InstrumentId.parse(text)
    err = info.value
    assert err.part == part
    assert err.text == text
    message = str(err)
    assert f": {part} " in message
    assert repr(text) in message
    assert fragment in message
    assert fragment in err.reason


def test_location_with_inner_space_before_dot_is_valid() -> None:
    # Only the ends of a location are checked for spaces, so this one is allowed.
    assert InstrumentId.parse("PJM.RT5.LMP.51288 .X").location == "51288 .X"


@pytest.mark.parametrize("value", [None, 51288, b"PJM.RT5.LMP.1", ["PJM", "RT5", "LMP", "1"]])
def test_non_string_is_rejected_as_id(value: object) -> None:
    with pytest.raises(InvalidInstrumentId) as info:
        InstrumentId.parse(value)  # type: ignore[arg-type]
    assert info.value.part == "id"
    assert "must be a string" in str(info.value)


def test_invalid_instrument_id_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        InstrumentId.parse("nope")


# ---------------------------------------------------------------- properties

locations = st.text(alphabet=LOCATION_CHARS, min_size=1, max_size=100).filter(
    lambda s: s == s.strip()
)


def random_case(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.lower() if f else c for c, f in zip(word, flips, strict=True))


@st.composite
def instrument_ids(draw: st.DrawFn) -> tuple[InstrumentId, str]:
    iso = draw(st.sampled_from(list(Iso)))
    market = draw(st.sampled_from(list(Market)))
    product = draw(st.sampled_from(list(Product)))
    location = draw(locations)
    enums = [random_case(draw, m.value) for m in (iso, market, product)]
    text = ".".join([*enums, location])
    return InstrumentId(iso, market, product, location), text


@given(instrument_ids())
def test_round_trip_property(case: tuple[InstrumentId, str]) -> None:
    iid, text = case
    assert InstrumentId.parse(str(iid)) == iid
    assert InstrumentId.parse(text) == iid
    assert str(InstrumentId.parse(text)).split(".", 3)[3] == iid.location


@given(instrument_ids(), st.sampled_from([",", "\n", "\t", ";", "é", "%"]), st.integers(0, 99))
def test_forbidden_character_in_location_property(
    case: tuple[InstrumentId, str], bad: str, where: int
) -> None:
    iid, _ = case
    loc = iid.location
    where = min(where, len(loc) - 1)  # never last: strip() would eat a trailing "\n"
    text = f"{iid.iso}.{iid.market}.{iid.product}.{loc[:where]}{bad}{loc[where:]}"
    with pytest.raises(InvalidInstrumentId) as info:
        InstrumentId.parse(text)
    assert info.value.part == "location"
