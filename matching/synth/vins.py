"""North-American VINs for the generator: valid check digits, model-year codes, typos.

This is the generator's own small implementation (position 9 check digit per 49 CFR 565);
the production validator lives elsewhere in the library and is deliberately not used here,
so the two can check each other.
"""

from __future__ import annotations

import numpy as np

from matching.synth.vocab import VIN_CHARS

# Transliteration of VIN characters to numbers, and the position weights.
_TRANSLIT: dict[str, int] = {
    **{str(d): d for d in range(10)},
    "A": 1,
    "B": 2,
    "C": 3,
    "D": 4,
    "E": 5,
    "F": 6,
    "G": 7,
    "H": 8,
    "J": 1,
    "K": 2,
    "L": 3,
    "M": 4,
    "N": 5,
    "P": 7,
    "R": 9,
    "S": 2,
    "T": 3,
    "U": 4,
    "V": 5,
    "W": 6,
    "X": 7,
    "Y": 8,
    "Z": 9,
}
_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
# Byte value -> transliterated number; -1 marks characters a VIN cannot hold (I, O, Q, ...).
_LOOKUP = np.full(256, -1, dtype=np.int64)
for _char, _value in _TRANSLIT.items():
    _LOOKUP[ord(_char)] = _value
# Model-year codes (position 10) repeat every 30 years: 1980 = A ... 2000 = Y, 2001 = 1 ...
# 2009 = 9, 2010 = A again.
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
_VIN_BYTES = np.frombuffer(VIN_CHARS.encode(), dtype=np.uint8)
_DIGIT_BYTES = np.frombuffer(b"0123456789", dtype=np.uint8)


def check_char(vin: str) -> str | None:
    """The check character (position 9) a 17-character VIN should carry; None if it cannot
    have one (wrong length or a character outside the VIN alphabet)."""
    vin = vin.upper()
    if len(vin) != 17 or any(c not in _TRANSLIT for c in vin):
        return None
    total = sum(_TRANSLIT[c] * int(w) for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def check_digit_ok(vin: str) -> bool:
    """True when ``vin`` is 17 VIN characters whose position-9 check digit is right."""
    expected = check_char(vin)
    return expected is not None and vin.upper()[8] == expected


def year_code(year: int | np.ndarray) -> np.ndarray:
    """Model-year character(s) for position 10."""
    codes = np.frombuffer(YEAR_CODES.encode(), dtype=np.uint8)
    return codes[(np.asarray(year) - 1980) % 30]


def make_vins(
    rng: np.random.Generator, wmi: np.ndarray, vds: np.ndarray, model_year: np.ndarray
) -> np.ndarray:
    """VINs (object array of str) with valid check digits.

    ``wmi`` and ``vds`` are 3-character codes per vehicle (positions 1-3 and 4-6); positions
    7-8 and the plant code (11) are random VIN characters, 12-17 a serial number.
    """
    n = len(wmi)
    chars = np.empty((n, 17), dtype=np.uint8)
    chars[:, 0:3] = _as_bytes(wmi, 3)
    chars[:, 3:6] = _as_bytes(vds, 3)
    chars[:, 6:8] = _VIN_BYTES[rng.integers(0, len(_VIN_BYTES), size=(n, 2))]
    chars[:, 9] = year_code(model_year)
    chars[:, 10] = _VIN_BYTES[rng.integers(0, len(_VIN_BYTES), size=n)]
    chars[:, 11:17] = _DIGIT_BYTES[rng.integers(0, 10, size=(n, 6))]
    chars[:, 8] = ord("0")  # weight 0: the placeholder does not change the sum
    total = (_LOOKUP[chars] * _WEIGHTS).sum(axis=1) % 11
    chars[:, 8] = np.where(total == 10, ord("X"), ord("0") + total).astype(np.uint8)
    return chars.view("S17").ravel().astype("U17").astype(object)


def _as_bytes(codes: np.ndarray, width: int) -> np.ndarray:
    return np.frombuffer("".join(codes.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def corrupt_vin(vin: str, u: np.ndarray) -> str:
    """One realistic keying error, chosen by the uniforms ``u`` (three values in [0, 1)):
    the letter O typed for a zero, I for a one, two adjacent characters transposed, or one
    character replaced. The result always differs from ``vin``."""
    kind = int(u[0] * 4)
    if kind == 0 and "0" in vin:
        zeros = [i for i, c in enumerate(vin) if c == "0"]
        i = zeros[int(u[1] * len(zeros))]
        return vin[:i] + "O" + vin[i + 1 :]
    if kind == 1 and "1" in vin:
        ones = [i for i, c in enumerate(vin) if c == "1"]
        i = ones[int(u[1] * len(ones))]
        return vin[:i] + "I" + vin[i + 1 :]
    if kind <= 2:
        spots = [i for i in range(len(vin) - 1) if vin[i] != vin[i + 1]]
        if spots:
            i = spots[int(u[1] * len(spots))]
            return vin[:i] + vin[i + 1] + vin[i] + vin[i + 2 :]
    i = int(u[1] * len(vin))
    others = VIN_CHARS.replace(vin[i], "")
    return vin[:i] + others[int(u[2] * len(others))] + vin[i + 1 :]
