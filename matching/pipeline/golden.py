"""Golden records: one merged customer per cluster, chosen by survivorship rules.

>>> result = golden_records(records, clusters)            # doctest: +SKIP
>>> result.golden.columns[:3].tolist()                    # doctest: +SKIP
['cluster_id', 'first_name', 'middle_name']

Inputs are the canonical export records (text, one row per record), the cluster
assignment (``record_id, cluster_id``) and, optionally, the normalized frame of
:func:`matching.normalize.normalize_frame` (computed when not given). Every cluster,
singletons included, gives exactly one golden record.

Single-valued fields survive by a rule (:class:`SurvivorshipRules`, changeable per
field, storable as JSON):

- ``most_recent``: the value of the most recently created record that has one;
- ``most_frequent``: the most common normalized value, ties to the most recent;
- ``longest``: the longest value as written, ties to the most recent;
- ``first_seen``: the value of the oldest record that has one.

``created_at`` is parsed leniently (ISO first, then any format pandas recognizes);
records without a date count as the oldest. Records created at the same instant are
ordered by ``record_id`` (the greater is "more recent"), so the result never depends
on row order.

Choices:

- **Only real values survive.** A value counts when its normalizer returns something
  (so "N/A" names, junk VINs and phones such as 000-000-0000 are out) and it is not a
  placeholder email (``noemail@...``, :func:`~matching.normalize.is_placeholder_email`)
  or one of the dealer's own numbers/domains (``dealer_phones``, ``dealer_domains``).
  When no record of a cluster has a real value, the field is empty: junk never survives,
  because golden records are pushed to myKaarma.
- **Names keep the source's spelling.** The rule picks a normalized value; the written
  form is then taken from the records carrying that value, preferring a properly
  capitalized form ("Anne", "McDonald") over ALL CAPS or all lower case, then a form
  with accents ("José") over one without (exports strip accents, people don't add
  them); provenance marks such a swap as ``<rule>+casing``.
- **Addresses survive whole**: line1, line2, city, state, postal code and country all
  come from one record, never mixed. Two addresses are the same when their normalized
  street, unit and ZIP are (city and state when there is neither street nor ZIP): the
  unit is part of the key because two flats of one building are two addresses.
- **Phones, emails, vehicles and addresses are unions** in ``golden_json``: every
  distinct value of the cluster, the surviving one first and preferred, the others in
  the same rule order. Phones are deduplicated by E.164 value; emails by the mailbox
  they deliver to (:func:`~matching.normalize.email_match_key`: ``j.doe@gmail.com``
  and ``jdoe@gmail.com`` are one entry), keeping the form the rule ranks first; VINs
  by normalized value, most recently seen first. A partial VIN (e.g. the last 8
  characters) that is the tail of a full VIN of the cluster is folded into it; other
  partial VINs are kept as they are. A full VIN with a wrong check digit that is one
  typo (one character, or two neighbours swapped) away from a VIN of the cluster with
  a right one is folded into it too: sent as is, it would create a car that does not
  exist.
- **Phone and email labels** follow :mod:`matching.records` (phone_1 "cell", phone_2
  "home", email_1 "home", email_2 "work"), from the slot the kept value was found in.
  ``isBusiness`` is true when a company survives without a full person name, as for
  a single row, and is always sent.
- **In ``golden``** names, keys and address parts are the surviving values as written
  (trimmed); phones are E.164 and emails and VINs normalized, because those go to the
  API as they are. ``phone_2``/``email_2`` are the next distinct values in the same
  rule order and ``vin_1..vin_3`` the first three VINs. Text columns are object
  dtype, None where empty.

Speed: everything up to the request bodies is vectorized (sorts on one int64 key per
rule, keys of distinct values, no loop per cluster); the bodies are one list
comprehension over arrays grouped by cluster, and only entries that cheap checks flag
go through ``CustomerRequest.validate()``. ``stats["seconds"]`` gives the time per step.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import re
import time
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from matching.model import CustomerRequest, Vehicle
from matching.normalize import (
    email_match_key_series,
    is_placeholder_email_series,
    normalize_frame,
    phone,
    vin_check_digit_ok_series,
)
from matching.normalize.emails import (
    GMAIL_DOMAINS,
    PLACEHOLDER_EMAIL_DOMAINS,
    PLACEHOLDER_EMAIL_LOCAL_PARTS,
    PLUS_ADDRESSING_DOMAINS,
)
from matching.records import EMAIL_LABELS, PHONE_LABELS

__all__ = [
    "DEFAULT_FIELD_RULES",
    "GOLDEN_COLUMNS",
    "RULES",
    "RULE_FIELDS",
    "GoldenRecords",
    "Rule",
    "SurvivorshipRules",
    "golden_records",
]

Rule = Literal["most_recent", "most_frequent", "longest", "first_seen"]

#: The survivorship rules, as spelled in :class:`SurvivorshipRules`.
RULES: tuple[str, ...] = get_args(Rule)

#: The single-valued fields a rule chooses: ``address`` is the whole address, ``phone``
#: and ``email`` the preferred (primary) phone and email.
RULE_FIELDS: tuple[str, ...] = (
    "first_name",
    "middle_name",
    "last_name",
    "company",
    "customer_key",
    "address",
    "phone",
    "email",
)

#: The documented defaults: a typo appears once, so the most frequent spelling of a name
#: wins; the longest middle name ("Anne" over "A"); the newest key and address (people
#: move); the phone and email the customer gave most often.
DEFAULT_FIELD_RULES: Mapping[str, Rule] = {
    "first_name": "most_frequent",
    "middle_name": "longest",
    "last_name": "most_frequent",
    "company": "most_frequent",
    "customer_key": "most_recent",
    "address": "most_recent",
    "phone": "most_frequent",
    "email": "most_frequent",
}

ADDRESS_COLUMNS: tuple[str, ...] = (
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
)
_NAME_FIELDS = ("first_name", "middle_name", "last_name", "company")

#: Columns of :attr:`GoldenRecords.golden`, in order.
GOLDEN_COLUMNS: tuple[str, ...] = (
    "cluster_id",
    "first_name",
    "middle_name",
    "last_name",
    "company",
    "customer_key",
    "phone_1",
    "phone_2",
    "email_1",
    "email_2",
    *ADDRESS_COLUMNS,
    "vin_1",
    "vin_2",
    "vin_3",
    "record_count",
    "source_record_ids",
    "created_at",
    "updated_at",
)
ISSUE_COLUMNS = ("cluster_id", "path", "message", "severity")

_FULL_VIN = 17


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class SurvivorshipRules:
    """Which rule chooses each single-valued field (see :data:`RULE_FIELDS`).

    ``fields`` maps a field to its rule; a field it does not name uses ``default``.
    ``SurvivorshipRules()`` is :data:`DEFAULT_FIELD_RULES`; change one field and keep
    the others with :meth:`with_rule`. After construction ``fields`` names every field
    (resolved), so two rule sets that choose alike compare equal and :meth:`to_json`
    writes a complete, self-explaining config. Unknown fields or rules raise ValueError.
    """

    default: Rule = "most_recent"
    fields: Mapping[str, Rule] = field(default_factory=lambda: dict(DEFAULT_FIELD_RULES))

    def __post_init__(self) -> None:
        _check_rule(self.default, "default")
        if not isinstance(self.fields, Mapping):
            raise ValueError(
                f"fields must map field names to rules, got {type(self.fields).__name__}"
            )
        for name, rule in self.fields.items():
            if name not in RULE_FIELDS:
                raise ValueError(
                    f"unknown survivorship field {name!r}; one of {', '.join(RULE_FIELDS)}"
                )
            _check_rule(rule, f"fields[{name!r}]")
        resolved = {name: self.fields.get(name, self.default) for name in RULE_FIELDS}
        # Read-only, like the rest of a frozen dataclass.
        object.__setattr__(self, "fields", types.MappingProxyType(resolved))

    def __hash__(self) -> int:
        return hash((self.default, tuple(self.fields.items())))

    def rule_for(self, name: str) -> Rule:
        """The rule that chooses ``name`` (one of :data:`RULE_FIELDS`)."""
        if name not in RULE_FIELDS:
            raise ValueError(
                f"unknown survivorship field {name!r}; one of {', '.join(RULE_FIELDS)}"
            )
        return self.fields[name]

    def with_rule(self, name: str, rule: Rule) -> SurvivorshipRules:
        """A copy with ``name`` chosen by ``rule``, every other field unchanged."""
        return SurvivorshipRules(default=self.default, fields={**self.fields, name: rule})

    def to_json(self) -> dict[str, Any]:
        """``{"default": rule, "fields": {field: rule, ...}}`` with every field named."""
        return {"default": self.default, "fields": dict(self.fields)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | str) -> SurvivorshipRules:
        """Rules from :meth:`to_json`'s shape (a dict, or its JSON text). ``default`` and
        ``fields`` are optional (missing ``fields`` = the documented defaults); other
        keys raise ValueError, so a misspelt key in a config file is not ignored."""
        if isinstance(obj, str):
            obj = json.loads(obj)
        if not isinstance(obj, Mapping):
            raise ValueError(f"survivorship rules must be a JSON object, got {type(obj).__name__}")
        unknown = set(obj) - {"default", "fields"}
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(sorted(map(str, unknown)))} in survivorship rules; "
                "expected 'default' and 'fields'"
            )
        kwargs: dict[str, Any] = {}
        if "default" in obj:
            kwargs["default"] = obj["default"]
        if "fields" in obj:
            kwargs["fields"] = obj["fields"]
        return cls(**kwargs)


def _check_rule(rule: Any, where: str) -> None:
    if rule not in RULES:
        raise ValueError(f"{where}: unknown survivorship rule {rule!r}; one of {', '.join(RULES)}")


# --------------------------------------------------------------------------- result


@dataclass
class GoldenRecords:
    """The merged customers of a run, one per cluster, sorted by ``cluster_id``.

    - ``golden``: :data:`GOLDEN_COLUMNS` (``cluster_id``, the canonical fields,
      ``record_count``, ``source_record_ids`` ";"-joined and sorted, ``created_at`` the
      earliest and ``updated_at`` the latest creation time of the cluster's records).
    - ``golden_json``: the myKaarma request body (``{"customer": ..., "vehicles": ...}``)
      of each cluster, exactly in the documented shape; ``golden_cluster_ids[i]`` is
      the cluster of ``golden_json[i]`` (kept apart: unknown keys would reach the API).
    - ``provenance``: ``cluster_id, field, value, record_id, rule``: the record each
      surviving value came from and the rule that chose it. Single fields
      (``first_name``, ``middle_name``, ``last_name``, ``company``, ``customer_key``)
      give one row; union fields (``address``, ``phone``, ``email``, ``vin``) one row per
      kept value, the preferred one with the field's rule, the others with ``union``
      (VINs are all ``union``); the record is the first holder of the value in rule
      order; ``address`` values are the written parts joined by ", "; a name whose
      written form came from a better spelled record has ``<rule>+casing``. Rows are
      grouped by field, then by cluster; ``cluster_id``, ``field``, ``record_id`` and
      ``rule`` are categoricals (millions of rows at 1M records).
    - ``issues``: ``cluster_id, path, message, severity`` from
      ``CustomerRequest.validate()`` of each ``golden_json`` entry (paths as there,
      e.g. ``customer.firstName``); ``severity`` is "error" or "warning".
    - ``stats``: ``records``, ``clusters`` and ``seconds`` (wall time per step), for
      run summaries (``DedupeResult.stats``).
    """

    golden: pd.DataFrame
    golden_json: list[dict[str, Any]]
    golden_cluster_ids: list[Any]
    provenance: pd.DataFrame
    issues: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- internals

_MISSING_DATE = np.iinfo(np.int64).min
_SLOTS = 4  # room for the slot (phone_1, phone_2, vin_1..vin_3) inside a sort key


@dataclass
class _Context:
    """Per-record arrays shared by every field; positions are rows of ``records``."""

    records: pd.DataFrame
    norm: pd.DataFrame
    record_ids: np.ndarray  # object
    record_index: pd.Index  # the same, as a (unique) Index
    cluster: np.ndarray  # int64 cluster code per record (codes follow sorted cluster ids)
    cluster_ids: pd.Index  # the cluster id of each code
    rank: np.ndarray  # int64, unique: 0 = oldest record, n - 1 = newest
    created: np.ndarray  # int64 ns since the epoch, _MISSING_DATE where missing
    rid_rank: np.ndarray  # int64: position of the record_id in sorted order

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_ids)

    @functools.cached_property
    def sizes(self) -> np.ndarray:
        """Records per cluster code."""
        return np.bincount(self.cluster, minlength=self.n_clusters)

    def normalized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """The normalized column as an object array, and where it holds a value (the
        array is only meaningful there)."""
        if column not in self.norm.columns:
            return np.full(len(self.cluster), None, dtype=object), np.zeros(len(self.cluster), bool)
        values = self.norm[column]
        return values.to_numpy(dtype=object), values.notna().to_numpy()

    def raw_length(self, column: str, rows: np.ndarray) -> np.ndarray:
        """Length of the trimmed source text at ``rows`` (0 where empty or absent)."""
        if column not in self.records.columns or not len(rows):
            return np.zeros(len(rows), dtype=np.int64)
        return _per_unique(self.records[column].iloc[rows], _trimmed_length)

    def raw(self, column: str, rows: np.ndarray) -> np.ndarray:
        """Trimmed source text of ``column`` at ``rows`` (None where empty or absent)."""
        if column not in self.records.columns:
            return np.full(len(rows), None, dtype=object)
        values = self.records[column].iloc[rows]
        if isinstance(values.dtype, pd.StringDtype):
            # Arrow-backed text: trimming is vectorized.
            out = values.str.strip().to_numpy(dtype=object, na_value=None)
            out[out == ""] = None
            return out
        return np.array([_clean_text(v) for v in values.to_numpy(dtype=object)], dtype=object)


def _clean_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _hash_keys(values: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """A 64-bit key per value: equal values get equal keys, and different values of one
    cluster a different key except with probability about 2**-64 per pair.

    Python's string hash, read through ``map``, is several times faster than
    factorizing a million distinct strings, and values are only ever compared within a
    cluster (keys never order anything, so the result does not depend on the process's
    hash seed). Missing values (``present`` False) all get key 0.
    """
    keys = np.fromiter(map(hash, values), dtype=np.int64, count=len(values))
    if present is not None:
        keys[~present] = 0
    return keys


_MIX = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads small ints over 64 bits


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A 64-bit key for the pair (a, b) of int64 keys."""
    with np.errstate(over="ignore"):
        mixed = (a.astype(np.uint64) * _MIX) ^ (b.astype(np.uint64) + _MIX)
        mixed = (mixed ^ (mixed >> np.uint64(29))) * _MIX
    return mixed.view(np.int64)


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``keys`` (0..k-1) and the index of each code's first occurrence."""
    codes = pd.factorize(keys)[0].astype(np.int64)
    first = np.empty(int(codes.max()) + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, first


def _trimmed_length(value: Any) -> int:
    return len(_clean_text(value) or "")


def _per_unique(values: pd.Series, func: Any, dtype: Any = np.int64) -> np.ndarray:
    """``func`` of each value (missing -> 0), computed once per distinct value."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object, na_value=None))
    mapped = np.array([func(u) for u in uniques], dtype=dtype)
    out = np.zeros(len(codes), dtype=dtype)
    ok = codes >= 0
    out[ok] = mapped[codes[ok]]
    return out


def _parse_dates(values: pd.Series | None, n: int) -> np.ndarray:
    """``created_at`` as int64 ns since the epoch (UTC; naive times taken as UTC);
    missing or unreadable dates are ``_MISSING_DATE``, which sorts as the oldest."""
    if values is None:
        return np.full(n, _MISSING_DATE, dtype=np.int64)
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    retry = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    if len(retry):
        # Other spellings ("05/31/2014 5:45 PM"): each distinct one alone, so one odd
        # value cannot make pandas guess a wrong format for the rest.
        text = pd.Series(values.iloc[retry].to_numpy(dtype=object), dtype=object)
        lookup = {u: _parse_one(u) for u in pd.unique(text)}
        parsed = parsed.copy()
        parsed.iloc[retry] = pd.to_datetime(text.map(lookup), utc=True).to_numpy()
    ns = parsed.dt.tz_localize(None).astype("datetime64[ns]").to_numpy().view(np.int64)
    return ns  # NaT is int64 min, which is _MISSING_DATE


def _parse_one(text: Any) -> pd.Timestamp:
    cleaned = _clean_text(text)
    if cleaned is None:
        return pd.NaT
    try:
        return pd.to_datetime(cleaned, errors="coerce", utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError):
        return pd.NaT


def _sort(keys: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Indices sorting by ``keys`` (most significant first), each ``(values, bound)``
    with ``0 <= values < bound``. One int64 key and argsort when it fits (several times
    faster than lexsort), else lexsort."""
    total = 1
    for _, bound in keys:
        total *= max(bound, 1)
    if total < 2**62:
        composite = np.zeros(len(keys[0][0]), dtype=np.int64)
        for values, bound in keys:
            composite = composite * max(bound, 1) + values
        return np.argsort(composite)  # callers end on a unique key: no ties to keep
    return np.lexsort(tuple(values for values, _ in reversed(keys)))


@dataclass
class _Candidates:
    """The rows holding a real value of one field: record position, slot (phone_1 = 0,
    phone_2 = 1...), a key per value (equal keys = the same value, see :func:`_hash_keys`)
    and the value itself (normalized form for phones, emails and VINs)."""

    rows: np.ndarray
    slot: np.ndarray
    key: np.ndarray
    values: np.ndarray

    def take(self, mask: np.ndarray) -> _Candidates:
        return _Candidates(self.rows[mask], self.slot[mask], self.key[mask], self.values[mask])


def _rule_order(
    cand: _Candidates, ctx: _Context, rule: str, length: np.ndarray | None
) -> np.ndarray:
    """Candidate indices sorted by cluster, best first under ``rule`` within a cluster.

    Every ordering ends on the record's rank and the slot, unique per candidate, so the
    result does not depend on the input row order.
    """
    n = len(ctx.cluster)
    cl = ctx.cluster[cand.rows]
    rank = ctx.rank[cand.rows]
    newest_first = (n - 1 - rank) * _SLOTS + cand.slot
    bound = n * _SLOTS
    cl_key = (cl, ctx.n_clusters)
    if rule == "most_recent":
        return _sort([cl_key, (newest_first, bound)])
    if rule == "first_seen":
        return _sort([cl_key, (rank * _SLOTS + cand.slot, bound)])
    if rule == "longest":
        assert length is not None
        top = int(length.max()) if len(length) else 0
        return _sort([cl_key, (top - length, top + 1), (newest_first, bound)])
    if rule == "most_frequent":
        pair = pd.factorize(_mix(cl, cand.key))[0]
        freq = np.bincount(pair)[pair] if len(pair) else pair
        top = int(freq.max()) if len(freq) else 0
        return _sort([cl_key, (top - freq, top + 1), (newest_first, bound)])
    raise ValueError(f"unknown survivorship rule {rule!r}; one of {', '.join(RULES)}")


def _first_per_cluster(cl_sorted: np.ndarray) -> np.ndarray:
    if len(cl_sorted) == 0:
        return np.zeros(0, dtype=bool)
    return np.r_[True, cl_sorted[1:] != cl_sorted[:-1]]


@dataclass
class _Single:
    """The survivor of a single-valued field: per cluster the record (-1 = none), and
    the rule label."""

    row: np.ndarray
    label: np.ndarray  # int8 codes into _RULE_LABELS


def _single_field(ctx: _Context, column: str, rule: str, *, spelling: bool) -> _Single:
    """Choose ``column`` by ``rule``; with ``spelling``, take the written form from the
    best-spelled record carrying the winning normalized value."""
    norm, present = ctx.normalized(column)
    result = np.full(ctx.n_clusters, -1, dtype=np.int64)
    label = np.full(ctx.n_clusters, -1, dtype=np.int8)
    rows = np.flatnonzero(present)
    # A record alone in its cluster is its own survivor: no ranking needed (most
    # clusters are singletons).
    alone = ctx.sizes[ctx.cluster[rows]] == 1
    result[ctx.cluster[rows[alone]]] = rows[alone]
    label[ctx.cluster[rows[alone]]] = _RULE_LABELS.index(rule)
    rows = rows[~alone]
    key = _hash_keys(norm[rows])
    cand = _Candidates(rows, np.zeros(len(rows), np.int64), key, norm[rows])
    length = None
    if rule == "longest":
        length = ctx.raw_length(column, rows)
    order = _rule_order(cand, ctx, rule, length)
    cl = ctx.cluster[rows]
    first = order[_first_per_cluster(cl[order])]
    result[cl[first]] = rows[first]
    label[cl[first]] = _RULE_LABELS.index(rule)
    if spelling and len(rows):
        winner_key = np.zeros(ctx.n_clusters, dtype=np.int64)
        winner_key[cl[first]] = key[first]
        same = np.flatnonzero(key == winner_key[cl])
        # Only clusters where several records carry the winning value have a choice.
        same = same[np.bincount(cl[same], minlength=ctx.n_clusters)[cl[same]] > 1]
        if len(same):
            position = np.empty(len(order), dtype=np.int64)
            position[order] = np.arange(len(order))
            penalty = _per_unique(ctx.records[column].iloc[rows[same]], _spelling_penalty)
            best = same[
                _sort([(cl[same], ctx.n_clusters), (penalty, 4), (position[same], len(order))])
            ]
            best = best[_first_per_cluster(cl[best])]
            swapped = rows[best] != result[cl[best]]
            result[cl[best]] = rows[best]
            label[cl[best[swapped]]] = _RULE_LABELS.index(rule + "+casing")
    return _Single(result, label)


def _spelling_penalty(text: Any) -> int:
    """0 for the preferred written form, higher for worse: +2 when ALL CAPS or all lower
    case (text with cased letters only), +1 when plain ASCII (accents stripped)."""
    text = str(text)
    upper, lower = text.upper(), text.lower()
    badly_cased = upper != lower and (text == upper or text == lower)
    return 2 * badly_cased + text.isascii()


@dataclass
class _Union:
    """The distinct values of a multi-valued field per cluster, in rule order (the first
    is the survivor): candidate indices, their cluster, the position within the cluster,
    and per cluster the first index (``start[c]:start[c + 1]`` is cluster ``c``)."""

    idx: np.ndarray
    cl: np.ndarray
    pos: np.ndarray
    start: np.ndarray


def _union(cand: _Candidates, ctx: _Context, rule: str, length: np.ndarray | None = None) -> _Union:
    order = _rule_order(cand, ctx, rule, length)
    cl = ctx.cluster[cand.rows][order]
    repeated = pd.Series(_mix(cl, cand.key[order])).duplicated().to_numpy()
    idx, cl = order[~repeated], cl[~repeated]
    start = np.searchsorted(cl, np.arange(ctx.n_clusters + 1), side="left")
    return _Union(idx, cl, np.arange(len(idx)) - start[cl], start)


def _slots(ctx: _Context, columns: Iterable[str]) -> _Candidates:
    """Candidates over slot columns (phone_1, phone_2...) of normalized values."""
    rows, slots, values = [], [], []
    for slot, column in enumerate(columns):
        norm, present = ctx.normalized(column)
        r = np.flatnonzero(present)
        rows.append(r)
        slots.append(np.full(len(r), slot, dtype=np.int64))
        values.append(norm[r])
    vals = np.concatenate(values)
    return _Candidates(
        np.concatenate(rows).astype(np.int64), np.concatenate(slots), _hash_keys(vals), vals
    )


def _phone_candidates(ctx: _Context, dealer_phones: Iterable[str] | str) -> _Candidates:
    cand = _slots(ctx, PHONE_LABELS)
    # phone() already drops placeholders (000-000-0000...); the dealer's own numbers are
    # compared in E.164, which is what is_placeholder_phone compares too.
    own = {phone(p) for p in ([dealer_phones] if isinstance(dealer_phones, str) else dealer_phones)}
    own.discard(None)
    if own:
        cand = cand.take(~np.isin(cand.values, list(own)))
    return cand


def _email_candidates(ctx: _Context, dealer_domains: Iterable[str] | str) -> _Candidates:
    cand = _slots(ctx, EMAIL_LABELS)
    codes, first = _distinct(cand.key)
    uniques = cand.values[first]
    keep = ~_placeholder_emails(uniques, dealer_domains)[codes]
    cand, codes = cand.take(keep), codes[keep]
    # One entry per mailbox (j.doe@gmail.com = jdoe@gmail.com). Match keys only matter
    # where a cluster has several addresses, so only those are computed.
    cl = ctx.cluster[cand.rows]
    several = np.bincount(cl, minlength=ctx.n_clusters)[cl] > 1
    need = np.unique(codes[several])
    if len(need):
        lookup = np.zeros(len(uniques), dtype=np.int64)
        lookup[need] = _hash_keys(_mailboxes(uniques[need]))
        cand.key[several] = lookup[codes[several]]
    return cand


# Deletes ASCII digits and punctuation: what is left of a placeholder local part is its
# letters (the emails module's squashing only ever removes such characters).
_NOT_LETTERS = str.maketrans("", "", "0123456789!#$%&'*+-./=?^_`{|}~")


def _placeholder_emails(addresses: np.ndarray, dealer_domains: Iterable[str] | str) -> np.ndarray:
    """:func:`~matching.normalize.is_placeholder_email` of each normalized address.

    That function parses each address again (seconds for a million distinct ones), so a
    quick test first clears the addresses that cannot be placeholders: a placeholder's
    domain (or a parent domain) is a placeholder or dealer domain, or its local part
    before any ``+``, letters only, is that of a placeholder local part. The rest are
    judged by the emails module, which keeps the last word.
    """
    locals_ = {p.lower().translate(_NOT_LETTERS) for p in PLACEHOLDER_EMAIL_LOCAL_PARTS}
    dealer = [dealer_domains] if isinstance(dealer_domains, str) else list(dealer_domains)
    domains = {
        d.strip().lstrip("@").lower().rstrip(".") for d in (*PLACEHOLDER_EMAIL_DOMAINS, *dealer)
    }
    by_domain: dict[str, bool] = {}  # few distinct domains: test each once
    maybe = np.zeros(len(addresses), dtype=bool)
    for i, address in enumerate(addresses.tolist()):
        local, _, domain = address.rpartition("@")
        flag = by_domain.get(domain)
        if flag is None:
            flag = by_domain[domain] = _placeholder_domain(domain, domains)
        maybe[i] = flag or local.split("+", 1)[0].translate(_NOT_LETTERS) in locals_
    result = np.zeros(len(addresses), dtype=bool)
    if maybe.any():
        exact = is_placeholder_email_series(pd.Series(addresses[maybe], dtype=object), dealer)
        result[maybe] = exact.to_numpy()
    return result


def _placeholder_domain(domain: str, domains: set[str]) -> bool:
    """True if ``domain`` or one of its parent domains is in ``domains``."""
    while True:
        if domain in domains:
            return True
        dot = domain.find(".")
        if dot < 0:
            return False
        domain = domain[dot + 1 :]


def _mailboxes(addresses: np.ndarray) -> np.ndarray:
    """:func:`~matching.normalize.email_match_key` of each normalized address.

    Only Gmail addresses and ``+tag`` addresses at subaddressing providers can fold;
    any other normalized address is its own match key, so the emails module is asked
    about those few only.
    """
    keys = np.asarray(addresses, dtype=object).copy()
    folds = np.fromiter(
        (
            (domain := a.rpartition("@")[2]) in GMAIL_DOMAINS
            or ("+" in a and domain in PLUS_ADDRESSING_DOMAINS)
            for a in keys.tolist()
        ),
        dtype=bool,
        count=len(keys),
    )
    if folds.any():
        folded = email_match_key_series(pd.Series(keys[folds], dtype=object))
        keys[folds] = folded.to_numpy(dtype=object)
    return keys


def _vin_candidates(ctx: _Context) -> _Candidates:
    """VIN candidates with folded values removed: partial VINs that are the tail of a
    full VIN of the same cluster, and full VINs with a wrong check digit that are one
    typo (a substitution or two swapped neighbours) away from a full VIN of the same
    cluster whose check digit is right."""
    cand = _slots(ctx, ("vin_1", "vin_2", "vin_3"))
    if not len(cand.rows):
        return cand
    lengths = np.fromiter(map(len, cand.values), dtype=np.int64, count=len(cand.values))
    cl = ctx.cluster[cand.rows]
    full = lengths == _FULL_VIN
    drop = np.zeros(len(cand.rows), dtype=bool)
    for size in np.unique(lengths[~full]).tolist():
        these = lengths == size
        fulls = full & np.isin(cl, cl[these])
        if not fulls.any():
            continue
        tails = pd.MultiIndex.from_arrays(
            [cl[fulls], np.array([v[-size:] for v in cand.values[fulls].tolist()], dtype=object)]
        )
        drop[these] = pd.MultiIndex.from_arrays([cl[these], cand.values[these]]).isin(tails)
    drop[full] = _vin_typos(cl[full], cand.key[full], cand.values[full])
    return cand.take(~drop)


def _vin_typos(cl: np.ndarray, key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of these full-VIN candidates are a typo of another VIN of their cluster:
    one substitution or one swap of neighbours away from it, with a wrong check digit
    where the other's is right.

    Pairs are formed within clusters (each distinct VIN against the next ``d`` ones in
    cluster order) and compared as a (pairs, 17) byte matrix: no Python loop per pair.
    Only the VINs of a close pair get their check digit computed (by the vins module).
    """
    result = np.zeros(len(cl), dtype=bool)
    pair = _mix(cl, key)
    first = np.flatnonzero(~pd.Series(pair).duplicated().to_numpy())
    first = first[np.argsort(cl[first], kind="stable")]  # distinct VINs, by cluster
    c = cl[first]
    chars = np.frombuffer("".join(values[first].tolist()).encode("ascii"), dtype=np.uint8)
    chars = chars.reshape(-1, _FULL_VIN)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for d in range(1, len(c)):
        i = np.flatnonzero(c[:-d] == c[d:])
        if not len(i):
            break  # sorted by cluster: no pair further apart either
        a, b = chars[i], chars[i + d]
        differ = a != b
        count = differ.sum(axis=1)
        at = differ.argmax(axis=1)
        nxt = np.minimum(at + 1, _FULL_VIN - 1)
        rows = np.arange(len(i))
        swapped = (
            (count == 2)
            & differ[rows, nxt]
            & (a[rows, at] == b[rows, nxt])
            & (a[rows, nxt] == b[rows, at])
        )
        close = (count == 1) | swapped
        left.append(i[close])
        right.append(i[close] + d)
    lo = np.concatenate(left) if left else np.zeros(0, dtype=np.int64)
    hi = np.concatenate(right) if right else np.zeros(0, dtype=np.int64)
    if not len(lo):
        return result
    involved = np.unique(np.concatenate([lo, hi]))
    ok = np.zeros(len(c), dtype=bool)
    ok[involved] = vin_check_digit_ok_series(pd.Series(values[first[involved]], dtype=object))
    typo = np.zeros(len(c), dtype=bool)
    typo[lo[~ok[lo] & ok[hi]]] = True
    typo[hi[~ok[hi] & ok[lo]]] = True
    # Every candidate row carrying a typo VIN of its cluster.
    return pd.Index(pair[first][typo]).get_indexer(pair) >= 0


def _address_candidates(ctx: _Context) -> _Candidates:
    (street, has_street), (unit, has_unit) = ctx.normalized("street"), ctx.normalized("unit")
    (zip_, has_zip), (city, has_city) = ctx.normalized("postal_code"), ctx.normalized("city")
    state, has_state = ctx.normalized("state")
    rows = np.flatnonzero(has_street | has_zip | has_city)
    key = _mix(_hash_keys(street[rows], has_street[rows]), _hash_keys(unit[rows], has_unit[rows]))
    key = _mix(key, _hash_keys(zip_[rows], has_zip[rows]))
    # Without street and ZIP, the city and state tell addresses apart (rare).
    locality = np.flatnonzero(~(has_street | has_zip)[rows])
    if len(locality):
        at = rows[locality]
        place = _mix(_hash_keys(city[at], has_city[at]), _hash_keys(state[at], has_state[at]))
        key[locality] = _mix(key[locality], place)
    return _Candidates(
        rows, np.zeros(len(rows), np.int64), key, np.full(len(rows), None, dtype=object)
    )


def _spread(n: int, cl: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    out[cl] = values
    return out


def _group_lists(items: list[Any], start: np.ndarray) -> list[list[Any]]:
    """Split ``items`` (sorted by cluster) into one list per cluster."""
    bounds = start.tolist()
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


#: The values of ``provenance.rule``: a rule, a rule whose written form was swapped for
#: a better spelled one of the same value, or a non-preferred member of a union.
_RULE_LABELS: tuple[str, ...] = (*RULES, *(f"{r}+casing" for r in RULES), "union")


class _Provenance:
    """Collects provenance rows as arrays; one DataFrame at the end."""

    FIELDS = (
        "first_name",
        "middle_name",
        "last_name",
        "company",
        "customer_key",
        "address",
        "phone",
        "email",
        "vin",
    )

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(
        self, name: str, cl: np.ndarray, values: np.ndarray, rows: np.ndarray, rule: Any
    ) -> None:
        """Rows for ``cl``; ``rule`` is one label, or label codes (:data:`_RULE_LABELS`)."""
        if isinstance(rule, str):
            rule = np.full(len(cl), _RULE_LABELS.index(rule), dtype=np.int8)
        self.parts.append((cl, name, values, rows, rule))

    def add_union(
        self, name: str, u: _Union, values: np.ndarray, rows: np.ndarray, rule: str
    ) -> None:
        """One row per kept value of a union; the preferred one carries ``rule``."""
        labels = np.where(u.pos == 0, _RULE_LABELS.index(rule), _RULE_LABELS.index("union"))
        self.add(name, u.cl, values, rows, labels.astype(np.int8))

    def frame(self) -> pd.DataFrame:
        cl = np.concatenate([p[0] for p in self.parts])
        field_codes = np.concatenate(
            [np.full(len(p[0]), self.FIELDS.index(p[1]), dtype=np.int8) for p in self.parts]
        )
        values = np.concatenate([p[2] for p in self.parts])
        rows = np.concatenate([p[3] for p in self.parts])
        rules = np.concatenate([p[4] for p in self.parts])
        # Rows stay grouped by field, then by cluster: sorting 4M rows by cluster would
        # cost more than the rest of the provenance together.
        # Ids as categoricals: codes we already have instead of millions of strings.
        return pd.DataFrame(
            {
                "cluster_id": pd.Categorical.from_codes(
                    cl, dtype=pd.CategoricalDtype(self.ctx.cluster_ids)
                ),
                "field": pd.Categorical.from_codes(field_codes, categories=self.FIELDS),
                "value": pd.Series(values, dtype=object),
                "record_id": pd.Categorical.from_codes(
                    rows, dtype=pd.CategoricalDtype(self.ctx.record_index)
                ),
                "rule": pd.Categorical.from_codes(rules, categories=_RULE_LABELS),
            }
        )


# --------------------------------------------------------------------------- main


def golden_records(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    norm: pd.DataFrame | None = None,
    rules: SurvivorshipRules | None = None,
    *,
    dealer_domains: Iterable[str] | str = (),
    dealer_phones: Iterable[str] | str = (),
    validate: bool = True,
) -> GoldenRecords:
    """One golden record per cluster of ``clusters`` (``record_id, cluster_id``).

    ``records`` holds the canonical export columns (any subset besides ``record_id``);
    ``norm`` is ``normalize_frame(records)`` aligned with its index (computed if None);
    ``rules`` defaults to ``SurvivorshipRules()``. ``dealer_domains`` and
    ``dealer_phones`` are the dealer's own email domains and phone numbers: placeholders
    for its customers, never survivors. With ``validate`` False, ``issues`` is empty.

    Raises ValueError when ``record_id`` is missing or repeated, when a record has no
    cluster, or when a cluster row names no record.
    """
    with _gc_paused():
        return _golden_records(
            records,
            clusters,
            norm,
            rules,
            dealer_domains=dealer_domains,
            dealer_phones=dealer_phones,
            validate=validate,
        )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building millions of small dicts and lists
    otherwise triggers full collections over all of them again and again (about a fifth
    of the run time at 1M records). Nothing built here is cyclic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _golden_records(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    norm: pd.DataFrame | None,
    rules: SurvivorshipRules | None,
    *,
    dealer_domains: Iterable[str] | str,
    dealer_phones: Iterable[str] | str,
    validate: bool,
) -> GoldenRecords:
    rules = rules if rules is not None else SurvivorshipRules()
    clock = _Stopwatch()
    ctx = _context(records, clusters, norm)
    clock.lap("prepare")
    n_cl = ctx.n_clusters
    prov = _Provenance(ctx)
    out: dict[str, np.ndarray] = {}

    for column in (*_NAME_FIELDS, "customer_key"):
        chosen = _single_field(ctx, column, rules.rule_for(column), spelling=column in _NAME_FIELDS)
        has = np.flatnonzero(chosen.row >= 0)
        values = ctx.raw(column, chosen.row[has])
        out[column] = _spread(n_cl, has, values)
        prov.add(column, has, values, chosen.row[has], chosen.label[has])
    clock.lap("names_and_key")

    unions: dict[str, tuple[_Candidates, _Union]] = {}
    for name, cand, columns in (
        ("phone", _phone_candidates(ctx, dealer_phones), tuple(PHONE_LABELS)),
        ("email", _email_candidates(ctx, dealer_domains), tuple(EMAIL_LABELS)),
    ):
        rule = rules.rule_for(name)
        length = None
        if rule == "longest":
            # "Longest" compares what the source wrote.
            length = np.zeros(len(cand.rows), dtype=np.int64)
            for slot, column in enumerate(columns):
                at = np.flatnonzero(cand.slot == slot)
                length[at] = ctx.raw_length(column, cand.rows[at])
        u = _union(cand, ctx, rule, length)
        unions[name] = (cand, u)
        prov.add_union(name, u, cand.values[u.idx], cand.rows[u.idx], rule)
        for k in (1, 2):
            at = u.pos == k - 1
            out[f"{name}_{k}"] = _spread(n_cl, u.cl[at], cand.values[u.idx[at]])

    clock.lap("phones_and_emails")
    vin_cand = _vin_candidates(ctx)
    vin_u = _union(vin_cand, ctx, "most_recent")
    prov.add("vin", vin_u.cl, vin_cand.values[vin_u.idx], vin_cand.rows[vin_u.idx], "union")
    for k in (1, 2, 3):
        at = vin_u.pos == k - 1
        out[f"vin_{k}"] = _spread(n_cl, vin_u.cl[at], vin_cand.values[vin_u.idx[at]])

    clock.lap("vins")
    addr_cand = _address_candidates(ctx)
    addr_rule = rules.rule_for("address")
    addr_len = None
    if addr_rule == "longest":
        addr_len = np.zeros(len(addr_cand.rows), dtype=np.int64)
        for c in ADDRESS_COLUMNS:
            addr_len += ctx.raw_length(c, addr_cand.rows)
    addr_u = _union(addr_cand, ctx, addr_rule, addr_len)
    addr_rows = addr_cand.rows[addr_u.idx]
    addr_raw = {c: ctx.raw(c, addr_rows) for c in ADDRESS_COLUMNS}
    primary = addr_u.pos == 0
    for c in ADDRESS_COLUMNS:
        out[c] = _spread(n_cl, addr_u.cl[primary], addr_raw[c][primary])
    addr_text = np.array(
        [", ".join(filter(None, parts)) for parts in zip(*addr_raw.values(), strict=True)],
        dtype=object,
    )
    prov.add_union("address", addr_u, addr_text, addr_rows, addr_rule)

    clock.lap("addresses")
    golden = _golden_frame(ctx, out)
    clock.lap("golden")
    golden_json = _build_json(out, unions, (vin_cand, vin_u), (addr_u, addr_raw))
    clock.lap("golden_json")
    issues = (
        _issues(golden_json, out, unions, (vin_cand, vin_u), ctx.cluster_ids)
        if validate
        else _no_issues()
    )
    clock.lap("validate")
    provenance = prov.frame()
    clock.lap("provenance")
    return GoldenRecords(
        golden=golden,
        golden_json=golden_json,
        golden_cluster_ids=ctx.cluster_ids.tolist(),
        provenance=provenance,
        issues=issues,
        stats={"records": len(ctx.cluster), "clusters": ctx.n_clusters, "seconds": clock.seconds},
    )


class _Stopwatch:
    """Wall time per step, for ``stats``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._last, 3)
        self._last = now


def _context(records: pd.DataFrame, clusters: pd.DataFrame, norm: pd.DataFrame | None) -> _Context:
    """Check the inputs and compute the per-record arrays."""
    if "record_id" not in records.columns:
        raise ValueError("records has no 'record_id' column; golden records need one per row")
    missing = [c for c in ("record_id", "cluster_id") if c not in clusters.columns]
    if missing:
        raise ValueError(
            f"clusters has no {', '.join(map(repr, missing))} column; "
            "it must hold record_id, cluster_id (one row per record)"
        )
    if norm is None:
        norm = normalize_frame(records)
    elif len(norm) != len(records) or not norm.index.equals(records.index):
        raise ValueError(
            "norm is not aligned with records: pass normalize_frame(records) "
            "(same index, same length) or None"
        )
    ids = records["record_id"].to_numpy(dtype=object, na_value=None)
    index = pd.Index(ids, dtype=object)
    if index.hasnans:
        raise ValueError("records has rows without a record_id; every record needs one")
    if index.has_duplicates:
        examples = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"record_id is repeated in records (e.g. {examples}); ids must be unique")
    listed = pd.Index(clusters["record_id"].to_numpy(dtype=object, na_value=None), dtype=object)
    if listed.has_duplicates:
        examples = listed[listed.duplicated()].unique()[:5].tolist()
        raise ValueError(f"clusters lists record(s) {examples} more than once; one row per record")
    if len(listed) == len(index) and (listed.to_numpy() == ids).all():
        where = np.arange(len(ids))  # clusters in the records' order: the usual case
    else:
        where = listed.get_indexer(index)
    if (where < 0).any():
        examples = index[where < 0][:5].tolist()
        raise ValueError(
            f"{int((where < 0).sum())} record(s) have no cluster (e.g. {examples}); "
            "give every record a cluster_id (a singleton is its own cluster)"
        )
    if len(listed) != len(index):
        extra = listed.difference(index)[:5].tolist()
        raise ValueError(f"clusters names record(s) that are not in records (e.g. {extra})")
    codes, uniques = pd.factorize(
        clusters["cluster_id"].iloc[where].reset_index(drop=True), sort=True
    )
    if (codes < 0).any():
        examples = index[codes < 0][:5].tolist()
        raise ValueError(f"records {examples} have an empty cluster_id")
    # Record ids are unique, so their sorted order is total: the tie-break that makes
    # "most recent" well defined for records created at the same instant.
    text_ids = (
        pd.Series(ids, dtype="str")
        if not isinstance(records["record_id"].dtype, pd.StringDtype)
        else records["record_id"]
    )
    rid_rank = np.empty(len(ids), dtype=np.int64)
    rid_rank[text_ids.argsort().to_numpy()] = np.arange(len(ids))
    created = _parse_dates(
        records["created_at"] if "created_at" in records.columns else None, len(ids)
    )
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.lexsort((rid_rank, created))] = np.arange(len(ids))
    return _Context(
        records=records.reset_index(drop=True),
        norm=norm.reset_index(drop=True),
        record_ids=ids,
        record_index=index,
        cluster=codes.astype(np.int64),
        cluster_ids=pd.Index(uniques, name="cluster_id"),
        rank=rank,
        created=created,
        rid_rank=rid_rank,
    )


def _golden_frame(ctx: _Context, out: dict[str, np.ndarray]) -> pd.DataFrame:
    n, size = ctx.n_clusters, len(ctx.cluster)
    order = _sort([(ctx.cluster, n), (ctx.rid_rank, size)])
    start = np.searchsorted(ctx.cluster[order], np.arange(n + 1), side="left")
    ids = ctx.record_ids[order].tolist()
    if not isinstance(ctx.records["record_id"].dtype, pd.StringDtype):
        ids = list(map(str, ids))
    bounds = start.tolist()
    joined = [";".join(ids[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    created = ctx.created[order]
    latest = np.iinfo(np.int64).max
    first = (
        np.minimum.reduceat(np.where(created == _MISSING_DATE, latest, created), start[:-1])
        if n
        else created[:0]
    )
    first[first == latest] = _MISSING_DATE
    last = np.maximum.reduceat(created, start[:-1]) if n else created[:0]
    frame: dict[str, Any] = {"cluster_id": ctx.cluster_ids}
    for column in GOLDEN_COLUMNS[1:-4]:
        frame[column] = pd.Series(out[column], dtype=object)
    frame["record_count"] = np.diff(start)
    frame["source_record_ids"] = pd.Series(joined, dtype=object)
    frame["created_at"] = first.view("datetime64[ns]")
    frame["updated_at"] = last.view("datetime64[ns]")
    return pd.DataFrame(frame)


def _build_json(
    out: dict[str, np.ndarray],
    unions: dict[str, tuple[_Candidates, _Union]],
    vins: tuple[_Candidates, _Union],
    addresses: tuple[_Union, dict[str, np.ndarray]],
) -> list[dict[str, Any]]:
    """The request bodies. Phone, email, vehicle and address entries are built flat and
    sliced per cluster, so the only per-cluster Python work is one small dict."""
    lists = []
    for name, labels, value_key in (
        ("phone", list(PHONE_LABELS.values()), "phoneNumber"),
        ("email", list(EMAIL_LABELS.values()), "emailAddress"),
    ):
        cand, u = unions[name]
        items = [
            {value_key: v, "label": labels[s], "isPreferred": p == 0}
            for v, s, p in zip(
                cand.values[u.idx].tolist(), cand.slot[u.idx].tolist(), u.pos.tolist(), strict=True
            )
        ]
        lists.append(_group_lists(items, u.start))
    vin_cand, vu = vins
    vehicles = _group_lists([{"vin": v} for v in vin_cand.values[vu.idx].tolist()], vu.start)
    au, raw = addresses
    items = [
        _address(*parts)
        for parts in zip(
            *(raw[c].tolist() for c in ADDRESS_COLUMNS), (au.pos == 0).tolist(), strict=True
        )
    ]
    addrs = _group_lists(items, au.start)
    first, last, company = out["first_name"], out["last_name"], out["company"]
    business = (company != None) & ((first == None) | (last == None))  # noqa: E711 - elementwise
    return [
        _body(*args)
        for args in zip(
            out["customer_key"].tolist(),
            first.tolist(),
            out["middle_name"].tolist(),
            last.tolist(),
            company.tolist(),
            business.tolist(),
            *lists,
            addrs,
            vehicles,
            strict=True,
        )
    ]


def _address(
    line1: str | None,
    line2: str | None,
    city: str | None,
    state: str | None,
    zip_: str | None,
    country: str | None,
    preferred: bool,
) -> dict[str, Any]:
    fields = (("line1", line1), ("line2", line2), ("city", city), ("state", state), ("zip", zip_), ("country", country))
    item: dict[str, Any] = {k: v for k, v in fields if v is not None}
    item["type"] = "PRIMARY" if preferred else "OTHER"
    item["isPreferred"] = preferred
    return item


def _body(
    key: str | None,
    first: str | None,
    middle: str | None,
    last: str | None,
    company: str | None,
    business: bool,
    phones: list[dict[str, Any]],
    emails: list[dict[str, Any]],
    addresses: list[dict[str, Any]],
    vehicles: list[dict[str, Any]],
) -> dict[str, Any]:
    """One request body; empty values are left out, as in
    :func:`matching.records.request_from_row` (a business customer is one with a company
    and without a full person name)."""
    names = (("customerKey", key), ("firstName", first), ("middleName", middle), ("lastName", last), ("company", company))
    customer: dict[str, Any] = {k: v for k, v in names if v is not None}
    # Always stated: an update must not leave a stale flag from an earlier push.
    customer["isBusiness"] = business
    if phones:
        customer["phoneNumbers"] = phones
    if emails:
        customer["emails"] = emails
    if addresses:
        customer["addresses"] = addresses
    if vehicles:
        return {"customer": customer, "vehicles": vehicles}
    return {"customer": customer}


def _no_issues() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in ISSUE_COLUMNS})


# Conservative: a normalized address of this shape passes email-validator (the emails
# normalizer used it, or its equivalent fast path); others are re-checked by the model.
_PLAIN_EMAIL = re.compile(r"[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,63}")
_NAME_KEYS = ("firstName", "lastName", "company", "isBusiness")
_NANP_E164 = re.compile(r"\+1[0-9]{10}")  # the format the API accepts (warning 10015)


def _issues(
    golden_json: list[dict[str, Any]],
    out: dict[str, np.ndarray],
    unions: dict[str, tuple[_Candidates, _Union]],
    vins: tuple[_Candidates, _Union],
    cluster_ids: pd.Index,
) -> pd.DataFrame:
    """``CustomerRequest.validate()`` of every entry, run where a problem is possible.

    Validating 650k requests one by one takes minutes, and nearly all are clean by
    construction (E.164 phones, emails that passed email-validator, address types
    PRIMARY/OTHER, the right JSON types). Cheap checks find the parts that may fail
    (missing names, non-NANP phones, unusual emails, VINs that are not 17 characters);
    the model validates just those parts, under the paths they have in the whole
    request, and stays the single authority on what is wrong. A vehicle is validated
    alone (``Vehicle.validate``): within a request without ``validateVin`` that gives
    the same issues.
    """
    n = len(golden_json)
    first, last, company = out["first_name"], out["last_name"], out["company"]
    customer_odd = ((first == None) | (last == None)) & (company == None)  # noqa: E711
    odd: dict[str, np.ndarray] = {}
    for name, ok in (
        ("phone", _NANP_E164.fullmatch),
        ("email", _PLAIN_EMAIL.fullmatch),
    ):
        cand, u = unions[name]
        values = cand.values[u.idx].tolist()
        bad = np.fromiter((not ok(v) for v in values), dtype=bool, count=len(values))
        odd[name] = np.zeros(n, dtype=bool)
        odd[name][u.cl[bad]] = True
        customer_odd |= odd[name]
    found: list[tuple[int, str, str, str]] = []
    for i in np.flatnonzero(customer_odd).tolist():
        customer = golden_json[i]["customer"]
        part: dict[str, Any] = {k: customer[k] for k in _NAME_KEYS if k in customer}
        if odd["phone"][i]:
            part["phoneNumbers"] = customer["phoneNumbers"]
        if odd["email"][i]:
            part["emails"] = customer["emails"]
        for issue in CustomerRequest.from_json({"customer": part}).validate():
            found.append((i, issue.path, issue.message, issue.severity))
    # Normalized VINs of 17 characters never hold I, O or Q: only other lengths can fail.
    vin_cand, vu = vins
    vin_values = vin_cand.values[vu.idx].tolist()
    lengths = np.fromiter(map(len, vin_values), dtype=np.int64, count=len(vin_values))
    for j in np.flatnonzero(lengths != _FULL_VIN).tolist():
        vehicle = Vehicle(vin=vin_values[j])
        for issue in vehicle.validate(f"vehicles[{int(vu.pos[j])}]"):
            found.append((int(vu.cl[j]), issue.path, issue.message, issue.severity))
    if not found:
        return _no_issues()
    found.sort(key=lambda row: row[0])  # stable: per cluster, customer issues first
    ids = cluster_ids.to_numpy()
    frame = pd.DataFrame(found, columns=["code", *ISSUE_COLUMNS[1:]], dtype=object)
    frame.insert(0, "cluster_id", ids[frame.pop("code").to_numpy(dtype=np.int64)])
    return frame
