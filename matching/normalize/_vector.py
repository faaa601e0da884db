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


def map_distinct(values: pd.Series | list | np.ndarray, func: Callable[..., Any], **kwargs: Any) -> pd.Series:
    """Apply ``func`` once per distinct non-missing value of ``values``.

    Returns an object Series aligned with ``values`` (same index and name) holding
    ``func(value, **kwargs)`` for each row, and None where the input is missing.
    """
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques), dtype=object)
    for i, u in enumerate(uniques):
        mapped[i] = func(u, **kwargs)
    result = np.empty(len(values), dtype=object)
    result[:] = None
    present = codes >= 0
    result[present] = mapped[codes[present]]
    return pd.Series(result, index=values.index, name=values.name, dtype=object)
