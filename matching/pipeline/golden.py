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

Speed and memory (a million records): everything is vectorized, with no loop per
cluster or per record. Only clusters where a field has several candidates are ranked
(a scatter-min for single fields, one int64 sort for unions) and only their values are
hashed into keys; source text is read through Arrow (dictionary-encoded for columns
with few distinct values, else taken in row order). ``golden_json`` is a
:class:`GoldenJson`: the request bodies are built when read, and
:func:`write_jsonl` writes them as JSON lines with Arrow's string kernels, without
building the dicts. Only entries that cheap checks flag go through
``CustomerRequest.validate()``. The pipeline passes its prepared frames
(``norm_email_keys``), so the export is not normalized twice, with the integer codes
prepare kept for them (``norm_codes``: compared instead of hashing the text), and lets
golden records drop each normalized column once read (``release_norm``). Each step
gives the memory it freed back to the system (:func:`release_memory`), so that the
steps' working arrays do not add up. ``stats["seconds"]`` gives the time per step.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import operator
import re
import time
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, TextIO, get_args, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.model import CustomerRequest, Vehicle
from matching.normalize import (
    email_match_key_series,
    email_series,
    is_placeholder_email_series,
    normalize_frame,
    phone,
)
from matching.normalize.emails import (
    GMAIL_DOMAINS,
    PLACEHOLDER_EMAIL_DOMAINS,
    PLACEHOLDER_EMAIL_LOCAL_PARTS,
    PLUS_ADDRESSING_DOMAINS,
)
from matching.normalize.vins import _CHECK_POSITION as _VIN_CHECK_POSITION
from matching.normalize.vins import _TRANSLITERATION as _VIN_TRANSLITERATION
from matching.normalize.vins import _WEIGHTS as _VIN_WEIGHTS
from matching.records import EMAIL_LABELS, PHONE_LABELS

__all__ = [
    "DEFAULT_FIELD_RULES",
    "GOLDEN_COLUMNS",
    "RULES",
    "RULE_FIELDS",
    "GoldenJson",
    "GoldenRecords",
    "Rule",
    "SurvivorshipRules",
    "golden_records",
    "write_jsonl",
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
#: The columns of ``norm`` that golden records read (any others are ignored): a caller
#: holding a wider normalized frame may pass just these and let the rest go.
NORM_COLUMNS: tuple[str, ...] = (
    *_NAME_FIELDS, "customer_key", *PHONE_LABELS, *EMAIL_LABELS, "vin_1", "vin_2", "vin_3",
    "street", "unit", "postal_code", "city", "state",
)

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
      Text columns are pandas' ``str`` (Arrow-backed, missing = NaN); text read from
      Arrow-backed records is gathered by Arrow, without a Python string per value.
    - ``golden_json``: the myKaarma request body (``{"customer": ..., "vehicles": ...}``)
      of each cluster, exactly in the documented shape; ``golden_cluster_ids[i]`` is
      the cluster of ``golden_json[i]`` (kept apart: unknown keys would reach the API).
      A :class:`GoldenJson`: a sequence of dicts built on access (``len``, indexing,
      iteration, ``==`` with a list); :func:`write_jsonl` writes it as JSON lines.
    - ``provenance``: ``cluster_id, field, value, record_id, rule``: the record each
      surviving value came from and the rule that chose it. Single fields
      (``first_name``, ``middle_name``, ``last_name``, ``company``, ``customer_key``)
      give one row; union fields (``address``, ``phone``, ``email``, ``vin``) one row per
      kept value, the preferred one with the field's rule, the others with ``union``
      (VINs are all ``union``); the record is the first holder of the value in rule
      order; ``address`` values are the written parts joined by ", "; a name whose
      written form came from a better spelled record has ``<rule>+casing``. Rows are
      grouped by field, then by cluster; ``cluster_id``, ``field``, ``record_id`` and
      ``rule`` are categoricals (millions of rows at 1M records); the ``record_id``
      categories are the record ids in sorted order, as ``records`` holds them (Arrow
      text stays Arrow text: a million ids are not turned into Python strings), and the
      ``cluster_id`` ones the cluster ids in sorted order.
    - ``issues``: ``cluster_id, path, message, severity`` from
      ``CustomerRequest.validate()`` of each ``golden_json`` entry (paths as there,
      e.g. ``customer.firstName``); ``severity`` is "error" or "warning".
    - ``stats``: ``records``, ``clusters`` and ``seconds`` (wall time per step), for
      run summaries (``DedupeResult.stats``).
    """

    golden: pd.DataFrame
    golden_json: GoldenJson
    golden_cluster_ids: list[Any]
    provenance: pd.DataFrame
    issues: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- internals

_MISSING_DATE = np.iinfo(np.int64).min
# Source columns that hold few distinct texts in an export (a dictionary pays off).
_FEW_DISTINCT_COLUMNS = frozenset({*_NAME_FIELDS, "address_line2", "city", "state", "country"})
_SLOTS = 4  # room for the slot (phone_1, phone_2, vin_1..vin_3) inside a sort key


@dataclass
class _Context:
    """Per-record arrays shared by every field; positions are rows of ``records``."""

    records: pd.DataFrame
    # The normalized columns golden records read, by name: Series of the caller's frame,
    # or arrays (object) golden records may let go of (see :meth:`release`).
    norm: dict[str, Any]
    by_rid: np.ndarray  # int64: the rows in record_id order
    cluster: np.ndarray  # int64 cluster code per record (codes follow sorted cluster ids)
    cluster_ids: pd.Index  # the cluster id of each code
    rank: np.ndarray  # int64, unique: 0 = oldest record, n - 1 = newest
    created: np.ndarray  # int64 ns since the epoch, _MISSING_DATE where missing
    rid_rank: np.ndarray  # int64: position of the record_id in sorted order
    # Normalized columns that replace those of ``norm`` (emails, when norm holds keys).
    overrides: dict[str, np.ndarray] = field(default_factory=dict)
    # The email match keys norm held (``norm_email_keys``), by column.
    email_keys: dict[str, np.ndarray] = field(default_factory=dict)
    # Integer codes of normalized columns (``norm_codes``): compared instead of the text.
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    _text: dict[str, _RawText] = field(default_factory=dict)
    _present: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_ids)

    @functools.cached_property
    def record_ids(self) -> np.ndarray:
        """The record ids as an object array (None where missing): made on first use only,
        as Arrow text ids are checked and ordered without a million Python strings."""
        return self.records["record_id"].to_numpy(dtype=object, na_value=None)

    @functools.cached_property
    def record_categories(self) -> pd.CategoricalDtype:
        """The record ids in record_id order, as categories (codes: ``rid_rank``): as the
        records hold them when that is Arrow-backed text (no Python strings), else as
        an object index."""
        column = self.records["record_id"]
        identity = _is_identity(self.by_rid)
        if _arrow_text(column) is not None:
            values = column.array if identity else column.array.take(self.by_rid)
            return distinct_categories(pd.Index(values, name=None))
        ids = self.record_ids if identity else self.record_ids[self.by_rid]
        return distinct_categories(pd.Index(ids, dtype=object, name=None))

    def keys(self, column: str, rows: np.ndarray) -> np.ndarray:
        """A key per value of the normalized column at ``rows`` (equal values, equal
        keys: see :func:`_hash_keys`; missing values all alike): its codes when the
        context has them, else hashes of the values."""
        if column in self.codes and column not in self.overrides:
            return self.codes[column][rows].astype(np.int64)
        values, present = self.normalized(column)
        return _hash_keys(values[rows], present[rows])

    def release(self, *columns: str) -> None:
        """Let go of normalized columns no step reads any more (and what was derived
        from them): when ``norm`` holds the only reference, their memory goes now
        rather than at the end, where a run's memory peaks."""
        for column in columns:
            self.norm.pop(column, None)
            self.overrides.pop(column, None)
            self.email_keys.pop(column, None)
            self.codes.pop(column, None)
            self._present.pop(column, None)

    def release_text(self, *columns: str) -> None:
        """Let go of the source text read so far of ``columns`` (all when none are
        named): dictionaries, codes, trimmed values."""
        for column in columns or list(self._text):
            self._text.pop(column, None)

    def normalized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """The normalized column as an object array, and where it holds a value (the
        array is only meaningful there)."""
        return self.values(column), self.present(column)

    def values(self, column: str) -> np.ndarray:
        """The normalized column as an object array (None, or another missing value,
        where empty)."""
        if column in self.overrides:
            return self.overrides[column]
        data = self.norm.get(column)
        if data is None:
            return np.full(len(self.cluster), None, dtype=object)
        return data if isinstance(data, np.ndarray) else data.to_numpy(dtype=object)

    def present(self, column: str) -> np.ndarray:
        """Where the normalized column holds a value (computed once per column: a
        missing-value scan of a million objects is not cheap, and several steps ask)."""
        if column not in self._present:
            data = self.norm.get(column)
            if column in self.overrides:
                mask = self.overrides[column] != None  # noqa: E711 - str or None
            elif column in self.codes:
                mask = self.codes[column] >= 0
            elif data is None:
                mask = np.zeros(len(self.cluster), dtype=bool)
            elif isinstance(data, np.ndarray):
                mask = pd.notna(data)
            else:
                mask = data.notna().to_numpy()
            self._present[column] = mask
        return self._present[column]

    def text(self, column: str) -> _RawText | None:
        """The source text of ``column`` (None if records has no such column)."""
        if column not in self.records.columns:
            return None
        if column not in self._text:
            self._text[column] = _RawText(
                self.records[column], dictionary=column in _FEW_DISTINCT_COLUMNS
            )
        return self._text[column]

    def raw_length(self, column: str, rows: np.ndarray) -> np.ndarray:
        """Length of the trimmed source text at ``rows`` (0 where empty or absent)."""
        text = self.text(column)
        if text is None or not len(rows):
            return np.zeros(len(rows), dtype=np.int64)
        return text.per_value(rows, _trimmed_length)

    def raw(self, column: str, rows: np.ndarray) -> np.ndarray:
        """Trimmed source text of ``column`` at ``rows`` (None where empty or absent)."""
        text = self.text(column)
        if text is None:
            return np.full(len(rows), None, dtype=object)
        return text(rows)


class _RawText:
    """The source text of one column: trimmed (None where empty), by row.

    Arrow-backed text of a column with few distinct values (``dictionary``: names,
    cities, states...) is dictionary encoded once, so every later look-up is an integer
    gather; other Arrow text is taken in row order (several times faster than a random
    take) and trimmed by Arrow.
    """

    def __init__(self, values: pd.Series, *, dictionary: bool) -> None:
        self.values = values
        self.arrow = _arrow_text(values)
        self.codes: np.ndarray | None = None  # per row, into the dictionary (-1 = missing)
        if self.arrow is not None and len(self.arrow):
            if self.arrow.num_chunks != 1:
                self.arrow = pa.chunked_array([self.arrow.combine_chunks()])
            if dictionary:
                encoded = pc.dictionary_encode(self.arrow.chunk(0))
                self.codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
                self.written_dictionary = encoded.dictionary
                self.dictionary = _blank_as_null(pc.utf8_trim_whitespace(encoded.dictionary))
                # A trailing None: code -1 picks it.
                self.trimmed = np.append(self.dictionary.to_numpy(zero_copy_only=False), None)

    @functools.cached_property
    def written(self) -> np.ndarray:
        """The dictionary as written (untrimmed), with a trailing None."""
        return np.append(self.written_dictionary.to_numpy(zero_copy_only=False), None)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """Trimmed text at ``rows`` (object, None where empty or missing)."""
        if self.codes is not None:
            return self.trimmed[self.codes[rows]]
        if self.arrow is not None:
            order = np.argsort(rows, kind="stable")
            taken = pc.utf8_trim_whitespace(self.arrow.take(pa.array(rows[order])))
            taken = _blank_as_null(taken)
            out = np.empty(len(rows), dtype=object)
            out[order] = taken.to_numpy(zero_copy_only=False)
            return out
        values = self.values.iloc[rows]
        if isinstance(values.dtype, pd.StringDtype):
            out = values.str.strip().to_numpy(dtype=object, na_value=None)
            out[out == ""] = None
            return out
        return np.array([_clean_text(v) for v in values.to_numpy(dtype=object)], dtype=object)

    def arrow_at(self, rows: np.ndarray) -> pa.Array:
        """Trimmed Arrow text at ``rows`` (null where empty or missing); fastest with
        ``rows`` in increasing order. Arrow-backed columns only."""
        assert self.arrow is not None
        if self.codes is not None:
            codes = self.codes[rows]
            return self.dictionary.take(pa.array(codes, mask=codes < 0))
        taken = pc.utf8_trim_whitespace(self.arrow.take(pa.array(rows)))
        return _blank_as_null(taken).combine_chunks()

    def arrow_take(self, rows: np.ndarray) -> pa.Array | None:
        """Trimmed text at ``rows``, in their order, as an Arrow large_string array (null
        where empty or missing, and where a row is -1); None when the column is not
        Arrow-backed text. Gathered without a Python string per value."""
        if self.arrow is None:
            return None
        present = np.flatnonzero(rows >= 0)
        if self.codes is None:  # read in row order (see arrow_at), then put back in place
            present = present[np.argsort(rows[present], kind="stable")]
        at = np.full(len(rows), -1, dtype=np.int64)
        at[present] = np.arange(len(present))
        taken = self.arrow_at(rows[present]).take(pa.array(at, mask=at < 0))
        return taken if taken.type == pa.large_string() else taken.cast(pa.large_string())

    def per_value(self, rows: np.ndarray, func: Any) -> np.ndarray:
        """``func`` of the text as written at ``rows`` (0 where missing), computed once
        per distinct value."""
        if self.codes is not None:
            codes = self.codes[rows]
            used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(self.trimmed)))
            mapped = np.zeros(len(self.written), dtype=np.int64)
            mapped[used] = [func(v) for v in self.written[used].tolist()]
            return mapped[codes]
        return _per_unique(self.values.iloc[rows], func)


def _blank_as_null(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def _arrow_text(values: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow string array behind a Series of Arrow-backed text, else None."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    data = getattr(values.array, "_pa_array", None)
    if not isinstance(data, pa.ChunkedArray) or not (
        pa.types.is_string(data.type) or pa.types.is_large_string(data.type)
    ):
        return None
    return data


def _is_identity(order: np.ndarray) -> bool:
    return bool(len(order) == 0 or (order[0] == 0 and (np.diff(order) == 1).all()))


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
    if present is not None and 2 * int(np.count_nonzero(present)) < len(values):
        # Mostly empty (units, second phones...): hash only the values there are.
        keys = np.zeros(len(values), dtype=np.int64)
        at = np.flatnonzero(present)
        keys[at] = np.fromiter(map(hash, values[at]), dtype=np.int64, count=len(at))
        return keys
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
    fast = _plain_timestamps(values)
    if fast is not None:
        ns, done = fast
        rest = np.flatnonzero(~done)
        if len(rest):
            ns[rest] = _parse_dates_pandas(values.iloc[rest])
        return ns
    return _parse_dates_pandas(values)


def _parse_dates_pandas(values: pd.Series) -> np.ndarray:
    """:func:`_parse_dates` of any cells, by pandas."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    retry = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    if len(retry):
        # Other spellings ("05/31/2014 5:45 PM"): each distinct one alone, so one odd
        # value cannot make pandas guess a wrong format for the rest.
        text = pd.Series(values.iloc[retry].to_numpy(dtype=object), dtype=object)
        lookup = {u: _parse_one(u) for u in pd.unique(text)}
        again = pd.to_datetime(text.map(lookup), utc=True)
        ns = _utc_ns(parsed)
        # Written as int64: when no odd cell is readable the retry is all NaT, which
        # pandas types as naive and refuses to put into the UTC column.
        ns[retry] = _utc_ns(again)
        return ns
    return _utc_ns(parsed)  # NaT is int64 min, which is _MISSING_DATE


def _utc_ns(parsed: pd.Series) -> np.ndarray:
    """Datetimes (UTC, or naive when all NaT) as int64 ns since the epoch (a copy)."""
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.astype("datetime64[ns]").to_numpy().view(np.int64).copy()


# Positions of the digits of "YYYY-MM-DD HH:MM:SS", and its separators.
_STAMP_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_STAMP_SEPARATORS = ((4, b"-"), (7, b"-"), (13, b":"), (16, b":"))
_DAYS_BEFORE_MONTH = np.array([0, 306, 337, 0, 31, 61, 92, 122, 153, 184, 214, 245, 275], dtype=np.int32)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _plain_timestamps(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The cells of Arrow text spelled exactly ``YYYY-MM-DD HH:MM:SS`` (or with ``T``),
    a valid date and time of 1900-2199, as int64 ns since the epoch (UTC), read from
    the bytes with numpy; and which cells those are. None when not Arrow text.

    That is how exports write dates, and it is what ``pd.to_datetime(..., format=
    "ISO8601")`` makes of them, at a fraction of the cost; every other cell (offsets,
    fractions, other spellings, missing) goes through pandas as before.
    """
    text = _arrow_text(values)
    if text is None or not len(text):
        return None
    array = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    _, offsets, data = array.buffers()
    ns = np.full(len(array), _MISSING_DATE, dtype=np.int64)
    done = np.zeros(len(array), dtype=bool)
    if data is None or not len(data):
        return ns, done
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=width)[array.offset : array.offset + len(array) + 1]
    rows = np.flatnonzero(np.diff(offsets) == 19)
    if array.null_count:
        rows = rows[array.is_valid().to_numpy(zero_copy_only=False)[rows]]
    data = np.frombuffer(data, dtype=np.uint8)
    if len(rows) == len(array):
        # Every cell is 19 bytes: the text is a (cells, 19) byte matrix as it lies.
        matrix = data[offsets[0] : offsets[-1]].reshape(-1, 19)

        def byte(at: int) -> np.ndarray:
            return matrix[:, at]
    else:
        start = offsets[:-1][rows].astype(np.int64)

        def byte(at: int) -> np.ndarray:
            return data[start + at]

    ok = np.ones(len(rows), dtype=bool)
    for at, sep in _STAMP_SEPARATORS:
        ok &= byte(at) == sep[0]
    middle = byte(10)
    ok &= (middle == ord(" ")) | (middle == ord("T"))

    def number(*positions: int) -> np.ndarray:
        # The number the digits at ``positions`` write, as int32: the parts of a date
        # and time are small, and int64 arrays for a million cells are what made this
        # step's memory peak. A byte that is no digit (below "0" wraps) fails ``ok``.
        value = np.zeros(len(rows), dtype=np.int32)
        for at in positions:
            d = byte(at) - np.uint8(ord("0"))
            np.logical_and(ok, d <= 9, out=ok)
            value *= 10
            value += d
        return value

    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    hour, minute, second = number(11, 12), number(14, 15), number(17, 18)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    month_days = _MONTH_DAYS[np.where(month_ok, month, 0)] + (leap & (month == 2))
    ok &= (year >= 1900) & (year < 2200) & month_ok & (day >= 1) & (day <= month_days)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    # Only the valid cells from here (their values are small: no int32 overflow).
    year, month, day, hour, minute, second = (
        v[ok] for v in (year, month, day, hour, minute, second)
    )
    # Days since 1970-01-01 (the proleptic Gregorian calendar counted from March, so
    # that the leap day ends a year).
    y = year - (month <= 2)
    era, yoe = y // 400, y % 400
    doy = _DAYS_BEFORE_MONTH[month] + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    seconds = ((days.astype(np.int64) * 24 + hour) * 60 + minute) * 60 + second
    ns[rows[ok]] = seconds * 1_000_000_000
    done[rows[ok]] = True
    return ns, done


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


def _rule_keys(
    cand: _Candidates, ctx: _Context, rule: str, length: np.ndarray | None
) -> list[tuple[np.ndarray, int]]:
    """The sort keys (see :func:`_sort`) of ``rule`` within a cluster: smaller is better.

    Every ordering ends on the record's rank and the slot, unique per candidate, so the
    result does not depend on the input row order.
    """
    n = len(ctx.cluster)
    rank = ctx.rank[cand.rows]
    newest_first = (n - 1 - rank) * _SLOTS + cand.slot
    bound = n * _SLOTS
    if rule == "most_recent":
        return [(newest_first, bound)]
    if rule == "first_seen":
        return [(rank * _SLOTS + cand.slot, bound)]
    if rule == "longest":
        assert length is not None
        top = int(length.max()) if len(length) else 0
        return [(top - length, top + 1), (newest_first, bound)]
    if rule == "most_frequent":
        pair = pd.factorize(_mix(ctx.cluster[cand.rows], cand.key))[0]
        freq = np.bincount(pair)[pair] if len(pair) else pair
        top = int(freq.max()) if len(freq) else 0
        return [(top - freq, top + 1), (newest_first, bound)]
    raise ValueError(f"unknown survivorship rule {rule!r}; one of {', '.join(RULES)}")


def _rule_order(
    cand: _Candidates, ctx: _Context, rule: str, length: np.ndarray | None
) -> np.ndarray:
    """Candidate indices sorted by cluster, best first under ``rule`` within a cluster."""
    keys = _rule_keys(cand, ctx, rule, length)
    return _sort([(ctx.cluster[cand.rows], ctx.n_clusters), *keys])


def _composite(keys: list[tuple[np.ndarray, int]], size: int) -> np.ndarray | None:
    """The keys as one int64 per candidate, in the same order; None if it cannot fit."""
    total = 1
    for _, bound in keys:
        total *= max(bound, 1)
    if total >= 2**62:
        return None
    composite = np.zeros(size, dtype=np.int64)
    for values, bound in keys:
        composite = composite * max(bound, 1) + values
    return composite


def _best_per_cluster(cl: np.ndarray, score: np.ndarray, n_clusters: int) -> np.ndarray:
    """Index of the candidate with the smallest ``score`` (unique within a cluster) of
    each cluster that has candidates: a scatter-min, no sort."""
    best = np.full(n_clusters, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, cl, score)
    return np.flatnonzero(score == best[cl])


@dataclass
class _Single:
    """The survivor of a single-valued field: per cluster the record (-1 = none), and
    the rule label."""

    row: np.ndarray
    label: np.ndarray  # int8 codes into _RULE_LABELS


def _single_field(ctx: _Context, column: str, rule: str, *, spelling: bool) -> _Single:
    """Choose ``column`` by ``rule``; with ``spelling``, take the written form from the
    best-spelled record carrying the winning normalized value."""
    present = ctx.present(column)
    result = np.full(ctx.n_clusters, -1, dtype=np.int64)
    label = np.full(ctx.n_clusters, -1, dtype=np.int8)
    rows = np.flatnonzero(present)
    # A record that is the only one of its cluster with a value is the survivor: no
    # ranking needed (most clusters are singletons).
    cl = ctx.cluster[rows]
    alone = np.bincount(cl, minlength=ctx.n_clusters)[cl] == 1
    result[cl[alone]] = rows[alone]
    label[cl[alone]] = _RULE_LABELS.index(rule)
    rows = rows[~alone]
    key = ctx.keys(column, rows)
    cand = _Candidates(rows, np.zeros(len(rows), np.int64), key, rows)  # values unused
    length = None
    if rule == "longest":
        length = ctx.raw_length(column, rows)
    cl = ctx.cluster[rows]
    keys = _rule_keys(cand, ctx, rule, length)
    # Candidates' rank under the rule (smaller is better): one int64, else sorted.
    score = _composite(keys, len(rows))
    if score is None:
        order = _sort([(cl, ctx.n_clusters), *keys])
        score = np.empty(len(order), dtype=np.int64)
        score[order] = np.arange(len(order))
    first = _best_per_cluster(cl, score, ctx.n_clusters)
    result[cl[first]] = rows[first]
    label[cl[first]] = _RULE_LABELS.index(rule)
    if spelling and len(rows):
        winner_key = np.zeros(ctx.n_clusters, dtype=np.int64)
        winner_key[cl[first]] = key[first]
        same = np.flatnonzero(key == winner_key[cl])
        # Only clusters where several records carry the winning value have a choice.
        same = same[np.bincount(cl[same], minlength=ctx.n_clusters)[cl[same]] > 1]
        if len(same):
            # The best spelled (lowest penalty) record carrying the value, the first in
            # rule order among equals: the winner itself unless a carrier is better.
            penalty = ctx.text(column).per_value(rows[same], _spelling_penalty)
            same_cl = cl[same]
            lowest = np.full(ctx.n_clusters, 4, dtype=np.int64)
            for p in (3, 2, 1, 0):
                lowest[same_cl[penalty == p]] = p
            winner_penalty = np.full(ctx.n_clusters, 4, dtype=np.int64)
            is_winner = rows[same] == result[same_cl]
            winner_penalty[same_cl[is_winner]] = penalty[is_winner]
            better = lowest[same_cl] < winner_penalty[same_cl]
            at = np.flatnonzero(better & (penalty == lowest[same_cl]))
            if len(at):
                best = same[at][_best_per_cluster(same_cl[at], score[same[at]], ctx.n_clusters)]
                result[cl[best]] = rows[best]
                label[cl[best]] = _RULE_LABELS.index(rule + "+casing")
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
    """The distinct values of each cluster in rule order. A candidate alone in its
    cluster is kept as it is; only clusters with several candidates are sorted."""
    n_cl = ctx.n_clusters
    cl_all = ctx.cluster[cand.rows]
    counts = np.bincount(cl_all, minlength=n_cl)
    shared = np.flatnonzero(counts[cl_all] > 1)
    alone = np.flatnonzero(counts[cl_all] == 1)
    # Values are not needed to order: not gathered.
    sub = _Candidates(cand.rows[shared], cand.slot[shared], cand.key[shared], cand.values)
    order = shared[_rule_order(sub, ctx, rule, None if length is None else length[shared])]
    cl = cl_all[order]
    repeated = pd.Series(_mix(cl, cand.key[order])).duplicated().to_numpy()
    kept, kept_cl = order[~repeated], cl[~repeated]
    kept_start = np.searchsorted(kept_cl, np.arange(n_cl + 1), side="left")
    kept_pos = np.arange(len(kept)) - kept_start[kept_cl]
    sizes = np.diff(kept_start) + np.bincount(cl_all[alone], minlength=n_cl)
    start = np.zeros(n_cl + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    idx = np.empty(int(start[-1]), dtype=np.int64)
    idx[start[kept_cl] + kept_pos] = kept
    idx[start[cl_all[alone]]] = alone
    out_cl = np.repeat(np.arange(n_cl, dtype=np.int64), sizes)
    return _Union(idx, out_cl, np.arange(len(idx)) - start[out_cl], start)


def _slots(ctx: _Context, columns: Iterable[str], *, keys: bool = True) -> _Candidates:
    """Candidates over slot columns (phone_1, phone_2...) of normalized values. Keys are
    only compared within a cluster, so only clusters with several candidates get them
    (the others have key 0); with ``keys`` False none do (the caller sets them)."""
    columns = tuple(columns)
    rows, slots, values = [], [], []
    for slot, column in enumerate(columns):
        norm, present = ctx.normalized(column)
        r = np.flatnonzero(present)
        rows.append(r)
        slots.append(np.full(len(r), slot, dtype=np.int64))
        values.append(norm[r])
    vals = np.concatenate(values)
    cand_rows = np.concatenate(rows).astype(np.int64)
    slot = np.concatenate(slots)
    key = np.zeros(len(vals), dtype=np.int64)
    if keys:
        several = _in_shared_clusters(ctx, cand_rows)
        if all(c in ctx.codes and c not in ctx.overrides for c in columns):
            # The slots' codes number one set of values (norm_codes): no hashing.
            for k, column in enumerate(columns):
                these = several[slot[several] == k]
                key[these] = ctx.keys(column, cand_rows[these])
        else:
            key[several] = _hash_keys(vals[several])
    return _Candidates(cand_rows, slot, key, vals)


def _in_shared_clusters(ctx: _Context, rows: np.ndarray) -> np.ndarray:
    """Positions of ``rows`` whose cluster holds at least one other of ``rows``."""
    cl = ctx.cluster[rows]
    return np.flatnonzero(np.bincount(cl, minlength=ctx.n_clusters)[cl] > 1)


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
    cand = _slots(ctx, EMAIL_LABELS, keys=False)
    cand = cand.take(~_placeholder_emails(cand.values, dealer_domains))
    # One entry per mailbox (j.doe@gmail.com = jdoe@gmail.com). Match keys only matter
    # where a cluster has several addresses, so only those are computed.
    several = _in_shared_clusters(ctx, cand.rows)
    if len(several):
        cand.key[several] = _hash_keys(_candidate_mailboxes(ctx, cand, several))
    return cand


def _candidate_mailboxes(ctx: _Context, cand: _Candidates, at: np.ndarray) -> np.ndarray:
    """The mailbox (match key) of the email candidates ``at``: the keys ``norm`` held
    when it held keys (``norm_email_keys``), else computed from the addresses."""
    values = cand.values[at]
    if not ctx.email_keys:
        return _mailboxes(values)
    keys = np.full(len(at), None, dtype=object)
    rows, slots = cand.rows[at], cand.slot[at]
    for slot, column in enumerate(EMAIL_LABELS):
        if column in ctx.email_keys:
            these = np.flatnonzero(slots == slot)
            keys[these] = ctx.email_keys[column][rows[these]]
    missing = np.flatnonzero(keys == None)  # noqa: E711 - elementwise; keys are str or None
    if len(missing):
        keys[missing] = _mailboxes(values[missing])
    return keys


# Deletes ASCII digits and punctuation: what is left of a placeholder local part is its
# letters (the emails module's squashing only ever removes such characters).
_NOT_LETTERS = str.maketrans("", "", "0123456789!#$%&'*+-./=?^_`{|}~")


def _arrow_strings(values: np.ndarray, *, missing: bool = False) -> pa.Array | None:
    """``values`` (str; with ``missing``, also None, NaN or NA, which become null) as an
    Arrow array; None if Arrow cannot hold them as text."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=missing)
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):
        return None


def _placeholder_emails(addresses: np.ndarray, dealer_domains: Iterable[str] | str) -> np.ndarray:
    """:func:`~matching.normalize.is_placeholder_email` of each normalized address.

    That function parses each address again (seconds for a million distinct ones), so a
    quick test first clears the addresses that cannot be placeholders: a placeholder's
    domain (or a parent domain) is a placeholder or dealer domain, or its local part
    before any ``+``, letters only, is that of a placeholder local part. The rest are
    judged by the emails module, which keeps the last word. The quick test is one
    regular expression run by Arrow over all addresses.
    """
    locals_ = {p.lower().translate(_NOT_LETTERS) for p in PLACEHOLDER_EMAIL_LOCAL_PARTS}
    dealer = [dealer_domains] if isinstance(dealer_domains, str) else list(dealer_domains)
    domains = {
        d.strip().lstrip("@").lower().rstrip(".") for d in (*PLACEHOLDER_EMAIL_DOMAINS, *dealer)
    }
    text = _arrow_strings(addresses) if len(addresses) else None
    if text is None:
        maybe = _maybe_placeholders(addresses, locals_, domains)
    else:
        maybe = pc.fill_null(
            pc.match_substring_regex(text, _maybe_placeholder_pattern(locals_, domains)), False
        ).to_numpy(zero_copy_only=False)
    result = np.zeros(len(addresses), dtype=bool)
    if maybe.any():
        exact = is_placeholder_email_series(pd.Series(addresses[maybe], dtype=object), dealer)
        result[maybe] = exact.to_numpy()
    return result


def _maybe_placeholder_pattern(locals_: set[str], domains: set[str]) -> str:
    """An RE2 pattern matching an address when :func:`_maybe_placeholders` flags it.

    The local part is all before the last ``@``, the domain all after it. A local part
    is flagged when, up to its first ``+``, deleting the characters of
    :data:`_NOT_LETTERS` leaves a placeholder word: the word's characters in order with
    only such characters around them. A domain is flagged when it or a parent domain is
    one of ``domains``.
    """
    other = "[" + re.escape("0123456789!#$%&'*-./=?^_`{|}~") + "]*"  # deleted, except "+"
    words = "|".join(
        other + "".join(re.escape(ch) + other for ch in word) for word in sorted(locals_)
    )
    names = "|".join(re.escape(d) for d in sorted(domains))
    return f"(?s)(?:^(?:{words})(?:\\+.*)?@[^@]*$)|(?:@(?:[^@]*\\.)?(?:{names})$)"


def _maybe_placeholders(
    addresses: np.ndarray, locals_: set[str], domains: set[str]
) -> np.ndarray:
    """The quick test of :func:`_placeholder_emails`, one address at a time."""
    by_domain: dict[str, bool] = {}  # few distinct domains: test each once
    maybe = np.zeros(len(addresses), dtype=bool)
    for i, address in enumerate(addresses.tolist()):
        local, _, domain = str(address).rpartition("@")
        flag = by_domain.get(domain)
        if flag is None:
            flag = by_domain[domain] = _placeholder_domain(domain, domains)
        maybe[i] = flag or local.split("+", 1)[0].translate(_NOT_LETTERS) in locals_
    return maybe


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
    keys = np.array(addresses, dtype=object)
    text = _arrow_strings(keys) if len(keys) else None
    if text is None:
        folds = np.fromiter(
            (
                (domain := a.rpartition("@")[2]) in GMAIL_DOMAINS
                or ("+" in a and domain in PLUS_ADDRESSING_DOMAINS)
                for a in keys.tolist()
            ),
            dtype=bool,
            count=len(keys),
        )
    else:
        gmail = "|".join(re.escape(d) for d in sorted(GMAIL_DOMAINS))
        plus = "|".join(re.escape(d) for d in sorted(PLUS_ADDRESSING_DOMAINS))
        pattern = f"(?s)(?:@(?:{gmail})$)|(?:\\+.*@(?:{plus})$)"
        folds = pc.fill_null(pc.match_substring_regex(text, pattern), False).to_numpy(
            zero_copy_only=False
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
    # Only a VIN that shares its cluster with another can fold.
    shared = _in_shared_clusters(ctx, cand.rows)
    values = cand.values[shared]
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    cl = ctx.cluster[cand.rows[shared]]
    full = lengths == _FULL_VIN
    drop = np.zeros(len(shared), dtype=bool)
    for size in np.unique(lengths[~full]).tolist():
        these = lengths == size
        fulls = full & np.isin(cl, cl[these])
        if not fulls.any():
            continue
        tails = pd.MultiIndex.from_arrays(
            [cl[fulls], np.array([v[-size:] for v in values[fulls].tolist()], dtype=object)]
        )
        drop[these] = pd.MultiIndex.from_arrays([cl[these], values[these]]).isin(tails)
    drop[full] = _vin_typos(cl[full], cand.key[shared[full]], values[full])
    if not drop.any():
        return cand
    keep = np.ones(len(cand.rows), dtype=bool)
    keep[shared[drop]] = False
    return cand.take(keep)


def _vin_typos(cl: np.ndarray, key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of these full-VIN candidates are a typo of another VIN of their cluster:
    one substitution or one swap of neighbours away from it, with a wrong check digit
    where the other's is right.

    Check digits are computed for every distinct VIN (as a (VINs, 17) byte matrix);
    only clusters holding both a VIN with a wrong check digit and one with a right one
    can have a typo. There pairs are formed (each distinct VIN against the next ``d``
    ones in cluster order) and compared as byte matrices: no Python loop per pair.
    """
    result = np.zeros(len(cl), dtype=bool)
    pair = _mix(cl, key)
    first = np.flatnonzero(~pd.Series(pair).duplicated().to_numpy())
    chars = np.frombuffer("".join(values[first].tolist()).encode("ascii"), dtype=np.uint8)
    chars = chars.reshape(-1, _FULL_VIN)
    right = _check_digit_ok(chars)
    bad = np.bincount(cl[first[~right]], minlength=int(cl.max()) + 1 if len(cl) else 0) > 0
    good = np.bincount(cl[first[right]], minlength=len(bad)) > 0
    mixed = np.flatnonzero((bad & good)[cl[first]])
    mixed = mixed[np.argsort(cl[first[mixed]], kind="stable")]  # by cluster
    first, chars, ok = first[mixed], chars[mixed], right[mixed]
    c = cl[first]
    left: list[np.ndarray] = []
    later: list[np.ndarray] = []
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
        later.append(i[close] + d)
    lo = np.concatenate(left) if left else np.zeros(0, dtype=np.int64)
    hi = np.concatenate(later) if later else np.zeros(0, dtype=np.int64)
    if not len(lo):
        return result
    typo = np.zeros(len(c), dtype=bool)
    typo[lo[~ok[lo] & ok[hi]]] = True
    typo[hi[~ok[hi] & ok[lo]]] = True
    # Every candidate row carrying a typo VIN of its cluster.
    return pd.Index(pair[first][typo]).get_indexer(pair) >= 0


# The North American check digit (matching.normalize.vins), over a (VINs, 17) byte matrix.
_VIN_VALUE = np.zeros(256, dtype=np.int16)
for _ch, _value in _VIN_TRANSLITERATION.items():
    _VIN_VALUE[ord(_ch)] = _value
_VIN_WEIGHT = np.array(_VIN_WEIGHTS, dtype=np.int16)


def _check_digit_ok(chars: np.ndarray) -> np.ndarray:
    """``vin_check_digit_ok`` of normalized full VINs given as a (VINs, 17) uint8 matrix:
    such a VIN is its own normalized form, so the test is the check digit alone."""
    # int16: a product is at most 9 * 10 and a sum 17 * 90 (int64 would take 136
    # bytes per VIN for a moment, hundreds of MB at a million records).
    remainder = (_VIN_VALUE[chars] * _VIN_WEIGHT).sum(axis=1, dtype=np.int16) % 11
    expected = np.where(remainder == 10, ord("X"), ord("0") + remainder)
    return chars[:, _VIN_CHECK_POSITION] == expected


def _address_candidates(ctx: _Context) -> _Candidates:
    has_street, has_zip = ctx.present("street"), ctx.present("postal_code")
    rows = np.flatnonzero(has_street | has_zip | ctx.present("city"))
    # Keys only tell apart the addresses of one cluster: only shared clusters get them.
    key = np.zeros(len(rows), dtype=np.int64)
    shared = _in_shared_clusters(ctx, rows)
    at = rows[shared]
    # The presence masks are the context's, computed once per column.
    part = _mix(ctx.keys("street", at), ctx.keys("unit", at))
    part = _mix(part, ctx.keys("postal_code", at))
    # Without street and ZIP, the city and state tell addresses apart (rare).
    locality = np.flatnonzero(~(has_street | has_zip)[at])
    if len(locality):
        where = at[locality]
        place = _mix(ctx.keys("city", where), ctx.keys("state", where))
        part[locality] = _mix(part[locality], place)
    key[shared] = part
    slots = np.zeros(len(rows), np.int64)
    return _Candidates(rows, slots, key, np.full(len(rows), None, dtype=object))


def _spread(n: int, cl: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` at positions ``cl`` of an object array of ``n`` Nones."""
    out = np.empty(n, dtype=object)  # None-filled, without np.full's per-item fill
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
        """Rows for ``cl``; ``rule`` is one label, or label codes (:data:`_RULE_LABELS`).

        Clusters and records are kept as the codes of their categoricals, in the
        narrowest integers that hold them: millions of rows wait here until the end."""
        if isinstance(rule, str):
            rule = np.full(len(cl), _RULE_LABELS.index(rule), dtype=np.int8)
        clusters = cl.astype(_code_dtype(self.ctx.n_clusters))
        records = self.ctx.rid_rank[rows].astype(_code_dtype(len(self.ctx.rid_rank)))
        self.parts.append((clusters, name, values, records, rule))

    def add_union(
        self, name: str, u: _Union, values: np.ndarray, rows: np.ndarray, rule: str
    ) -> None:
        """One row per kept value of a union; the preferred one carries ``rule``."""
        labels = np.where(u.pos == 0, _RULE_LABELS.index(rule), _RULE_LABELS.index("union"))
        self.add(name, u.cl, values, rows, labels.astype(np.int8))

    def frame(self) -> pd.DataFrame:
        # Each column's parts are let go once they are joined (and its categorical codes
        # made): at a million records the parts and the columns are hundreds of MB each,
        # and this is the last step of golden records, where a run's memory peaks.
        cls, names, values, rows, rules = (list(c) for c in zip(*self.parts, strict=True))
        self.parts = []
        field_codes = np.concatenate(
            [np.full(len(c), self.FIELDS.index(name), dtype=np.int8) for c, name in zip(cls, names, strict=True)]
        )
        # Rows stay grouped by field, then by cluster: sorting 4M rows by cluster would
        # cost more than the rest of the provenance together.
        # Ids as categoricals: codes we already have instead of millions of strings.
        cluster_id = pd.Categorical.from_codes(
            _joined(cls), dtype=distinct_categories(self.ctx.cluster_ids)
        )
        value = pd.Series(_joined(values), dtype=object, copy=False)
        record_id = pd.Categorical.from_codes(_joined(rows), dtype=self.ctx.record_categories)
        return pd.DataFrame(
            {
                "cluster_id": cluster_id,
                "field": pd.Categorical.from_codes(field_codes, categories=self.FIELDS),
                "value": value,
                "record_id": record_id,
                "rule": pd.Categorical.from_codes(_joined(rules), categories=_RULE_LABELS),
            },
            copy=False,  # no copy of millions of values into a block
        )


def distinct_categories(index: pd.Index) -> pd.CategoricalDtype:
    """The unordered categorical dtype of ``index``, whose values the caller knows to be
    distinct and present (ids checked or made so).

    ``pd.CategoricalDtype(index)`` checks that itself, through a hash engine the index
    keeps: for a million ids of Arrow text that is a million Python strings (about 60
    MB) held as long as the dtype. pandas' own unchecked constructor is used when it
    has one."""
    unchecked = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if unchecked is not None:
        try:
            dtype = unchecked(index, False)
        except TypeError:  # another signature: the checked way below
            pass
        else:
            if isinstance(dtype, pd.CategoricalDtype) and dtype.categories is index:
                return dtype
    return pd.CategoricalDtype(index)


def _code_dtype(n: int) -> type[np.signedinteger]:
    """The integer type pandas gives the codes of ``n`` categories (so it keeps ours)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts end to end; ``parts`` is emptied, so that they can be freed meanwhile."""
    joined = np.concatenate(parts)
    parts.clear()
    return joined


# --------------------------------------------------------------------------- main


def golden_records(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    norm: pd.DataFrame | dict[str, np.ndarray] | None = None,
    rules: SurvivorshipRules | None = None,
    *,
    dealer_domains: Iterable[str] | str = (),
    dealer_phones: Iterable[str] | str = (),
    validate: bool = True,
    norm_email_keys: bool = False,
    release_norm: bool = False,
    norm_codes: dict[str, np.ndarray] | None = None,
) -> GoldenRecords:
    """One golden record per cluster of ``clusters`` (``record_id, cluster_id``).

    ``records`` holds the canonical export columns (any subset besides ``record_id``);
    ``norm`` is ``normalize_frame(records)`` aligned with its index (computed if None);
    ``rules`` defaults to ``SurvivorshipRules()``. ``dealer_domains`` and
    ``dealer_phones`` are the dealer's own email domains and phone numbers: placeholders
    for its customers, never survivors. With ``validate`` False, ``issues`` is empty.

    ``norm_email_keys`` says that ``norm``'s ``email_1``/``email_2`` hold match keys
    rather than normalized addresses, as ``Prepared.norm`` of
    :func:`matching.pipeline.prepare.prepare` does: the addresses a provider rule may
    have folded are then normalized again from ``records``. So the pipeline passes its
    prepared frames: ``golden_records(prep.records, clusters, norm=prep.norm,
    norm_email_keys=True)`` gives what ``golden_records(prep.records, clusters)``
    would, without normalizing the export twice.

    ``norm`` may also be a dict of its columns (arrays aligned with ``records``; only
    :data:`NORM_COLUMNS` are read). With ``release_norm`` that dict is emptied as the
    steps finish with each column: a caller that hands over its only reference (as
    :func:`matching.pipeline.dedupe.dedupe` does) lets their memory go before the end,
    where the memory of a run peaks.

    ``norm_codes`` gives integer codes of normalized columns, as
    :meth:`matching.pipeline.prepare.Prepared.codes` does (per row, -1 where the value
    is missing; equal values, equal codes; the slots of one kind, phone_1/phone_2 and
    vin_1..vin_3, coded alike): golden records then compare codes instead of hashing
    the text, and such a column needs no values in ``norm`` unless it is a phone, email
    or VIN slot (those values are what golden records keep). Codes of the email slots
    are not used (emails are compared by mailbox). With ``release_norm`` the dict is
    emptied as ``norm`` is.

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
            norm_email_keys=norm_email_keys,
            release_norm=release_norm,
            norm_codes=norm_codes,
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
    norm: pd.DataFrame | dict[str, np.ndarray] | None,
    rules: SurvivorshipRules | None,
    *,
    dealer_domains: Iterable[str] | str,
    dealer_phones: Iterable[str] | str,
    validate: bool,
    norm_email_keys: bool,
    release_norm: bool = False,
    norm_codes: dict[str, np.ndarray] | None = None,
) -> GoldenRecords:
    rules = rules if rules is not None else SurvivorshipRules()
    clock = _Stopwatch()
    ctx = _context(records, clusters, norm, norm_email_keys, release_norm, norm_codes)
    del norm, norm_codes  # the context holds what is needed (and lets it go step by step)
    # Each step ends by giving the memory it freed back to the system: the allocator
    # keeps it otherwise, and it adds up to the peak of the steps that follow.
    release_memory()
    clock.lap("prepare")
    made = _Made(ctx)
    # Vehicles and addresses on a second thread while this one does names and contacts,
    # on a large file: the fields read their own columns, and much of each step is
    # Arrow's and numpy's work, outside Python's lock. Each side collects what it makes,
    # joined below in the order one thread makes it (the outputs are the same).
    addr_rule = rules.rule_for("address")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching-golden") \
        if len(ctx.cluster) >= _THREAD_MIN_RECORDS else None
    try:
        side = pool.submit(_vehicles_and_addresses, ctx, addr_rule) if pool is not None else None
        _names_step(ctx, rules, made)
        release_memory()
        clock.lap("names_and_key")
        _contacts_step(ctx, rules, made, dealer_phones, dealer_domains)
        release_memory()
        clock.lap("phones_and_emails")
        made.join(side.result() if side is not None else _vehicles_and_addresses(ctx, addr_rule))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    clock.lap("vins_and_addresses")  # on a second thread: the time waited for them
    out, texts, entries, prov = made.out, made.texts, made.entries, made.prov
    del made, side
    ctx.release_text()
    release_memory()
    golden = _golden_frame(ctx, out, texts)
    release_memory()
    clock.lap("golden")
    golden_json = _golden_json(out, entries, texts)
    del texts
    clock.lap("golden_json")
    issues = _issues(golden_json, ctx.cluster_ids) if validate else _no_issues()
    release_memory()
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


#: Files at least this long build vehicles and addresses on a second thread.
_THREAD_MIN_RECORDS = 50_000


class _Made:
    """What the steps of golden records make: golden columns (``out``), Arrow text
    columns (``texts``), each union's entries, and the provenance."""

    def __init__(self, ctx: _Context) -> None:
        self.out: dict[str, np.ndarray] = {}
        # The golden frame's text where the source is Arrow text: gathered by Arrow, so the
        # frame holds it without a conversion of hundreds of thousands of Python strings.
        self.texts: dict[str, pa.Array] = {}
        self.entries: dict[str, _Entries] = {}
        self.prov = _Provenance(ctx)

    def join(self, later: _Made) -> None:
        """Append what ``later`` made, as if this one's steps had made it after its own."""
        self.out.update(later.out)
        self.texts.update(later.texts)
        self.entries.update(later.entries)
        self.prov.parts.extend(later.prov.parts)


def _names_step(ctx: _Context, rules: SurvivorshipRules, made: _Made) -> None:
    """The name fields and the customer key: one value each per cluster."""
    n_cl = ctx.n_clusters
    out, texts, prov = made.out, made.texts, made.prov
    for column in (*_NAME_FIELDS, "customer_key"):
        chosen = _single_field(ctx, column, rules.rule_for(column), spelling=column in _NAME_FIELDS)
        has = np.flatnonzero(chosen.row >= 0)
        values = ctx.raw(column, chosen.row[has])
        out[column] = _spread(n_cl, has, values)
        text = ctx.text(column)
        if text is not None and text.arrow is not None:
            texts[column] = text.arrow_take(chosen.row)
        prov.add(column, has, values, chosen.row[has], chosen.label[has])
        ctx.release(column)
    ctx.release_text(*_NAME_FIELDS, "customer_key")


def _contacts_step(
    ctx: _Context, rules: SurvivorshipRules, made: _Made,
    dealer_phones: Iterable[str] | str, dealer_domains: Iterable[str] | str,
) -> None:
    """Phones and emails: the union of each cluster's, the preferred first."""
    n_cl = ctx.n_clusters
    out, entries, prov = made.out, made.entries, made.prov
    phone_cand = _phone_candidates(ctx, dealer_phones)
    email_cand = _email_candidates(ctx, dealer_domains)
    # The candidates hold the values and keys now: the normalized columns can go.
    ctx.release(*PHONE_LABELS, *EMAIL_LABELS)
    for name, cand, columns in (
        ("phone", phone_cand, tuple(PHONE_LABELS)),
        ("email", email_cand, tuple(EMAIL_LABELS)),
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
        values = cand.values[u.idx]
        prov.add_union(name, u, values, cand.rows[u.idx], rule)
        for k in (1, 2):
            at = u.pos == k - 1
            out[f"{name}_{k}"] = _spread(n_cl, u.cl[at], values[at])
        entries[name] = _Entries(u.start, {"value": values, "slot": cand.slot[u.idx]})


def _vehicles_and_addresses(ctx: _Context, addr_rule: Rule) -> _Made:
    """Both steps, into a :class:`_Made` of their own, each giving back the memory it
    freed when it ends."""
    made = _Made(ctx)
    _vehicles_step(ctx, made)
    release_memory()
    _addresses_step(ctx, addr_rule, made)
    release_memory()
    return made


def _vehicles_step(ctx: _Context, made: _Made) -> None:
    """The union of each cluster's VINs, the most recent first."""
    vin_cand = _vin_candidates(ctx)
    ctx.release("vin_1", "vin_2", "vin_3")
    vin_u = _union(vin_cand, ctx, "most_recent")
    vins = vin_cand.values[vin_u.idx]
    made.prov.add("vin", vin_u.cl, vins, vin_cand.rows[vin_u.idx], "union")
    for k in (1, 2, 3):
        at = vin_u.pos == k - 1
        made.out[f"vin_{k}"] = _spread(ctx.n_clusters, vin_u.cl[at], vins[at])
    made.entries["vehicle"] = _Entries(vin_u.start, {"vin": vins})


def _addresses_step(ctx: _Context, addr_rule: Rule, made: _Made) -> None:
    """The union of each cluster's addresses, the preferred one (by ``addr_rule``) first."""
    addr_cand = _address_candidates(ctx)
    ctx.release("street", "unit", "postal_code", "city", "state")  # in the keys now
    addr_len = None
    if addr_rule == "longest":
        addr_len = np.zeros(len(addr_cand.rows), dtype=np.int64)
        for c in ADDRESS_COLUMNS:
            addr_len += ctx.raw_length(c, addr_cand.rows)
    addr_u = _union(addr_cand, ctx, addr_rule, addr_len)
    addr_rows = addr_cand.rows[addr_u.idx]
    del addr_cand, addr_len
    addr_raw, addr_text = _address_parts(ctx, addr_rows)
    primary = addr_u.pos == 0
    first = np.full(ctx.n_clusters, -1, dtype=np.int64)  # each cluster's preferred address entry
    first[addr_u.cl[primary]] = np.flatnonzero(primary)
    for c in ADDRESS_COLUMNS:
        part = addr_raw[c]
        if isinstance(part, pa.Array):
            made.texts[c] = part.take(pa.array(first, mask=first < 0))
        else:
            made.out[c] = _spread(ctx.n_clusters, addr_u.cl[primary], part[primary])
    made.prov.add_union("address", addr_u, addr_text, addr_rows, addr_rule)
    made.entries["address"] = _Entries(
        addr_u.start, {k: addr_raw[c] for k, c in zip(_ADDRESS_KEYS, ADDRESS_COLUMNS, strict=True)}
    )
    ctx.release_text(*ADDRESS_COLUMNS)


def release_memory() -> None:
    """Give the memory freed so far back to the system (glibc's ``malloc_trim``, and
    Arrow's pool).

    Millions of small and mid-sized arrays freed between steps stay in the allocator's
    heap otherwise, and count in the peak resident memory of the steps that follow. A
    no-op where the C library is not glibc."""
    pa.default_memory_pool().release_unused()  # Arrow's own pool (mimalloc, jemalloc)
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


class _Stopwatch:
    """Wall time per step, for ``stats``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._last, 3)
        self._last = now


def _context(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    norm: pd.DataFrame | dict[str, np.ndarray] | None,
    norm_email_keys: bool = False,
    release_norm: bool = False,
    norm_codes: dict[str, np.ndarray] | None = None,
) -> _Context:
    """Check the inputs and compute the per-record arrays. With ``release_norm``,
    ``norm`` (and ``norm_codes``) are dicts of columns that the context empties as
    steps finish with them."""
    if "record_id" not in records.columns:
        raise ValueError("records has no 'record_id' column; golden records need one per row")
    missing = [c for c in ("record_id", "cluster_id") if c not in clusters.columns]
    if missing:
        raise ValueError(
            f"clusters has no {', '.join(map(repr, missing))} column; "
            "it must hold record_id, cluster_id (one row per record)"
        )
    if norm_codes is None or norm is None:
        norm_codes = {}
    elif any(len(codes) != len(records) for codes in norm_codes.values()):
        raise ValueError("norm_codes is not aligned with records: one code per record")
    if norm is None:
        norm = normalize_frame(records)
        norm_email_keys = False
    elif (
        any(len(values) != len(records) for values in norm.values())
        if isinstance(norm, dict)
        else len(norm) != len(records) or not norm.index.equals(records.index)
    ):
        raise ValueError(
            "norm is not aligned with records: pass normalize_frame(records) "
            "(same index, same length) or None"
        )
    n = len(records)
    object_ids: list[np.ndarray] = []

    def ids_() -> np.ndarray:
        # The ids as Python objects, made only when a check needs them: Arrow text ids
        # are checked and ordered without a million Python strings.
        if not object_ids:
            object_ids.append(records["record_id"].to_numpy(dtype=object, na_value=None))
        return object_ids[0]

    # Record ids are unique, so their sorted order is total: the tie-break that makes
    # "most recent" well defined for records created at the same instant.
    text_ids = (
        pd.Series(ids_(), dtype="str")
        if not isinstance(records["record_id"].dtype, pd.StringDtype)
        else records["record_id"]
    )
    if isinstance(records["record_id"].dtype, pd.StringDtype) and not records["record_id"].isna().any():
        # Text ids (the usual case, often already sorted): unique when no two neighbours
        # in sorted order are equal, which needs no hash table of a million strings.
        # Short ids are compared as the integers of _short_text_keys, not as strings.
        short = _short_text_keys(records["record_id"])
        increasing = (
            n < 2 or bool((short[1:] > short[:-1]).all())
            if short is not None
            else n < 2 or bool((ids_()[1:] > ids_()[:-1]).all())
        )
        if increasing:
            by_rid = np.arange(n)  # strictly increasing: sorted, and no id twice
            repeated = np.zeros(0, dtype=np.int64)
        else:
            by_rid = _argsort(text_ids)
            in_order = ids_()[by_rid]
            repeated = np.flatnonzero(in_order[1:] == in_order[:-1])
        if len(repeated):
            examples = pd.unique(in_order[repeated])[:5].tolist()
            raise ValueError(
                f"record_id is repeated in records (e.g. {examples}); ids must be unique"
            )
        index = None
    else:
        index = pd.Index(ids_(), dtype=object)
        if index.hasnans:
            raise ValueError("records has rows without a record_id; every record needs one")
        if index.has_duplicates:
            examples = index[index.duplicated()].unique()[:5].tolist()
            raise ValueError(
                f"record_id is repeated in records (e.g. {examples}); ids must be unique"
            )
        by_rid = _argsort(text_ids)
    listed_ids = None
    if not _same_text(clusters["record_id"], records["record_id"]):
        listed_ids = clusters["record_id"].to_numpy(dtype=object, na_value=None)
    if listed_ids is None or (len(listed_ids) == n and (listed_ids == ids_()).all()):
        where = None  # clusters in the records' order: the usual case
    else:
        if index is None:
            index = pd.Index(ids_(), dtype=object)
        listed = pd.Index(listed_ids, dtype=object)
        if listed.has_duplicates:
            examples = listed[listed.duplicated()].unique()[:5].tolist()
            raise ValueError(
                f"clusters lists record(s) {examples} more than once; one row per record"
            )
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
    cluster_col = clusters["cluster_id"]
    if where is not None:
        cluster_col = cluster_col.iloc[where]
    codes, uniques = _sorted_codes(cluster_col.reset_index(drop=True))
    if (codes < 0).any():
        examples = ids_()[codes < 0][:5].tolist()
        raise ValueError(f"records {examples} have an empty cluster_id")
    rid_rank = np.empty(n, dtype=np.int64)
    rid_rank[by_rid] = np.arange(n)
    created = _parse_dates(records["created_at"] if "created_at" in records.columns else None, n)
    # Oldest first; records created at the same instant in record_id order.
    order = by_rid[np.argsort(created[by_rid], kind="stable")]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    records = records.reset_index(drop=True)
    if not isinstance(norm, dict):
        norm = {c: norm[c] for c in norm.columns if c in NORM_COLUMNS}
    elif not release_norm:
        norm = dict(norm)  # the caller's dict stays as it is
    if not release_norm:
        norm_codes = dict(norm_codes)
    overrides: dict[str, np.ndarray] = {}
    email_keys: dict[str, np.ndarray] = {}
    if norm_email_keys:
        emails = _normalized_emails(records, norm)
        overrides = {c: values for c, (values, _) in emails.items()}
        email_keys = {c: keys for c, (_, keys) in emails.items()}
    ctx = _Context(
        records=records,
        norm=norm,
        by_rid=by_rid,
        cluster=codes.astype(np.int64),
        cluster_ids=pd.Index(uniques, name="cluster_id"),
        rank=rank,
        created=created,
        rid_rank=rid_rank,
        overrides=overrides,
        email_keys=email_keys,
        codes=norm_codes,
    )
    if object_ids:
        ctx.record_ids = object_ids[0]  # made already: not twice
    if norm_email_keys:
        # The keys norm held are in email_keys now (those that are keys).
        for column in emails:
            norm.pop(column, None)
    return ctx


def _normalized_emails(
    records: pd.DataFrame, norm: dict[str, Any]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The normalized email columns when ``norm`` holds their match keys instead
    (``email_match_key``, as :class:`matching.pipeline.prepare.Prepared` does).

    A key is the normalized address itself unless a provider rule folded it: Gmail
    drops dots and ``+tags`` and reads googlemail.com as gmail.com, other providers
    drop ``+tags``. So the address is normalized again from ``records`` (by the emails
    module) unless the cell shows that nothing can have been folded: plain ASCII
    without ``+`` or ``xn--``, and either no "gmail" / "googlemail" in it or
    ``name@gmail.com`` whose only dot is the domain's. Cells with text but no key are
    normalized again too.
    Gives per column the normalized addresses and the keys (None where missing).
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for column in EMAIL_LABELS:
        if column not in records.columns:
            continue
        data = norm.get(column)
        keys = (
            np.full(len(records), None, dtype=object)
            if data is None
            else data if isinstance(data, np.ndarray) else data.to_numpy(dtype=object)
        )
        has_key = ~pd.isna(keys)
        keys = np.where(has_key, keys, None)
        has_text = records[column].notna().to_numpy()
        redo = has_text & ~(has_key & _unfolded_cells(records[column]))
        values = keys.copy()
        rows = np.flatnonzero(redo)
        if len(rows):
            values[rows] = email_series(records[column].iloc[rows]).to_numpy(dtype=object)
        out[column] = (values, keys)
    return out


def _unfolded_cells(cells: pd.Series) -> np.ndarray:
    """Whether no provider rule can have folded the address in each cell: plain ASCII
    without ``+`` or ``xn--`` (no +tag, nothing a Unicode domain could hide), and no
    "gmail" in it unless it ends in ``@gmail.com`` with that dot its only one (no dots
    in the name, not googlemail.com). False where the cells are not Arrow text."""
    text = _arrow_text(cells)
    if text is None:
        return np.zeros(len(cells), dtype=bool)
    # Lower-cased once, then plain substring searches: a case-insensitive search goes
    # through a regex engine, several times slower. ASCII lower-casing is exact here,
    # as a cell that is not plain ASCII is never "unfolded" anyway.
    lower = pc.ascii_lower(text)
    plain = pc.and_(
        pc.string_is_ascii(text),
        pc.invert(pc.or_(pc.match_substring(text, "+"), pc.match_substring(lower, "xn--"))),
    )
    # "googlemail" does not contain "gmail": both are looked for.
    gmail_plain = pc.or_(
        pc.invert(
            pc.or_(pc.match_substring(lower, "gmail"), pc.match_substring(lower, "googlemail"))
        ),
        pc.and_(
            pc.ends_with(lower, "@gmail.com"),
            pc.equal(pc.count_substring(text, "."), 1),
        ),
    )
    return pc.fill_null(pc.and_(plain, gmail_plain), False).to_numpy(zero_copy_only=False)


def _same_text(a: pd.Series, b: pd.Series) -> bool:
    """True if both are Arrow text with equal values in the same order (compared by
    Arrow, without making a million Python strings); False when not sure."""
    ta, tb = _arrow_text(a), _arrow_text(b)
    if ta is None or tb is None or len(ta) != len(tb) or ta.null_count or tb.null_count:
        return False
    if ta.type != tb.type:
        tb = tb.cast(ta.type)
    return bool(ta.equals(tb))


def _argsort(text: pd.Series) -> np.ndarray:
    return np.asarray(text.argsort().to_numpy(), dtype=np.int64)


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values, sort=True)``, without the sort when the values come in
    sorted order already (cluster ids named after their first record, say), and
    without factorizing twice when only the distinct text needs sorting."""
    keys = _short_text_keys(values)
    if keys is not None:
        # Short ids (the usual "R0000001"): factorize integers that sort as the text,
        # several times faster than hashing a million strings.
        codes, distinct = pd.factorize(keys)
        rank = np.empty(len(distinct), dtype=np.int64)
        rank[np.argsort(distinct)] = np.arange(len(distinct))
        codes = rank[codes]
        # The distinct values as the column holds them (same type as factorize gives).
        holder = np.empty(len(distinct), dtype=np.int64)
        holder[codes] = np.arange(len(codes))
        return codes, values.array.take(holder)
    codes, uniques = pd.factorize(values)
    if len(uniques) < 2:
        return codes, uniques
    try:
        if bool(pd.Index(uniques).is_monotonic_increasing):
            return codes, uniques
    except TypeError:
        pass
    if not isinstance(getattr(uniques, "dtype", None), pd.StringDtype):
        return pd.factorize(values, sort=True)
    order = np.asarray(uniques.argsort(), dtype=np.int64)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return np.where(codes >= 0, rank[codes], codes), uniques.take(order)


def _short_text_keys(values: pd.Series) -> np.ndarray | None:
    """One uint64 per value of Arrow text that orders and compares as the text does,
    when every value is at most 8 bytes of UTF-8 without NUL and none is missing (else
    None): the bytes, padded with zeros, read as a big-endian number. UTF-8 byte order
    is code point order, and a zero pad sorts a prefix first, as Python does."""
    text = _arrow_text(values)
    if text is None or text.null_count or not len(text):
        return None
    array = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    _, offsets, data = array.buffers()
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=width)[array.offset : array.offset + len(array) + 1]
    lengths = np.diff(offsets).astype(np.int64)
    if int(lengths.max()) > 8:
        return None
    data = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]] if data else None
    if data is None or (data == 0).any():
        return None
    if (lengths == 8).all():
        return data.view(">u8").astype(np.uint64)
    padded = np.zeros((len(lengths), 8), dtype=np.uint8)
    row = np.repeat(np.arange(len(lengths)), lengths)
    padded[row, np.arange(len(data)) - (offsets[:-1] - offsets[0])[row]] = data
    return padded.view(">u8").ravel().astype(np.uint64)


def _address_parts(ctx: _Context, rows: np.ndarray) -> tuple[dict[str, np.ndarray | pa.Array], np.ndarray]:
    """The written address parts at ``rows`` (trimmed, None or null where empty) and
    each address as its parts joined by ", " (objects). When every part is Arrow text,
    the parts are Arrow large_string arrays (no Python string per value), read in row
    order (a take in order is several times faster than one in random order) and
    joined by Arrow; else object arrays."""
    texts = {c: ctx.text(c) for c in ADDRESS_COLUMNS}
    if any(t is not None and t.arrow is None for t in texts.values()) or not len(rows):
        parts = {c: ctx.raw(c, rows) for c in ADDRESS_COLUMNS}
        return parts, _joined_text(list(parts.values()), ", ")
    order = np.argsort(rows, kind="stable")
    in_order = rows[order]
    back = np.empty(len(order), dtype=np.int64)  # where each of ``rows`` is in ``in_order``
    back[order] = np.arange(len(order))
    back_indices = pa.array(back)
    parts: dict[str, np.ndarray | pa.Array] = {}
    arrays = []
    for column in list(texts):
        text = texts.pop(column)
        if text is None:
            parts[column] = pa.nulls(len(rows), pa.large_string())
            continue
        array = text.arrow_at(in_order)
        if array.type != pa.large_string():
            array = array.cast(pa.large_string())
        arrays.append(array)
        parts[column] = array.take(back_indices)
        # This step is the golden records' peak: the column's source text (a copy of
        # the whole column, or its dictionary and codes) goes once read, not at the end.
        ctx.release_text(column)
    array = text = None  # the list holds them all now
    release_memory()
    if not arrays:
        return parts, np.full(len(rows), "", dtype=object)
    sep = pa.scalar(", ", pa.large_string())
    joined = pc.binary_join_element_wise(*arrays, sep, null_handling="skip")
    # The parts' Arrow text goes before the joined text becomes a million Python strings.
    del arrays
    return parts, _unsorted(joined.to_numpy(zero_copy_only=False), order)


def _unsorted(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``values[i]`` belongs at ``order[i]``: the array in original order."""
    out = np.empty(len(values), dtype=object)
    out[order] = values
    return out


def _joined_text(columns: list[np.ndarray], sep: str) -> np.ndarray:
    """``sep.join(filter(None, parts))`` of each row of ``columns`` (object arrays of
    str or None), joined by Arrow when it can hold the values."""
    try:
        arrays = [pa.array(c, type=pa.string()) for c in columns]
    except (pa.ArrowException, UnicodeError, TypeError):
        joined = [sep.join(filter(None, parts)) for parts in zip(*columns, strict=True)]
        return np.array(joined, dtype=object)
    if not len(columns[0]):
        return np.zeros(0, dtype=object)
    joined = pc.binary_join_element_wise(*arrays, sep, null_handling="skip")
    return np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)


def _golden_frame(ctx: _Context, out: dict[str, np.ndarray], texts: dict[str, pa.Array]) -> pd.DataFrame:
    """:data:`GOLDEN_COLUMNS`: the text columns as pandas' Arrow-backed ``str`` (missing
    = NaN), as the records read from a file hold text, taken from ``texts`` where it has
    them, else from ``out``."""
    n, size = ctx.n_clusters, len(ctx.cluster)
    order = _sort([(ctx.cluster, n), (ctx.rid_rank, size)])
    start = np.searchsorted(ctx.cluster[order], np.arange(n + 1), side="left")
    text = _arrow_text(ctx.records["record_id"])
    if text is not None and n:
        # Joined by Arrow: a million small joins in Python take over a second.
        ids = text.take(pa.array(order)).combine_chunks()
        lists = pa.ListArray.from_arrays(pa.array(start.astype(np.int32)), ids)
        joined = pc.binary_join(lists, pa.scalar(";", ids.type))
    else:
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
        frame[column] = _text_column(texts[column] if column in texts else out[column])
    frame["record_count"] = np.diff(start)
    frame["source_record_ids"] = _text_column(joined)
    frame["created_at"] = first.view("datetime64[ns]")
    frame["updated_at"] = last.view("datetime64[ns]")
    # The columns as they are: consolidating them would copy millions of references.
    return pd.DataFrame(frame, copy=False)



#: The golden frame's text dtype: pandas' own for text (Arrow-backed, missing = NaN).
_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _text_column(values: np.ndarray | list[str] | pa.Array) -> Any:
    """Text as a :data:`_STR` array (Arrow text as it is, without a copy when it is
    large_string); as objects when some value is not text Arrow can hold (a lone
    surrogate from a DataFrame the caller built)."""
    if not isinstance(values, pa.Array):
        values = np.asarray(values, dtype=object)
        try:  # Arrow converts str and None (or NaN) values directly, twice as fast as pandas
            values = pa.array(values, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowException, UnicodeError, TypeError, ValueError):
            try:
                return pd.array(values, dtype=_STR)  # pandas turns other values into text
            except (pa.ArrowException, UnicodeError, TypeError, ValueError):
                return pd.Series(values, dtype=object, copy=False)
    return pd.array(values if values.type == pa.large_string() else values.cast(pa.large_string()), dtype=_STR)


def _golden_json(
    out: dict[str, np.ndarray], entries: dict[str, _Entries], texts: dict[str, pa.Array]
) -> GoldenJson:
    """The request bodies, as arrays :class:`GoldenJson` builds them from (with the
    name fields' Arrow text where ``texts`` has it: the golden frame's own)."""
    first, last, company = out["first_name"], out["last_name"], out["company"]
    business = (company != None) & ((first == None) | (last == None))  # noqa: E711 - elementwise
    columns = ("customer_key", "first_name", "middle_name", "last_name", "company")
    names = dict(zip(_CUSTOMER_KEYS, (out[c] for c in columns), strict=True))
    name_texts = {k: texts[c] for k, c in zip(_CUSTOMER_KEYS, columns, strict=True) if c in texts}
    return GoldenJson(
        names, business, entries["phone"], entries["email"], entries["address"], entries["vehicle"],
        name_texts=name_texts,
    )


@dataclass
class _Entries:
    """One multi-valued field of every cluster, flat in cluster order: entries
    ``start[c]:start[c + 1]`` belong to cluster ``c``, the first one preferred."""

    start: np.ndarray  # int64, one more than clusters
    columns: dict[str, np.ndarray]  # one array per entry attribute, all as long as the entries

    def span(self, lo: int, hi: int) -> tuple[int, int]:
        return int(self.start[lo]), int(self.start[hi])

    def preferred(self, lo: int, hi: int) -> np.ndarray:
        """Whether each entry of clusters ``lo:hi`` is its cluster's first."""
        a, b = self.span(lo, hi)
        flags = np.zeros(b - a, dtype=bool)
        first = self.start[lo:hi]
        flags[first[first < self.start[lo + 1 : hi + 1]] - a] = True
        return flags

    def bounds(self, lo: int, hi: int) -> np.ndarray:
        """Entry offsets of clusters ``lo:hi`` relative to the first entry of ``lo``."""
        return self.start[lo : hi + 1] - self.start[lo]


_PHONE_LABEL_VALUES = tuple(PHONE_LABELS.values())
_EMAIL_LABEL_VALUES = tuple(EMAIL_LABELS.values())
_ADDRESS_KEYS = ("line1", "line2", "city", "state", "zip", "country")
_CUSTOMER_KEYS = ("customerKey", "firstName", "middleName", "lastName", "company")
_JSONL_CHUNK = 8_192  # clusters per block of golden.jsonl (bounds the memory of a block)


class GoldenJson(Sequence[dict[str, Any]]):
    """The myKaarma request bodies of golden records, one per cluster, built on access.

    A read-only sequence: ``len``, indexing (``bodies[i]``, slices), iteration and ``==``
    (against any sequence of dicts) work as on the list of dicts it stands for, but a
    body is only built when it is asked for (a million of them take gigabytes), and each
    access builds a new dict. :meth:`jsonl` gives the bodies as JSON lines, built from
    the arrays without going through dicts; each line is
    ``json.dumps(body, ensure_ascii=False)``.
    """

    def __init__(
        self,
        names: dict[str, np.ndarray],
        business: np.ndarray,
        phones: _Entries,
        emails: _Entries,
        addresses: _Entries,
        vehicles: _Entries,
        *,
        name_texts: dict[str, pa.Array] | None = None,
    ) -> None:
        self._names = names  # the _CUSTOMER_KEYS fields, object arrays (None = empty)
        # Some of them as Arrow text too (null = empty): JSON lines are built from those
        # without converting Python strings.
        self._name_texts = name_texts or {}
        self._business = business
        self._phones = phones  # columns: value, slot
        self._emails = emails  # columns: value, slot
        self._addresses = addresses  # columns: the _ADDRESS_KEYS parts
        self._vehicles = vehicles  # columns: vin
        self._n = len(business)

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            lo, hi, step = index.indices(self._n)
            if step == 1:
                return self._bodies(lo, max(lo, hi))
            return [self._bodies(i, i + 1)[0] for i in range(lo, hi, step)]
        i = operator.index(index)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("golden_json index out of range")
        return self._bodies(i, i + 1)[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for lo in range(0, self._n, 4096):
            yield from self._bodies(lo, min(lo + 4096, self._n))

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # like a list

    def __repr__(self) -> str:
        return f"<GoldenJson: {self._n} request bodies>"

    def to_list(self) -> list[dict[str, Any]]:
        """Every body, as a list of dicts."""
        return list(self)

    def _bodies(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """The bodies of clusters ``lo:hi``: entries are built flat and sliced per
        cluster, so the only per-cluster Python work is one small dict."""
        lists = []
        for entries, labels, value_key in (
            (self._phones, _PHONE_LABEL_VALUES, "phoneNumber"),
            (self._emails, _EMAIL_LABEL_VALUES, "emailAddress"),
        ):
            a, b = entries.span(lo, hi)
            items = [
                {value_key: v, "label": labels[s], "isPreferred": p}
                for v, s, p in zip(
                    entries.columns["value"][a:b].tolist(),
                    entries.columns["slot"][a:b].tolist(),
                    entries.preferred(lo, hi).tolist(),
                    strict=True,
                )
            ]
            lists.append(_group_lists(items, entries.bounds(lo, hi)))
        a, b = self._addresses.span(lo, hi)
        items = [
            _address(*parts)
            for parts in zip(
                *(_to_list(self._addresses.columns[k][a:b]) for k in _ADDRESS_KEYS),
                self._addresses.preferred(lo, hi).tolist(),
                strict=True,
            )
        ]
        lists.append(_group_lists(items, self._addresses.bounds(lo, hi)))
        a, b = self._vehicles.span(lo, hi)
        vehicles = [{"vin": v} for v in self._vehicles.columns["vin"][a:b].tolist()]
        lists.append(_group_lists(vehicles, self._vehicles.bounds(lo, hi)))
        return [
            _body(*args)
            for args in zip(
                *(self._names[k][lo:hi].tolist() for k in _CUSTOMER_KEYS),
                self._business[lo:hi].tolist(),
                *lists,
                strict=True,
            )
        ]

    def customer_part(self, i: int, keys: Iterable[str]) -> dict[str, Any]:
        """Some keys of ``self[i]["customer"]`` (those present), without building the rest."""
        customer: dict[str, Any] = {}
        for key in keys:
            if key in _CUSTOMER_KEYS:
                value = self._names[key][i]
                if value is not None:
                    customer[key] = value
            elif key == "isBusiness":
                customer[key] = bool(self._business[i])
            elif key in ("phoneNumbers", "emails"):
                entries, labels, value_key = (
                    (self._phones, _PHONE_LABEL_VALUES, "phoneNumber")
                    if key == "phoneNumbers"
                    else (self._emails, _EMAIL_LABEL_VALUES, "emailAddress")
                )
                a, b = entries.span(i, i + 1)
                items = [
                    {value_key: v, "label": labels[s], "isPreferred": j == a}
                    for j, v, s in zip(
                        range(a, b),
                        entries.columns["value"][a:b].tolist(),
                        entries.columns["slot"][a:b].tolist(),
                        strict=True,
                    )
                ]
                if items:
                    customer[key] = items
            else:
                raise KeyError(key)
        return customer

    def jsonl(self, chunk: int = _JSONL_CHUNK) -> Iterator[str]:
        """The bodies as JSON lines (``json.dumps(body, ensure_ascii=False)`` each, then
        a newline), in blocks of ``chunk`` lines: text to write as it comes."""
        for lo in range(0, self._n, chunk):
            hi = min(lo + chunk, self._n)
            lines = self._json_lines(lo, hi)
            if lines is None:  # values arrow cannot hold: the slow, exact way
                bodies = self._bodies(lo, hi)
                yield "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies)
            else:
                block = pa.ListArray.from_arrays(pa.array([0, hi - lo], pa.int32()), lines)
                yield pc.binary_join(block, "\n")[0].as_py() + "\n"

    def jsonl_bytes(self, chunk: int = _JSONL_CHUNK, newline: str = "\n") -> Iterator[bytes | memoryview]:
        """The JSON lines of :meth:`jsonl` as UTF-8, each line ending in ``newline``, in
        blocks to write to a binary file as they come: the text Arrow put together,
        without turning it into a Python string and encoding it back."""
        for lo in range(0, self._n, chunk):
            hi = min(lo + chunk, self._n)
            lines = self._json_lines(lo, hi, end=newline)
            if lines is None:  # values arrow cannot hold: the slow, exact way
                bodies = self._bodies(lo, hi)
                yield "".join(json.dumps(b, ensure_ascii=False) + newline for b in bodies).encode("utf-8")
            elif len(lines):
                # The lines lie back to back in the value buffer: a view of it, no copy.
                width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
                offsets = np.frombuffer(lines.buffers()[1], dtype=width)[lines.offset :]
                data = memoryview(lines.buffers()[2])
                yield data[int(offsets[0]) : int(offsets[len(lines)])]

    def _json_lines(self, lo: int, hi: int, end: str = "") -> pa.Array | None:
        """The JSON text of the bodies of clusters ``lo:hi`` (each followed by ``end``),
        put together with Arrow's string kernels; None if some value is not text Arrow
        can hold."""
        try:
            texts = self._name_texts
            parts = [
                _json_text(texts[key].slice(lo, hi - lo) if key in texts else self._names[key][lo:hi], f"{_q(key)}: ")
                for key in _CUSTOMER_KEYS
            ]
            parts.append(_BUSINESS_TEXT.take(pa.array(self._business[lo:hi].astype(np.int8))))
            for entries, labels, value_key, list_key in (
                (self._phones, _PHONE_LABEL_VALUES, "phoneNumber", "phoneNumbers"),
                (self._emails, _EMAIL_LABEL_VALUES, "emailAddress", "emails"),
            ):
                a, b = entries.span(lo, hi)
                # What follows the value: its label and whether it is the preferred one.
                tails = pa.array(
                    [
                        f", {_q('label')}: {_q(label)}, {_q('isPreferred')}: {flag}}}"
                        for label in labels
                        for flag in ("false", "true")
                    ]
                )
                slot = entries.columns["slot"][a:b].astype(np.int64)
                which = slot * 2 + entries.preferred(lo, hi)
                items = pc.binary_join_element_wise(
                    _json_text(entries.columns["value"][a:b], "{" + _q(value_key) + ": "),
                    tails.take(pa.array(which)),
                    "",
                )
                parts.append(_json_list(list_key, items, entries.bounds(lo, hi)))
            addresses = self._addresses
            a, b = addresses.span(lo, hi)
            fields = [
                _json_text(addresses.columns[k][a:b], f"{_q(k)}: ") for k in _ADDRESS_KEYS
            ]
            preferred = addresses.preferred(lo, hi).astype(np.int8)
            fields.append(_ADDRESS_TYPE_TEXT.take(pa.array(preferred)))
            items = pc.binary_join_element_wise(
                "{", pc.binary_join_element_wise(*fields, ", ", null_handling="skip"), "}", ""
            )
            parts.append(_json_list("addresses", items, addresses.bounds(lo, hi)))
            customer = pc.binary_join_element_wise(*parts, ", ", null_handling="skip")
            a, b = self._vehicles.span(lo, hi)
            vins = _json_text(self._vehicles.columns["vin"][a:b], "{" + _q("vin") + ": ", "}")
            # The customer's closing brace, then the vehicles if any.
            closing = pc.fill_null(
                _json_list("vehicles", vins, self._vehicles.bounds(lo, hi), "}, "),
                pa.scalar("}", pa.string()),
            )
            return pc.binary_join_element_wise(
                "{" + _q("customer") + ": {", customer, closing, "}" + end, ""
            )
        except _NotArrowText:
            return None


class _NotArrowText(Exception):
    """A value is not text that Arrow holds as is (not a str, or not valid UTF-8)."""


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_BUSINESS_TEXT = pa.array([f"{_q('isBusiness')}: false", f"{_q('isBusiness')}: true"])
_ADDRESS_TYPE_TEXT = pa.array(
    [
        f"{_q('type')}: {_q('OTHER')}, {_q('isPreferred')}: false",
        f"{_q('type')}: {_q('PRIMARY')}, {_q('isPreferred')}: true",
    ]
)


def _to_list(values: np.ndarray | pa.Array) -> list[Any]:
    """The values of an object array or of an Arrow array (null -> None) as a list."""
    return values.to_pylist() if isinstance(values, pa.Array) else values.tolist()


def _json_text(values: np.ndarray | pa.Array, prefix: str, suffix: str = "") -> pa.Array:
    """``prefix + json.dumps(v, ensure_ascii=False) + suffix`` of each str value, null
    where None (``values``: objects, or Arrow text). Only a value holding ``"``, ``\\`` or a
    control character needs escaping: those few are found in Arrow's UTF-8 bytes and
    written by ``json.dumps``."""
    if isinstance(values, pa.Array):
        text = values.cast(pa.string())
    else:
        try:  # Arrow refuses what is not text (numbers, NaN) and lone surrogates
            text = pa.array(values, type=pa.string())
        except (pa.ArrowException, UnicodeError, TypeError, ValueError) as exc:
            raise _NotArrowText from exc
    out = pc.binary_join_element_wise(prefix + '"', text, '"' + suffix, "")
    rows = _rows_to_escape(text)
    if len(rows):
        mask = np.zeros(len(values), dtype=bool)
        mask[rows] = True
        fixed = pa.array([prefix + _q(text[i].as_py()) + suffix for i in rows.tolist()], pa.string())
        out = pc.replace_with_mask(out, pa.array(mask), fixed)
    return out


def _rows_to_escape(text: pa.Array) -> np.ndarray:
    """Rows of a string array holding a byte json.dumps escapes (``"``, ``\\``, below
    0x20: in UTF-8 such bytes are never part of another character)."""
    _, offsets, data = text.buffers()
    if data is None or not len(text):
        return np.zeros(0, dtype=np.int64)
    offsets = np.frombuffer(offsets, dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    data = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    bad = np.flatnonzero((data < 0x20) | (data == 0x22) | (data == 0x5C))
    if not len(bad):
        return bad
    return np.unique(np.searchsorted(offsets, bad + offsets[0], side="right") - 1)


def _json_list(key: str, items: pa.Array, bounds: np.ndarray, lead: str = "") -> pa.Array:
    """``lead + "key": [item, ...]`` per cluster (``bounds`` slices ``items``), null
    where the cluster has no item."""
    lists = pa.ListArray.from_arrays(pa.array(bounds.astype(np.int32)), items)
    text = pc.binary_join_element_wise(f"{lead}{_q(key)}: [", pc.binary_join(lists, ", "), "]", "")
    empty = pa.array(bounds[1:] == bounds[:-1])
    return pc.if_else(empty, pa.scalar(None, pa.string()), text)


def write_jsonl(
    bodies: Sequence[dict[str, Any]], fh: TextIO | BinaryIO, newline: str = "\n"
) -> None:
    """Write request bodies to ``fh`` as JSON lines: ``json.dumps(body,
    ensure_ascii=False)`` per line; a :class:`GoldenJson` writes without building dicts.

    ``fh`` is a text file, or a binary one: then the lines are written in UTF-8, each
    ending in ``newline`` (what a text file writes for "\\n"), and a
    :class:`GoldenJson` hands over the bytes Arrow made (no Python text in between)."""
    if isinstance(fh, (io.RawIOBase, io.BufferedIOBase)):
        if isinstance(bodies, GoldenJson):
            for chunk in bodies.jsonl_bytes(newline=newline):
                fh.write(chunk)
            return
        for body in bodies:
            fh.write((json.dumps(body, ensure_ascii=False) + newline).encode("utf-8"))
        return
    if isinstance(bodies, GoldenJson):
        for block in bodies.jsonl():
            fh.write(block)
        return
    for body in bodies:
        fh.write(json.dumps(body, ensure_ascii=False) + "\n")


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


# --------------------------------------------------------------------------- issues


def _no_issues() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in ISSUE_COLUMNS})


# Conservative: a normalized address of this shape passes email-validator (the emails
# normalizer used it, or its equivalent fast path); others are re-checked by the model.
_PLAIN_EMAIL = r"^[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,63}$"
_NANP_E164 = r"^\+1[0-9]{10}$"  # the format the API accepts (warning 10015)
_NAME_KEYS = ("firstName", "lastName", "company", "isBusiness")


def _matches(values: np.ndarray, pattern: str) -> np.ndarray:
    """Whether each str value matches ``pattern`` (RE2 syntax, anchored by the caller)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowException, UnicodeError, TypeError):
        python = re.compile(pattern.removeprefix("^").removesuffix("$"))
        return np.fromiter(
            (isinstance(v, str) and python.fullmatch(v) is not None for v in values),
            dtype=bool,
            count=len(values),
        )
    return pc.fill_null(pc.match_substring_regex(text, pattern), False).to_numpy(
        zero_copy_only=False
    )


def _blank(value: Any) -> bool:
    return value is None or not value.strip()


def _issues(bodies: GoldenJson, cluster_ids: pd.Index) -> pd.DataFrame:
    """``CustomerRequest.validate()`` of every entry, run where a problem is possible.

    Validating 650k requests one by one takes minutes, and nearly all are clean by
    construction (E.164 phones, emails that passed email-validator, address types
    PRIMARY/OTHER, the right JSON types). Cheap checks find the parts that may fail
    (missing names, non-NANP phones, unusual emails, VINs that are not 17 characters);
    the model validates just those parts, under the paths they have in the whole
    request, and stays the single authority on what is wrong. A part holding only the
    names and ``isBusiness`` is validated once per pattern of blank names and business
    flag (all the model reads of it); a vehicle is validated alone
    (``Vehicle.validate``): within a request without ``validateVin`` that gives the same
    issues.
    """
    n = len(bodies)
    names = bodies._names
    first, last, company = names["firstName"], names["lastName"], names["company"]
    customer_odd = ((first == None) | (last == None)) & (company == None)  # noqa: E711
    odd: dict[str, np.ndarray] = {}
    for name, entries, pattern in (
        ("phoneNumbers", bodies._phones, _NANP_E164),
        ("emails", bodies._emails, _PLAIN_EMAIL),
    ):
        bad = ~_matches(entries.columns["value"], pattern)
        cl = np.repeat(np.arange(n), np.diff(entries.start))
        odd[name] = np.zeros(n, dtype=bool)
        odd[name][cl[bad]] = True
        customer_odd |= odd[name]
    found: list[tuple[int, str, str, str]] = []
    by_pattern: dict[tuple[bool, ...], list[tuple[str, str, str]]] = {}
    for i in np.flatnonzero(customer_odd).tolist():
        lists = [k for k in ("phoneNumbers", "emails") if odd[k][i]]
        pattern = None
        if not lists:
            pattern = (
                bool(bodies._business[i]),
                _blank(first[i]),
                _blank(last[i]),
                _blank(company[i]),
            )
            if pattern in by_pattern:
                found.extend((i, *issue) for issue in by_pattern[pattern])
                continue
        part = bodies.customer_part(i, (*_NAME_KEYS, *lists))
        issues = [
            (issue.path, issue.message, issue.severity)
            for issue in CustomerRequest.from_json({"customer": part}).validate()
        ]
        if pattern is not None:
            by_pattern[pattern] = issues
        found.extend((i, *issue) for issue in issues)
    # Normalized VINs of 17 characters never hold I, O or Q: only other lengths can fail.
    vehicles = bodies._vehicles
    vins = vehicles.columns["vin"]
    cl = np.repeat(np.arange(n), np.diff(vehicles.start))
    lengths = np.fromiter(map(len, vins.tolist()), dtype=np.int64, count=len(vins))
    for j in np.flatnonzero(lengths != _FULL_VIN).tolist():
        c = int(cl[j])
        vehicle = Vehicle(vin=vins[j])
        for issue in vehicle.validate(f"vehicles[{j - int(vehicles.start[c])}]"):
            found.append((c, issue.path, issue.message, issue.severity))
    if not found:
        return _no_issues()
    found.sort(key=lambda row: row[0])  # stable: per cluster, customer issues first
    ids = cluster_ids.to_numpy()
    frame = pd.DataFrame(found, columns=["code", *ISSUE_COLUMNS[1:]], dtype=object)
    frame.insert(0, "cluster_id", ids[frame.pop("code").to_numpy(dtype=np.int64)])
    return frame
