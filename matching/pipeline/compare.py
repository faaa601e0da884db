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

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import OSA

from matching.normalize.frame import EMAIL_COLUMNS, PHONE_COLUMNS, VIN_COLUMNS
from matching.normalize.names import nickname_keys
from matching.pipeline.blocking import Candidates
from matching.pipeline.prepare import NormColumns, Prepared

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
    # Per profiled field: the value of each value code (what ``value_stats`` counts).
    value_uniques: dict[str, np.ndarray] = field(default_factory=dict)
    # Per pair: every email the two share is "plain" (no digit in its local part, as
    # davidlopez@gmail.com): a name spelled as an address, which two namesakes may both
    # give; an address with digits (davidlopez77@) is its owner's own.
    plain_email: np.ndarray | None = None
    # Per pair: neither record has a suffix, but both belong to a family where one does
    # (see :func:`generation_marked`): father or son, unknown which.
    namesake_generations: np.ndarray | None = None
    # Per pair: neither record has a suffix and one of them has a namesake nearby who
    # writes one (see :func:`suffix_nearby`): the other may be his father or his son.
    generation_nearby: np.ndarray | None = None
    # Per pair: one house written twice (not the same address key; see record_levels).
    address_close: np.ndarray | None = None
    # Per pair: they share a phone and each also carries a phone the other lacks.
    phones_split: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.a)

    def matrix(self, names: list[str]) -> np.ndarray:
        return np.stack([self.levels[n] for n in names], axis=1)


# --------------------------------------------------------------------------- names


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2.4's plain ``np.unique`` hashes int64
    arrays, several times slower than a sort on millions of values."""
    s = np.sort(values)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys`` (int64) and each key's index among them (numbered in order of
    first appearance): one hash pass, cheaper than sorting millions of keys."""
    inverse, uniq = pd.factorize(keys, sort=False)
    return np.asarray(uniq), inverse.astype(np.int64, copy=False)


class _Vocab:
    """Distinct strings and what the rules read from each, computed once per string and
    kept: comparisons then work on integer codes into ``values``, not on strings per pair."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self._features: dict[str, np.ndarray] = {}
        self._derived: dict[str, tuple[np.ndarray, _Vocab]] = {}
        self._lists: dict[str, list[list[object]]] = {}

    def feature(self, name: str, func: Callable[[str], object], dtype: object = object) -> np.ndarray:
        """``func`` of every value (cached under ``name``)."""
        got = self._features.get(name)
        if got is None:
            if dtype is object:
                got = np.empty(len(self.values), dtype=object)
                got[:] = [func(v) for v in self.values]
            else:
                got = np.fromiter((func(v) for v in self.values), dtype=dtype, count=len(self.values))
            self._features[name] = got
        return got

    def derived(self, name: str, func: Callable[[str], str]) -> tuple[np.ndarray, _Vocab]:
        """A derived string per value, coded: (code of each value's derived string, their vocab)."""
        got = self._derived.get(name)
        if got is None:
            codes, uniques = pd.factorize(self.feature(name, func), use_na_sentinel=True)
            got = (codes.astype(np.int64), _Vocab(np.asarray(uniques, dtype=object)))
            self._derived[name] = got
        return got

    def lists(self, name: str, func: Callable[[str], list[object]]) -> list[list[object]]:
        got = self._lists.get(name)
        if got is None:
            got = self._lists[name] = [func(v) for v in self.values]
        return got


def _coded(func: Callable[[np.ndarray, np.ndarray, _Vocab], np.ndarray]) -> Callable[..., np.ndarray]:
    """Mark a comparison that reads codes and a :class:`_Vocab` instead of strings."""
    func.coded = True  # type: ignore[attr-defined]
    return func


def _pairwise_coded(
    ca: np.ndarray,
    cb: np.ndarray,
    uniques: np.ndarray | _Vocab,
    func: Callable[..., np.ndarray],
    *,
    symmetric: bool = True,
) -> np.ndarray:
    """``func`` once per distinct pair of codes, :data:`MISSING` where a code is -1:
    ``func(uniques[x], uniques[y])`` over arrays of strings, or ``func(x, y, vocab)`` over
    codes for comparisons marked :func:`_coded`. Equal codes are level 0 without asking
    ``func`` (every comparison's first level is "exact"). ``symmetric``: ``func`` is symmetric,
    so (x, y) and (y, x) are one pair."""
    out = np.full(len(ca), MISSING, dtype=np.int8)
    ok = (ca >= 0) & (cb >= 0)
    # Equal values are level 0 (exact) in every comparison: most candidate pairs share
    # their last name, so only the others go through the distinct-pair machinery.
    same = ok & (ca == cb)
    out[same] = 0
    ok &= ~same
    if not ok.any():
        return out
    vocab = uniques if isinstance(uniques, _Vocab) else _Vocab(uniques)
    x, y = ca[ok].astype(np.int64), cb[ok].astype(np.int64)
    if symmetric:
        x, y = np.minimum(x, y), np.maximum(x, y)
    k = max(len(vocab.values), 1)
    pair_key, inverse = _unique_inverse(x * k + y)
    xs, ys = pair_key // k, pair_key % k
    if getattr(func, "coded", False):
        out[ok] = func(xs, ys, vocab)[inverse]
    else:
        out[ok] = func(vocab.values[xs], vocab.values[ys])[inverse]
    return out


def _signature(prep: Prepared, columns: tuple[str, ...]) -> tuple[object, ...]:
    """Where ``norm``'s columns live: a cached table built from them is valid while this holds
    (under copy-on-write any change to a column gives it a new array). A
    :class:`~matching.pipeline.prepare.NormColumns` cannot change: its serial number says it all."""
    if isinstance(prep.norm, NormColumns):
        return ("coded", prep.norm.serial)
    out: list[object] = [id(prep.norm)]
    for c in columns:
        v = prep.norm[c].to_numpy()
        out.append((v.__array_interface__["data"][0], v.strides, v.dtype) if isinstance(v, np.ndarray) else id(v))
    return tuple(out)


def _cached(prep: Prepared, key: str, columns: tuple[str, ...], build: Callable[[], object]) -> object:
    """``build()`` once per ``Prepared`` (and columns' state): the record-level tables
    (codes, counts) that compare, training and the cluster guard all read."""
    cache = prep.__dict__.setdefault("_compare_cache", {})
    sig = _signature(prep, columns)
    hit = cache.get(key)
    if hit is not None and hit[0] == sig:
        return hit[1]
    value = build()
    cache[key] = (sig, value)
    return value


def release_tables(prep: Prepared, keep: Iterable[str] = ()) -> None:
    """Let go of the record-level tables compare cached on ``prep`` (codes, name tables...),
    all but those named in ``keep``: a table asked for again is built again. Lets a
    pipeline free what its remaining stages do not read (hundreds of MB at a million)."""
    cache = prep.__dict__.get("_compare_cache")
    if cache:
        wanted = set(keep)
        for key in [k for k in cache if k not in wanted]:
            del cache[key]


def cached_tables(prep: Prepared) -> list[str]:
    """The names of the tables compare has cached on ``prep`` (for :func:`release_tables`)."""
    return list(prep.__dict__.get("_compare_cache", {}))


def _code_type(n_values: int) -> type[np.signedinteger]:
    """int32 for codes of fewer than 2**31 - 1 values (half the memory of int64: these
    tables stay alive through scoring and clustering), else int64. Arithmetic that
    combines codes into one key widens them first."""
    return np.int32 if n_values < np.iinfo(np.int32).max else np.int64


def _column_codes(prep: Prepared, col: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 missing; int32 unless there are 2**31 values, see :func:`_code_type`) of
    ``norm[col]`` and the distinct values: those prepare kept when it has them (no
    second hashing of a million strings), else factorized."""
    got = prep.codes(col)
    if got is not None:
        codes, uniques = got
    else:
        codes, uniques = pd.factorize(prep.norm[col], use_na_sentinel=True)
    return codes.astype(_code_type(len(uniques))), np.asarray(uniques, dtype=object)


def _joint_codes(prep: Prepared, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(columns)) codes (as :func:`_column_codes`) of columns of one kind in one value
    space (equal values, equal codes across columns; -1 missing) and the value of each code."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        parts = [_column_codes(prep, c) for c in columns]
        if all(p[1] is parts[0][1] for p in parts):
            return np.stack([p[0] for p in parts], axis=1), parts[0][1]
        # Different value arrays: number the union of their distinct values once.
        joint, uniques = pd.factorize(np.concatenate([p[1] for p in parts]), use_na_sentinel=True)
        kind = _code_type(len(uniques))
        cols, offset = [], 0
        for codes, vals in parts:
            remap = np.append(joint[offset : offset + len(vals)], -1).astype(kind)
            cols.append(remap[codes])  # code -1 reads the trailing -1
            offset += len(vals)
        return np.stack(cols, axis=1), np.asarray(uniques, dtype=object)

    return _cached(prep, "joint:" + ",".join(columns), columns, build)  # type: ignore[return-value]


@_coded
def _edit_ok(x: np.ndarray, y: np.ndarray, vocab: _Vocab) -> np.ndarray:
    """A typo: one edit (two for names of 8+ letters) that is not a swap of the first letter.

    Replacing the first letter makes another name (Ava/Eva, Mason/Jason: twins, siblings);
    a transposition, insertion or deletion at the start is a slip of the keyboard
    (Odris/Doris, Aana/Ana, Uth/Ruth).
    """
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    v = vocab.values
    dist = process.cpdist(v[x].tolist(), v[y].tolist(), scorer=OSA.distance, workers=1)
    length = vocab.feature("len", len, np.int64)
    shortest = np.minimum(length[x], length[y])
    limit = np.where(shortest >= 8, 2, 1)
    initial = vocab.feature("initial", lambda t: t[:1])
    tail, _ = vocab.derived("tail", lambda t: t[1:])
    first_swapped = (initial[x] != initial[y]) & (tail[x] == tail[y])
    return (dist <= limit) & (shortest >= 3) & ~first_swapped


def _share_key(cx: np.ndarray, cy: np.ndarray, key_lists: list[list[object]]) -> np.ndarray:
    """Per pair of codes: ``key_lists[cx]`` and ``key_lists[cy]`` have a key in common.

    Tested with integer codes, not per pair in Python: every (code, key) held is one
    int64, x's keys are exploded per pair, and y is asked whether it holds the same key.
    """
    out = np.zeros(len(cx), dtype=bool)
    flat = [k for ks in key_lists for k in ks]
    if not len(cx) or not flat:
        return out
    key_codes = pd.factorize(pd.Series(flat, dtype=object))[0].astype(np.int64)
    n_keys = int(key_codes.max()) + 1
    lengths = np.fromiter((len(ks) for ks in key_lists), dtype=np.int64, count=len(key_lists))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    owner = np.repeat(np.arange(len(key_lists), dtype=np.int64), lengths)
    held = _sorted_unique(owner * n_keys + key_codes)  # every (code, key) held
    reps = lengths[cx]
    pair_of_row = np.repeat(np.arange(len(cx), dtype=np.int64), reps)
    offsets = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    row_key = key_codes[np.repeat(starts[cx], reps) + offsets]
    hit = np.isin(cy[pair_of_row].astype(np.int64) * n_keys + row_key, held)
    out[pair_of_row[hit]] = True
    return out


def _share_nickname_key(x: np.ndarray, y: np.ndarray, vocab: _Vocab) -> np.ndarray:
    """Vectorized :func:`~matching.normalize.names.are_nicknames` over pairs of codes: each
    distinct name's nickname keys are looked up once (:func:`_share_key`). A name with no
    keys at all (junk) shares none, as ``are_nicknames`` says."""
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    used, local = np.unique(np.concatenate([x, y]), return_inverse=True)
    keys = vocab.lists("nickname_keys", lambda t: sorted(nickname_keys(t)))
    return _share_key(local[: len(x)], local[len(x) :], [keys[c] for c in used])


@_coded
def _first_levels(x: np.ndarray, y: np.ndarray, vocab: _Vocab) -> np.ndarray:
    out = np.full(len(x), 4, dtype=np.int8)  # different
    head, heads = vocab.derived("head", lambda t: t.split()[0])
    hx, hy = head[x], head[y]
    exact = (x == y) | (hx == hy)  # "mary ann" vs "mary": one name written in part
    # One name with a space typed in or left out: "mary ann" / "maryann", "laur a" / "laura".
    joined, _ = vocab.derived("joined", lambda t: t.replace(" ", ""))
    exact |= joined[x] == joined[y]
    length = heads.feature("len", len, np.int64)
    initial = heads.feature("initial", lambda t: t[:1])
    # An initial: one side is a single letter the other starts with.
    init = ((length[hx] == 1) | (length[hy] == 1)) & (initial[hx] == initial[hy])
    rest = ~exact & ~init
    nick = np.zeros(len(x), dtype=bool)
    nick[rest] = _share_nickname_key(hx[rest], hy[rest], heads)
    typo = np.zeros(len(x), dtype=bool)
    rest2 = rest & ~nick
    typo[rest2] = _edit_ok(hx[rest2], hy[rest2], heads)
    out[typo] = 2
    out[init] = 3
    out[nick] = 1
    out[exact] = 0
    return out


@_coded
def _last_levels(x: np.ndarray, y: np.ndarray, vocab: _Vocab) -> np.ndarray:
    out = np.full(len(x), 3, dtype=np.int8)
    # Equal but for spaces ("de la cruz" / "delacruz", "georg e" / "george"): one name.
    joined, joined_vocab = vocab.derived("joined", lambda t: t.replace(" ", ""))
    exact = (x == y) | (joined[x] == joined[y])
    rest = ~exact
    # A word in common (double-barrelled names written in part): only names of several
    # words can share one without being equal.
    spaced = vocab.feature("spaced", lambda t: " " in t, bool)
    several = np.nonzero(rest & (spaced[x] | spaced[y]))[0]
    partial = np.zeros(len(x), dtype=bool)
    v = vocab.values
    partial[several] = [bool(set(v[s].split()) & set(v[t].split())) for s, t in zip(x[several], y[several], strict=True)]
    typo = np.zeros(len(x), dtype=bool)
    rest2 = rest & ~partial
    typo[rest2] = _edit_ok(joined[x[rest2]], joined[y[rest2]], joined_vocab)
    out[partial] = 2
    out[typo] = 1
    out[exact] = 0
    return out


def _middle_levels(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(len(x), 2, dtype=np.int8)
    init = np.array([s[0] == t[0] and (len(s) == 1 or len(t) == 1) for s, t in zip(x, y, strict=True)], dtype=bool)
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


def _street_words(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per record, from its ``street_part`` (``"9 tunney"``): codes of the house number,
    of the street word and of the word's first 4 letters (-1 when there is no street
    part), the word's length; and the words (what the word codes index). Split once,
    column-wise, over the distinct street parts."""

    def build() -> tuple[np.ndarray, ...]:
        codes, values = _codes_of(prep, "street_part")
        if not len(values):
            none = np.full(prep.n, -1, dtype=np.int64)
            return none, none, none, np.zeros(prep.n, dtype=np.int64), np.empty(0, dtype=object)
        parts = pc.split_pattern(pa.array(values, type=pa.string(), from_pandas=True), " ", max_splits=1)
        word = pc.list_element(parts, 1)  # "<house> <word>": always two parts

        def per_record(arr: pa.Array) -> np.ndarray:
            value_codes = pc.dictionary_encode(arr).indices.to_numpy(zero_copy_only=False).astype(np.int64)
            return np.append(value_codes, -1)[codes]  # codes -1 (no street part) -> -1

        word_enc = pc.dictionary_encode(word)
        word_codes = np.append(word_enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), -1)[codes]
        length = np.append(pc.utf8_length(word).to_numpy(zero_copy_only=False), 0)[codes]
        words = word_enc.dictionary.to_numpy(zero_copy_only=False)
        number = per_record(pc.list_element(parts, 0))
        head = per_record(pc.utf8_slice_codeunits(word, 0, 4))
        return number, word_codes, head, length, words

    return _cached(prep, "street_words", ("street_part",), build)  # type: ignore[return-value]


def _address_typo(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Address keys (house number, street, ZIP) one edit apart, two for long ones: 1, else 2."""
    out = np.full(len(x), 2, dtype=np.int8)
    if len(x):
        dist = process.cpdist(list(x), list(y), scorer=OSA.distance, workers=1)
        shortest = np.minimum([len(t) for t in x], [len(t) for t in y])
        out[dist <= np.where(shortest >= 16, 2, 1)] = 1
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
    codes = pd.factorize(suffix, use_na_sentinel=True)[0] if not isinstance(suffix, np.ndarray) else suffix
    sa, sb = codes[a], codes[b]
    has_a, has_b = sa >= 0, sb >= 0
    out = np.full(len(a), MISSING, dtype=np.int8)
    both = has_a & has_b
    out[both & (sa == sb)] = 0
    out[both & (sa != sb)] = 2
    out[has_a ^ has_b] = 1
    return out


# --------------------------------------------------------------------------- shared values


def _value_codes(prep: Prepared, columns: tuple[str, ...]) -> np.ndarray:
    """(n, slots) codes of one field's values across slots; -1 where missing."""
    return _joint_codes(prep, columns)[0]


def _slot_columns(codes: np.ndarray, rows: np.ndarray) -> list[np.ndarray]:
    """Each slot's codes at ``rows``, as contiguous int32 arrays (codes fit: fewer values
    than records), so the slot-by-slot comparisons stream through memory."""
    narrow = codes.dtype if codes.size and int(codes.max()) >= 2**31 - 1 else np.int32
    return [np.ascontiguousarray(codes[:, i]).astype(narrow, copy=False)[rows] for i in range(codes.shape[1])]


def _shared(codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (pair index, shared value code) of a multi-slot field, and per pair: both have values."""
    ca, cb = _slot_columns(codes, a), _slot_columns(codes, b)
    pair_idx, value = [], []
    has_a = np.zeros(len(a), dtype=bool)
    has_b = np.zeros(len(a), dtype=bool)
    for x in ca:
        has_a |= x >= 0
    for y in cb:
        has_b |= y >= 0
    for x in ca:
        for y in cb:
            hit = np.flatnonzero(x == y)
            hit = hit[x[hit] >= 0]  # equal codes are rare: test presence on the hits only
            pair_idx.append(hit)
            value.append(x[hit].astype(np.int64))
    return np.concatenate(pair_idx), np.concatenate(value), has_a & has_b


# Per-value kinds.
PERSONAL, HOUSEHOLD, JUNK = 0, 1, 2
KIND_NAMES = {PERSONAL: "personal", HOUSEHOLD: "household", JUNK: "junk"}


def _each_has_own(codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: each record carries a value (of this multi-slot field) the other lacks."""
    ca, cb = _slot_columns(codes, a), _slot_columns(codes, b)

    def has_own(xs: list[np.ndarray], ys: list[np.ndarray]) -> np.ndarray:
        own = np.zeros(len(a), dtype=bool)
        for x in xs:
            elsewhere = np.zeros(len(a), dtype=bool)
            for y in ys:
                elsewhere |= x == y
            own |= (x >= 0) & ~elsewhere
        return own

    return has_own(ca, cb) & has_own(cb, ca)


def _plain_shared(uniques: np.ndarray, pair_idx: np.ndarray, value: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Per pair: it shares emails and none of them has a digit in its local part
    (``uniques``: the email of each value code)."""
    # A digit before the first "@"; one vectorized pass over the distinct emails.
    found = pc.match_substring_regex(pa.array(uniques, type=pa.string(), from_pandas=True), r"^[^@]*\d")
    digit = found.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    any_digit = np.zeros(len(shares), dtype=bool)
    if len(pair_idx):
        np.logical_or.at(any_digit, pair_idx, digit[value])
    return shares & ~any_digit


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
    uniq = _sorted_unique(flat[keep].astype(np.int64) * codes.shape[0] + rec[keep])
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


TYPO, INITIAL, DIFFERENT = 2, 3, 4  # first_name levels
LAST_DIFFERENT = 3  # last_name level


@dataclass
class _NameTable:
    """First and last names of every record as codes into one array of distinct names
    (the two fields share it, so a swapped pair compares crosswise on codes), with what
    the name rules read per distinct name, computed once per :class:`Prepared`."""

    first: np.ndarray  # code per record (int32 or int64, see _code_type), -1 missing
    last: np.ndarray
    values: np.ndarray  # object: the distinct names
    initial: np.ndarray  # int64 per value: its first character's code point
    first_counts: np.ndarray  # records carrying each value as first name
    head: np.ndarray  # per value: code of its first word in head_values (-1 for none)
    head_values: np.ndarray  # object: distinct first words
    head_counts: np.ndarray  # records whose first name starts with each first word
    vocab: _Vocab  # over values


def _name_table(prep: Prepared) -> _NameTable:
    def build() -> _NameTable:
        codes, values = _joint_codes(prep, ("first_name", "last_name"))
        first, last = codes[:, 0], codes[:, 1]
        initial = np.fromiter((ord(v[0]) if v else -1 for v in values), dtype=np.int64, count=len(values))
        first_counts = np.bincount(first[first >= 0], minlength=len(values))
        head_codes, head_values = pd.factorize(
            np.array([v.split(" ", 1)[0] for v in values], dtype=object), use_na_sentinel=True
        )
        head = head_codes.astype(np.int64)
        rec_head = head[first[first >= 0]]
        head_counts = np.bincount(rec_head, minlength=len(head_values))
        return _NameTable(
            first, last, values, initial, first_counts, head, np.asarray(head_values, dtype=object), head_counts, _Vocab(values)
        )

    return _cached(prep, "names", ("first_name", "last_name"), build)  # type: ignore[return-value]


def two_common_names(prep: Prepared, a: np.ndarray, b: np.ndarray, *, share: float = 0.0002, floor: int = 3) -> np.ndarray:
    """True where both first names are common in this file (each carried by at least
    ``max(floor, share * n)`` records).

    A one-letter difference between two common names (Cory/Cody, Lily/Lila, Julian/Julia)
    is two people, often twins; a typo makes a rare spelling (Jonny/Johnn).
    """
    t = _name_table(prep)
    common = np.zeros(len(t.values) + 1, dtype=bool)
    common[:-1] = t.first_counts >= max(floor, share * prep.n)
    return common[t.first[a]] & common[t.first[b]]  # code -1 indexes the trailing False


#: Levels a crosswise comparison must reach to count as swapped names (first: exact,
#: nickname, typo or initial; last: exact or typo).
_CROSS_FIRST_OK, _CROSS_LAST_OK = 3, 1


def _swapped_names(t: _NameTable, a: np.ndarray, b: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Where first and last name are swapped between the records, compare them crosswise.

    Exports swap the two fields (``Brown, Christopher``) and then add their usual noise,
    so a swap is recognized when the crosswise comparison agrees at least at typo level
    on both names and does better than the straight one. ``first`` and ``last`` are
    updated in place with the crosswise levels; returns the swapped mask.
    """
    candidates = ((first == DIFFERENT) | (last == LAST_DIFFERENT)) & (first != 0)
    idx = np.nonzero(candidates)[0]
    swapped = np.zeros(len(a), dtype=bool)
    if not len(idx):
        return swapped
    fa, la, fb, lb = t.first[a[idx]], t.last[a[idx]], t.first[b[idx]], t.last[b[idx]]
    init = np.append(t.initial, -2)  # code -1 reads -2: no initial
    # Either reading needs two last names at typo level or better, which keep their first
    # letter: a cheap filter that leaves out nearly all pairs of strangers.
    keep = ((init[la] == init[fb]) & (la >= 0)) | ((init[fa] == init[lb]) & (fa >= 0))
    idx, fa, la, fb, lb = idx[keep], fa[keep], la[keep], fb[keep], lb[keep]
    if not len(idx):
        return swapped
    # Crosswise, (a's first, b's last) are both first names if b was swapped, both last
    # names if a was: try both readings and keep the better, so the result is symmetric.
    x_first = _pairwise_coded(fa, lb, t.vocab, _first_levels)
    y_last = _pairwise_coded(la, fb, t.vocab, _last_levels)
    y_first = _pairwise_coded(la, fb, t.vocab, _first_levels)
    x_last = _pairwise_coded(fa, lb, t.vocab, _last_levels)

    def passing(fst: np.ndarray, lst: np.ndarray) -> np.ndarray:
        return (fst >= 0) & (fst <= _CROSS_FIRST_OK) & (lst >= 0) & (lst <= _CROSS_LAST_OK)

    worst = np.int16(99)
    rank1 = np.where(passing(x_first, y_last), x_first.astype(np.int16) * 8 + y_last, worst)
    rank2 = np.where(passing(y_first, x_last), y_first.astype(np.int16) * 8 + x_last, worst)
    second = rank2 < rank1
    cross_first = np.where(second, y_first, x_first)
    cross_last = np.where(second, x_last, y_last)
    ok = passing(cross_first, cross_last)
    # Better than the straight comparison: the straight way has a "different" in it.
    hit = idx[ok]
    swapped[hit] = True
    first[hit] = cross_first[ok]
    last[hit] = cross_last[ok]
    # One record has a first name only and it is the other's last name ("Wright" / "Robrt
    # Wright"): the surname was typed in the wrong field, the first name is unknown.
    lone = ~ok & (first[idx] == DIFFERENT)
    only_first_b = (lb < 0) & (fb >= 0) & (la >= 0)
    only_first_a = (la < 0) & (fa >= 0) & (lb >= 0)
    moved = lone & ((only_first_b & (fb == la)) | (only_first_a & (fa == lb)))
    first[idx[moved]] = MISSING
    last[idx[moved]] = 0
    return swapped


def _deletes(words: list[str]) -> pd.DataFrame:
    """Each word with every form of it missing one letter (and itself): the keys on which
    two words one substitution, insertion, deletion or transposition apart meet."""
    rows_word, rows_key = [], []
    for w in words:
        rows_word.append(w)
        rows_key.append(w)
        for i in range(len(w)):
            rows_word.append(w)
            rows_key.append(w[:i] + w[i + 1 :])
    return pd.DataFrame({"word": rows_word, "key": rows_key})


def _spelling_repairs(rare: list[str], known: list[str]) -> dict[str, frozenset[str]]:
    """For each rare word, the known words one edit away (two for 8+ letters is not tried:
    a rare long word two edits from a known one is left alone)."""
    if not rare or not known:
        return {}
    joined = _deletes(rare).merge(_deletes(known), on="key", suffixes=("_rare", "_known"))
    joined = joined[joined["word_rare"] != joined["word_known"]].drop_duplicates(["word_rare", "word_known"])
    if joined.empty:
        return {}
    x = joined["word_rare"].to_numpy(dtype=object)
    y = joined["word_known"].to_numpy(dtype=object)
    ok = process.cpdist(list(x), list(y), scorer=OSA.distance, workers=1) <= 1
    out: dict[str, set[str]] = {}
    for r, k in zip(x[ok], y[ok], strict=True):
        out.setdefault(r, set()).add(k)
    return {r: frozenset(v) for r, v in out.items()}


#: A first name is "rare" (a candidate misspelling) when at most this many records carry
#: it, or this share of the file, whichever is more; "known" names are those of the
#: nickname table plus those carried by at least ``_KNOWN_SHARE`` of the file (3 minimum).
_RARE_RECORDS, _RARE_SHARE, _KNOWN_SHARE = 2, 0.00001, 0.00002
#: ...or when the name it would be repaired to is carried by this many times more records.
_RARE_RATIO = 20


@functools.cache
def real_first_names() -> frozenset[str]:
    """First names known to be real: the 1990 US census lists (``names`` package), the
    nickname table and ``matching/data/first_names_recent.csv``. A name in this set is
    never treated as a misspelling of another (Ava is not a typo of Eva)."""
    from importlib import resources

    from matching.normalize.names import _table, read_table

    out: set[str] = set(_table().keys)
    for file_name in ("dist.male.first", "dist.female.first"):
        text = resources.files("names").joinpath(file_name).read_text(encoding="utf-8")
        out.update(line.split()[0].lower() for line in text.splitlines() if line.strip())
    out.update(row[0].strip().lower() for row in read_table("first_names_recent.csv"))
    return frozenset(out)


def _spelling_repairs_of(prep: Prepared) -> dict[str, frozenset[str]]:
    """Each rare first-name spelling of the file and the one known name it repairs to
    (computed once per :class:`Prepared`, for every spelling in the file).

    A spelling is a candidate when it is not a real name (:func:`real_first_names`); a
    repair is kept when the spelling is rare: a handful of records, or far fewer than the
    name it repairs to (JJames is typed now and then; a real name missing from the lists
    is not). When several known names are one edit away (Emmw: Emma or Emmy?), the one
    this file uses most wins, or none on a tie.
    """

    def build() -> dict[str, frozenset[str]]:
        t = _name_table(prep)
        u, counts = t.head_values, t.head_counts
        real = real_first_names()
        rare_max = max(_RARE_RECORDS, _RARE_SHARE * prep.n)
        known_min = max(3, _KNOWN_SHARE * prep.n)
        unlisted = [w for w in u.tolist() if w not in real and len(w) >= 3]
        known = sorted(real | {u[c] for c in np.nonzero(counts >= known_min)[0]})
        count_of = dict(zip(u.tolist(), counts.tolist(), strict=True))
        repairs = {
            word: kept
            for word, forms in _spelling_repairs(unlisted, known).items()
            if (kept := frozenset(f for f in forms if count_of[word] <= max(rare_max, count_of.get(f, 0) / _RARE_RATIO)))
        }
        for word, forms in list(repairs.items()):
            if len(forms) > 1:
                ranked = sorted(forms, key=lambda f: -count_of.get(f, 0))
                top, runner_up = count_of.get(ranked[0], 0), count_of.get(ranked[1], 0)
                if top > runner_up:
                    repairs[word] = frozenset({ranked[0]})
                else:
                    del repairs[word]
        return repairs

    return _cached(prep, "repairs", ("first_name", "last_name"), build)  # type: ignore[return-value]


def _misspelled_first_names(
    prep: Prepared, a: np.ndarray, b: np.ndarray, first: np.ndarray, swapped: np.ndarray
) -> None:
    """Upgrade "different" first names to typo/initial level where one side is a rare
    spelling one edit from a known name that agrees with the other side.

    Catches what the pairwise rules miss because the noise is compound: a replaced first
    letter (Eavid/David), a typo in a nickname (Jimmis/James via Jimmy, Ejffrey/Jeff via
    Jeffrey), an initial of the formal name behind a nickname (M./Lisa via Melissa). Only
    a *rare* spelling (a handful of records in the file, and not a real name per
    :func:`real_first_names`) is repaired: two real names one letter apart (Ava/Eva,
    twins) are never touched.
    """
    from matching.normalize.names import nickname_keys

    todo = np.nonzero((first == DIFFERENT) & ~swapped)[0]
    if not len(todo):
        return
    t = _name_table(prep)
    head = np.append(t.head, -1)  # first name code -1 reads -1
    u = t.head_values
    codes_a, codes_b = head[t.first[a[todo]]], head[t.first[b[todo]]]
    ok = (codes_a >= 0) & (codes_b >= 0)
    todo, ca, cb = todo[ok], codes_a[ok], codes_b[ok]
    k = len(u)
    key, inverse = _unique_inverse(np.minimum(ca, cb) * k + np.maximum(ca, cb))
    xs, ys = key // k, key % k
    repairs = _spelling_repairs_of(prep)
    level = np.full(len(key), DIFFERENT, dtype=np.int8)
    lengths = np.fromiter((len(w) for w in u), dtype=np.int64, count=len(u))
    # An initial of the formal name behind a nickname (M. for Lisa, from Melissa): the
    # initial against the first letters of the full name's nickname keys.
    one_x, one_y = lengths[xs] == 1, lengths[ys] == 1
    pick = np.nonzero(one_x ^ one_y)[0]
    if len(pick):
        ini = np.where(one_x[pick], xs[pick], ys[pick])
        full = np.where(one_x[pick], ys[pick], xs[pick])
        local, codes_used = pd.factorize(np.concatenate([ini, full]))
        lists = [
            [u[c]] if lengths[c] == 1 else sorted({k[:1] for k in nickname_keys(u[c]) if k}) for c in codes_used
        ]
        level[pick[_share_key(local[: len(pick)], local[len(pick) :], lists)]] = INITIAL
    # A rare spelling repaired to a known name (JJames -> James): the two agree when their
    # spellings (repaired or not) meet, or two of them are nicknames of each other.
    fixable = np.zeros(len(u), dtype=bool)
    fixable[[i for i, w in enumerate(u) if w in repairs]] = True
    pick = np.nonzero(~one_x & ~one_y & (fixable[xs] | fixable[ys]))[0]
    if len(pick):
        local, codes_used = pd.factorize(np.concatenate([xs[pick], ys[pick]]))
        lists = []
        for c in codes_used:
            forms = repairs.get(u[c], frozenset()) | {u[c]}
            lists.append([("form", f) for f in forms] + [("nick", k) for f in forms for k in nickname_keys(f)])
        level[pick[_share_key(local[: len(pick)], local[len(pick) :], lists)]] = TYPO
    first[todo] = level[inverse]


def name_levels(prep: Prepared, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First- and last-name levels of pairs, and where the two were swapped.

    One definition for scoring and for the cluster guard: straight comparison, then
    swapped fields (with their own noise), then two common names one letter apart
    counted as different people (twins), then rare misspellings repaired.
    """
    t = _name_table(prep)
    first = _pairwise_coded(t.first[a], t.first[b], t.vocab, _first_levels)
    last = _pairwise_coded(t.last[a], t.last[b], t.vocab, _last_levels)
    swapped = _swapped_names(t, a, b, first, last)
    first[two_common_names(prep, a, b) & (first == TYPO)] = DIFFERENT
    _misspelled_first_names(prep, a, b, first, swapped)
    return first, last, swapped


def business_view(prep: Prepared) -> tuple[pd.Series, np.ndarray]:
    """Each record's company as matched (normalized) and whether it is a business account.

    A business account has a company and no first name. Old DMS habit: the business name
    sits in ``last_name`` with ``company`` empty ("Sullivan Moving, L.L.C."). Such a
    record (no first name, no company) is a business when its last name carries a legal
    form, or when, two words or more, it is a company name found elsewhere in the file;
    its company is then read from the last name. Computed once per ``Prepared``.
    """
    cached = prep.__dict__.get("_business_view")
    if cached is not None:
        return cached
    from matching.normalize.names import company_series

    norm = prep.norm
    comp = norm["company"].astype(object)
    first_missing = norm["first_name"].isna().to_numpy()
    last = norm["last_name"].astype(object)
    maybe = first_missing & comp.isna().to_numpy() & last.notna().to_numpy()
    if maybe.any():
        raw_last = prep.records["last_name"] if "last_name" in prep.records.columns else last
        as_company = company_series(raw_last[maybe]).to_numpy(dtype=object)
        last_m = last.to_numpy(dtype=object)[maybe]
        known = set(comp.dropna().tolist())
        legal_form = np.array(
            [c is not None and c != n and n.startswith(c) for c, n in zip(as_company, last_m, strict=True)], dtype=bool
        )
        in_file = np.array([c is not None and " " in c and c in known for c in as_company], dtype=bool)
        hit = legal_form | in_file
        comp = comp.copy()
        idx = np.nonzero(maybe)[0][hit]
        comp.iloc[idx] = as_company[hit]
    business = (comp.notna().to_numpy() & first_missing)
    prep.__dict__["_business_view"] = (comp, business)
    return comp, business


def _codes_of(prep: Prepared, col: str) -> tuple[np.ndarray, np.ndarray]:
    """Cached :func:`_column_codes` (the cluster guard and training ask again)."""
    return _cached(prep, "codes:" + col, (col,), lambda: _column_codes(prep, col))  # type: ignore[return-value]


def _company_codes(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Codes of each record's company as matched (see :func:`business_view`)."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(business_view(prep)[0], use_na_sentinel=True)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)

    return _cached(prep, "company", ("first_name", "last_name", "company"), build)  # type: ignore[return-value]


def _coded_levels(
    prep: Prepared, col: str, a: np.ndarray, b: np.ndarray, func: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    codes, uniques = _codes_of(prep, col)
    return _pairwise_coded(codes[a], codes[b], uniques, func)


def generation_marked(prep: Prepared) -> np.ndarray:
    """Per record: another record of the same first and last name in the same ZIP code
    carries a generation suffix (Jr, Sr, II...). There a record without a suffix may be
    the father or the son: most records of both leave it out.
    """

    def build() -> np.ndarray:
        t = _name_table(prep)
        suffix = _codes_of(prep, "suffix")[0] >= 0
        out = np.zeros(prep.n, dtype=bool)
        named = (t.first >= 0) & (t.last >= 0)
        name_key = t.first.astype(np.int64) * (len(t.values) + 1) + t.last
        for place in (_codes_of(prep, "zip5")[0],):
            rows = np.nonzero(named & (place >= 0))[0]
            if not len(rows):
                continue
            _, group = _unique_inverse(name_key[rows] * (int(place.max()) + 1) + place[rows])
            with_suffix = np.bincount(group, weights=suffix[rows].astype(float)) > 0
            out[rows] |= with_suffix[group]
        return out

    return _cached(prep, "generation_marked", ("first_name", "last_name", "zip5", "suffix"), build)  # type: ignore[return-value]


def suffix_nearby(prep: Prepared) -> np.ndarray:
    """Per record: a man who writes a generation suffix (Jr, Sr, II...) and could be this
    record's father or son lives nearby, so this record, written without one, may be
    either of the two. Nearby is wider than :func:`generation_marked` (same first and
    last name in the same ZIP code); it also counts

    - the same last name and first initial in the same ZIP code: the suffixed man's first
      name written another way (Jack Robinson Jr / John Robinson, Chas / Charles, typos);
    - the same first and last name sharing a phone, an email, a VIN or an address with a
      suffixed record, and the same name in that record's ZIP code: a family that moved
      leaves its suffix in one ZIP code and its records in another.

    Each test is one hash look-up of every record's key (name and ZIP code, name and
    value) among the suffixed records' keys: no grouping of the whole file.
    """
    t = _name_table(prep)
    suffix = _codes_of(prep, "suffix")[0] >= 0
    zips = _codes_of(prep, "zip5")[0]
    out = np.zeros(prep.n, dtype=bool)
    named = np.flatnonzero((t.first >= 0) & (t.last >= 0))
    if not suffix[named].any():
        return out
    first, last = t.first[named].astype(np.int64), t.last[named].astype(np.int64)
    full = first * (len(t.values) + 1) + last
    short = last * 0x110000 + t.initial[first]  # last name and first initial (a code point)
    seeded = suffix[named]
    place = zips[named].astype(np.int64)
    zip_width = int(place.max()) + 2

    def among(keys: np.ndarray, of: np.ndarray) -> np.ndarray:
        """Where ``keys`` (-1: none) is one of the keys of the rows ``of`` (a hash look-up)."""
        targets = keys[of & (keys >= 0)]
        if not len(targets):
            return np.zeros(len(keys), dtype=bool)
        return (keys >= 0) & pd.Series(keys).isin(targets).to_numpy()

    def in_zip(name: np.ndarray) -> np.ndarray:
        """``name`` (codes) and the ZIP code as one key; -1 without a ZIP code."""
        return np.where(place >= 0, name * zip_width + place, -1)

    # The same name, or last name and first initial, in a suffixed record's ZIP code.
    near = among(in_zip(full), seeded) | among(in_zip(short), seeded)
    # The same name sharing a value with a suffixed record (only names a suffixed record
    # carries, numbered densely so that a name and a value code fit in an int64)...
    sub = np.flatnonzero(pd.Series(full).isin(full[seeded]).to_numpy())
    name = _unique_inverse(full[sub])[1]
    linked = seeded[sub].copy()
    for cols in (PHONE_COLUMNS, EMAIL_COLUMNS, VIN_COLUMNS, ("address_key",)):
        codes = _value_codes(prep, cols)[named[sub]].astype(np.int64)
        width = int(codes.max()) + 2 if codes.size else 1
        for k in range(codes.shape[1]):
            linked |= among(np.where(codes[:, k] >= 0, name * width + codes[:, k], -1), seeded[sub])
    # ...and the same name in the ZIP code of such a record.
    linked_rows = np.zeros(len(named), dtype=bool)
    linked_rows[sub] = linked
    near |= linked_rows | among(in_zip(full), linked_rows)
    out[named] = near
    return out


def record_levels(prep: Prepared, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Levels of the comparisons that need no value profile: names, address, company.

    Also returns ``_swapped`` (first and last name swapped between the records).
    """
    first, last, swapped = name_levels(prep, a, b)
    zips = _codes_of(prep, "zip5")[0]
    key = _codes_of(prep, "address_key")[0]
    za, zb = zips[a], zips[b]
    addr = np.full(len(a), MISSING, dtype=np.int8)
    has_zip = (za >= 0) & (zb >= 0)
    addr[has_zip] = 3
    addr[has_zip & (za == zb)] = 2
    # Same address: "personal" until compare() profiles who lives there.
    ka, kb = key[a], key[b]
    addr[(ka >= 0) & (ka == kb)] = 0
    # The same house written twice, as far as the guards are concerned: in one ZIP,
    # addresses one typo apart (12 Crst St / 12 Crest St, 26 / 62 Lance Hill) or with a
    # street type glued on (2 Mckinleycircuit / 2 Mckinley Circuit); or the same street
    # address with ZIP codes one keystroke apart (6085 / 6058).
    close = np.zeros(len(a), dtype=bool)
    key_values = _codes_of(prep, "address_key")[1]
    near = np.nonzero(has_zip & (za == zb) & (ka >= 0) & (kb >= 0) & (ka != kb))[0]
    if len(near):
        close[near] = _pairwise_coded(ka[near], kb[near], key_values, _address_typo) == 1
    number, word, head, length, words = _street_words(prep)
    # Glued: the same number, one street word starting with the other (4 letters or more);
    # only pairs whose words share their first 4 letters get a string check.
    rest = near[~close[near]]
    ra, rb = a[rest], b[rest]
    maybe = rest[
        (number[ra] == number[rb]) & (word[ra] != word[rb]) & (head[ra] == head[rb])
        & (np.minimum(length[ra], length[rb]) >= 4)
    ]
    if len(maybe):
        wa, wb = words[word[a[maybe]]].tolist(), words[word[b[maybe]]].tolist()
        close[maybe] = [s.startswith(t) or t.startswith(s) for s, t in zip(wa, wb, strict=True)]
    # Other ZIP codes: only pairs on a street of the same name are looked at (few).
    sa, sb = word[a], word[b]
    slip = np.nonzero(has_zip & (za != zb) & (sa >= 0) & (sa == sb) & (ka >= 0) & (kb >= 0))[0]
    if len(slip):
        zip_ok = _pairwise_coded(za[slip], zb[slip], _codes_of(prep, "zip5")[1], _code_levels) == 1
        slip = slip[zip_ok]
        # The whole key within the typo allowance: a ZIP slip and the house number at most.
        close[slip] = _pairwise_coded(ka[slip], kb[slip], key_values, _address_typo) == 1
    company, company_values = _company_codes(prep)
    return {
        "first_name": first,
        "last_name": last,
        "suffix": _suffix_levels(_codes_of(prep, "suffix")[0], a, b),
        "middle_name": _coded_levels(prep, "middle_name", a, b, _middle_levels),
        "address": addr,
        "company": _pairwise_coded(company[a], company[b], company_values, _company_levels),
        "date_of_birth": _coded_levels(prep, "dob", a, b, _code_levels),
        "id_number": _coded_levels(prep, "id_number", a, b, _code_levels),
        "_swapped": swapped,
        "_address_close": close,
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
    address_close = levels.pop("_address_close")

    # Two records are different people when their first names or generations differ.
    incompatible = (first == COMPARISON_BY_NAME["first_name"].index("different")) | (levels["suffix"] == 2)
    generation_conflict = levels["suffix"] == 2
    # A suffix on one record only (Jr / nothing) while each record carries a phone the
    # other lacks: most likely father and son, whose shared values (the family landline,
    # the house) then count as household values, not personal ones.
    marked = generation_marked(prep)
    namesakes = (levels["suffix"] == MISSING) & marked[a] & marked[b]
    # Wider, for the scorer's namesake_nearby guard: either record has a namesake nearby
    # who writes a suffix (his ZIP code, his first initial, a value the two share).
    nearby = suffix_nearby(prep)
    generation_nearby = (levels["suffix"] == MISSING) & (nearby[a] | nearby[b])
    own_phones = _each_has_own(_value_codes(prep, PHONE_COLUMNS), a, b)
    incompatible |= ((levels["suffix"] == 1) | namesakes) & own_phones

    profile_rows = []
    value_stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    value_uniques: dict[str, np.ndarray] = {}
    shares_only_generation_ambiguous = np.ones(n_pairs, dtype=bool)
    shares_any = np.zeros(n_pairs, dtype=bool)
    for name, cols, junk_cols in (
        ("phone", PHONE_COLUMNS, tuple(f"{c}_junk" for c in PHONE_COLUMNS)),
        ("email", EMAIL_COLUMNS, tuple(f"{c}_junk" for c in EMAIL_COLUMNS)),
        ("vin", VIN_COLUMNS, None),
        ("customer_key", ("customer_key",), None),
        ("address", ("address_key",), None),
    ):
        codes, uniques = _joint_codes(prep, cols)
        value_uniques[name] = uniques
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
        if name == "email":
            plain_email = _plain_shared(uniques, pair_idx, value, shares)
        levels[name] = level.astype(np.int8)
        value_stats[name] = (kinds, records)
        # Generation ambiguity: the pair's shared values of this field are all carried by two generations.
        any_gen = np.zeros(n_pairs, dtype=bool)
        not_gen = np.zeros(n_pairs, dtype=bool)
        np.logical_or.at(any_gen, pair_idx, gen[value])
        np.logical_or.at(not_gen, pair_idx, ~gen[value])
        shares_any |= shares
        shares_only_generation_ambiguous &= ~not_gen
        shared_values = np.nonzero(records >= 2)[0]
        if len(shared_values):
            profile_rows.append(pd.DataFrame({
                "field": name,
                "value_code": shared_values,
                "records": records[shared_values],
                "kind": pd.Categorical.from_codes(kinds[shared_values], categories=["personal", "household", "junk"]),
            }))

    gen_ambiguous = shares_any & shares_only_generation_ambiguous & (levels["suffix"] == 1)
    # A shared phone while each record also carries one the other lacks (a family landline
    # beside two cells): the scorer's shared_line_only guard.
    phones_split = np.isin(levels["phone"], [0, 1]) & own_phones
    profiles = pd.concat(profile_rows, ignore_index=True) if profile_rows else pd.DataFrame(
        columns=["field", "value_code", "records", "kind"]
    )
    levels = {c.name: levels[c.name] for c in COMPARISONS}
    return ComparedPairs(
        a=a, b=b, levels=levels, swapped=swapped, generation_ambiguous=gen_ambiguous, plain_email=plain_email,
        profiles=profiles, value_stats=value_stats, value_uniques=value_uniques, namesake_generations=namesakes,
        address_close=address_close, phones_split=phones_split, generation_nearby=generation_nearby,
    )
