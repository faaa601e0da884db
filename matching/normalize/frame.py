"""Normalize a whole customer export at once: one normalized column per input field.

The input uses the canonical export columns (see :data:`CANONICAL_COLUMNS`); any subset
may be present. Each field is normalized by its module's vectorized form, which works
once per distinct value, so the cost follows the number of distinct values rather than
rows.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.normalize import addresses, emails, names, phones, vins
from matching.normalize._vector import Coded, _arrow_text, _indices, apply_scalar, distinct_codes

#: The columns of a dealer export after column mapping, in their usual order.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "record_id",
    "customer_key",
    "first_name",
    "middle_name",
    "last_name",
    "company",
    "phone_1",
    "phone_2",
    "email_1",
    "email_2",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "vin_1",
    "vin_2",
    "vin_3",
    "created_at",
)

PHONE_COLUMNS = ("phone_1", "phone_2")
EMAIL_COLUMNS = ("email_1", "email_2")
VIN_COLUMNS = ("vin_1", "vin_2", "vin_3")


def normalize_frame(df: pd.DataFrame, *, region: str = "US") -> pd.DataFrame:
    """Normalized columns for a canonical customer export, aligned with ``df``'s index.

    Output columns (those whose inputs are present): ``first_name``, ``middle_name``,
    ``last_name``, ``suffix`` (from the last name, else the first or middle name),
    ``company``, ``phone_1``/``phone_2`` (E.164), ``email_1``/``email_2`` (normalized),
    ``vin_1``..``vin_3``, ``street`` and ``unit`` (from ``address_line1`` +
    ``address_line2``), ``city``, ``state``, ``postal_code``, ``country`` and
    ``customer_key`` (trimmed). Missing or junk values are None.
    """
    coded = normalize_coded(df, region=region)
    return pd.DataFrame({col: c.series(df.index, col) for col, c in coded.items()}, index=df.index)


def normalize_coded(df: pd.DataFrame, *, region: str = "US", keys: bool = False) -> dict[str, Coded]:
    """:func:`normalize_frame`'s columns (same names, same order), each kept as a
    :class:`~matching.normalize._vector.Coded` column: the values once per distinct input
    text, so that keys derived from them are computed once per value too. Columns of one
    kind (the name columns; phone_1/phone_2...) share one ``values`` array.

    With ``keys``, two more entries for :func:`~matching.pipeline.prepare.prepare`, found
    from the same parse: ``_email_match_key`` (the slots' match keys) and
    ``_street_key_part`` (the ``<house number> <street word>`` part of the address key)."""
    out: dict[str, Coded] = {}
    if len(df) < _THREAD_MIN_ROWS:  # a thread costs more than it saves on small frames
        _normalize_into(out, df, _encode_ahead(df, _Inline(), keys=keys), region=region, keys=keys)
        return out
    with ThreadPoolExecutor(max_workers=1) as pool:
        encoded = _encode_ahead(df, pool, keys=keys)
        _normalize_into(out, df, encoded, region=region, keys=keys)
    return out


#: Frames at least this long encode their wide columns in a second thread.
_THREAD_MIN_ROWS = 50_000


class _Inline:
    """An executor that runs each task at once, in the calling thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # raised again by result(), as a pool's future does
            future.set_exception(exc)
        return future


#: Groups of columns encoded together (slots of one kind share their distinct values).
_GROUPS = (PHONE_COLUMNS, EMAIL_COLUMNS, VIN_COLUMNS)


def _encode_ahead(
    df: pd.DataFrame, pool: ThreadPoolExecutor | _Inline, *, keys: bool = False
) -> dict[str, Future[Any]]:
    """Start the distinct-value encoding of the wide columns in ``pool``, and the split
    of the address lines (``"_split"``: :func:`~matching.normalize.addresses._split_batch`
    of the distinct lines, with ``keys``' key parts).

    Encoding Arrow text is Arrow's work, done without the GIL, while normalizing the
    distinct values is Python's: on a second core the encoding of the columns to come runs
    while the main thread normalizes the ones before (same results, less wall time). The
    address lines are split mostly by Arrow's string kernels too: on that thread, while
    the main one normalizes names, phones, emails and VINs.
    """
    has = df.columns.__contains__
    ahead: dict[str, Future[Any]] = {}
    for cols in _GROUPS:
        present = [c for c in cols if has(c)]
        if present:
            ahead[cols[0]] = pool.submit(distinct_codes, [df[c] for c in present], stack=True, as_arrow=True)
    if has("address_line1"):
        line1 = df["address_line1"]
        ahead["address_line1"] = lines = pool.submit(
            lambda: distinct_codes([_joined_lines(line1, df["address_line2"]) if has("address_line2") else line1], as_arrow=True)
        )
        # Queued after the encoding it reads (a pool of one thread runs tasks in order).
        ahead["_split"] = pool.submit(_split_lines, lines, keys)
    if has("postal_code"):
        ahead["postal_code"] = pool.submit(_Texts, df["postal_code"], as_arrow=True)
    if has("customer_key"):
        ahead["customer_key"] = pool.submit(_customer_key, df["customer_key"])
    return ahead


def _split_lines(lines: Future[Any], keys: bool) -> Any:
    """:func:`~matching.normalize.addresses._split_batch` of the distinct address lines
    ``lines`` will give; then what Arrow freed meanwhile goes back to the system, from
    this thread: Arrow's pool keeps freed memory per thread, and this thread's would
    otherwise stay resident through the rest of a run (+25-50 MB at 1M records)."""
    try:
        return addresses._split_batch(lines.result()[1], key_parts=keys)
    finally:
        pa.default_memory_pool().release_unused()


def _normalize_into(
    out: dict[str, Coded], df: pd.DataFrame, encoded: dict[str, Future[Any]], *, region: str, keys: bool
) -> None:
    """:func:`normalize_coded`'s work, with the encodings :func:`_encode_ahead` started."""
    has = df.columns.__contains__
    split = encoded.get("_split")
    name_cols = [c for c in ("first_name", "middle_name", "last_name") if has(c)]
    if name_cols:
        # One parse per distinct text over the three columns gives the name and the suffix.
        parts_list, texts = distinct_codes([df[c] for c in name_cols], stack=True)
        name_u = np.empty(len(texts), dtype=object)
        suffix_u = np.empty(len(texts), dtype=object)
        for i, t in enumerate(texts):
            name_u[i], suffix_u[i] = names._name_and_suffix(t)
        parts = dict(zip(name_cols, parts_list, strict=True))
        for col in ("first_name", "middle_name", "last_name"):
            if col in parts:
                out[col] = Coded(parts[col], name_u)
        # The suffix of the last name, else of the first, else of the middle name.
        has_suffix = np.append(~pd.isna(suffix_u), False)
        suffix_codes = None
        for col in ("last_name", "first_name", "middle_name"):
            if col in parts:
                codes = parts[col]
                suffix_codes = codes if suffix_codes is None else np.where(has_suffix[suffix_codes], suffix_codes, codes)
        out["suffix"] = Coded(suffix_codes, suffix_u)
    if has("company"):
        out["company"] = _single(df["company"]).map(names.company)
    # Columns of one kind share many values (phone_1/phone_2...): normalize their union once.
    for cols, batch in (
        (PHONE_COLUMNS, lambda texts: phones._phone_batch(texts, region)),
        (EMAIL_COLUMNS, emails._email_batch),
        (VIN_COLUMNS, vins._vin_batch),
    ):
        present = [c for c in cols if has(c)]
        if present:
            if cols is PHONE_COLUMNS:
                phones._region_is_nanp(region)  # an unknown region fails here, as phone_series does
            codes_list, texts = encoded[cols[0]].result()
            ids = None
            if cols is EMAIL_COLUMNS and keys:
                mapped, fast = emails._email_batch(texts, with_fast=True)
                out["_email_match_key"] = Coded(codes_list[0], emails._match_keys_of(mapped, fast))
            elif cols is PHONE_COLUMNS:
                mapped, ids = phones._phone_batch(texts, region, with_ids=True)
            else:
                mapped = np.asarray(batch(texts), dtype=object) if len(texts) else np.empty(0, dtype=object)
            for col, codes in zip(present, codes_list, strict=True):
                out[col] = Coded(codes, mapped, ids=ids)
    if split is not None:
        [codes], _ = encoded["address_line1"].result()
        parts = split.result()
        out["street"] = Coded(codes, parts[0])
        out["unit"] = Coded(codes, parts[1])
        if keys:
            out["_street_key_part"] = Coded(codes, parts[2])
    if has("city"):
        out["city"] = _single(df["city"]).map(addresses.city)
    if has("state"):
        out["state"] = _single(df["state"]).map(addresses.state, country=None)
    if has("postal_code"):
        out["postal_code"] = encoded["postal_code"].result().map_texts(lambda texts: addresses._zip_batch(texts, None))
    if has("country"):
        out["country"] = _single(df["country"]).map(addresses.country)
    if has("customer_key"):
        out["customer_key"] = encoded["customer_key"].result()


class _Texts:
    """A column's distinct texts and codes (as :func:`map_distinct` finds them)."""

    def __init__(self, values: pd.Series, *, as_arrow: bool = False) -> None:
        [self.codes], self.texts = distinct_codes([values], as_arrow=as_arrow)

    def map_texts(self, batch: Callable[[np.ndarray], np.ndarray]) -> Coded:
        mapped = np.asarray(batch(self.texts), dtype=object) if len(self.texts) else np.empty(0, dtype=object)
        return Coded(self.codes, mapped)

    def map(self, func: Callable[..., Any], **kwargs: Any) -> Coded:
        return self.map_texts(lambda texts: apply_scalar(texts, func, **kwargs))


def _single(values: pd.Series) -> _Texts:
    return _Texts(values)


def _joined_lines(line1: pd.Series, line2: pd.Series) -> pd.Series:
    """Line 1 + " " + line 2 where line 2 is present (missing line 1 reads ""), else line 1."""
    a, b = _arrow_text(line1), _arrow_text(line2)
    if a is not None and b is not None:
        joined = pc.if_else(pc.is_null(b), a, pc.binary_join_element_wise(pc.fill_null(a, ""), b, pa.scalar(" ", pa.large_string())))
        return pd.Series(pd.arrays.ArrowStringArray(joined), index=line1.index)
    # Exports split the unit into line 2; joined, split_unit finds it either way.
    line2 = line2.astype(object)
    return line1.astype(object).where(line2.isna(), line1.astype(object).fillna("") + " " + line2.fillna(""))


def _customer_key(key: pd.Series) -> Coded:
    """The key trimmed (pandas' ``str.strip``); empty -> None; a missing cell stays as
    ``astype(object)`` reads it."""
    data = _arrow_text(key)
    if data is not None:
        # Trimmed first, so that the values come out distinct.
        enc = pc.dictionary_encode(pc.utf8_trim_whitespace(data))
        codes = _indices(enc)
        stripped = np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        stripped[stripped == ""] = None
        missing = pd.Series([None], dtype=key.dtype).astype(object).iloc[0]
        return Coded(codes, stripped, missing=missing, distinct=True)
    key = key.astype(object)
    values = key.where(key.isna(), key.astype(str).str.strip()).replace("", None)
    return Coded(np.arange(len(values), dtype=np.intp), values.to_numpy(dtype=object))


def _stack(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The columns one after the other, as one object Series."""
    return pd.Series(
        np.concatenate([df[c].to_numpy(dtype=object, na_value=None) for c in cols]), dtype=object
    )
