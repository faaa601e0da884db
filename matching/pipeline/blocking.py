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
"""

from __future__ import annotations

from collections.abc import Callable
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

        One row per (record, key). Composite keys are combined as integer codes (never as
        concatenated strings): the readable value is built only for the codes asked for.
        """
        norm = prep.norm
        if self.slots:
            vals = pd.concat([norm[c] for c in self.slots], ignore_index=True)
            pos = np.tile(np.arange(prep.n, dtype=np.int64), len(self.slots))
            codes, values = pd.factorize(vals, use_na_sentinel=True)
            uniq = np.asarray(values, dtype=object)

            def describe(wanted: np.ndarray) -> list[str]:
                return [str(v) for v in uniq[wanted]]
        else:
            pos = np.arange(prep.n, dtype=np.int64)
            codes = np.zeros(prep.n, dtype=np.int64)
            valid = np.ones(prep.n, dtype=bool)
            for col in self.columns:
                part, _ = pd.factorize(norm[col], use_na_sentinel=True)
                valid &= part >= 0
                combined = codes * (int(part.max()) + 2 if len(part) else 1) + (part + 1)
                # Re-compress after each column so that the product never overflows.
                codes = pd.factorize(combined)[0].astype(np.int64)
            codes = np.where(valid, codes, -1)
            if valid.any():
                codes[valid] = pd.factorize(codes[valid])[0]
            first_row = np.full(int(codes.max()) + 1 if codes.size and codes.max() >= 0 else 0, -1, dtype=np.int64)
            ok = codes >= 0
            first_row[codes[ok][::-1]] = pos[ok][::-1]
            columns = self.columns

            def describe(wanted: np.ndarray) -> list[str]:
                rows = first_row[wanted]
                return [" ".join(str(norm[c].iat[r]) for c in columns) for r in rows]
        keep = codes >= 0
        pos, codes = pos[keep], codes[keep].astype(np.int64)
        # A record holding one value in two slots is one member of that group.
        key = np.unique(codes * prep.n + pos)
        return key % prep.n, key // prep.n, describe


DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("phone", slots=("phone_1", "phone_2")),
    BlockingRule("email", slots=("email_1", "email_2")),
    BlockingRule("vin", slots=("vin_1", "vin_2", "vin_3")),
    BlockingRule("vin_last8", slots=("vin8_1", "vin8_2", "vin8_3")),
    BlockingRule("customer_key", columns=("customer_key",)),
    BlockingRule("address", columns=("address_key",)),
    BlockingRule("name_zip", columns=("first_canon", "last_phon", "zip5")),
    BlockingRule("surname_zip", columns=("last_phon", "zip5"), max_group=30),
    BlockingRule("name_city", columns=("first_canon", "last_name", "city", "state"), max_group=30),
    BlockingRule("swapped_zip", columns=("last_phon", "first_phon", "zip5")),
    BlockingRule("id_number", columns=("id_number",)),
    BlockingRule("dob_surname", columns=("dob", "last_phon")),
    BlockingRule("dob_first", columns=("dob", "first_canon")),
    BlockingRule("dob_zip", columns=("dob", "zip5")),
    BlockingRule("dob_any_name", slots=("dob_first_phon", "dob_last_phon")),
    BlockingRule("phonetic_names", columns=("first_phon", "last_phon"), max_group=30),
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


def _group_pairs(pos: np.ndarray, codes: np.ndarray, max_group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All pairs inside each key group of size 2..max_group; plus the skipped groups' codes and sizes."""
    order = np.argsort(codes, kind="stable")
    pos, codes = pos[order], codes[order]
    uniq, start, size = np.unique(codes, return_index=True, return_counts=True)
    big = size > max_group
    ok = (size >= 2) & ~big
    g_start, g_size = start[ok], size[ok]
    # Element at offset i of a group of size k pairs with the k-1-i elements after it.
    grp = np.repeat(np.arange(len(g_start)), g_size)
    offs = np.arange(int(g_size.sum())) - np.repeat(np.cumsum(g_size) - g_size, g_size)
    elem = g_start[grp] + offs
    reps = g_size[grp] - 1 - offs
    a_idx = np.repeat(elem, reps)
    first = np.repeat(np.cumsum(reps) - reps, reps)
    b_idx = a_idx + 1 + (np.arange(int(reps.sum())) - first)
    a, b = pos[a_idx], pos[b_idx]
    return np.minimum(a, b), np.maximum(a, b), uniq[big], size[big]


def estimate_pairs(prep: Prepared, rules: tuple[BlockingRule, ...] = DEFAULT_RULES) -> dict[str, int]:
    """Pairs each rule would produce (before the union), without building any."""
    out = {}
    for rule in rules:
        pos, codes, _ = rule.keys(prep)
        size = np.bincount(codes)
        size = size[(size >= 2) & (size <= rule.max_group)].astype(np.int64)
        out[rule.name] = int((size * (size - 1) // 2).sum())
    return out


def candidates(prep: Prepared, rules: tuple[BlockingRule, ...] = DEFAULT_RULES) -> Candidates:
    """The union of all rules' pairs, each pair once, with the bitmask of rules that found it."""
    n = prep.n
    if len(rules) > 62:
        raise ValueError("at most 62 blocking rules")
    keys, masks, too_common, estimated = [], [], [], {}
    for i, rule in enumerate(rules):
        pos, codes, describe = rule.keys(prep)
        a, b, big_codes, big_sizes = _group_pairs(pos, codes, rule.max_group)
        estimated[rule.name] = len(a)
        keys.append(a * n + b)
        masks.append(np.full(len(a), 1 << i, dtype=np.int64))
        if len(big_codes):
            too_common.append(pd.DataFrame({"rule": rule.name, "value": describe(big_codes), "records": big_sizes}))
    key = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
    mask = np.concatenate(masks) if masks else np.empty(0, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    key, mask = key[order], mask[order]
    uniq, start = np.unique(key, return_index=True)
    rule_mask = np.bitwise_or.reduceat(mask, start) if len(start) else mask
    return Candidates(
        a=(uniq // n).astype(np.int64),
        b=(uniq % n).astype(np.int64),
        rules=rule_mask,
        rule_names=tuple(r.name for r in rules),
        estimated_pairs=estimated,
        too_common=pd.concat(too_common, ignore_index=True) if too_common else pd.DataFrame(columns=["rule", "value", "records"]),
    )
