"""Shared machinery for the normalizers: text coercion and per-distinct-value mapping.

Customer exports repeat the same values a lot (the same city, the same placeholder email,
the same first names), so every vectorized normalizer computes each *distinct* value once
and scatters the answers back with numpy indexing. This is most of the speed-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

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
    if dtype == object:
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
    result = np.empty(len(values), dtype=object)
    present = codes >= 0
    if present.all():
        result[:] = mapped[codes]
    else:
        result[:] = missing
        result[present] = mapped[codes[present]]
    return pd.Series(result, index=values.index, name=values.name, dtype=object)


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
