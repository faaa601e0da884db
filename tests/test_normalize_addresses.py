"""Tests for matching.normalize.addresses: street lines, units, ZIP/postal codes, states,
countries, cities and the address blocking key."""

from __future__ import annotations

import csv
import re
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.normalize.addresses import (
    address_key,
    address_key_series,
    city,
    city_series,
    country,
    country_series,
    split_unit,
    split_unit_series,
    state,
    state_series,
    street,
    street_series,
    zip_code,
    zip_code_series,
)
from matching.normalize.names import DATA_DIR

NAN = float("nan")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZIP_FORMAT = re.compile(r"^\d{5}$|^[A-Z]\d[A-Z]\d[A-Z]\d$", re.ASCII)
CODE_FORMAT = re.compile(r"^[A-Z]{2}$", re.ASCII)

EMOJI = st.sampled_from(["😀", "🇺🇸", "\u200d", "\ufeff", "\x00", "\t\n", "½", "№", "＃"])
WORDS = st.sampled_from(
    ["123", "N.", "Main", "St.", "Street", "Apt", "#", "5", "Suite", "PO", "Box", "First",
     "twenty", "-", ",", "B", "Rd", "Hwy", "9", "Québec", "K1A", "0B1", "90001-1234", "CA"]
)  # fmt: skip
TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(WORDS, EMOJI, st.text(max_size=3)), max_size=12).map(" ".join),
)
CELLS = st.one_of(
    TEXT,
    st.none(),
    st.just(NAN),
    st.integers(min_value=-(10**10), max_value=10**10),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _address_shaped(value: str) -> bool:
    if not value or value != value.strip() or "  " in value:
        return False
    if any("A" <= ch <= "Z" for ch in value):
        return False
    return all(ch == " " or ch.isalnum() or unicodedata.category(ch)[0] == "M" for ch in value)


def _rows(file_name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / file_name, encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------------------
# street() / split_unit()
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 Main Street", "123 main st"),
        ("123 MAIN ST.", "123 main st"),
        ("  123   main   st  ", "123 main st"),
        ("123 North Main Street, Suite 200", "123 n main st ste 200"),
        ("123 N. Main St Apt 5", "123 n main st apt 5"),
        ("123 Main St Apartment 5", "123 main st apt 5"),
        ("123 Main St Apt. #5", "123 main st apt 5"),
        ("123 Main St Apt5", "123 main st apt 5"),
        ("55 Elm St #2", "55 elm st unit 2"),
        ("55 Elm St # 2", "55 elm st unit 2"),
        ("123 Main St, Unit 5-B", "123 main st unit 5b"),
        ("123 Main St Suite#200", "123 main st ste 200"),
        ("123 Main St Bldg C", "123 main st bldg c"),
        ("123 Main St Floor 2", "123 main st fl 2"),
        ("123 Main St Rear", "123 main st rear"),
        ("Apt 5, 123 Main St", "123 main st apt 5"),
        ("#5 123 Main St", "123 main st unit 5"),
        ("123 Main St 5", "123 main st unit 5"),
        ("100 Highway 9", "100 hwy 9"),
        ("100 County Road 12", "100 cr 12"),
        ("100 Co. Rd. 12", "100 cr 12"),
        ("5 State Route 9", "5 sr 9"),
        ("P.O. Box 123", "po box 123"),
        ("PO BOX 123", "po box 123"),
        ("P O Box 123", "po box 123"),
        ("Post Office Box 123", "po box 123"),
        ("POB 123", "po box 123"),
        ("Box 55", "po box 55"),
        ("Rural Route 2 Box 5", "rr 2 box 5"),
        ("123 First Street", "123 1st st"),
        ("123 Twenty-Second St", "123 22nd st"),
        ("123 2d Ave", "123 2nd ave"),
        ("123 3RD AVE", "123 3rd ave"),
        ("123 11st Ave", "123 11th ave"),
        ("123-45 84th Ave", "12345 84th ave"),  # Queens house numbers
        ("1600 Pennsylvania Avenue NW", "1600 pennsylvania ave nw"),
        ("123 North East 5th Ave", "123 ne 5th ave"),
        ("123 N.E. 5th Ave", "123 ne 5th ave"),
        ("123 Southwest Park Boulevard", "123 sw park blvd"),
        ("123 Lake Shore Drive", "123 lk shr dr"),  # every C1 word, not only the suffix
        ("1 Saint Charles Ave", "1 st charles ave"),
        ("1 St. Charles Ave", "1 st charles ave"),
        ("123 O'Farrell St", "123 ofarrell st"),
        ("123 Calle José Martí", "123 calle jose marti"),
        ("456 Apt Rd", "456 apt rd"),  # a designator right after the number is a street word
        ("123 Front St", "123 front st"),
        ("123 Old Pier Rd", "123 old pier rd"),
        ("123 Main & 5th", "123 main and 5th"),
        ("Smith-Jones Road", "smith jones rd"),
        ("N/A", None),
        ("unknown", None),
        ("", None),
        ("  ", None),
        (",,,", None),
        (None, None),
        (NAN, None),
        (12345, "12345"),
        (12345.0, "12345"),
    ],
)
def test_street(raw: object, expected: str | None) -> None:
    assert street(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 Main Street, Apt. 4B", ("123 main st", "apt 4b")),
        ("55 Elm St #2", ("55 elm st", "unit 2")),
        ("123 Main St", ("123 main st", None)),
        ("Apt 5, 123 Main St", ("123 main st", "apt 5")),
        ("123 Main St Ste 200 Bldg 3", ("123 main st", "ste 200 bldg 3")),
        ("123 Main St #", ("123 main st", None)),
        ("Apt 5", ("apt 5", None)),
        ("N/A", (None, None)),
        (None, (None, None)),
    ],
)
def test_split_unit(raw: object, expected: tuple[str | None, str | None]) -> None:
    assert split_unit(raw) == expected


def test_split_unit_series() -> None:
    values = pd.Series(["1 Main St Apt 4", None, "2 Oak Ave", NAN], index=[3, 4, 5, 6])
    frame = split_unit_series(values)
    assert list(frame.columns) == ["street", "unit"]
    assert list(frame.index) == [3, 4, 5, 6]
    assert frame.to_dict("records") == [
        {"street": "1 main st", "unit": "apt 4"},
        {"street": None, "unit": None},
        {"street": "2 oak ave", "unit": None},
        {"street": None, "unit": None},
    ]


# --------------------------------------------------------------------------------------
# zip_code()
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country_value", "expected"),
    [
        ("90001", None, "90001"),
        ("90001-1234", None, "90001"),
        ("900011234", None, "90001"),
        ("90001 1234", None, "90001"),
        (" 90001 ", None, "90001"),
        ("90001.0", None, "90001"),
        (90001, None, "90001"),
        (2134, None, "02134"),  # spreadsheet dropped the leading zero
        (2134.0, None, "02134"),
        ("2134", "US", "02134"),
        ("501", None, "00501"),
        ("2134-1234", None, "02134"),
        (21341234, None, "02134"),  # ZIP+4 as a number
        ("９０００１", None, "90001"),
        ("00000", None, None),
        ("1234567", None, None),
        ("12", None, None),
        ("abcde", None, None),
        ("K1A 0B1", None, "K1A0B1"),
        ("k1a0b1", None, "K1A0B1"),
        ("K1A-0B1", "Canada", "K1A0B1"),
        ("M5V 3L9", "CA", "M5V3L9"),
        ("K1A OB1", None, "K1A0B1"),  # letter O typed for zero
        ("D1A 0B1", None, None),  # Canada Post never uses D
        ("K1A 0B1", "USA", None),
        ("90001", "Canada", None),
        ("90001", "Mexico", None),
        ("00901", "Puerto Rico", "00901"),
        ("", None, None),
        (None, None, None),
        (NAN, None, None),
    ],
)
def test_zip_code(raw: object, country_value: object, expected: str | None) -> None:
    assert zip_code(raw, country_value) == expected


# --------------------------------------------------------------------------------------
# state(), country(), city()
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country_value", "expected"),
    [
        ("CA", None, "CA"),
        ("ca", None, "CA"),
        ("California", None, "CA"),
        ("CALIF.", None, "CA"),
        ("N.Y.", None, "NY"),
        ("New York", None, "NY"),
        ("new  york ", None, "NY"),
        ("Texas", "US", "TX"),
        ("Washington", None, "WA"),
        ("Washington, D.C.", None, "DC"),
        ("District of Columbia", None, "DC"),
        ("D.C.", None, "DC"),
        ("Puerto Rico", None, "PR"),
        ("Guam", None, "GU"),
        ("AE", None, "AE"),
        ("W. Va.", None, "WV"),
        ("Penn", None, "PA"),
        ("Québec", None, "QC"),
        ("Quebec", "Canada", "QC"),
        ("QC", None, "QC"),
        ("PQ", None, "QC"),
        ("Ontario", None, "ON"),
        ("Ont.", None, "ON"),
        ("Colombie-Britannique", None, "BC"),
        ("British Columbia", None, "BC"),
        ("Île-du-Prince-Édouard", None, "PE"),
        ("P.E.I.", None, "PE"),
        ("Terre-Neuve-et-Labrador", None, "NL"),
        ("Nfld", None, "NL"),
        ("Yukon", None, "YT"),
        ("Ontario", "US", "ON"),  # exports default the country to US
        ("BC", "Mexico", None),  # Baja California, not British Columbia
        ("Jalisco", None, None),
        ("XX", None, None),
        ("", None, None),
        (None, None, None),
        (NAN, None, None),
        (12, None, None),
    ],
)
def test_state(raw: object, country_value: object, expected: str | None) -> None:
    assert state(raw, country_value) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("U.S.", "US"),
        ("us", "US"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("America", "US"),
        ("Canada", "CA"),
        ("CAN", "CA"),
        ("CA", "CA"),
        ("Mexico", "MX"),
        ("México", "MX"),
        ("MEX", "MX"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Deutschland", "DE"),
        ("Côte d'Ivoire", "CI"),
        ("Korea, Republic of", "KR"),
        ("South Korea", "KR"),
        ("Puerto Rico", "PR"),
        ("Mars", None),
        ("N/A", None),
        ("", None),
        (None, None),
        (NAN, None),
        (1, None),
    ],
)
def test_country(raw: object, expected: str | None) -> None:
    assert country(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Los Angeles", "los angeles"),
        ("LOS  ANGELES ", "los angeles"),
        ("St. Louis", "saint louis"),
        ("ST LOUIS", "saint louis"),
        ("Saint Louis", "saint louis"),
        ("Ste. Genevieve", "sainte genevieve"),
        ("Ft Worth", "fort worth"),
        ("Ft. Lauderdale", "fort lauderdale"),
        ("Mt. Vernon", "mount vernon"),
        ("Pt Pleasant", "point pleasant"),
        ("N Las Vegas", "north las vegas"),
        ("So. San Francisco", "south san francisco"),
        ("Winston-Salem", "winston salem"),
        ("Coeur d'Alene", "coeur dalene"),
        ("Montréal", "montreal"),
        ("St-Jean-sur-Richelieu", "saint jean sur richelieu"),
        ("N", "n"),  # a lone letter is not expanded
        ("unknown", None),
        ("N/A", None),
        ("12345", None),
        ("", None),
        (None, None),
        (NAN, None),
        (90210, None),
    ],
)
def test_city(raw: object, expected: str | None) -> None:
    assert city(raw) == expected


# --------------------------------------------------------------------------------------
# address_key()
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line1", "zip_value", "expected"),
    [
        ("123 N. Main Street Apt 5", "90001-1234", "123 main 90001"),
        ("123 Main St", 90001, "123 main 90001"),
        ("123 NORTH MAIN STREET", "90001", "123 main 90001"),
        ("123 Main St #5", "90001", "123 main 90001"),
        ("123 Ave B", "10009", "123 b 10009"),
        ("123 Park Ave", "10009", "123 park 10009"),
        ("1 St. Charles Ave", "70130", "1 charles 70130"),
        ("1 Saint Charles Avenue", "70130", "1 charles 70130"),
        ("P.O. Box 77", 2134, "77 pobox 02134"),
        ("10 Elm St", "K1A 0B1", "10 elm K1A0B1"),
        ("Main St", "90001", None),  # no house number
        ("123 Main St", None, None),  # no ZIP
        ("123 Main St", "00000", None),
        (None, "90001", None),
        ("N/A", "N/A", None),
    ],
)
def test_address_key(line1: object, zip_value: object, expected: str | None) -> None:
    assert address_key(line1, zip_value) == expected


def test_address_key_series_matches_scalar() -> None:
    line1 = pd.Series(
        ["123 Main St", None, "P.O. Box 7", "123 main street apt 2", "Main St", 5],
        index=list("abcdef"),
    )
    zips = pd.Series(["90001", "90001", 2134, "90001-0001", "90001", "90001"], index=list("abcdef"))
    out = address_key_series(line1, zips)
    assert list(out.index) == list("abcdef")
    assert out.tolist() == [address_key(a, z) for a, z in zip(line1, zips, strict=True)]
    assert out.tolist()[:4] == ["123 main 90001", None, "7 pobox 02134", "123 main 90001"]


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def test_street_suffix_table_is_pub28_c1() -> None:
    rows = _rows("street_suffixes.csv")
    mapping = {r["variant"]: r["standard"] for r in rows}
    assert len(rows) == len(mapping) >= 540  # each spelling once
    assert len({r["primary"] for r in rows}) >= 200
    standards = set(mapping.values())
    assert len(standards) >= 195
    assert all(mapping[s] == s for s in standards)  # standards map to themselves: idempotent
    for word, abbr in {
        "street": "st", "avenue": "ave", "boulevard": "blvd", "road": "rd", "drive": "dr",
        "lane": "ln", "court": "ct", "circle": "cir", "parkway": "pkwy", "highway": "hwy",
        "place": "pl", "terrace": "ter", "trail": "trl", "expressway": "expy", "square": "sq",
        "crossing": "xing", "meadow": "mdw", "meadows": "mdws", "heights": "hts", "way": "way",
    }.items():  # fmt: skip
        assert mapping[word] == abbr
        assert street(f"1 Oak {word.title()}") == f"1 oak {abbr}"


def test_unit_designator_table_is_pub28_c2() -> None:
    rows = _rows("unit_designators.csv")
    standards = {r["standard"]: r["requires_range"] for r in rows}
    assert len(standards) == 24
    assert {r["variant"]: r["standard"] for r in rows}["apartment"] == "apt"
    assert standards["ste"] == "yes" and standards["rear"] == "no"
    assert all(r["requires_range"] in {"yes", "no"} for r in rows)


def test_state_and_country_tables() -> None:
    states = _rows("states.csv")
    codes = {r["code"] for r in states}
    assert (
        len([c for c in codes if any(r["code"] == c and r["country"] == "CA" for r in states)])
        == 13
    )
    assert len(codes) == 76  # 50 states, DC, 5 territories + UM, FM MH PW, AA AE AP, 13 Canadian
    assert len({r["name"] for r in states}) == len(states)  # no spelling means two places
    countries = _rows("countries.csv")
    assert len({r["code"] for r in countries}) == 249
    assert all(CODE_FORMAT.match(r["code"]) for r in countries)


def test_sources_document_every_data_file() -> None:
    sources = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for path in DATA_DIR.glob("*.csv"):
        assert f"`{path.name}`" in sources, path.name


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@SETTINGS
@given(CELLS)
def test_street_is_idempotent_and_shaped(value: object) -> None:
    out = street(value)
    if out is not None:
        assert _address_shaped(out), out
        assert street(out) == out
        parts = split_unit(out)
        assert " ".join(p for p in parts if p) == out
        assert split_unit(value) == parts


@SETTINGS
@given(
    CELLS, st.sampled_from([None, "US", "usa", "Canada", "CA", "Mexico", "Puerto Rico", "garbage"])
)
def test_zip_code_format_and_idempotence(value: object, country_value: object) -> None:
    out = zip_code(value, country_value)
    if out is not None:
        assert ZIP_FORMAT.match(out), out
        assert zip_code(out, country_value) == out
        assert zip_code(out) == out


@SETTINGS
@given(st.one_of(CELLS, st.sampled_from([r["name"] for r in _rows("states.csv")])))
def test_state_format_and_idempotence(value: object) -> None:
    out = state(value)
    if out is not None:
        assert CODE_FORMAT.match(out), out
        assert state(out) == out


@SETTINGS
@given(st.one_of(CELLS, st.sampled_from([r["name"] for r in _rows("countries.csv")])))
def test_country_format_and_idempotence(value: object) -> None:
    out = country(value)
    if out is not None:
        assert CODE_FORMAT.match(out), out
        assert country(out) == out


@SETTINGS
@given(CELLS)
def test_city_is_idempotent(value: object) -> None:
    out = city(value)
    if out is not None:
        assert _address_shaped(out), out
        assert city(out) == out


@SETTINGS
@given(CELLS, CELLS)
def test_address_key_shape(line1: object, zip_value: object) -> None:
    out = address_key(line1, zip_value)
    if out is not None:
        house, word, zip5 = out.split(" ")
        # A street address keys on its house number; a PO box on its box id, which may
        # be a letter ("PO Box A").
        assert (house[:1].isdigit() or word == "pobox") and house and word and ZIP_FORMAT.match(zip5)


@pytest.mark.parametrize("func", [street, split_unit, zip_code, state, country, city])
@pytest.mark.parametrize(
    "value",
    [
        "1" * 100_000,
        "123 Main St " * 10_000,
        "# " * 50_000,
        "Apt " * 30_000,
        "twenty " * 20_000,
        "\x00\x01\x1b[31m",
        "😀🇺🇸",
        "\U0010ffff",
        "P.O.B.O.X." * 5000,
    ],
)
def test_never_raises_on_hostile_text(func, value: str) -> None:  # type: ignore[no-untyped-def]
    func(value)
    address_key(value, value)


# --------------------------------------------------------------------------------------
# Vectorized == scalar
# --------------------------------------------------------------------------------------


def _same(a: object, b: object) -> bool:
    return a == b or (a is None and b is None)


COLUMN = st.lists(
    st.one_of(
        CELLS,
        st.sampled_from(
            ["123 Main St", "90001-1234", "K1A 0B1", "Québec", "USA", "Canada", 2134, "St. Louis"]
        ),
    ),
    max_size=30,
)


@SETTINGS
@given(COLUMN)
def test_series_equals_scalar(values: list[object]) -> None:
    series = pd.Series(values, dtype=object, index=pd.RangeIndex(7, 7 + len(values)), name="col")
    for vectorized, scalar in [
        (street_series, street),
        (zip_code_series, zip_code),
        (state_series, state),
        (country_series, country),
        (city_series, city),
    ]:
        out = vectorized(series)
        assert out.index.equals(series.index) and out.name == "col" and out.dtype == object
        for raw, got in zip(values, out.tolist(), strict=True):
            assert _same(got, scalar(raw)), (vectorized.__name__, raw)
    frame = split_unit_series(series)
    assert [tuple(r) for r in frame.itertuples(index=False)] == [split_unit(v) for v in values]


@SETTINGS
@given(
    COLUMN,
    st.lists(
        st.sampled_from([None, NAN, "US", "usa", "Canada", "CA", "MX", "Puerto Rico", "?"]),
        min_size=30,
        max_size=30,
    ),
)
def test_series_with_country_column_equals_scalar(
    values: list[object], countries: list[object]
) -> None:
    countries = countries[: len(values)]
    series = pd.Series(values, dtype=object, index=pd.RangeIndex(3, 3 + len(values)))
    country_col = pd.Series(countries, dtype=object, index=series.index)
    zips = zip_code_series(series, country_col)
    states = state_series(series, country_col)
    for raw, c, z, s in zip(values, countries, zips.tolist(), states.tolist(), strict=True):
        assert _same(z, zip_code(raw, c)), (raw, c)
        assert _same(s, state(raw, c)), (raw, c)
    # A scalar country applies to every row.
    assert zip_code_series(series, "Canada").tolist() == [zip_code(v, "Canada") for v in values]


@SETTINGS
@given(COLUMN)
def test_address_key_series_equals_scalar(values: list[object]) -> None:
    series = pd.Series(values, dtype=object)
    zips = pd.Series(list(reversed(values)), dtype=object)
    out = address_key_series(series, zips)
    assert out.tolist() == [
        address_key(a, z) for a, z in zip(values, reversed(values), strict=True)
    ]


def test_series_on_numpy_and_realistic_column() -> None:
    zips = pd.Series(np.array([90001, 2134, 501, 900011234], dtype=np.int64))
    assert zip_code_series(zips).tolist() == ["90001", "02134", "00501", "90001"]
    floats = pd.Series([90001.0, 2134.0, NAN])
    assert zip_code_series(floats).tolist() == ["90001", "02134", None]


# --------------------------------------------------------------------------------------
# Vectorized fast path of split_unit: large randomized equivalence with the scalar form
# --------------------------------------------------------------------------------------


def _messy_address_lines() -> list[object]:
    import random
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "customers.csv"
    raw = pd.read_csv(sample, dtype=str, keep_default_na=False)
    line1 = raw["address_line1"].tolist()
    line2 = raw["address_line2"].tolist()
    rnd = random.Random(7)
    words = ["North", "south", "East", "W.", "NE", "Twenty", "First", "fifth", "Saint", "St.", "Apt",
             "Unit", "Ste", "#", "Suite", "Co", "Rd", "Box", "PO", "P.O.", "Rural", "Route", "Hwy",
             "Front", "Rear", "Main", "Oak", "Lake", "Shore", "Drive", "Avenue", "Ave.", "Blvd", ",",
             "5", "12B", "119D", "7d", "3rd", "2nd", "A", "b", "-", "O'Farrell", "Éclair", "N.E.",
             "Bldg", "Fl", "north-east", "  ", "Pkwy", "Way", "Ln", "Lane", "Street"]
    out: list[object] = [None, float("nan"), "", " ", "N/A", 123, 45.0, True]
    for a, b in zip(line1, line2, strict=False):
        out.append(a)
        out.append(f"{a} {b}")
        out.append(f"{a} {b} ".upper())
        out.append(f"{a}, {b}".lower())
    for _ in range(6000):
        n = rnd.randint(1, 6)
        toks = [str(rnd.randint(1, 99999))] if rnd.random() < 0.9 else []
        toks += [rnd.choice(words) for _ in range(n)]
        if rnd.random() < 0.5:
            toks += [rnd.choice(["Apt", "Unit", "#", "Ste", "Suite", "APT.", "apartment", "unit #"]),
                     rnd.choice(["5", "12B", "119D", "7d", "42", "3rd", "9x", "1234567"])]
        sep = rnd.choice([" ", "  ", ", ", " , ", "."])
        out.append(sep.join(toks) + rnd.choice(["", " ", ".", ",", " ."]))
    return out


def test_split_unit_series_fast_path_equals_scalar_on_messy_lines() -> None:
    values = _messy_address_lines()
    got = split_unit_series(pd.Series(values, dtype=object))
    expected = [split_unit(v) for v in values]
    mismatches = [
        (v, (s, u), e)
        for v, s, u, e in zip(values, got["street"], got["unit"], expected, strict=True)
        if (s, u) != e
    ]
    assert mismatches == []
    streets = street_series(pd.Series(values, dtype=object)).tolist()
    assert streets == [street(v) for v in values]


def test_prepare_address_key_equals_address_key_series_of_line1() -> None:
    from pathlib import Path

    from matching.pipeline.prepare import prepare

    sample = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "customers.csv"
    raw = pd.read_csv(sample, dtype=str, keep_default_na=False)
    raw.loc[::4, "address_line2"] = None
    raw.loc[::9, "address_line1"] = raw.loc[::9, "address_line1"] + " 5"
    prep = prepare(raw)
    expected = address_key_series(prep.records["address_line1"], prep.records["postal_code"])
    assert prep.norm["address_key"].tolist() == expected.tolist()


def test_zip_fast_path_agrees_with_the_scalar_rules() -> None:
    rng = np.random.default_rng(5)
    fives = [f"{n:05d}" for n in rng.integers(0, 100_000, 3000)] + ["00000", "99999", "00501"]
    texts = fives + [f"{z}-{n:04d}" for z, n in zip(fives, rng.integers(0, 10_000, len(fives)), strict=True)]
    texts += [f"{z}{n:04d}" for z, n in zip(fives[:500], rng.integers(0, 10_000, 500), strict=True)]
    texts += [f"  {z} " for z in fives[:200]] + ["K1A 0B1", "k1a0b1", "2134", "90001.0", "9000", "ABCDE", "90001-12"]
    series = pd.Series(texts, dtype=object)
    for ctry in (None, "US", "United States"):
        expected = [zip_code(t, ctry) for t in texts]
        assert zip_code_series(series, ctry).tolist() == expected


def test_split_batch_key_parts_equal_key_part_of_the_street() -> None:
    from matching.normalize.addresses import _key_part, _split_batch

    texts = np.array(
        list(dict.fromkeys(v for v in _messy_address_lines() if isinstance(v, str)))
        + ["12 North East St", "12 N E St Apt 5", "12 Main St N", "12 n n", "12 st ave", "12 Ave B",
           "5 Saint Marks Pl", "7 First St 5", "9 E W", "1 Twenty First St", "100 Hwy 9 Apt 2",
           "PO Box 44", "Box 12", "#5 123 Main St", "Apt 5, 123 Main St", "Main Street"],
        dtype=object,
    )
    streets, units, parts = _split_batch(texts, key_parts=True)
    plain = _split_batch(texts)
    assert streets.tolist() == plain[0].tolist() and units.tolist() == plain[1].tolist()
    assert parts.tolist() == [_key_part(s) for s in streets]
    assert parts.tolist() == [_key_part(split_unit(t)[0]) for t in texts]


def test_normalize_frame_in_a_second_thread_gives_the_same_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    # Large frames encode their wide columns in a second thread: the same result.
    from matching.normalize import frame

    df = pd.DataFrame(
        {
            "first_name": ["Ann", "Bob Jr", None, "ann"],
            "phone_1": ["310-555-0100", "", "(310) 555-0100", None],
            "phone_2": ["310 555 0101", None, None, "x"],
            "email_1": ["A.B@Gmail.com", "a.b@gmail.com", None, "n/a"],
            "vin_1": ["1HGCM82633A004352", None, "1hgcm82633a004352", ""],
            "address_line1": ["123 Main St", "123 Main Street", None, "5 Elm Ave"],
            "address_line2": [None, "Apt 5", "Apt 6", None],
            "postal_code": ["90001-1234", "K1A 0B1", "2134", None],
            "customer_key": [" K1 ", "", None, "K2"],
        },
        dtype="str",
    )
    inline = frame.normalize_coded(df, keys=True)
    monkeypatch.setattr(frame, "_THREAD_MIN_ROWS", 0)
    threaded = frame.normalize_coded(df, keys=True)
    assert list(threaded) == list(inline)
    for col in inline:
        assert threaded[col].to_numpy().tolist() == inline[col].to_numpy().tolist(), col


@pytest.mark.parametrize(
    ("line1", "zip_value", "key"),
    [("PO Box 12", "02134", "12 pobox 02134"), ("BOX:A", 100, "a pobox 00100"), ("Box A", "02134", "a pobox 02134")],
)
def test_po_box_keys_on_its_box_id(line1: str, zip_value: object, key: str) -> None:
    assert address_key(line1, zip_value) == key
