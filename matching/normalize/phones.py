"""Phone numbers: E.164 form, extensions, 10-digit match keys, placeholder detection.

``phone("(310) 555-0100")`` gives ``"+13105550100"``; missing cells, junk ("N/A", "refused"),
fragments, invalid numbers and placeholders give None. ``phone_series`` gives the same
answers over a pandas Series, computing each distinct value once.

Choices:

- **Fast path for North American numbers.** The common NANP spellings (10 digits, or 11
  with a leading ``1``/``+1``, separated by spaces, dots, dashes, the area code
  optionally in parentheses, optionally followed by a short extension ``x123``,
  ``ext. 45``, ``#12``) are parsed by one compiled regex, without ``phonenumbers``.
  Everything else (``+44 ...``, ``011 ...``, other extension syntax, letters, full-width
  digits, numbers of other regions) goes to ``phonenumbers``. A property test checks that
  the two agree on generated NANP spellings.
- **NANP numbers are accepted when well formed, not only when "valid".** ``phonenumbers``'
  strict ``is_valid_number`` rejects area codes that were not yet assigned when its metadata
  was built; dealer exports contain newly assigned ones. A NANP number is accepted when it
  has 10 national digits (``is_possible_number``) and follows the numbering plan: area
  code ``[2-9]XX`` but not ``N11`` (service codes), not ``N9X`` (reserved for expansion),
  not ``37X``/``96X`` (reserved); exchange ``[2-9]XX``. Exchanges of the form ``N11`` are
  accepted, as ``phonenumbers`` does. Both paths apply the same rules, so they agree.
- **Numbers outside NANP** must pass ``phonenumbers.is_valid_number`` (its metadata is
  the authority there; "possible" is only a length test).
- **The 555 exchange is accepted**, including the fictional 555-0100..0199 range (the
  spec's own example is +13105550100): other 555 lines are assignable and some are in
  service (555-1212), and a fictional number typed for many customers is caught later by
  value-frequency weighting, like any shared value.
- **Placeholders give None**: national numbers of one repeated digit (000-000-0000,
  555-555-5555), ascending or descending digit runs (123-456-7890, 987-654-3210), and NANP
  numbers whose 7-digit subscriber part is one repeated digit ((310) 555-5555,
  (310) 999-9999), a common filler typed by staff. A dealer's own numbers are
  placeholders for its customers: pass them as ``extra`` to ``is_placeholder_phone``.
- A cell holding two numbers ("310-555-0100 / 310-555-0101") gives None: which one is
  the customer's cannot be known here.
- ``"3105550100.0"`` (text written from a float column) is read as ``3105550100``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import NumberParseException, PhoneNumberFormat

from matching.normalize._vector import (
    MAX_INPUT_CHARS,
    arrow_strings,
    as_text,
    map_distinct,
    map_distinct_batch,
    texts_at,
)

__all__ = [
    "PhoneParts",
    "is_placeholder_phone",
    "is_placeholder_phone_series",
    "parse_phone",
    "phone",
    "phone_extension",
    "phone_extension_series",
    "phone_match_key",
    "phone_match_key_series",
    "phone_series",
]


@dataclass(frozen=True, slots=True)
class PhoneParts:
    """A parsed phone number.

    ``e164``: ``"+13105550100"``; ``extension``: digits after "x"/"ext."/"#", or None;
    ``national``: the national significant number (10 digits for NANP);
    ``is_nanp``: country calling code 1 (US, Canada, Caribbean).
    """

    e164: str
    extension: str | None
    national: str
    is_nanp: bool


# NANP spellings handled without phonenumbers. ASCII digits only ([0-9], not \d, which
# would match full-width and other Unicode digits; those go to phonenumbers).
_SEP = r"[ .\-]*"
_NANP_BODY = (
    r"(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))"
    + _SEP
    + r"([2-9][0-9]{2})"
    + _SEP
    + r"([0-9]{4})"
    # Extensions that phonenumbers reads the same way; longer or rarer forms go to it.
    + r"(?: *(?:[xX#]|[eE][xX][tT]\.?|[eE][xX][tT][eE][nN][sS][iI][oO][nN]) *([0-9]{1,6}))?"
)
# In a NANP region: optional "1" or "+1" prefix.
_FAST_NANP_REGION = re.compile(r"(?:\+ ?1|1)?" + _SEP + _NANP_BODY)
# In any other region only an explicit "+1" says the number is North American.
_FAST_PLUS1 = re.compile(r"\+ ?1" + _SEP + _NANP_BODY)
_FLOAT_TEXT = re.compile(r"([0-9]+)\.0")  # what a float column writes: exactly one ".0"
_ANY_DIGIT = re.compile(r"\d")
# Where an extension or a second number starts, for the raw-digit placeholder test.
_EXTENSION_START = re.compile(r"[A-Za-z#;,]")
_NON_DIGITS = re.compile(r"\D")

_ASCENDING = "01234567890123456789"
_DESCENDING = "98765432109876543210"
# 10-digit runs, precomputed so the fast path tests them with one set lookup.
_RUNS_10 = frozenset(
    run[i : i + 10] for run in (_ASCENDING, _DESCENDING) for i in range(len(run) - 9)
)


def _area_code_ok(area: str) -> bool:
    # [2-9]XX, not N11 (service codes), not N9X (reserved for expansion),
    # not 37X / 96X (reserved for unanticipated purposes).
    return (
        area[0] in "23456789"
        and area[1:] != "11"
        and area[1] != "9"
        and area[:2] not in ("37", "96")
    )


_PLAN_AREA_CODES = frozenset(f"{n:03d}" for n in range(1000) if _area_code_ok(f"{n:03d}"))

_NOT_FAST = object()  # sentinel: the fast path does not handle this spelling


def _nanp_plan_ok(national: str) -> bool:
    """True if a 10-digit string follows the NANP numbering plan (see module docstring)."""
    return (
        len(national) == 10
        and national.isascii()
        and national.isdigit()
        and national[:3] in _PLAN_AREA_CODES
        and national[3] in "23456789"
    )


def _is_placeholder_digits(digits: str, nanp: bool) -> bool:
    """Placeholder test on national digits: one repeated digit, a digit run, or (NANP) a
    subscriber part of one repeated digit."""
    if len(digits) < 7:
        return False
    if digits.count(digits[0]) == len(digits):
        return True
    if digits in _ASCENDING or digits in _DESCENDING:
        return True
    if nanp and len(digits) == 10 and digits[4:] == digits[3] * 6:
        return True
    return False


@functools.lru_cache(maxsize=64)
def _region_is_nanp(region: str) -> bool:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"unknown phone region {region!r}: use a two-letter ISO 3166 code such as 'US' or 'CA'"
        )
    return phonenumbers.country_code_for_region(region) == 1


def _fast_regex(nanp_region: bool) -> re.Pattern[str]:
    return _FAST_NANP_REGION if nanp_region else _FAST_PLUS1


def _fast(text: str, nanp_region: bool) -> Any:
    """The 10-digit national number of a plain NANP spelling, None if it breaks the plan
    or is a placeholder, ``_NOT_FAST`` if this spelling is left to phonenumbers.

    The hot path of ``phone_series``: one regex, two set lookups, no phonenumbers.
    """
    match = (_FAST_NANP_REGION if nanp_region else _FAST_PLUS1).fullmatch(text)
    if match is None:
        return _NOT_FAST
    area = match[1] or match[2]  # with or without parentheses
    subscriber = match[3] + match[4]
    if area not in _PLAN_AREA_CODES or subscriber == subscriber[0] * 7:
        return None
    national = area + subscriber
    return None if national in _RUNS_10 else national


def _unfloat(text: str) -> str:
    """``"3105550100.0"`` (text written from a float column) -> ``"3105550100"``."""
    float_text = _FLOAT_TEXT.fullmatch(text)
    return text if float_text is None else float_text.group(1)


def _prepare(value: Any) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    text = _unfloat(text.strip())
    return text or None


def _parse_text(text: str, region: str, nanp_region: bool) -> PhoneParts | None:
    national = _fast(text, nanp_region)
    if national is not _NOT_FAST:
        if national is None:
            return None
        extension = _fast_regex(nanp_region).fullmatch(text)[5]  # type: ignore[index]
        return PhoneParts(
            e164="+1" + national, extension=extension, national=national, is_nanp=True
        )
    return _slow_parse(text, region)


def _slow_parse(text: str, region: str) -> PhoneParts | None:
    """Parse with phonenumbers, applying the same NANP rules as the fast path."""
    if _ANY_DIGIT.search(text) is None:  # "N/A", "refused", "none": no need to parse
        return None
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    national = phonenumbers.national_significant_number(number)
    if number.country_code == 1:
        if not (phonenumbers.is_possible_number(number) and _nanp_plan_ok(national)):
            return None
        is_nanp = True
    elif not phonenumbers.is_valid_number(number):
        return None
    else:
        is_nanp = False
    if _is_placeholder_digits(national, nanp=is_nanp):
        return None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneParts(
        e164=e164, extension=number.extension or None, national=national, is_nanp=is_nanp
    )


def parse_phone(text: Any, region: str = "US") -> PhoneParts | None:
    """Parse a phone cell into :class:`PhoneParts`, or None if missing, junk, invalid or a
    placeholder. ``region`` is the ISO code used for numbers written without ``+``."""
    nanp_region = _region_is_nanp(region)
    prepared = _prepare(text)
    if prepared is None:
        return None
    return _parse_text(prepared, region, nanp_region)


def phone(text: Any, region: str = "US") -> str | None:
    """E.164 form of a phone cell (``"+13105550100"``), without any extension; None for
    missing, junk, invalid numbers, fragments and placeholders."""
    # phone_series calls this once per distinct value: the fast path is tried first,
    # without building a PhoneParts, and the region lookup is skipped for the default.
    nanp_region = True if region == "US" else _region_is_nanp(region)
    text = as_text(text)
    if text is None:
        return None
    text = text.strip()
    national = _fast(text, nanp_region)
    if national is not _NOT_FAST:
        return None if national is None else "+1" + national
    text = _unfloat(text)
    if not text:
        return None
    parts = _parse_text(text, region, nanp_region)
    return None if parts is None else parts.e164


def phone_extension(text: Any, region: str = "US") -> str | None:
    """The extension digits of a phone cell ("x123", "ext. 45", "#12"), or None."""
    parts = parse_phone(text, region)
    return None if parts is None else parts.extension


def phone_match_key(text: Any, region: str = "US") -> str | None:
    """The value myKaarma compares: the 10-digit national number for NANP phones, the
    E.164 form for others; None when :func:`phone` is None."""
    e164 = phone(text, region)
    if e164 is None:
        return None
    return e164[2:] if e164.startswith("+1") else e164


def _raw_national_digits(text: str) -> str:
    """Digits before any extension marker, without a leading NANP "1" trunk prefix."""
    cut = _EXTENSION_START.search(text)
    head = text if cut is None else text[: cut.start()]
    # Unicode decimal digits are read as their values (int("３") == 3).
    digits = "".join(str(int(c)) for c in _NON_DIGITS.sub("", head))
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return digits


def _placeholder_keys(extra: Any, region: str) -> frozenset[str]:
    if isinstance(extra, (str, bytes)) or not hasattr(extra, "__iter__"):
        extra = (extra,)
    keys = (phone_match_key(e, region) for e in extra)
    return frozenset(k for k in keys if k is not None)


def _is_placeholder(text: Any, region: str, extra_keys: frozenset[str]) -> bool:
    prepared = _prepare(text)
    if prepared is None:
        return False
    if _is_placeholder_digits(_raw_national_digits(prepared), nanp=_region_is_nanp(region)):
        return True
    if prepared.startswith("+"):
        # "+44 7777 777777": test the national number phonenumbers finds.
        try:
            number = phonenumbers.parse(prepared, region)
        except NumberParseException:
            number = None
        if number is not None and _is_placeholder_digits(
            phonenumbers.national_significant_number(number), nanp=number.country_code == 1
        ):
            return True
    if extra_keys:
        key = phone_match_key(prepared, region)
        return key is not None and key in extra_keys
    return False


def is_placeholder_phone(text: Any, extra: Any = (), region: str = "US") -> bool:
    """True if a phone cell holds a placeholder number (000-000-0000, 555-555-5555,
    123-456-7890, (310) 999-9999, ...) or one of ``extra`` (e.g. the dealer's own numbers,
    in any spelling). Missing cells and text without a number ("N/A") are not placeholders:
    they are simply missing (``phone`` gives None for both)."""
    return _is_placeholder(text, region, _placeholder_keys(extra, region))


# The fast-path regexes in RE2 syntax (pyarrow), for the vectorized form: the same
# spellings, surrounded by spaces only (str.strip removes more; those go to phone()).
_RE2_NANP_REGION = r"^ *(?:\+ ?1|1)?" + _SEP + _NANP_BODY + " *$"
_RE2_PLUS1 = r"^ *\+ ?1" + _SEP + _NANP_BODY + " *$"
_BAD_SUBSCRIBERS = np.array([int(str(d) * 7) for d in range(10)], dtype=np.int64)
_RUNS_10_INT = np.array(sorted(int(r) for r in _RUNS_10), dtype=np.int64)


_E164 = re.compile(r"\+[1-9][0-9]{0,17}")


def _phone_batch(texts: np.ndarray, region: str, *, with_ids: bool = False) -> Any:
    """:func:`phone` over distinct texts: plain NANP spellings decided with pyarrow and
    numpy (the rules of ``_fast``), everything else by :func:`phone`.

    With ``with_ids``, also an int64 array naming each number: the E.164 digits as an
    integer (``+13105550100`` -> 13105550100), -1 for None: equal numbers, equal ids. It
    is None if some number is not "+" and digits (then they cannot stand in for the text).
    """
    nanp_region = _region_is_nanp(region)
    out = np.full(len(texts), None, dtype=object)
    ids = np.full(len(texts), -1, dtype=np.int64)
    arr = arrow_strings(texts)
    fast = pc.and_(
        pc.and_(pc.string_is_ascii(arr), pc.less_equal(pc.utf8_length(arr), MAX_INPUT_CHARS)),
        pc.match_substring_regex(arr, _RE2_NANP_REGION if nanp_region else _RE2_PLUS1),
    ).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(fast)
    if len(idx):
        sub = arr.take(pa.array(idx))
        # The spelling is known to be [prefix 1] + 10 national digits [+ extension]; the
        # area code starts with 2-9, so a leading 1 is the trunk prefix. Read the digits
        # straight from the Arrow buffers.
        offsets = np.frombuffer(sub.buffers()[1], dtype=np.int32)[sub.offset : sub.offset + len(sub) + 1]
        data = np.frombuffer(sub.buffers()[2], dtype=np.uint8)
        data = data[offsets[0] : offsets[-1]]
        is_digit = (data >= 48) & (data <= 57)
        digit_count = np.add.reduceat(is_digit.astype(np.int64), offsets[:-1] - offsets[0])
        digit_bytes = data[is_digit] - 48
        first = np.concatenate(([0], np.cumsum(digit_count)[:-1]))
        first = first + (digit_bytes[first] == 1)
        matrix = digit_bytes[first[:, None] + np.arange(10)].astype(np.int64)
        num = matrix @ (10 ** np.arange(9, -1, -1, dtype=np.int64))
        area = num // 10_000_000
        subscriber = num % 10_000_000
        ok = (
            (area % 100 != 11)
            & ((area // 10) % 10 != 9)
            & (area // 10 != 37)
            & (area // 10 != 96)
            & ~np.isin(subscriber, _BAD_SUBSCRIBERS)
            & ~np.isin(num, _RUNS_10_INT)
        )
        good = int(ok.sum())
        text = np.empty((good, 12), dtype=np.uint8)
        text[:, 0] = ord("+")
        text[:, 1] = ord("1")
        text[:, 2:] = matrix[ok] + 48
        # The 12-byte texts as an Arrow string array (no copy), whose conversion to Python
        # strings is much faster than numpy's (through UTF-32).
        offsets = np.arange(0, 12 * (good + 1), 12, dtype=np.int32)
        e164 = pa.Array.from_buffers(pa.string(), good, [None, pa.py_buffer(offsets), pa.py_buffer(text)])
        out[idx[ok]] = np.asarray(e164.to_numpy(zero_copy_only=False), dtype=object)
        ids[idx[ok]] = 10_000_000_000 + num[ok]  # "+1" and the 10 digits, as a number
    slow = np.flatnonzero(~fast)
    for i, text in zip(slow, texts_at(texts, slow), strict=True):
        out[i] = phone(text, region=region)
    if not with_ids:
        return out
    for i in slow:
        if out[i] is not None:
            if _E164.fullmatch(out[i]) is None:
                return out, None
            ids[i] = int(out[i][1:])
    return out, ids


def phone_series(s: pd.Series, region: str = "US") -> pd.Series:
    """:func:`phone` over a Series (object dtype, None where missing or invalid)."""
    _region_is_nanp(region)
    return map_distinct_batch(s, lambda texts: _phone_batch(texts, region))


def phone_match_key_series(s: pd.Series, region: str = "US") -> pd.Series:
    """:func:`phone_match_key` over a Series."""
    _region_is_nanp(region)
    return map_distinct(s, phone_match_key, region=region)


def phone_extension_series(s: pd.Series, region: str = "US") -> pd.Series:
    """:func:`phone_extension` over a Series."""
    _region_is_nanp(region)
    return map_distinct(s, phone_extension, region=region)


def is_placeholder_phone_series(s: pd.Series, extra: Any = (), region: str = "US") -> pd.Series:
    """:func:`is_placeholder_phone` over a Series (bool dtype; False where missing)."""
    flags = map_distinct(
        s, _is_placeholder, region=region, extra_keys=_placeholder_keys(extra, region)
    )
    return _to_bool(flags)


def _to_bool(flags: pd.Series) -> pd.Series:
    return pd.Series(flags.to_numpy() == True, index=flags.index, name=flags.name, dtype=bool)  # noqa: E712
