"""Vehicle identification numbers: cleaned form, check digit, last-8 keys.

``vin(" 1hgcm8-2633a-OO4352 ")`` gives ``"1HGCM82633A004352"``; missing cells and junk
give None. ``vin_series`` gives the same answers over a pandas Series, each distinct
value once.

Choices:

- **Cleaning**: Unicode compatibility forms are folded (full-width letters), letters are
  upper-cased, separators (whitespace, ``-``, ``.``, ``_``, ``/``, ``\\``) removed, and a
  leading label ("VIN:", "VIN #", "VIN NO.") dropped. Any other character (``*``, ``#``,
  ``,``, accented letters...) makes the value junk: it is not a typo we can undo.
- **17-character VINs** never contain I, O or Q (ISO 3779 / 49 CFR 565), so those
  letters are read as the digits people meant: I -> 1, O -> 0, Q -> 0.
- **Pre-1981 VINs** (5 to 16 characters; manufacturers used their own formats before
  the 17-character standard) are kept as written, upper-cased but without the I/O/Q
  substitution, since those formats are not known to exclude the letters. Shorter than
  5 or longer than 17 characters is junk.
- **Junk gives None**: no digit at all (every real VIN, old or new, has a serial number;
  this covers "N/A", "NONE", "UNKNOWN", "TBD", "PENDING"...), one repeated character
  (``00000000000000000``, ``11111111111111111`` whose check digit is valid), or a run of
  consecutive digits (``12345678901234567``).
- **The check digit is not required** by :func:`vin`: VINs of cars built for markets
  outside North America need not carry one, and a mistyped VIN still helps to match on
  its other characters. :func:`vin_check_digit_ok` reports it separately.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.normalize._vector import (
    arrow_strings,
    as_text,
    map_distinct,
    map_distinct_batch,
    texts_at,
)

__all__ = [
    "is_full_vin",
    "vin",
    "vin_check_digit_ok",
    "vin_check_digit_ok_series",
    "vin_last8",
    "vin_last8_series",
    "vin_series",
]

FULL_VIN_LENGTH = 17
MIN_VIN_LENGTH = 5

_LABEL = re.compile(r"VIN(?:\s*(?:NO\.?|NUMBER|#))?[\s:#.]+")
_SEPARATORS = re.compile(r"[\s\-._/\\]+")
_DIGIT_RUNS = "0123456789" * 3 + " " + "9876543210" * 3

# North American check digit (49 CFR 565.15): letters are transliterated to numbers,
# weighted by position, summed modulo 11; a remainder of 10 is written "X".
_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_CHECK_POSITION = 8  # the ninth character


def vin(text: Any) -> str | None:
    """Cleaned VIN of a cell (17 characters, or 5-16 for pre-1981 cars), or None if
    missing or junk."""
    raw = as_text(text)
    if raw is None:
        return None
    if not raw.isascii():
        raw = unicodedata.normalize("NFKC", raw)
    cleaned = raw.strip().upper()
    # str methods, not regexes, on the common path: vin_series calls this per distinct value.
    if not cleaned.isalnum():  # separators, a "VIN:" label, or junk characters
        label = _LABEL.match(cleaned)
        if label is not None:
            cleaned = cleaned[label.end() :]
        cleaned = _SEPARATORS.sub("", cleaned)
    length = len(cleaned)
    if (
        length < MIN_VIN_LENGTH
        or length > FULL_VIN_LENGTH
        or not (cleaned.isascii() and cleaned.isalnum())
    ):
        return None
    if length == FULL_VIN_LENGTH:
        cleaned = cleaned.replace("I", "1").replace("O", "0").replace("Q", "0")
    if (
        cleaned.isalpha()  # no digit at all: "UNKNOWN", "PENDING", "NOVIN"
        or cleaned.count(cleaned[0]) == length
        or cleaned in _DIGIT_RUNS
    ):
        return None
    return cleaned


def _check_digit(full_vin: str) -> str:
    """The check digit a 17-character VIN (alphabet A-H J-N P R-Z 0-9) should carry."""
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(full_vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_check_digit_ok(value: Any) -> bool:
    """True if the cell is a full VIN (after :func:`vin`) whose ninth character is the
    right North American check digit. False for short, junk or missing values."""
    cleaned = vin(value)
    if cleaned is None or len(cleaned) != FULL_VIN_LENGTH:
        return False
    return cleaned[_CHECK_POSITION] == _check_digit(cleaned)


def is_full_vin(value: Any) -> bool:
    """True if the cell is a 17-character VIN after :func:`vin`."""
    cleaned = vin(value)
    return cleaned is not None and len(cleaned) == FULL_VIN_LENGTH


def vin_last8(text: Any) -> str | None:
    """The last 8 characters of the cleaned VIN (the model year, plant and serial number
    of a 17-character VIN), used for partial matches; None if shorter than 8."""
    cleaned = vin(text)
    if cleaned is None or len(cleaned) < 8:
        return None
    return cleaned[-8:]


_RUN_SUBSTRINGS = pa.array(
    sorted({_DIGIT_RUNS[i:j] for i in range(len(_DIGIT_RUNS)) for j in range(i + 5, min(i + 17, len(_DIGIT_RUNS)) + 1)})
)


def _vin_batch(texts: np.ndarray) -> np.ndarray:
    """:func:`vin` over distinct texts: plain ASCII letters and digits (5-17 of them) are
    decided with pyarrow, with the rules of :func:`vin`; anything else by :func:`vin`."""
    out = np.full(len(texts), None, dtype=object)
    arr = arrow_strings(texts)
    fast = pc.and_(pc.string_is_ascii(arr), pc.match_substring_regex(arr, r"^[A-Za-z0-9]{5,17}$"))
    fast = fast.to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(fast)
    if len(idx):
        up = pc.ascii_upper(arr.take(pa.array(idx)))
        full = pc.equal(pc.utf8_length(up), FULL_VIN_LENGTH)
        fixed = pc.replace_substring(pc.replace_substring(pc.replace_substring(up, "I", "1"), "O", "0"), "Q", "0")
        cleaned = pc.if_else(full, fixed, up)
        first = pc.utf8_slice_codeunits(cleaned, 0, 1)
        same = pc.equal(pc.binary_repeat(first, pc.utf8_length(cleaned)), cleaned)
        junk = pc.or_(
            pc.or_(pc.invert(pc.match_substring_regex(cleaned, "[0-9]")), same),
            pc.is_in(cleaned, value_set=_RUN_SUBSTRINGS),
        ).to_numpy(zero_copy_only=False)
        values = np.asarray(cleaned.to_numpy(zero_copy_only=False), dtype=object)
        out[idx[~junk]] = values[~junk]
    slow = np.flatnonzero(~fast)
    for i, text in zip(slow, texts_at(texts, slow), strict=True):
        out[i] = vin(text)
    return out


# Base-36 digit of each byte of [0-9A-Z]; 255 for any other byte.
_BASE36 = np.full(256, 255, dtype=np.uint8)
_BASE36[np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)] = np.arange(36)


def _last8_batch(vins: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`vin_last8` of cleaned VINs (object array, None allowed), and an int64 id of
    each (the 8 characters read in base 36; -1 for None), or None for the ids if some
    value is not 8 characters of 0-9 and A-Z."""
    out = np.array([v[-8:] if v is not None and len(v) >= 8 else None for v in vins], dtype=object)
    ids = np.full(len(out), -1, dtype=np.int64)
    present = np.flatnonzero(~pd.isna(out))
    if not len(present):
        return out, ids
    arr = pa.array(out[present], type=pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    if not np.all(np.diff(offsets) == 8):
        return out, None
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    digits = _BASE36[data].reshape(-1, 8)
    if (digits == 255).any():
        return out, None
    value = np.zeros(len(present), dtype=np.int64)
    for k in range(8):
        value = value * 36 + digits[:, k]
    ids[present] = value
    return out, ids


def vin_series(s: pd.Series) -> pd.Series:
    """:func:`vin` over a Series (object dtype, None where missing or junk)."""
    return map_distinct_batch(s, _vin_batch)


def vin_last8_series(s: pd.Series) -> pd.Series:
    """:func:`vin_last8` over a Series."""
    return map_distinct(s, vin_last8)


def vin_check_digit_ok_series(s: pd.Series) -> pd.Series:
    """:func:`vin_check_digit_ok` over a Series (bool dtype; False where missing)."""
    flags = map_distinct(s, vin_check_digit_ok)
    return pd.Series(flags.to_numpy() == True, index=flags.index, name=flags.name, dtype=bool)  # noqa: E712
