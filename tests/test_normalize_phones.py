"""Tests for matching.normalize.phones: examples, the fast path against phonenumbers,
and properties (idempotent, total, E.164 format, Series == scalar)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matching.normalize import phones
from matching.normalize.phones import (
    PhoneParts,
    is_placeholder_phone,
    is_placeholder_phone_series,
    parse_phone,
    phone,
    phone_extension,
    phone_extension_series,
    phone_match_key,
    phone_match_key_series,
    phone_series,
)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("(310) 555-0100", "+13105550100"),
        ("310-555-0100", "+13105550100"),
        ("310.555.0100", "+13105550100"),
        ("310 555 0100", "+13105550100"),
        ("3105550100", "+13105550100"),
        ("  (310)555-0100  ", "+13105550100"),
        ("1-310-555-0100", "+13105550100"),
        ("1 (310) 555-0100", "+13105550100"),
        ("13105550100", "+13105550100"),
        ("+1 310 555 0100", "+13105550100"),
        ("+13105550100", "+13105550100"),
        ("+1-310-555-0100", "+13105550100"),
        ("(310 555-0100", "+13105550100"),  # unbalanced: phonenumbers reads it
        ("tel:+1-310-555-0100", "+13105550100"),
        ("３１０５５５０１００", "+13105550100"),  # full-width digits
        ("(310) 555-0100 x123", "+13105550100"),
        ("310-555-0100 ext. 45", "+13105550100"),
        ("310.555.0100 #12", "+13105550100"),
        ("310-555-0100 extension 7", "+13105550100"),
        ("(416) 555-0199", "+14165550199"),  # Canada shares +1
        ("(876) 555-0100", "+18765550100"),  # Jamaica shares +1
        ("1-800-555-0100", "+18005550100"),
        ("1-800-FLOWERS", "+18003569377"),  # vanity letters, via phonenumbers
        ("(212) 311-1234", "+12123111234"),  # N11 exchange: accepted like phonenumbers
        ("+44 20 7946 0000", "+442079460000"),
        ("011 44 20 7946 0000", "+442079460000"),
        ("+49 30 901820", "+4930901820"),
        ("+33 1 42 68 53 00", "+33142685300"),
        # spreadsheet cells
        (3105550100, "+13105550100"),
        (3105550100.0, "+13105550100"),
        (13105550100.0, "+13105550100"),
        (np.int64(3105550100), "+13105550100"),
        ("3105550100.0", "+13105550100"),
        (float("nan"), None),
        (None, None),
        (pd.NA, None),
        (310.5550100, None),
        # junk
        ("", None),
        ("   ", None),
        ("N/A", None),
        ("none", None),
        ("unknown", None),
        ("refused", None),
        ("555-0100", None),  # no area code
        ("310-555-010", None),  # 9 digits
        ("310-555-01000", None),  # 11 digits, no leading 1
        ("310-555-0100 / 310-555-0101", None),  # two numbers in one cell
        # the numbering plan
        ("(011) 555-0100", None),
        ("(111) 555-0100", None),
        ("(911) 555-0100", None),  # N11 area code
        ("(290) 555-0100", None),  # N9X: reserved for expansion
        ("(370) 555-0100", None),  # 37X: reserved
        ("(960) 555-0100", None),  # 96X: reserved
        ("(310) 155-0100", None),  # exchange starts with 1
        ("(310) 055-0100", None),
        ("+1 (310) 055-0100 x12", None),  # same rules on the phonenumbers path
        ("+44 20 7946 000", None),  # too short for the UK
        # placeholders
        ("000-000-0000", None),
        ("999-999-9999", None),
        ("555-555-5555", None),
        ("(555) 555-5555", None),
        ("1111111111", None),
        ("123-456-7890", None),
        ("987-654-3210", None),
        ("234-567-8901", None),
        ("(310) 555-5555", None),
        ("(310) 999-9999 ext 12", None),
        ("+44 7777 777777", None),
    ],
)
def test_phone_examples(cell: object, expected: str | None) -> None:
    assert phone(cell) == expected


def test_fictional_555_range_and_other_555_numbers_are_kept() -> None:
    assert phone("310-555-0100") == "+13105550100"
    assert phone("310-555-0199") == "+13105550199"
    assert phone("212-555-1212") == "+12125551212"
    assert phone("212-555-4567") == "+12125554567"


def test_parse_phone_splits_extensions() -> None:
    assert parse_phone("(310) 555-0100 x123") == PhoneParts(
        "+13105550100", "123", "3105550100", True
    )
    assert parse_phone("310-555-0100") == PhoneParts("+13105550100", None, "3105550100", True)
    assert parse_phone("+44 20 7946 0000 ext. 9") == PhoneParts(
        "+442079460000", "9", "2079460000", False
    )
    assert parse_phone("refused") is None
    assert phone_extension("310-555-0100 ext. 45") == "45"
    assert phone_extension("310-555-0100 #12") == "12"
    assert phone_extension("310-555-0100 ext 1234567890") == "1234567890"  # long: phonenumbers
    assert phone_extension("310-555-0100") is None
    assert phone_extension(None) is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("+1 (310) 555-0100", "3105550100"),
        ("310.555.0100 x9", "3105550100"),
        (13105550100.0, "3105550100"),
        ("+44 20 7946 0000", "+442079460000"),
        ("000-000-0000", None),
        ("n/a", None),
    ],
)
def test_phone_match_key(cell: object, expected: str | None) -> None:
    assert phone_match_key(cell) == expected


def test_region_parameter() -> None:
    assert phone("020 7946 0000", region="GB") == "+442079460000"
    assert phone("020 7946 0000") is None  # not a US number
    assert phone("+1 310 555 0100", region="GB") == "+13105550100"
    assert phone("310 555 0100", region="CA") == "+13105550100"
    assert phone("1 310 555 0100", region="GB") is None
    with pytest.raises(ValueError, match="unknown phone region"):
        phone("3105550100", region="XX")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("000-000-0000", True),
        ("(000) 000-0000", True),
        ("999-999-9999", True),
        ("555-555-5555", True),
        ("1-555-555-5555", True),
        ("1111111111", True),
        (1111111111.0, True),
        ("5555555555.0", True),
        ("123-456-7890", True),
        ("0123456789", True),
        ("987-654-3210", True),
        ("(310) 555-5555", True),
        ("000-000-0000 x12", True),
        ("+44 7777 777777", True),
        ("(310) 555-0100", False),
        ("+44 20 7946 0000", False),
        ("N/A", False),
        ("", False),
        (None, False),
        (float("nan"), False),
        ("12345", False),  # a fragment, not a placeholder
    ],
)
def test_is_placeholder_phone(cell: object, expected: bool) -> None:
    assert is_placeholder_phone(cell) is expected


def test_dealer_numbers_are_placeholders_in_any_spelling() -> None:
    dealer = ["(310) 555-0100", "+1 310 555 0111"]
    assert is_placeholder_phone("310.555.0100", extra=dealer)
    assert is_placeholder_phone("13105550111 x5", extra=dealer)
    assert is_placeholder_phone("310-555-0100", extra="3105550100")  # one number as a string
    assert not is_placeholder_phone("310-555-0101", extra=dealer)
    assert not is_placeholder_phone("310-555-0100")


# --- the fast path against phonenumbers -------------------------------------------------

_area = st.from_regex(r"[2-9][0-9]{2}", fullmatch=True)
_exchange = st.from_regex(r"[2-9][0-9]{2}", fullmatch=True)
_line = st.from_regex(r"[0-9]{4}", fullmatch=True)
_sep = st.sampled_from(["", " ", "-", ".", " - ", "  ", "--"])
_prefix = st.sampled_from(["", "1", "1 ", "1-", "1.", "+1", "+1 ", "+1-", "+1.", "+ 1 ", " "])
_ext = st.one_of(
    st.just(""),
    st.tuples(
        st.sampled_from(
            [" x", "x", " X ", " #", "#", " ext", " ext.", " Ext. ", " EXT", " extension "]
        ),
        st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    ).map("".join),
)


@st.composite
def nanp_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A 10-digit NANP-looking number and one way a person might have typed it."""
    area, exchange, line = draw(_area), draw(_exchange), draw(_line)
    shown_area = f"({area})" if draw(st.booleans()) else area
    text = draw(_prefix) + shown_area + draw(_sep) + exchange + draw(_sep) + line + draw(_ext)
    return area + exchange + line, text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nanp_spellings())
def test_fast_path_agrees_with_phonenumbers(sample: tuple[str, str]) -> None:
    national, text = sample
    fast = phones._fast(text, nanp_region=True)
    assert fast is not phones._NOT_FAST, "the fast path must handle every common spelling"

    number = phonenumbers.parse(text, "US")
    assert phonenumbers.national_significant_number(number) == national
    # The oracle: phonenumbers' "possible" (10 digits) plus the numbering-plan rules and
    # the placeholder rules, written out again here rather than taken from the module.
    area, exchange, subscriber = national[:3], national[3:6], national[3:]
    plan_ok = (
        area[0] in "23456789"
        and area[1:] != "11"
        and area[1] != "9"
        and area[:2] not in ("37", "96")
        and exchange[0] in "23456789"
    )
    placeholder = (
        len(set(subscriber)) == 1 or national in "0123456789" * 2 or national in "9876543210" * 2
    )
    accepted = phonenumbers.is_possible_number(number) and plan_ok and not placeholder
    if accepted:
        assert fast == national
        assert "+1" + national == phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164
        )
        assert phone_extension(text) == (number.extension or None)
    else:
        assert fast is None
    # Never stricter than phonenumbers' own validity, except for placeholders.
    if phonenumbers.is_valid_number(number) and not placeholder:
        assert fast is not None
    # And the phonenumbers path of this module gives the same answer.
    slow = phones._slow_parse(text, "US")
    assert slow == parse_phone(text)
    assert (None if slow is None else slow.national) == fast


@settings(deadline=None)  # a loaded CI machine must not fail on wall time
@given(nanp_spellings())
def test_fast_path_with_plus1_in_other_regions(sample: tuple[str, str]) -> None:
    _, text = sample
    assume(text.lstrip().startswith("+"))
    assert phone(text, region="GB") == phone(text, region="US")


# --- properties -------------------------------------------------------------------------

_phone_like = st.one_of(
    nanp_spellings().map(lambda sample: sample[1]),
    st.from_regex(r"\+?[0-9 ()\-.]{0,20}(x[0-9]{1,4})?", fullmatch=True),
    st.sampled_from(["+44 20 7946 0000", "011 44 20 7946 0000", "+49 30 901820", "N/A", "x"]),
)
_any_text = st.one_of(_phone_like, st.text(), st.text(alphabet=st.characters(codec="utf-8")))


@settings(deadline=None)  # a loaded CI machine must not fail on wall time
@given(_any_text)
def test_phone_is_idempotent_and_e164(text: str) -> None:
    first = phone(text)
    if first is not None:
        assert E164.match(first)
        assert phone(first) == first
        assert phone_match_key(first) == phone_match_key(text)
        parts = parse_phone(text)
        assert parts is not None and parts.e164 == first
        if parts.is_nanp:
            assert len(parts.national) == 10 and first == "+1" + parts.national


@settings(deadline=None)  # a loaded CI machine must not fail on wall time
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    phone(text)
    parse_phone(text)
    phone_match_key(text)
    phone_extension(text)
    is_placeholder_phone(text, extra=["310-555-0100"])
    phone(text, region="GB")


@pytest.mark.parametrize(
    "text",
    ["3" * 100_000, "(310) 555-0100 " * 7_000, "\x00\n\t🚗" * 25_000, "+" + "1" * 99_999],
)
def test_huge_input(text: str) -> None:
    assert phone(text) is None
    assert parse_phone(text) is None
    is_placeholder_phone(text)


_cells = st.lists(
    st.one_of(
        _phone_like,
        st.text(max_size=12),
        st.none(),
        st.just(float("nan")),
        st.integers(min_value=0, max_value=10**12),
        st.sampled_from([3105550100.0, 13105550100.0, 1111111111.0, 3.5, float("inf")]),
    ),
    max_size=30,
)


def _same(a: object, b: object) -> bool:
    return a == b or (a is None and b is None)


@settings(deadline=None)  # a loaded CI machine must not fail on wall time
@given(_cells)
def test_series_equals_scalar(cells: list) -> None:
    s = pd.Series(cells, dtype=object, index=[f"r{i}" for i in range(len(cells))], name="phone")
    for func, series_func in [
        (phone, phone_series),
        (phone_match_key, phone_match_key_series),
        (phone_extension, phone_extension_series),
    ]:
        out = series_func(s)
        assert out.index.equals(s.index) and out.name == "phone"
        assert all(_same(o, func(c)) for o, c in zip(out, cells, strict=True))
    flags = is_placeholder_phone_series(s, extra=["310-555-0100"])
    assert flags.dtype == bool
    assert flags.tolist() == [is_placeholder_phone(c, extra=["310-555-0100"]) for c in cells]


def test_series_on_string_dtype_and_missing() -> None:
    s = pd.Series(["(310) 555-0100", None, "310.555.0100", "N/A", "000-000-0000"], dtype="str")
    assert phone_series(s).tolist() == ["+13105550100", None, "+13105550100", None, None]
    assert phone_match_key_series(s).tolist() == ["3105550100", None, "3105550100", None, None]
    assert is_placeholder_phone_series(s).tolist() == [False, False, False, False, True]
    empty = phone_series(pd.Series([], dtype=object))
    assert len(empty) == 0


def test_series_region() -> None:
    s = pd.Series(["020 7946 0000", "+1 310 555 0100", math.nan])
    assert phone_series(s, region="GB").tolist() == ["+442079460000", "+13105550100", None]


def _messy_phones() -> list[object]:
    import random
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "customers.csv"
    raw = pd.read_csv(sample, dtype=str, keep_default_na=False)
    base = [p for p in raw["phone_1"].tolist() + raw["phone_2"].tolist()]
    rnd = random.Random(3)
    out: list[object] = [None, float("nan"), 3105550100.0, 3105550100, True, "", " ", "n/a"]
    forms = [
        lambda d: d, lambda d: f"({d[:3]}) {d[3:6]}-{d[6:]}", lambda d: f"{d[:3]}.{d[3:6]}.{d[6:]}",
        lambda d: f"+1 {d}", lambda d: f"1-{d[:3]}-{d[3:6]}-{d[6:]}", lambda d: f" {d} ",
        lambda d: f"{d} x{rnd.randint(1, 9999)}", lambda d: f"{d} ext. 45", lambda d: f"{d}#12",
        lambda d: f"\t{d}", lambda d: f"{d}.0", lambda d: f"+ 1 ({d[:3]}){d[3:]}",
        lambda d: f"{d} extension 7", lambda d: f"{d[:3]} {d[3:]}", lambda d: f"{d}X1234567",
    ]
    for p in base:
        out.append(p)
    for _ in range(4000):
        digits = "".join(rnd.choice("0123456789") for _ in range(10))
        if rnd.random() < 0.3:
            digits = rnd.choice(["2", "3", "9"]) + rnd.choice(["11", "96", "70", "55"]) + digits[3:]
        if rnd.random() < 0.1:
            digits = digits[:3] + str(rnd.randint(0, 9)) * 7
        out.append(rnd.choice(forms)(digits))
    out += ["1234567890", "9876543210", "2125555555", "+44 20 7946 0958", "011 44 20 7946 0958"]
    return out


@pytest.mark.parametrize("region", ["US", "CA", "GB"])
def test_phone_series_fast_path_equals_scalar_on_messy_values(region: str) -> None:
    values = _messy_phones()
    got = phone_series(pd.Series(values, dtype=object), region=region).tolist()
    expected = [phone(v, region=region) for v in values]
    assert [(v, g, e) for v, g, e in zip(values, got, expected, strict=True) if g != e] == []


@pytest.mark.parametrize("region", ["US", "GB"])
def test_phone_ids_name_the_numbers(region: str) -> None:
    """prepare groups phones by these integer ids instead of hashing the texts."""
    texts = np.array(list(dict.fromkeys(v for v in _messy_phones() if isinstance(v, str))), dtype=object)
    out, ids = phones._phone_batch(texts, region, with_ids=True)
    assert out.tolist() == phones._phone_batch(texts, region).tolist()
    assert ids is not None and ids.dtype == np.int64
    assert ((ids == -1) == pd.isna(out)).all()
    by_id = {}
    for value, i in zip(out, ids, strict=True):
        if value is not None:
            assert i == int(value[1:])
            assert by_id.setdefault(i, value) == value
    assert len(by_id) == len({v for v in out if v is not None})
