"""Prepare records for batch matching: normalize once, derive the keys every stage uses.

Records are put in a canonical order (by ``record_id``) first, so that everything
downstream — random samples for u, cluster ids, tie-breaks — is independent of the
input's row order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.normalize import addresses, emails, names, phones, vins
from matching.normalize._vector import Coded, _arrow_text, distinct_codes, take
from matching.normalize.frame import EMAIL_COLUMNS, PHONE_COLUMNS, VIN_COLUMNS, normalize_coded

#: Extra columns read as a date of birth / an identity number (first one present wins).
DOB_COLUMNS = ("date_of_birth", "dob", "birth_date")
ID_NUMBER_COLUMNS = ("id_number", "soc_sec_id", "ssn", "national_id", "drivers_license")


def _digits_date(values: pd.Series) -> pd.Series:
    # A date of birth compares as its digits (19560409, 1956-04-09 and 1956/04/09 agree).
    d = values.astype(object).where(values.notna(), None).astype("string").str.replace(r"\D", "", regex=True)
    return d.where(d.str.len() >= 6, None).astype(object)


def _id_text(values: pd.Series) -> pd.Series:
    d = values.astype(object).where(values.notna(), None).astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    return d.where(d.str.len() >= 4, None).astype(object)


def _in_order(record_ids: pd.Series) -> bool:
    """True if the (pyarrow-backed, complete) ids are already in order: sorting would leave
    every row where it is (a stable sort by Arrow's order, that of code points)."""
    data = _arrow_text(record_ids)
    if data is None or data.null_count or len(data) < 2:
        return False
    return bool(pc.all(pc.less_equal(data.slice(0, len(data) - 1), data.slice(1))).as_py())


def _line2_empty(recs: pd.DataFrame) -> np.ndarray:
    """Rows whose address line 2 is missing or empty (all rows without that column)."""
    if "address_line2" not in recs.columns:
        return np.ones(len(recs), dtype=bool)
    data = _arrow_text(recs["address_line2"])
    if data is not None:
        return pc.fill_null(pc.equal(data, ""), True).to_numpy(zero_copy_only=False)
    line2 = recs["address_line2"].astype(object)
    return (line2.isna() | (line2 == "")).to_numpy(dtype=bool)


def _address_key(recs: pd.DataFrame, coded: dict[str, Coded]) -> tuple[Coded | np.ndarray, Coded | np.ndarray]:
    """``address_key_series(address_line1, postal_code)``, reusing the normalized street,
    and its key part alone (``"<house> <street word>"``, where the record has a ZIP too).

    ``street`` is read from line 1 joined with line 2; where line 2 is missing or empty
    that is line 1's street, so the key comes from it without parsing the line again
    (and ``postal_code`` is ``zip_code_series(postal_code)``). Rows with a line 2 are
    keyed from line 1 alone, as before. The key part comes with the street (from the same
    parse), and each distinct (key part, ZIP) key is written once.
    """
    n = len(recs)
    if "address_line1" not in recs.columns or "postal_code" not in coded:
        none = np.full(n, None, dtype=object)  # no street, or no ZIP: no key
        return none, none
    street = coded["_street_key_part"]
    same = _line2_empty(recs)
    part_codes = np.where(same, street.codes, -1)
    part_values = street.values
    if not same.all():
        rest = np.flatnonzero(~same)
        [codes], texts = distinct_codes([recs["address_line1"].iloc[rest]], as_arrow=True)
        rest_values = addresses._split_batch(texts, key_parts=True)[2]
        part_codes[rest] = np.where(codes >= 0, codes + len(part_values), -1)
        part_values = np.concatenate([part_values, rest_values])
    part = Coded(part_codes, part_values)
    zip5 = coded["postal_code"]
    part_of, parts = part.value_codes()
    zip_of, zips = zip5.value_codes()
    part_row, zip_row = part_of[part.codes], zip_of[zip5.codes]
    rows = np.flatnonzero((part_row >= 0) & (zip_row >= 0))
    codes = np.full(n, -1, dtype=np.int64)
    street_part = Coded(np.where(zip_row >= 0, part_row, -1), parts)
    if not len(rows):
        return Coded(codes, np.empty(0, dtype=object), distinct=True), street_part
    codes[rows], _ = pd.factorize(part_row[rows] * len(zips) + zip_row[rows])
    # One text per distinct (key part, ZIP), from the row where it first appears. The
    # part is "<house> <word>" and the ZIP has no space: distinct pairs, distinct texts.
    seen = np.maximum.accumulate(codes[rows])
    first = rows[np.flatnonzero(np.diff(seen, prepend=-1) > 0)]
    texts = pc.binary_join_element_wise(
        pa.array(parts[part_row[first]], type=pa.string()), pa.array(zips[zip_row[first]], type=pa.string()), " "
    )
    return Coded(codes, np.asarray(texts.to_numpy(zero_copy_only=False), dtype=object), distinct=True), street_part


class NormColumns:
    """The normalized columns of :class:`Prepared`, kept coded: a column is int32 codes
    per record into an array of values (several columns share their values: the phone
    slots; first name and its nickname label share codes), and reads as an object Series
    only when asked for.

    Read it as a read-only DataFrame: ``norm["phone_1"]`` (a Series, None where missing),
    ``norm[["first_name", "last_name"]]`` (a DataFrame), ``norm.columns``, ``col in norm``,
    ``len(norm)``, ``norm.get(col)``; :meth:`to_frame` (or :meth:`copy`) gives a DataFrame
    to change. Why: a million records times thirty columns of object pointers, and
    int64 codes beside them, were 0.45 GB alive through every stage; int32 codes are 0.12 GB.
    """

    _serials = itertools.count()

    def __init__(self, columns: dict[str, Coded | np.ndarray], index: pd.Index) -> None:
        # Codes shared by several columns stay shared (one int32 copy of each array).
        small: dict[int, np.ndarray] = {}
        kept: dict[str, Coded | np.ndarray] = {}
        for name, c in columns.items():
            if isinstance(c, Coded):
                key = id(c.codes)
                if key not in small:
                    small[key] = c.codes.astype(np.int32) if len(c.values) < np.iinfo(np.int32).max else c.codes
                c = Coded(small[key], c.values, missing=c.missing, distinct=c.distinct, ids=c.ids)
            kept[name] = c
        self._columns = kept
        self.index = index
        self.columns = pd.Index(list(kept), dtype=object)
        #: Tells one NormColumns from another (cached tables read it: ids can be reused).
        self.serial = next(self._serials)
        self._factorized: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.index), len(self.columns))

    def __contains__(self, col: object) -> bool:
        return col in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __getitem__(self, key: str | list[str]) -> Any:
        if isinstance(key, list):
            return pd.DataFrame({c: self[c] for c in key}, index=self.index, columns=key, copy=False)
        c = self._columns[key]
        values = c.to_numpy() if isinstance(c, Coded) else c
        return pd.Series(values, index=self.index, name=key, dtype=values.dtype, copy=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._columns else default

    def to_frame(self) -> pd.DataFrame:
        """Every column as a DataFrame of its own arrays (object text and bool flags)."""
        return pd.DataFrame({c: self[c] for c in self._columns}, index=self.index, copy=False)

    def copy(self) -> pd.DataFrame:
        """:meth:`to_frame`: a DataFrame the caller may change."""
        return self.to_frame()

    def codes(self, col: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``pd.factorize(self[col])``: int64 codes (-1 where missing; equal values, equal
        codes; numbered in no particular order) and the distinct values they index.
        Columns that share their values (phone_1, phone_2) share the distinct values, so
        their codes compare across columns. None for a column not kept coded."""
        c = self._columns.get(col)
        if not isinstance(c, Coded):
            return None
        key = id(c.values)  # held by the column: the id stays its own
        if key not in self._factorized:
            self._factorized[key] = c.value_codes()
        codes, uniques = self._factorized[key]
        return codes[c.codes], uniques


@dataclass
class Prepared:
    """Records in canonical order with their normalized fields and derived keys.

    ``records`` keeps the raw canonical columns (text); ``norm`` holds, aligned by
    position 0..n-1: first_name, middle_name, last_name, suffix, company, phone_1/2
    (E.164), email_1/2 (match keys: provider rules folded), vin_1..3, street, unit, city,
    state, postal_code, zip5, country, customer_key, plus ``first_canon`` (nickname
    label), ``first_phon``/``last_phon`` (phonetic keys), ``address_key`` and its
    ``street_part`` alone (``"<house> <street word>"``, where the record has a ZIP), and the
    placeholder flags ``phone_1_junk``/``email_1_junk`` per slot, and ``dob`` / ``id_number``
    from the extra columns :data:`DOB_COLUMNS` / :data:`ID_NUMBER_COLUMNS` when present.

    :func:`prepare` makes ``norm`` a :class:`NormColumns` (coded, read-only); a
    ``Prepared`` built by hand may hold a DataFrame instead, whose codes are then found
    by factorizing.
    """

    records: pd.DataFrame
    norm: NormColumns | pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.records)

    @property
    def record_ids(self) -> np.ndarray:
        return self.records["record_id"].to_numpy(dtype=object)

    def codes(self, col: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``pd.factorize(norm[col])`` as :func:`prepare` found it while normalizing (see
        :meth:`NormColumns.codes`); None if ``norm`` is a DataFrame or the column was
        not kept coded."""
        return self.norm.codes(col) if isinstance(self.norm, NormColumns) else None


def prepare(
    records: pd.DataFrame, *, region: str = "US", dealer_phones: tuple[str, ...] = (), dealer_domains: tuple[str, ...] = ()
) -> Prepared:
    """Sort records by ``record_id`` and normalize them (see :class:`Prepared`).

    Every derived key is computed once per distinct value of the column it comes from
    (the columns are kept coded, :func:`~matching.normalize.frame.normalize_coded`, until
    the frame is built).
    """
    if _in_order(records["record_id"]):  # as exports usually come: no copy needed
        recs = records.reset_index(drop=True)
    else:
        recs = records.sort_values("record_id", kind="stable").reset_index(drop=True)
    n = len(recs)
    coded = normalize_coded(recs, region=region, keys=True)
    none = Coded(np.full(n, -1, dtype=np.intp), np.empty(0, dtype=object))
    cols: dict[str, Any] = {name: c for name, c in coded.items() if not name.startswith("_")}
    for col in ("first_name", "middle_name", "last_name", "suffix", "company", "street", "unit",
                "city", "state", "postal_code", "country", "customer_key",
                *PHONE_COLUMNS, *EMAIL_COLUMNS, *VIN_COLUMNS):
        if col not in cols:
            cols[col] = none
    locals_, domains = emails._rules(dealer_domains, emails.PLACEHOLDER_EMAIL_LOCAL_PARTS, emails.PLACEHOLDER_EMAIL_DOMAINS)
    if "_email_match_key" in coded:
        # The slots share one array of values: flags and match keys once per entry. The
        # values are email() of the raw texts, which is what is_placeholder_email reads.
        email_values = next(coded[c].values for c in EMAIL_COLUMNS if c in coded)
        junk_values = emails._placeholder_flags(email_values, locals_, domains)
        # Match on the provider-folded key (gmail dots and +tags are one mailbox).
        key_values = coded["_email_match_key"].values
    for col in EMAIL_COLUMNS:
        if col in coded:
            cols[f"{col}_junk"] = _flags(junk_values, coded[col].codes)
            cols[col] = coded[col].with_values(key_values)
        else:
            cols[f"{col}_junk"] = np.zeros(n, dtype=bool)
    dealer_e164 = {e for e in (phones.phone(p, region=region) for p in dealer_phones) if e}
    for col in PHONE_COLUMNS:
        # phone() already gives None for placeholder patterns (000-000-0000, 123-456-7890,
        # one repeated digit), so a valid number is junk only when it is the dealer's own.
        c = cols[col]
        if dealer_e164:
            cols[f"{col}_junk"] = _flags(np.array([v in dealer_e164 for v in c.values], dtype=bool), c.codes)
        else:
            cols[f"{col}_junk"] = np.zeros(n, dtype=bool)
    last8: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # the slots share their values
    for k, col in enumerate(VIN_COLUMNS, start=1):
        c = cols[col]
        if id(c.values) not in last8:
            last8[id(c.values)] = vins._last8_batch(c.values)
        values, ids = last8[id(c.values)]
        cols[f"vin8_{k}"] = Coded(c.codes, values, ids=ids)
    cols["zip5"] = cols["postal_code"]
    dob = next((c for c in DOB_COLUMNS if c in recs.columns), None)
    idn = next((c for c in ID_NUMBER_COLUMNS if c in recs.columns), None)
    cols["dob"] = _digits_date(recs[dob]).to_numpy() if dob else none
    cols["id_number"] = _id_text(recs[idn]).to_numpy() if idn else none
    first, last = cols["first_name"], cols["last_name"]
    canon, phon = _name_keys(first.values)
    cols["first_canon"], cols["first_phon"] = first.with_values(canon), first.with_values(phon)
    # The name columns share one array of values (from normalize_coded).
    cols["last_phon"] = last.with_values(phon if last.values is first.values else _name_keys(last.values)[1])
    # Date of birth with either name's sound: finds pairs whose first and last names swapped.
    dob_values = _array(cols["dob"])
    for col, name_col in (("dob_first_phon", "first_phon"), ("dob_last_phon", "last_phon")):
        out = np.full(n, None, dtype=object)
        if dob is not None:
            phon = _array(cols[name_col])
            ok = np.flatnonzero(~(pd.isna(dob_values) | pd.isna(phon)))
            out[ok] = dob_values[ok] + "|" + phon[ok]
        cols[col] = out
    cols["address_key"], cols["street_part"] = _address_key(recs, coded)
    return Prepared(records=recs, norm=NormColumns(cols, recs.index))


def _name_keys(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``canonical_first`` and ``name_phonetic`` of normalized names (object array, None
    allowed), each distinct name read once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    canon = np.empty(len(uniques), dtype=object)
    phon = np.empty(len(uniques), dtype=object)
    for i, v in enumerate(uniques):
        n = names.name(v)
        canon[i], phon[i] = names._canonical_of_name(n), names._phonetic_of_name(n)
    return take(canon, codes), take(phon, codes)


def _array(column: Any) -> np.ndarray:
    return column.to_numpy() if isinstance(column, Coded) else column


def _flags(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``values[codes]`` for a bool array of values (False where the code is -1)."""
    ext = np.zeros(len(values) + 1, dtype=bool)
    ext[:-1] = values
    return ext[codes]
