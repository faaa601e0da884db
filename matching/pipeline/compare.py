"""Comparisons: for every candidate pair, one level per field, declared as ordered levels.

Each :class:`Comparison` lists its levels strongest first (``exact``, ``nickname``,
``typo``, ... ``different``); a pair gets the index of the level it reaches, or
:data:`MISSING` (-1) when a side has no value (missing values are no evidence either way).
Everything is vectorized: name comparisons run once per *distinct* pair of names
(names repeat a lot), edit distances with ``rapidfuzz.process.cpdist``.

Evidence is weighed by what it is. Every phone, email, VIN and customer key shared by a
pair is profiled from the whole file (:func:`profile_values`):

- ``personal``: everyone carrying it looks like one person;
- ``household``: carried by people whose first names or generations differ (a family
  landline, a shared car, a fleet's phone);
- ``junk``: a placeholder (none@none.com, 000-000-0000, the dealer's own number) or
  carried by more than ``junk_records`` records.

The levels of those fields say which kind of value was shared, so the scorer can learn
(and the guards can insist) that household evidence is not personal evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from matching.normalize.frame import EMAIL_COLUMNS, PHONE_COLUMNS, VIN_COLUMNS
from matching.normalize.names import are_nicknames
from matching.pipeline.blocking import Candidates
from matching.pipeline.prepare import Prepared

MISSING = -1


@dataclass(frozen=True)
class Level:
    """One level of a comparison.

    ``fixed_m`` pins the level's m; ``fixed_weight`` pins its weight ``log2(m/u)``. Pinned
    levels are not learned by EM (their m is set from the pin at every iteration).
    """

    label: str
    description: str
    fixed_m: float | None = None
    fixed_weight: float | None = None


@dataclass(frozen=True)
class Comparison:
    """A field compared on ordered levels; ``levels[0]`` is the strongest agreement."""

    name: str
    levels: tuple[Level, ...]
    tf_column: str | None = None  # exact-level term-frequency adjustment on this column
    description: str = ""

    def labels(self) -> list[str]:
        return [lv.label for lv in self.levels]

    def index(self, label: str) -> int:
        return self.labels().index(label)


L = Level
COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "first_name",
        (
            L("exact", "same normalized first name"),
            L("nickname", "nickname of each other (Bob/Robert)"),
            L("typo", "one or two edits, the first letter not replaced"),
            L("initial", "an initial and a name starting with it"),
            # Pinned: EM would learn from households that a different first name is a
            # mild hint of a match (spouses share everything else).
            L("different", "different first names", fixed_m=0.01),
        ),
        tf_column="first_name",
    ),
    Comparison(
        "last_name",
        (
            L("exact", "same normalized last name"),
            L("typo", "one or two edits"),
            L("partial", "share a part of a compound surname"),
            L("different", "different last names"),
        ),
        tf_column="last_name",
    ),
    Comparison(
        "suffix",
        (
            L("same", "same generation suffix"),
            L("one_missing", "a suffix on one record only"),
            L("conflict", "different generations (Jr vs Sr)", fixed_m=0.001),
        ),
    ),
    Comparison(
        "middle_name",
        (
            L("exact", "same middle name"),
            L("initial", "an initial and a name starting with it"),
            L("different", "different middle names"),
        ),
    ),
    Comparison(
        "phone",
        (
            L("personal", "share a phone only one person carries"),
            # Shared and junk values count for little: a family landline says "same home".
            L("household", "share a phone people with different names carry", fixed_weight=1.0),
            L("junk", "share a placeholder or very common phone", fixed_weight=0.0),
            L("different", "both have phones, none shared"),
        ),
    ),
    Comparison(
        "email",
        (
            L("personal", "share an email only one person carries"),
            L("household", "share an email people with different names carry", fixed_weight=1.0),
            L("junk", "share a placeholder or very common email", fixed_weight=0.0),
            L("different", "both have emails, none shared"),
        ),
    ),
    Comparison(
        "vin",
        (
            L("personal", "share a full VIN only one person carries"),
            L("last8", "VINs agree on their last 8 characters"),
            L("household", "share a VIN people with different names carry (family car, resale)", fixed_weight=1.0),
            L("different", "both have VINs, none shared"),
        ),
    ),
    Comparison(
        "customer_key",
        (
            L("exact", "same DMS customer key"),
            L("shared", "same key, carried by people with different names (recycled)", fixed_weight=0.0),
            L("different", "different keys"),
        ),
    ),
    Comparison(
        "address",
        (
            L("personal", "same house number, street and ZIP; only one person lives there"),
            # A family's or a company's address: people with different names share it.
            L("household", "same house number, street and ZIP, shared by people with different names", fixed_weight=2.0),
            L("zip", "same ZIP, different street"),
            L("different", "different ZIPs"),
        ),
    ),
    Comparison(
        "date_of_birth",
        (
            L("exact", "same date of birth"),
            L("typo", "dates of birth one edit apart"),
            L("different", "different dates of birth"),
        ),
    ),
    Comparison(
        "id_number",
        (
            L("exact", "same identity number"),
            L("typo", "identity numbers one edit apart"),
            L("different", "different identity numbers"),
        ),
    ),
    Comparison(
        "company",
        (
            # A company name is an employer for drivers of a fleet: it says little alone.
            L("exact", "same normalized company", fixed_weight=2.0),
            L("fuzzy", "similar company names", fixed_weight=1.0),
            L("different", "different companies"),
        ),
    ),
)
COMPARISON_BY_NAME = {c.name: c for c in COMPARISONS}


@dataclass
class ComparedPairs:
    """Levels (int8, :data:`MISSING` for no evidence) per comparison for every candidate pair."""

    a: np.ndarray
    b: np.ndarray
    levels: dict[str, np.ndarray]
    swapped: np.ndarray  # first and last name swapped between the records
    generation_ambiguous: np.ndarray  # shares only values whose carriers include two generations
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Per evidence field: (kind per value code, records per value code).
    value_stats: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.a)

    def matrix(self, names: list[str]) -> np.ndarray:
        return np.stack([self.levels[n] for n in names], axis=1)


# --------------------------------------------------------------------------- names


def _pairwise_on_distinct(
    values: pd.Series, a: np.ndarray, b: np.ndarray, func: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply ``func(x, y)`` (vectorized over arrays of strings) once per distinct value pair."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    ca, cb = codes[a], codes[b]
    out = np.full(len(a), MISSING, dtype=np.int8)
    ok = (ca >= 0) & (cb >= 0)
    if not ok.any():
        return out
    lo, hi = np.minimum(ca[ok], cb[ok]), np.maximum(ca[ok], cb[ok])
    k = len(uniques)
    pair_key, inverse = np.unique(lo.astype(np.int64) * k + hi, return_inverse=True)
    u = np.asarray(uniques, dtype=object)
    x, y = u[pair_key // k], u[pair_key % k]
    out[ok] = func(x, y)[inverse]
    return out


def _edit_ok(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A typo: one edit (two for names of 8+ letters) that is not a swap of the first letter.

    Replacing the first letter makes another name (Ava/Eva, Mason/Jason: twins, siblings);
    a transposition, insertion or deletion at the start is a slip of the keyboard
    (Odris/Doris, Aana/Ana, Uth/Ruth).
    """
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    dist = process.cpdist(list(x), list(y), scorer=OSA.distance, workers=1)
    len_x = np.fromiter((len(s) for s in x), dtype=np.int64, count=len(x))
    len_y = np.fromiter((len(s) for s in y), dtype=np.int64, count=len(y))
    shortest = np.minimum(len_x, len_y)
    limit = np.where(shortest >= 8, 2, 1)
    first_swapped = np.fromiter(
        (s[:1] != t[:1] and s[1:] == t[1:] for s, t in zip(x, y)), dtype=bool, count=len(x)
    )
    return (dist <= limit) & (shortest >= 3) & ~first_swapped


def _first_levels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(len(x), 4, dtype=np.int8)  # different
    first_x = np.array([s.split()[0] for s in x], dtype=object)
    first_y = np.array([s.split()[0] for s in y], dtype=object)
    exact = (x == y) | (first_x == first_y)  # "mary ann" vs "mary": one name written in part
    init = np.array(
        [(len(s) == 1 and t.startswith(s)) or (len(t) == 1 and s.startswith(t)) for s, t in zip(first_x, first_y)],
        dtype=bool,
    )
    rest = ~exact & ~init
    nick = np.zeros(len(x), dtype=bool)
    nick[rest] = [are_nicknames(s, t) for s, t in zip(first_x[rest], first_y[rest])]
    typo = np.zeros(len(x), dtype=bool)
    rest2 = rest & ~nick
    typo[rest2] = _edit_ok(first_x[rest2], first_y[rest2])
    out[typo] = 2
    out[init] = 3
    out[nick] = 1
    out[exact] = 0
    return out


def _last_levels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(len(x), 3, dtype=np.int8)
    exact = x == y
    rest = ~exact
    partial = np.zeros(len(x), dtype=bool)
    partial[rest] = [bool(set(s.split()) & set(t.split())) for s, t in zip(x[rest], y[rest])]
    typo = np.zeros(len(x), dtype=bool)
    rest2 = rest & ~partial
    typo[rest2] = _edit_ok(
        np.array([s.replace(" ", "") for s in x[rest2]], dtype=object),
        np.array([s.replace(" ", "") for s in y[rest2]], dtype=object),
    )
    out[partial] = 2
    out[typo] = 1
    out[exact] = 0
    return out


def _middle_levels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(len(x), 2, dtype=np.int8)
    init = np.array([s[0] == t[0] and (len(s) == 1 or len(t) == 1) for s, t in zip(x, y)], dtype=bool)
    out[init] = 1
    out[x == y] = 0
    return out


def _code_levels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Dates and identity numbers: exact, one edit (a typed digit, two digits swapped), different."""
    out = np.full(len(x), 2, dtype=np.int8)
    if len(x):
        dist = process.cpdist(list(x), list(y), scorer=OSA.distance, workers=1)
        out[dist <= 1] = 1
    out[x == y] = 0
    return out


def _company_levels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(len(x), 2, dtype=np.int8)
    if len(x):
        from rapidfuzz import fuzz

        sim = process.cpdist(list(x), list(y), scorer=fuzz.token_sort_ratio, workers=1)
        out[sim >= 90] = 1
    out[x == y] = 0
    return out


def _suffix_levels(suffix: pd.Series, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = suffix.to_numpy(dtype=object)
    sa, sb = s[a], s[b]
    has_a, has_b = pd.notna(sa), pd.notna(sb)
    out = np.full(len(a), MISSING, dtype=np.int8)
    both = has_a & has_b
    out[both & (sa == sb)] = 0
    out[both & (sa != sb)] = 2
    out[has_a ^ has_b] = 1
    return out


# --------------------------------------------------------------------------- shared values


def _value_codes(prep: Prepared, columns: tuple[str, ...]) -> np.ndarray:
    """(n, slots) int64 codes of one field's values across slots; -1 where missing."""
    stacked = pd.concat([prep.norm[c] for c in columns], ignore_index=True)
    codes, _ = pd.factorize(stacked, use_na_sentinel=True)
    return codes.reshape(len(columns), prep.n).T.astype(np.int64)


def _shared(codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (pair index, shared value code) of a multi-slot field, and per pair: both have values."""
    ca, cb = codes[a], codes[b]
    pair_idx, value = [], []
    for i in range(codes.shape[1]):
        for j in range(codes.shape[1]):
            hit = (ca[:, i] >= 0) & (ca[:, i] == cb[:, j])
            pair_idx.append(np.nonzero(hit)[0])
            value.append(ca[hit, i])
    both = (ca >= 0).any(axis=1) & (cb >= 0).any(axis=1)
    return np.concatenate(pair_idx), np.concatenate(value), both


# Per-value kinds.
PERSONAL, HOUSEHOLD, JUNK = 0, 1, 2
KIND_NAMES = {PERSONAL: "personal", HOUSEHOLD: "household", JUNK: "junk"}


def _value_kinds(
    codes: np.ndarray,
    junk_flags: np.ndarray | None,
    pair_idx: np.ndarray,
    value: np.ndarray,
    incompatible: np.ndarray,
    generation_conflict: np.ndarray,
    junk_records: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind per value code, records per value, and whether its carriers span two generations."""
    n_values = int(codes.max()) + 1 if codes.size and codes.max() >= 0 else 0
    present = codes >= 0
    # Records carrying each value (a record with one value in two slots counts once).
    rec = np.repeat(np.arange(codes.shape[0]), codes.shape[1])
    flat = codes.ravel()
    keep = flat >= 0
    uniq = np.unique(flat[keep] * codes.shape[0] + rec[keep])
    records = np.bincount(uniq // codes.shape[0], minlength=n_values)
    kinds = np.zeros(n_values, dtype=np.int8)
    household = np.bincount(value, weights=incompatible[pair_idx].astype(float), minlength=n_values) > 0
    kinds[household] = HOUSEHOLD
    junk = records > junk_records
    if junk_flags is not None:
        flagged = np.zeros(n_values, dtype=bool)
        flagged[codes[present & junk_flags]] = True
        junk |= flagged
    kinds[junk] = JUNK
    gen = np.bincount(value, weights=generation_conflict[pair_idx].astype(float), minlength=n_values) > 0
    return kinds, records, gen


def _evidence_levels(
    kinds: np.ndarray, pair_idx: np.ndarray, value: np.ndarray, both: np.ndarray, n_pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best kind of shared value per pair -> level (0 personal, 1 household, 2 junk, 3 different)."""
    best = np.full(n_pairs, 9, dtype=np.int8)
    np.minimum.at(best, pair_idx, kinds[value])
    level = np.where(best < 9, best, np.where(both, 3, MISSING)).astype(np.int8)
    return level, best < 9


# --------------------------------------------------------------------------- main


TYPO, DIFFERENT = 2, 4  # first_name levels


def two_common_names(prep: Prepared, a: np.ndarray, b: np.ndarray, *, share: float = 0.0002, floor: int = 3) -> np.ndarray:
    """True where both first names are common in this file (each carried by at least
    ``max(floor, share * n)`` records).

    A one-letter difference between two common names (Cory/Cody, Lily/Lila, Julian/Julia)
    is two people, often twins; a typo makes a rare spelling (Jonny/Johnn).
    """
    codes, _ = pd.factorize(prep.norm["first_name"], use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=int(codes.max()) + 1 if len(codes) else 0)
    common = np.zeros(len(counts) + 1, dtype=bool)
    common[:-1] = counts >= max(floor, share * prep.n)
    return common[codes[a]] & common[codes[b]]  # code -1 indexes the trailing False


def record_levels(prep: Prepared, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Levels of the comparisons that need no value profile: names, address, company.

    Also returns ``_swapped`` (first and last name swapped between the records).
    """
    norm = prep.norm
    first = _pairwise_on_distinct(norm["first_name"], a, b, _first_levels)
    last = _pairwise_on_distinct(norm["last_name"], a, b, _last_levels)
    # First and last name swapped: compare crosswise where the straight way disagrees.
    fn = norm["first_name"].to_numpy(dtype=object)
    ln = norm["last_name"].to_numpy(dtype=object)
    swapped = (first != 0) & pd.notna(fn[a]) & pd.notna(ln[a]) & (fn[a] == ln[b]) & (ln[a] == fn[b])
    first[swapped] = 0
    last[swapped] = 0
    zips = norm["zip5"].to_numpy(dtype=object)
    key = norm["address_key"].to_numpy(dtype=object)
    addr = np.full(len(a), MISSING, dtype=np.int8)
    has_zip = pd.notna(zips[a]) & pd.notna(zips[b])
    addr[has_zip] = 3
    addr[has_zip & (zips[a] == zips[b])] = 2
    # Same address: "personal" until compare() profiles who lives there.
    addr[pd.notna(key[a]) & (key[a] == key[b])] = 0
    return {
        "first_name": first,
        "last_name": last,
        "suffix": _suffix_levels(norm["suffix"], a, b),
        "middle_name": _pairwise_on_distinct(norm["middle_name"], a, b, _middle_levels),
        "address": addr,
        "company": _pairwise_on_distinct(norm["company"], a, b, _company_levels),
        "date_of_birth": _pairwise_on_distinct(norm["dob"], a, b, _code_levels),
        "id_number": _pairwise_on_distinct(norm["id_number"], a, b, _code_levels),
        "_swapped": swapped,
    }


EVIDENCE_FIELDS = ("phone", "email", "vin", "customer_key")
#: The columns holding each profiled field's values (several columns are slots of one value).
PROFILED_COLUMNS: dict[str, tuple[str, ...]] = {
    "phone": PHONE_COLUMNS,
    "email": EMAIL_COLUMNS,
    "vin": VIN_COLUMNS,
    "customer_key": ("customer_key",),
    "address": ("address_key",),
}


def compare(prep: Prepared, cands: Candidates, *, junk_records: int = 12) -> ComparedPairs:
    """Levels of every comparison for every candidate pair, and the value profiles."""
    a, b = cands.a, cands.b
    norm = prep.norm
    n_pairs = len(a)
    levels: dict[str, np.ndarray] = {}

    levels.update(record_levels(prep, a, b))
    first = levels["first_name"]
    swapped = levels.pop("_swapped").astype(bool)
    first[two_common_names(prep, a, b) & (first == TYPO)] = DIFFERENT

    # Two records are different people when their first names or generations differ.
    incompatible = (first == COMPARISON_BY_NAME["first_name"].index("different")) | (levels["suffix"] == 2)
    generation_conflict = levels["suffix"] == 2

    profile_rows = []
    value_stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    shares_only_generation_ambiguous = np.ones(n_pairs, dtype=bool)
    shares_any = np.zeros(n_pairs, dtype=bool)
    for name, cols, junk_cols in (
        ("phone", PHONE_COLUMNS, tuple(f"{c}_junk" for c in PHONE_COLUMNS)),
        ("email", EMAIL_COLUMNS, tuple(f"{c}_junk" for c in EMAIL_COLUMNS)),
        ("vin", VIN_COLUMNS, None),
        ("customer_key", ("customer_key",), None),
        ("address", ("address_key",), None),
    ):
        codes = _value_codes(prep, cols)
        junk_flags = np.stack([norm[c].to_numpy(bool) for c in junk_cols], axis=1) if junk_cols else None
        pair_idx, value, both = _shared(codes, a, b)
        kinds, records, gen = _value_kinds(
            codes, junk_flags, pair_idx, value, incompatible, generation_conflict, junk_records
        )
        level, shares = _evidence_levels(kinds, pair_idx, value, both, n_pairs)
        if name == "address":
            # Same address: personal or shared (household, or junk: a large building); else by ZIP.
            zip_level = levels["address"]
            level = np.select([level == 0, (level == 1) | (level == 2)], [0, 1], default=np.where(zip_level >= 2, zip_level, MISSING))
        elif name == "customer_key":
            # Keys: exact (personal), shared (household or junk: a recycled key), different.
            level = np.select([level == 0, (level == 1) | (level == 2), level == 3], [0, 1, 2], default=MISSING)
        elif name == "vin":
            # Full VINs first; else their last 8 characters (partial VINs, typos at the front).
            codes8 = _value_codes(prep, ("vin8_1", "vin8_2", "vin8_3"))
            p8, _, _ = _shared(codes8, a, b)
            hit8 = np.zeros(n_pairs, dtype=bool)
            hit8[p8] = True
            level = np.select(
                [level == 0, (level == 1) | (level == 2), hit8, level == 3], [0, 2, 1, 3], default=MISSING
            )
        levels[name] = level.astype(np.int8)
        value_stats[name] = (kinds, records)
        # Generation ambiguity: the pair's shared values of this field are all carried by two generations.
        any_gen = np.zeros(n_pairs, dtype=bool)
        not_gen = np.zeros(n_pairs, dtype=bool)
        np.logical_or.at(any_gen, pair_idx, gen[value])
        np.logical_or.at(not_gen, pair_idx, ~gen[value])
        shares_any |= shares
        shares_only_generation_ambiguous &= ~not_gen
        shared_values = np.nonzero((records >= 2))[0]
        if len(shared_values):
            profile_rows.append(pd.DataFrame({
                "field": name,
                "value_code": shared_values,
                "records": records[shared_values],
                "kind": pd.Categorical.from_codes(kinds[shared_values], categories=["personal", "household", "junk"]),
            }))

    gen_ambiguous = shares_any & shares_only_generation_ambiguous & (levels["suffix"] == 1)
    profiles = pd.concat(profile_rows, ignore_index=True) if profile_rows else pd.DataFrame(
        columns=["field", "value_code", "records", "kind"]
    )
    levels = {c.name: levels[c.name] for c in COMPARISONS}
    return ComparedPairs(
        a=a, b=b, levels=levels, swapped=swapped, generation_ambiguous=gen_ambiguous,
        profiles=profiles, value_stats=value_stats,
    )
