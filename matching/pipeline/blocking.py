"""Candidate pairs (blocking): a union of rules, each "records that share a key".

Each rule names one or more key columns of :class:`~matching.pipeline.prepare.Prepared`
``norm``: several columns are *slots* of one value (phone_1, phone_2: a phone in either
slot), a tuple of columns is a *composite* key (last-name sound + ZIP). Every pair of
records sharing a key becomes a candidate, computed with numpy from sorted keys, never a
Python loop over pairs.

A key shared by more than ``max_group`` records (a placeholder email, the dealer's own
phone number, a fleet's VIN list, "John Smith" in one ZIP) would explode the pair count
and says little; such keys are skipped and reported in :attr:`Candidates.too_common`.
The pair count of each rule is computed before any pair is built.

Columns are read as integer codes: those :func:`~matching.pipeline.prepare.prepare` kept
while normalizing (:meth:`~matching.pipeline.prepare.Prepared.codes`), else
``pd.factorize``, once per column for all rules. A group is a run of one sorted int64 per
member (``code << bits | position``), a pair one int64 (``a << bits | b``), and the union
of all rules one sort of those (``np.unique`` is avoided: numpy 2.4 hashes plain int64
arrays, about 50 times slower than sorting them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matching.pipeline.prepare import Prepared


@dataclass(frozen=True)
class BlockingRule:
    """Records sharing a value of ``slots`` (any slot) or of the composite ``columns``."""

    name: str
    slots: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    max_group: int = 50

    def keys(self, prep: Prepared) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], list[str]]]:
        """(record positions, key codes, codes -> readable values) for this rule.

        One row per (record, key), sorted by code then position; codes number the keys
        in the order they first appear (slot by slot, then by position). Composite keys
        are combined as integer codes (never as concatenated strings): the readable value
        is built only for the codes asked for.
        """
        g = _groups(self, prep, _ColumnCodes(prep))
        gid = np.repeat(np.arange(len(g.size), dtype=np.int64), g.size)
        # Renumber the groups by first appearance.
        order = np.argsort(g.first(np.arange(len(g.size))), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        key = np.sort(rank[gid] * prep.n + g.pos)
        return key % prep.n, key // prep.n, lambda wanted: g.label(order[wanted])


#: The rules :func:`candidates` runs by default. The keys made of names alone (surname
#: sound + ZIP, name + city, both names' sounds anywhere in the file) stop at smaller
#: groups than the default 50: a larger group is a common name, whose members share
#: nothing else, and its pairs grow with the square of its size, while a rare name, in a
#: small group, is worth comparing across the whole file. Measured on generated dealer
#: data at 1M records, groups above these caps made 2.9M of 4.8M candidate pairs; without
#: them 8 of the 770,544 matches went (4 true, 4 false; EM's weights moved a little too),
#: pairwise F1 was 0.98103 (0.98101 with them), and at 10k, 100k and on FEBRL3/4 it was
#: the same to four decimals.
DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("phone", slots=("phone_1", "phone_2")),
    BlockingRule("email", slots=("email_1", "email_2")),
    BlockingRule("vin", slots=("vin_1", "vin_2", "vin_3")),
    BlockingRule("vin_last8", slots=("vin8_1", "vin8_2", "vin8_3")),
    BlockingRule("customer_key", columns=("customer_key",)),
    BlockingRule("address", columns=("address_key",)),
    BlockingRule("name_zip", columns=("first_canon", "last_phon", "zip5")),
    BlockingRule("surname_zip", columns=("last_phon", "zip5"), max_group=8),
    BlockingRule("name_city", columns=("first_canon", "last_name", "city", "state"), max_group=16),
    BlockingRule("swapped_zip", columns=("last_phon", "first_phon", "zip5")),
    BlockingRule("id_number", columns=("id_number",)),
    BlockingRule("dob_surname", columns=("dob", "last_phon")),
    BlockingRule("dob_first", columns=("dob", "first_canon")),
    BlockingRule("dob_zip", columns=("dob", "zip5")),
    BlockingRule("dob_any_name", slots=("dob_first_phon", "dob_last_phon")),
    BlockingRule("phonetic_names", columns=("first_phon", "last_phon"), max_group=4),
    # The same house number and street with the same first name, whatever the ZIP code
    # and however the last name was typed (a ZIP code typed wrong moves a record out of
    # every ZIP-keyed block).
    BlockingRule("street_first", columns=("street_part", "first_canon"), max_group=30),
)


@dataclass
class Candidates:
    """Candidate pairs ``a < b`` (positions in the prepared order) and which rules found them."""

    a: np.ndarray
    b: np.ndarray
    rules: np.ndarray  # bitmask over rule_names
    rule_names: tuple[str, ...]
    estimated_pairs: dict[str, int] = field(default_factory=dict)
    too_common: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __len__(self) -> int:
        return len(self.a)


class _ColumnCodes:
    """Integer codes of ``norm`` columns, each found once per call (rules share columns):
    those :func:`~matching.pipeline.prepare.prepare` kept (:meth:`Prepared.codes`), else
    ``pd.factorize``."""

    def __init__(self, prep: Prepared, rules: tuple[BlockingRule, ...] = ()) -> None:
        self.prep = prep
        # Rules run on two threads (see :func:`candidates`): one builds a column's codes
        # while the other waits for them, never both.
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # How many of ``rules`` still read each column: its codes are dropped after the last.
        self._uses: dict[str, int] = {}
        for rule in rules:
            for col in rule.slots + rule.columns:
                self._uses[col] = self._uses.get(col, 0) + 1

    def done(self, rule: BlockingRule) -> None:
        """``rule`` has read its columns."""
        with self._lock:
            for col in rule.slots + rule.columns:
                if col in self._uses:
                    self._uses[col] -= 1
                    if self._uses[col] <= 0:
                        self._cache.pop(col, None)

    def __call__(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """(int64 codes, -1 where missing; the distinct values they index)."""
        with self._lock:
            if col not in self._cache:
                kept = self.prep.codes(col)
                if kept is None:
                    codes, uniques = pd.factorize(self.prep.norm[col], use_na_sentinel=True)
                    kept = (codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object))
                self._cache[col] = kept
            return self._cache[col]

    def slots(self, cols: tuple[str, ...]) -> tuple[list[np.ndarray], np.ndarray]:
        """Codes of several columns into one set of distinct values."""
        parts = [self(c) for c in cols]
        uniques = parts[0][1]
        if all(u is uniques for _, u in parts):
            return [c for c, _ in parts], uniques
        joint, values = pd.factorize(np.concatenate([u for _, u in parts]), use_na_sentinel=True)
        out, start = [], 0
        for codes, u in parts:
            remap = np.append(joint[start : start + len(u)], -1).astype(np.int64)
            out.append(remap[codes])
            start += len(u)
        return out, np.asarray(values, dtype=object)


@dataclass
class _Groups:
    """One rule's keys as groups: ``pos`` holds the members of group 0, then of group 1...
    (ascending within a group), group ``g`` spanning ``start[g]`` for ``size[g]``.

    ``first(groups)`` orders groups by first appearance (for slots: slot by slot, then by
    position; for composite keys: the group's smallest position); ``label(groups)`` gives
    their readable values.
    """

    pos: np.ndarray
    start: np.ndarray
    size: np.ndarray
    first: Callable[[np.ndarray], np.ndarray]
    label: Callable[[np.ndarray], list[str]]


_LIMIT = 1 << 62
#: Files at least this long find candidates two rules at a time (see :func:`candidates`).
_THREAD_MIN_RECORDS = 50_000


def _dense(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """``codes`` renumbered 0..k-1 keeping their order, and k."""
    order = np.argsort(codes)
    s = codes[order]
    new = np.empty(len(s), dtype=bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out, int(new.sum())


def _runs(sorted_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, size) of each run of equal values in a sorted array."""
    m = len(sorted_codes)
    new = np.empty(m, dtype=bool)
    new[:1] = True
    np.not_equal(sorted_codes[1:], sorted_codes[:-1], out=new[1:])
    start = np.flatnonzero(new)
    size = np.diff(np.append(start, m))
    return start, size


def _bits(n: int) -> int:
    """Bits that hold a position 0..n-1: keys pack ``code << bits | position``."""
    return max(1, (n - 1).bit_length())


def _groups(rule: BlockingRule, prep: Prepared, column_codes: _ColumnCodes) -> _Groups:
    n = prep.n
    norm = prep.norm
    bits = _bits(n)
    low = (1 << bits) - 1
    if rule.slots:
        slot_codes, uniq = column_codes.slots(rule.slots)
        # Sorted (code, position) keys; a record holding one value in two slots is one
        # member of that group.
        keys = []
        for c in slot_codes:
            rows = np.flatnonzero(c >= 0)
            keys.append((c[rows] << bits) | rows)
        key = np.concatenate(keys) if len(keys) > 1 else keys[0]
        del keys
        key.sort()
        if len(key):
            dup = np.zeros(len(key), dtype=bool)
            np.equal(key[1:], key[:-1], out=dup[1:])
            if dup.any():
                key = key[~dup]
        code = key >> bits
        start, size = _runs(code)
        group_code = code[start]

        def first(groups: np.ndarray) -> np.ndarray:
            # Where each group's value first appears in the slots read one after the other.
            wanted = np.zeros(len(uniq) + 1, dtype=bool)
            wanted[group_code[groups]] = True
            index = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
            for k, c in enumerate(slot_codes):
                rows = np.flatnonzero(wanted[c])
                np.minimum.at(index, c[rows], rows + k * n)
            return index[group_code[groups]]

        def label(groups: np.ndarray) -> list[str]:
            return [str(v) for v in uniq[group_code[groups]]]

        return _Groups(pos=key & low, start=start, size=size, first=first, label=label)
    parts = [column_codes(c) for c in rule.columns]
    valid = np.ones(n, dtype=bool)
    for part, _ in parts:
        valid &= part >= 0
    rows = np.flatnonzero(valid)
    codes = np.zeros(len(rows), dtype=np.int64)
    card = 1
    for part, uniques in parts:
        k = max(len(uniques), 1)
        if card * k >= _LIMIT:
            codes, card = _dense(codes)
        codes = codes * k + part[rows]
        card *= k
    if card >= 1 << (62 - bits):
        codes, card = _dense(codes)
    key = (codes << bits) | rows
    key.sort()
    start, size = _runs(key >> bits)
    pos = key & low
    del key
    columns = rule.columns

    def first_pos(groups: np.ndarray) -> np.ndarray:
        return pos[start[groups]]

    def label_rows(groups: np.ndarray) -> list[str]:
        values = [norm[c].to_numpy(dtype=object) for c in columns]
        return [" ".join(str(v[r]) for v in values) for r in pos[start[groups]]]

    return _Groups(pos=pos, start=start, size=size, first=first_pos, label=label_rows)


def _pair_index(g_start: np.ndarray, g_size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), i < j, of every two elements inside each group (``start``,
    ``size``): group by group, then by i, then by j."""
    # Element at offset i of a group of size k pairs with the k-1-i elements after it.
    grp = np.repeat(np.arange(len(g_start)), g_size)
    offs = np.arange(int(g_size.sum())) - np.repeat(np.cumsum(g_size) - g_size, g_size)
    elem = g_start[grp] + offs
    reps = g_size[grp] - 1 - offs
    a_idx = np.repeat(elem, reps)
    first = np.repeat(np.cumsum(reps) - reps, reps)
    b_idx = a_idx + 1 + (np.arange(int(reps.sum())) - first)
    return a_idx, b_idx


def _pair_keys(g: _Groups, max_group: int, bits: int) -> np.ndarray:
    """``a << bits | b`` (a < b) for every pair inside the groups of 2..max_group members,
    in no particular order."""
    pos = g.pos
    two = g.start[g.size == 2]
    out = [(pos[two] << bits) | pos[two + 1]]
    more = (g.size > 2) & (g.size <= max_group)
    if more.any():
        a_idx, b_idx = _pair_index(g.start[more], g.size[more])
        out.append((pos[a_idx] << bits) | pos[b_idx])
    return np.concatenate(out)


def _too_common(rule: BlockingRule, g: _Groups) -> pd.DataFrame | None:
    big = np.flatnonzero(g.size > rule.max_group)
    if not len(big):
        return None
    big = big[np.argsort(g.first(big), kind="stable")]
    return pd.DataFrame({"rule": rule.name, "value": g.label(big), "records": g.size[big]})


def _group_pairs(pos: np.ndarray, codes: np.ndarray, max_group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All pairs inside each key group of size 2..max_group; plus the skipped groups' codes and sizes."""
    order = np.argsort(codes, kind="stable")
    pos, codes = pos[order], codes[order]
    start, size = _runs(codes)
    uniq = codes[start]
    big = size > max_group
    ok = (size >= 2) & ~big
    a_idx, b_idx = _pair_index(start[ok], size[ok])
    a, b = pos[a_idx], pos[b_idx]
    return np.minimum(a, b), np.maximum(a, b), uniq[big], size[big]


def estimate_pairs(prep: Prepared, rules: tuple[BlockingRule, ...] = DEFAULT_RULES) -> dict[str, int]:
    """Pairs each rule would produce (before the union), without building any."""
    out = {}
    column_codes = _ColumnCodes(prep, rules)
    for rule in rules:
        size = _groups(rule, prep, column_codes).size
        column_codes.done(rule)
        size = size[(size >= 2) & (size <= rule.max_group)].astype(np.int64)
        out[rule.name] = int((size * (size - 1) // 2).sum())
    return out


def candidates(prep: Prepared, rules: tuple[BlockingRule, ...] = DEFAULT_RULES) -> Candidates:
    """The union of all rules' pairs, each pair once, with the bitmask of rules that found it."""
    n = prep.n
    if len(rules) > 62:
        raise ValueError("at most 62 blocking rules")
    column_codes = _ColumnCodes(prep, rules)
    # A pair is the key ``a << bits | b``; each carries its rule's index in 6 more low
    # bits, so that one sort of plain integers gives the union (while that fits in 63
    # bits: n up to 2**28).
    bits = _bits(n)
    packed = 2 * bits + 6 <= 63

    def one_rule(i: int) -> tuple[np.ndarray, pd.DataFrame | None]:
        rule = rules[i]
        g = _groups(rule, prep, column_codes)
        column_codes.done(rule)
        key = _pair_keys(g, rule.max_group, bits)
        if packed:
            key *= 64
            key += i
            # Sorted here, on this rule's thread (numpy sorts outside the GIL): the union
            # below then merges sorted runs.
            key.sort()
        return key, _too_common(rule, g)

    # Two rules at a time on a large file: most of a rule's work is numpy sorting and
    # gathering, which runs outside the GIL, so two cores share it.
    if n >= _THREAD_MIN_RECORDS:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="matching-block") as pool:
            found = list(pool.map(one_rule, range(len(rules))))
    else:  # a thread costs more than it saves on a small file
        found = [one_rule(i) for i in range(len(rules))]
    keys = [k for k, _ in found]
    too_common = [big for _, big in found if big is not None]
    estimated = {rule.name: len(k) for rule, k in zip(rules, keys, strict=True)}
    del found  # ``keys`` alone holds the pairs now, and goes once they are concatenated
    if packed:
        key = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
        del keys
        # Timsort finds the rules' sorted runs and merges them.
        key.sort(kind="stable")
        mask = np.bitwise_and(key, 63)
        np.left_shift(1, mask, out=mask)
        key >>= 6
    else:
        mask = np.concatenate([np.full(len(k), 1 << i, dtype=np.int64) for i, k in enumerate(keys)])
        key = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
        del keys
        order = np.argsort(key, kind="stable")
        key, mask = key[order], mask[order]
        del order
    start, _ = _runs(key)
    rule_mask = np.bitwise_or.reduceat(mask, start) if len(start) else mask
    del mask
    uniq = key[start]
    del key, start
    return Candidates(
        a=uniq >> bits,
        b=uniq & ((1 << bits) - 1),
        rules=rule_mask,
        rule_names=tuple(r.name for r in rules),
        estimated_pairs=estimated,
        too_common=pd.concat(too_common, ignore_index=True) if too_common else pd.DataFrame(columns=["rule", "value", "records"]),
    )
