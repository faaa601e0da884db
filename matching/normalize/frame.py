"""Normalize a whole customer export at once: one normalized column per input field.

The input uses the canonical export columns (see :data:`CANONICAL_COLUMNS`); any subset
may be present. Each field is normalized by its module's vectorized form, which works
once per distinct value, so the cost follows the number of distinct values rather than
rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.normalize import addresses, emails, names, phones, vins
from matching.normalize._vector import distinct_text

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
    out: dict[str, pd.Series] = {}
    has = df.columns.__contains__
    name_cols = [c for c in ("first_name", "middle_name", "last_name") if has(c)]
    if name_cols:
        # One parse per distinct text over the three columns gives the name and the suffix.
        stacked, codes, texts = distinct_text(_stack(df, name_cols))
        name_u = np.empty(len(texts) + 1, dtype=object)
        suffix_u = np.empty(len(texts) + 1, dtype=object)
        for i, t in enumerate(texts):
            name_u[i], suffix_u[i] = names._name_and_suffix(t)
        name_u[-1] = suffix_u[-1] = None  # code -1: missing
        n = len(df)
        parts = {c: codes[k * n : (k + 1) * n] for k, c in enumerate(name_cols)}
        for col in ("first_name", "middle_name", "last_name"):
            if col in parts:
                out[col] = pd.Series(name_u[parts[col]], index=df.index, name=col, dtype=object)
        suffix = None
        for col in ("last_name", "first_name", "middle_name"):
            if col in parts:
                col_suffix = suffix_u[parts[col]]
                suffix = col_suffix if suffix is None else np.where(pd.isna(suffix), col_suffix, suffix)
        out["suffix"] = pd.Series(suffix, index=df.index, dtype=object)
    if has("company"):
        out["company"] = names.company_series(df["company"])
    # Columns of one kind share many values (phone_1/phone_2...): normalize their union once.
    for cols, func in (
        (PHONE_COLUMNS, lambda v: phones.phone_series(v, region=region)),
        (EMAIL_COLUMNS, emails.email_series),
        (VIN_COLUMNS, vins.vin_series),
    ):
        present = [c for c in cols if has(c)]
        if present:
            result = func(_stack(df, present)).to_numpy()
            n = len(df)
            for k, col in enumerate(present):
                out[col] = pd.Series(result[k * n : (k + 1) * n], index=df.index, name=col, dtype=object)
    if has("address_line1"):
        line = df["address_line1"]
        if has("address_line2"):
            # Exports split the unit into line 2; joined, split_unit finds it either way.
            line2 = df["address_line2"].astype(object)
            line = line.astype(object).where(line2.isna(), line.astype(object).fillna("") + " " + line2.fillna(""))
        parts = addresses.split_unit_series(line)
        out["street"] = parts.iloc[:, 0]
        out["unit"] = parts.iloc[:, 1]
    if has("city"):
        out["city"] = addresses.city_series(df["city"])
    if has("state"):
        out["state"] = addresses.state_series(df["state"])
    if has("postal_code"):
        out["postal_code"] = addresses.zip_code_series(df["postal_code"])
    if has("country"):
        out["country"] = addresses.country_series(df["country"])
    if has("customer_key"):
        key = df["customer_key"].astype(object)
        out["customer_key"] = key.where(key.isna(), key.astype(str).str.strip()).replace("", None)
    return pd.DataFrame(out, index=df.index)


def _stack(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The columns one after the other, as one object Series."""
    return pd.Series(
        np.concatenate([df[c].to_numpy(dtype=object, na_value=None) for c in cols]), dtype=object
    )
