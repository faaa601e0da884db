"""Normalize a whole customer export at once: one normalized column per input field.

The input uses the canonical export columns (see :data:`CANONICAL_COLUMNS`); any subset
may be present. Each field is normalized by its module's vectorized form, which works
once per distinct value, so the cost follows the number of distinct values rather than
rows.
"""

from __future__ import annotations

import pandas as pd

from matching.normalize import addresses, emails, names, phones, vins

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
    for col in ("first_name", "middle_name", "last_name"):
        if has(col):
            out[col] = names.name_series(df[col])
    suffix_sources = [c for c in ("last_name", "first_name", "middle_name") if has(c)]
    if suffix_sources:
        suffix = names.suffix_series(df[suffix_sources[0]])
        for col in suffix_sources[1:]:
            suffix = suffix.where(suffix.notna(), names.suffix_series(df[col]))
        out["suffix"] = suffix
    if has("company"):
        out["company"] = names.company_series(df["company"])
    for col in PHONE_COLUMNS:
        if has(col):
            out[col] = phones.phone_series(df[col], region=region)
    for col in EMAIL_COLUMNS:
        if has(col):
            out[col] = emails.email_series(df[col])
    for col in VIN_COLUMNS:
        if has(col):
            out[col] = vins.vin_series(df[col])
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
