"""Keying noise applied to rendered values: typos, letter case, phone and e-mail formats.

Every function is pure: randomness comes in as arrays of uniforms drawn by the caller
from the seeded generator, so the same seed gives the same noise.
"""

from __future__ import annotations

import numpy as np

# QWERTY neighbours: the letters a finger slips to. Rows are staggered, so the row below
# sits half a key to the right: its neighbours are at columns c-1 and c, the row above's at
# c and c+1.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours(r: int, c: int) -> str:
    near = [_ROWS[r][c + d] for d in (-1, 1) if 0 <= c + d < len(_ROWS[r])]
    if r + 1 < len(_ROWS):
        near += [_ROWS[r + 1][k] for k in (c - 1, c) if 0 <= k < len(_ROWS[r + 1])]
    if r > 0:
        near += [_ROWS[r - 1][k] for k in (c, c + 1) if 0 <= k < len(_ROWS[r - 1])]
    return "".join(sorted(near))


KEYBOARD_NEIGHBOURS: dict[str, str] = {
    ch: _neighbours(r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)
}


def typo(text: str, u: np.ndarray) -> str:
    """One typing error in ``text`` chosen by three uniforms: a keyboard-neighbour
    substitution, a dropped letter, a doubled letter or two adjacent letters swapped.
    Only letters are touched; text without letters comes back unchanged."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 2:
        return text
    kind = int(u[0] * 4)
    i = letters[int(u[1] * len(letters))]
    ch = text[i]
    if kind == 0:
        near = KEYBOARD_NEIGHBOURS.get(ch.lower(), "")
        if near:
            new = near[int(u[2] * len(near))]
            return text[:i] + (new.upper() if ch.isupper() else new) + text[i + 1 :]
        kind = 1
    if kind == 1 and len(letters) > 3:
        return text[:i] + text[i + 1 :]
    if kind == 3:
        j = i + 1
        if j < len(text) and text[j].isalpha() and text[j].lower() != ch.lower():
            # Swap the letters but keep the case of each position (Todd -> Otdd).
            a, b = text[j], ch
            a = a.upper() if ch.isupper() else a.lower()
            b = b.upper() if text[j].isupper() else b.lower()
            return text[:i] + a + b + text[j + 1 :]
    return text[:i] + ch + text[i:]


def apply_case(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Letter case per record: 0 keeps the canonical (title) case, 1 upper, 2 lower."""
    out = values.copy()
    for code, fn in ((1, str.upper), (2, str.lower)):
        idx = np.flatnonzero(style == code)
        if len(idx):
            out[idx] = [fn(v) for v in values[idx]]
    return out


# Phone display formats seen in exports; each "#" takes the next of the ten digits.
PHONE_FORMATS: tuple[str, ...] = (
    "(###) ###-####",  # 0
    "###-###-####",  # 1
    "###.###.####",  # 2
    "+1 ### ### ####",  # 3
    "##########",  # 4
    "1-###-###-####",  # 5
    "+1##########",  # 6
    "### ### ####",  # 7
)


def format_phones(numbers: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Render 10-digit numbers (int64) in the given format codes (object array of str)."""
    out = np.empty(len(numbers), dtype=object)
    if not len(out):
        return out
    # One character per cell, then a view as whole strings: no per-value Python work.
    digits = np.strings.zfill(np.asarray(numbers, dtype=np.int64).astype("U10"), 10)
    digits = digits.view("U1").reshape(-1, 10)
    for code, template in enumerate(PHONE_FORMATS):
        idx = np.flatnonzero(style == code)
        if not len(idx):
            continue
        cells = np.empty((len(idx), len(template)), dtype="U1")
        k = 0
        for j, ch in enumerate(template):
            if ch == "#":
                cells[:, j] = digits[idx, k]
                k += 1
            else:
                cells[:, j] = ch
        out[idx] = cells.view(f"U{len(template)}").ravel().astype(object)
    return out


EXTENSION_FORMATS: tuple[str, ...] = (" x{n}", " ext {n}", " ext. {n}", " X{n}", "x{n}", " #{n}")

# Misspelled providers that people type and clerks copy.
DOMAIN_TYPOS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("gmial.com", "gmai.com", "gmail.co", "gmal.com", "gnail.com"),
    "yahoo.com": ("yaho.com", "yahooo.com", "yahoo.co"),
    "hotmail.com": ("hotmial.com", "hotmai.com", "hotmail.co"),
    "outlook.com": ("outlok.com", "outloo.com"),
    "icloud.com": ("iclod.com", "icloud.co"),
    "aol.com": ("aol.co", "aoll.com"),
}


def gmail_dots(local: str, u: float) -> str:
    """Gmail ignores dots in the local part: add one if there is none, else drop them."""
    if "." in local:
        return local.replace(".", "")
    if len(local) < 4:
        return local
    i = 1 + int(u * (len(local) - 2))
    return local[:i] + "." + local[i:]
