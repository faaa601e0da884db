"""Shared machinery for the normalizers: text coercion and per-distinct-value mapping.

Customer exports repeat the same values a lot (the same city, the same placeholder email,
the same first names), so every vectorized normalizer computes each *distinct* value once
and scatters the answers back with numpy indexing. This is most of the speed-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Longer inputs are cut before any parsing: no real name, phone, email, VIN or address
# line is this long, and it bounds the work done on hostile input.
MAX_INPUT_CHARS = 1000


def as_text(value: Any) -> str | None:
    """Coerce a cell to text: None/NaN/NA -> None, integral floats lose their ``.0``.

    Spreadsheet exports often turn phone numbers and ZIP codes into numbers
    (``3105550100.0``); reading them back as text must not invent digits.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value[:MAX_INPUT_CHARS]
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value) or math.isinf(value):
            return None
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)[:MAX_INPUT_CHARS]


def distinct_text(values: pd.Series | list | np.ndarray) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Factorize ``values`` on their :func:`as_text` form.

    Returns ``(series, codes, texts)``: ``values`` as a Series, an intp array of codes
    into ``texts`` (-1 where the cell is missing, i.e. ``as_text`` gives None) and the
    object array of distinct texts (``str``, at most :data:`MAX_INPUT_CHARS` long unless
    the column holds only strings, whose truncation the functions do themselves).

    Factorizing the raw cells would put ``True``, ``1`` and ``1.0`` in one group (they
    compare equal) although ``as_text`` reads them as None, "1" and "1"; columns that
    are not plain text are coerced first, so each group is one text.
    """
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=object)
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind not in ("string", "empty"):
            values_for_codes = pd.Series(
                [as_text(v) for v in values.to_numpy()], index=values.index, dtype=object
            )
        else:
            values_for_codes = values
    elif isinstance(dtype, pd.StringDtype):
        values_for_codes = values
    else:
        # Numbers, bools, datetimes...: one dtype, so no cross-type collisions; read the
        # distinct values as text (bools give None).
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = np.array([as_text(u) for u in np.asarray(uniques, dtype=object)] + [None], dtype=object)
        return _regroup(values, codes, texts)
    # None cells (as_text gave None, or missing) are factorized as missing: code -1.
    codes, uniques = pd.factorize(values_for_codes, use_na_sentinel=True)
    return values, codes, np.asarray(uniques, dtype=object)


def _regroup(values: pd.Series, codes: np.ndarray, texts: np.ndarray) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Merge groups whose texts are equal and drop those whose text is None."""
    # texts has a trailing None so that code -1 indexes it.
    per_row = texts[codes]
    new_codes, new_uniques = pd.factorize(pd.Series(per_row, dtype=object), use_na_sentinel=True)
    return values, new_codes, np.asarray(new_uniques, dtype=object)


def _scatter(values: pd.Series, codes: np.ndarray, mapped: np.ndarray, missing: Any = None) -> pd.Series:
    return pd.Series(take(mapped, codes, missing), index=values.index, name=values.name, dtype=object)


def take(mapped: np.ndarray, codes: np.ndarray, missing: Any = None, out: np.ndarray | None = None) -> np.ndarray:
    """``mapped[codes]`` as an object array (``out`` if given), ``missing`` where a code is -1."""
    ext = np.empty(len(mapped) + 1, dtype=object)
    ext[:-1] = mapped
    ext[-1] = missing
    if out is None:
        return ext[codes]
    return np.take(ext, codes, out=out, mode="wrap")  # "wrap": unbuffered; -1 reads the last


def map_distinct(values: pd.Series | list | np.ndarray, func: Callable[..., Any], **kwargs: Any) -> pd.Series:
    """Apply ``func`` once per distinct text (see :func:`distinct_text`) of ``values``.

    Returns an object Series aligned with ``values`` (same index and name) holding
    ``func(value, **kwargs)`` for each row, and None where the input is missing. ``func``
    must read its argument through :func:`as_text` (every normalizer does), so calling it
    on the text gives the answer for the cell.
    """
    values, codes, texts = distinct_text(values)
    mapped = np.empty(len(texts), dtype=object)
    for i, u in enumerate(texts):
        mapped[i] = func(u, **kwargs)
    return _scatter(values, codes, mapped)


def map_distinct_batch(
    values: pd.Series | list | np.ndarray, batch_func: Callable[[np.ndarray], np.ndarray]
) -> pd.Series:
    """Like :func:`map_distinct`, but ``batch_func`` receives the object array of distinct
    non-missing texts at once and returns an array of their results (same length), so it
    can use vectorized fast paths and call the scalar function only where they cannot decide.
    """
    values, codes, texts = distinct_text(values)
    mapped = np.asarray(batch_func(texts), dtype=object) if len(texts) else np.empty(0, dtype=object)
    return _scatter(values, codes, mapped)


def apply_scalar(texts: np.ndarray, func: Callable[..., Any], **kwargs: Any) -> np.ndarray:
    """``func`` applied to each element of ``texts`` (object array in, object array out)."""
    out = np.empty(len(texts), dtype=object)
    for i, t in enumerate(texts):
        out[i] = func(t, **kwargs)
    return out


def arrow_strings(texts: np.ndarray | pa.Array) -> pa.Array:
    """Distinct texts (an object array of str, or Arrow strings) as an Arrow string array."""
    if isinstance(texts, pa.Array):
        return texts if texts.type == pa.string() else texts.cast(pa.string())
    return pa.array(texts, type=pa.string())


def texts_at(texts: np.ndarray | pa.Array, idx: np.ndarray) -> np.ndarray:
    """``texts[idx]`` as an object array of str (``texts`` as in :func:`arrow_strings`)."""
    if isinstance(texts, pa.Array):
        return np.array(texts.take(pa.array(idx, type=pa.int64())).to_pylist(), dtype=object)
    return texts[idx]


def _small_codes(codes: np.ndarray) -> np.ndarray:
    """Codes as int32 when they fit (half the memory of intp, and numpy indexes with either)."""
    if len(codes) < 2**31 - 1 and codes.dtype != np.int32:
        return codes.astype(np.int32)
    return codes


def _indices(encoded: pa.DictionaryArray) -> np.ndarray:
    """A dictionary array's indices as codes (-1 where null)."""
    return _small_codes(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False))


def _arrow_text(values: Any) -> pa.Array | None:
    """The Arrow string data of a pyarrow-backed string Series (one array), else None."""
    if not isinstance(values, pd.Series):
        return None
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        pass
    elif isinstance(dtype, pd.ArrowDtype) and (
        pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    ):
        pass
    else:
        return None
    data = values.array.__arrow_array__()
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks() if data.num_chunks != 1 else data.chunk(0)
    return data.cast(pa.large_string()) if not pa.types.is_large_string(data.type) else data


def distinct_codes(
    columns: Sequence[pd.Series], *, stack: bool = False, as_arrow: bool = False
) -> tuple[list[np.ndarray], Any]:
    """:func:`distinct_text` over the columns stacked one after the other, split back.

    Returns one code array per column (int32 while that fits; -1 where missing) into one
    shared object array of distinct texts. Pyarrow-backed string columns are encoded by Arrow directly,
    without making a Python string per cell; other columns take the :func:`distinct_text`
    path: a single column as it is (unless ``stack``), several stacked as object arrays.
    With ``as_arrow``, the texts Arrow found stay an Arrow array (for the batch functions,
    which read them with Arrow; see :func:`arrow_strings`).
    """
    arrows = [_arrow_text(c) for c in columns]
    if columns and all(a is not None for a in arrows):
        data = arrows[0] if len(arrows) == 1 else pa.concat_arrays(arrows)
        enc = pc.dictionary_encode(data)
        codes = _indices(enc)
        texts = enc.dictionary if as_arrow else np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    else:
        if len(columns) == 1 and not stack:
            _, codes, texts = distinct_text(columns[0])
        else:
            stacked = np.concatenate([pd.Series(c).to_numpy(dtype=object, na_value=None) for c in columns])
            _, codes, texts = distinct_text(pd.Series(stacked, dtype=object))
        codes = _small_codes(np.asarray(codes))
    out, start = [], 0
    for c in columns:
        out.append(codes[start : start + len(c)])
        start += len(c)
    return out, texts


@dataclass
class Coded:
    """A column kept as ``values[codes]``: integer ``codes`` (-1: missing) into an object array
    of ``values`` (which may repeat and hold None). Derived columns are computed once per
    value, and several columns may share one ``values`` array."""

    codes: np.ndarray
    values: np.ndarray
    missing: Any = None  # what a missing row reads as
    distinct: bool = False  # no two values are equal (None apart)
    ids: np.ndarray | None = None  # int64 per value, equal ids for equal values; -1 for None

    def __len__(self) -> int:
        return len(self.codes)

    def to_numpy(self, out: np.ndarray | None = None) -> np.ndarray:
        """The column as an object array (written into ``out`` if given)."""
        return take(self.values, self.codes, self.missing, out=out)

    def series(self, index: pd.Index | None = None, name: Any = None) -> pd.Series:
        return pd.Series(self.to_numpy(), index=index, name=name, dtype=object)

    def with_values(self, values: np.ndarray) -> Coded:
        """The same codes over other values (one per entry of ``values``)."""
        return Coded(self.codes, values)

    def value_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``pd.factorize`` of ``values`` (codes numbered in another order): int64 codes,
        -1 for None, one more -1 at the end (for missing rows), and the distinct values.
        ``value_codes()[0][codes]`` factorizes the column."""
        if self.distinct:
            keep = ~pd.isna(self.values)
            codes, uniques = np.where(keep, np.cumsum(keep) - 1, -1), self.values[keep]
        elif self.ids is not None:
            codes = np.full(len(self.values), -1, dtype=np.int64)
            keep = np.flatnonzero(self.ids >= 0)
            codes[keep] = pd.factorize(self.ids[keep])[0]
            uniques = self.values[keep[_first_seen(codes[keep])]]
        else:
            codes, uniques = factorize_text(self.values)
        return np.append(codes, -1).astype(np.int64), uniques


def factorize_text(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of an object array of str / None (codes in another order): Arrow's
    hashing is about twice as fast on freshly made strings (whose hash Python has not
    cached yet)."""
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not only text: pandas' equality
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes, np.asarray(uniques, dtype=object)
    enc = pc.dictionary_encode(arr)
    codes = _indices(enc)
    # Codes number values in order of first appearance: the distinct values are those
    # entries (the same string objects, not new ones).
    first = _first_seen(codes)
    if len(first) != len(enc.dictionary):  # not in order of appearance after all
        return codes, np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return codes, np.asarray(values, dtype=object)[first]


def _first_seen(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, for codes numbered in order of first appearance
    (-1 ignored): where their running maximum goes up."""
    if not len(codes):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
