"""Read dealer exports (CSV, Parquet or a DataFrame) into the canonical export columns.

:func:`read_export` returns an :class:`Export`: the ``records`` in the canonical columns
(:data:`matching.normalize.frame.CANONICAL_COLUMNS`, every value as text), the ``rejects``
(rows that could not be read, with their line and the reason) and what was decided on
the way (mapping, encoding, delimiter). Every data row ends up in exactly one of
``records`` and ``rejects``; blank rows are counted, not kept.

Rules (also the README's):

- **Values** are text exactly as written (ZIP ``02134`` and phone ``3105550100`` stay as
  they are), except that surrounding whitespace is stripped and empty or whitespace-only
  cells are missing (NA). ``NA``, ``N/A``, ``null`` stay as text: the normalizers decide
  what is junk, and the golden record can show what was there.
- **Encoding**: an explicit ``encoding`` wins. Otherwise a UTF-16 BOM means UTF-16, a
  UTF-8 BOM means ``utf-8-sig``, and bytes that decode as strict UTF-8 are ``utf-8``.
  Otherwise the file is ``cp1252`` (Windows-1252, what Excel and most DMS exports write;
  Latin-1 text decodes to the same letters), unless more than half of its non-ASCII
  bytes form well-formed UTF-8 sequences: then it is ``utf-8`` with a few broken rows.
  Rows with bytes the encoding cannot decode go to rejects ("bytes not valid in ..."),
  their raw text showing those bytes as ``\\xNN``.
- **Delimiter**: the one of ``, ; TAB |`` that occurs most often outside quotes on the
  header line (ties: that order; none: comma), unless ``delimiter`` is given.
- **Lines**: physical lines end at ``\\r\\n``, ``\\n`` or a lone ``\\r``. The first
  non-blank line is the header; a record's ``line`` is the physical line it starts on
  (header = line 1 when the file starts with it), also when quoted fields hold newlines.
  ``records`` is indexed by that line (index name ``line``).
- **Blank rows** (every field empty or whitespace, whatever the number of fields, e.g.
  an empty line or ``,,,,``) are not records and not rejects: ``Export.blank_lines``
  counts them and :meth:`Export.summary` reports them.
- **Bad rows** go to rejects: a wrong number of fields (a row with *more* fields than the
  header is kept when the extra fields are all empty: trailing delimiters), NUL bytes,
  undecodable bytes, an empty record id, a duplicate record id (the first row keeps it;
  later ones are rejected with "duplicate record_id X (first seen on line N)"). Rows the
  fast parser cannot fit are re-read with Python's csv module (which also accepts a space
  before an opening quote) before being rejected.
- **Unbalanced quotes**: a quoted field that never closes would swallow the rest of the
  file. When a quote is still open at the end of the file, or a row spanning several
  lines has the wrong number of fields and its quotes do not close cleanly, its first
  line is rejected ("unbalanced quote") and reading resumes on the next line. A clean
  multi-line row with the wrong number of fields is rejected whole. (A stray quote that
  closes later with the right number of fields still merges those lines into one
  record: CSV cannot tell that from a multi-line value.)
- **Record ids** come from the mapped ``record_id`` column; ``id_column`` (a source
  column) overrides it; with neither, ids are generated as ``L{line}`` (``L2``, ``L3``...),
  stable for a given file.
- **Header detection** (:func:`detect_mapping`) compares header names ignoring case,
  spaces, underscores, dashes, dots and other punctuation (``#`` reads as "no": "Cust #"
  = custno), and ignoring one leading
  ``customer``/``cust``/``client``/``contact``/``buyer``/``owner``/``primary`` ("Cust
  First Name" = first_name). For a canonical column with several candidates the most
  specific spelling wins (``Address 1`` over ``Address``; ``record_id`` over ``id``), then
  the leftmost. Phones, emails and VINs are families: their columns fill ``phone_1``,
  ``phone_2`` (``email_1``, ``email_2``; ``vin_1``..``vin_3``) in the order they appear
  (numbers in the names are ignored) and further ones are kept as extra columns
  ``phone_3``, ``email_3``, ``vin_4``... Ids: ``record_id``/``rec_id``/``id``/``row_id``
  are the record id; ``customer_key``/``dms_id``/``custno``/``Customer Number``/
  ``account_number`` are the customer key; ``customer_id``/``cust_id`` is the record id
  when there is no record-id column, else the customer key when there is no customer-key
  column, else unused. A street-number column is joined before ``address_line1``.
- **Full names** ("Name", "Customer Name", "Full Name") are used only when there is no
  first- or last-name column: :func:`matching.normalize.names.parse_full_name` splits them,
  so ``first_name``/``middle_name``/``last_name`` hold its *normalized* parts (lower case,
  a suffix such as ``jr`` appended to the last name, where ``normalize_frame`` finds it),
  and the text as written is kept in the extra column ``full_name``.
- **Mapping files** override detection entirely (columns they leave out are unmapped);
  the format is the FEBRL one (``datasets/febrl/README.md``) plus an optional
  ``"full_name": "<source column>"``. Columns not mapped are listed in
  ``Export.unmapped_columns`` and not kept.
- **DataFrame / Parquet input**: ``line`` is the row position (0-based, as ``iloc``);
  non-text cells become text (integral floats lose their ``.0``: ``3105550100.0`` ->
  ``3105550100``; timestamps as ``YYYY-MM-DD HH:MM:SS``).
- **Writing** (:func:`write_csv_safe`): cells starting with ``= + - @``, a tab or a
  carriage return get a leading ``'`` (OWASP CSV injection), except plain numbers such as
  ``-5``, ``3.25`` and E.164 phones ``+13105550100``: a spreadsheet reads those as numbers,
  never as formulas, and escaping them would corrupt phones and amounts. Anything else
  (``+1 (310) 555-0100``, ``-2+3``, ``@SUM(A1)``, ``  =1``) is escaped. Files are UTF-8
  with a BOM (so that Excel shows accents) and CRLF line ends.
- **Speed**: the file is decoded once and parsed by pyarrow's CSV reader, serially
  because only then does it report where bad rows are; physical line numbers come from
  the line breaks each row holds. About 3 s of CPU for 1,000,000 rows (150 MB).
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from matching.normalize._vector import map_distinct
from matching.normalize.frame import CANONICAL_COLUMNS
from matching.normalize.names import parse_full_name_series

__all__ = [
    "Export",
    "Mapping",
    "MappingError",
    "REJECT_COLUMNS",
    "detect_mapping",
    "header_key",
    "load_mapping",
    "read_export",
    "write_csv_safe",
    "write_rejects",
]

#: Columns of :attr:`Export.rejects`.
REJECT_COLUMNS: tuple[str, ...] = ("line", "record_id", "reason", "raw")
#: Raw text of a reject is cut to this many characters.
RAW_MAX_CHARS = 500
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

Source = str | os.PathLike[str] | pd.DataFrame
SourceColumns = str | list[str]

# pandas 3's default text dtype (Arrow-backed, NaN for missing).
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_BREAK = re.compile(r"\r\n|\r|\n")
_BREAK_B = re.compile(rb"\r\n|\r|\n")


class MappingError(ValueError):
    """A column mapping that does not fit: unknown canonical names or missing source
    columns (the message names them and lists what is available)."""


# ======================================================================================
# Column mapping
# ======================================================================================

# Overflow columns of the phone/email/VIN families, kept as extra columns.
_OVERFLOW = re.compile(r"(?:phone|email)_(?:[3-9]|[1-9]\d+)|vin_(?:[4-9]|[1-9]\d+)")


@dataclass(frozen=True)
class Mapping:
    """Which source column(s) feed each output column.

    ``columns``: canonical column -> source column, or a list of source columns whose
    non-missing values are joined with one space. ``extra``: other kept columns, same
    form. ``full_name``: a source column split into first/middle/last name (see the
    module docstring), or None.
    """

    columns: dict[str, SourceColumns] = field(default_factory=dict)
    extra: dict[str, SourceColumns] = field(default_factory=dict)
    full_name: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "mapping") -> Mapping:
        """Build and check a mapping from the file format (``{"version": 1, "columns":
        ..., "extra": ..., "full_name": ...}``) or a flat ``{output column: source}`` dict
        such as :func:`detect_mapping` returns."""
        if not isinstance(data, dict):
            raise MappingError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if "columns" in data:
            unknown_keys = sorted(set(data) - {"version", "columns", "extra", "full_name"})
            if unknown_keys:
                raise MappingError(
                    f"{where}: unknown keys {unknown_keys}; "
                    "expected version, columns, extra, full_name"
                )
            if data.get("version", 1) != 1:
                raise MappingError(f"{where}: unsupported version {data['version']!r}; expected 1")
            columns, extra = data["columns"], data.get("extra") or {}
            full = data.get("full_name")
            for name, part in (("columns", columns), ("extra", extra)):
                if not isinstance(part, dict):
                    raise MappingError(f"{where}: {name!r} must be an object")
        else:  # flat: canonical names, overflow family columns, full_name
            columns, extra = {}, {}
            full = None
            for key, value in data.items():
                if key == "full_name":
                    full = value
                elif _OVERFLOW.fullmatch(key):
                    extra[key] = value
                else:
                    columns[key] = value
        unknown = [k for k in columns if k not in CANONICAL_COLUMNS]
        if unknown:
            raise MappingError(
                f"{where}: unknown canonical column(s) {unknown}; canonical columns are "
                f'{", ".join(CANONICAL_COLUMNS)} (put other columns under "extra")'
            )
        clash = [k for k in extra if k in CANONICAL_COLUMNS or k == "full_name" or not k]
        if clash:
            raise MappingError(
                f"{where}: extra column name(s) {clash} are canonical, reserved or empty"
            )
        if full is not None and not (isinstance(full, str) and full):
            raise MappingError(f"{where}: full_name must be one source column name, got {full!r}")
        checked = {}
        for name, value in [*columns.items(), *extra.items()]:
            if isinstance(value, str) and value:
                checked[name] = value
            elif isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
                checked[name] = list(value)
            else:
                raise MappingError(
                    f"{where}: {name!r} must map to a source column name or a non-empty "
                    f"list of them, got {value!r}"
                )
        return cls(
            columns={k: checked[k] for k in CANONICAL_COLUMNS if k in columns},
            extra={k: checked[k] for k in extra},
            full_name=full,
        )

    def to_dict(self) -> dict[str, Any]:
        """The mapping-file form (save it with ``json.dump`` to edit and reuse)."""
        out: dict[str, Any] = {
            "version": 1,
            "columns": dict(self.columns),
            "extra": dict(self.extra),
        }
        if self.full_name:
            out["full_name"] = self.full_name
        return out

    def sources(self) -> list[str]:
        """Every source column the mapping reads, in first-use order."""
        seen: dict[str, None] = {}
        for value in [*self.columns.values(), *self.extra.values()]:
            for src in [value] if isinstance(value, str) else value:
                seen.setdefault(src)
        if self.full_name:
            seen.setdefault(self.full_name)
        return list(seen)

    def check_sources(self, available: Sequence[str], *, where: str) -> None:
        """Raise :class:`MappingError` naming every source column that is not in
        ``available`` (the header of ``where``)."""
        missing = [s for s in self.sources() if s not in set(available)]
        if missing:
            raise MappingError(
                f"{where}: mapped source column(s) {missing} not found; the columns are "
                f"{list(available)}"
            )


def load_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Read a mapping file (JSON, the format of ``datasets/febrl/mapping.json``)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise MappingError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    return Mapping.from_dict(data, where=str(path))


def header_key(name: str) -> str:
    """A header name compared ignoring case, spaces and punctuation ("E-mail" -> "email");
    ``#`` reads as "no" ("Acct #" -> "acctno")."""
    return re.sub(r"[\W_]+", "", str(name).casefold().replace("#", "no"))


# Spellings per canonical column, most specific first: with several candidates the
# earliest spelling in this list wins, then the leftmost column.
_SINGLE: dict[str, tuple[str, ...]] = {
    "record_id": (
        "recordid", "recid", "record", "recno", "recordnumber", "recordno", "id", "rowid",
        "uniqueid",
    ),
    "customer_key": (
        "customerkey", "custkey", "dmscustomernumber", "dmscustomerno", "dmscustomerid",
        "dmscustno", "dmscustomerkey", "dmsid", "dmskey", "dmsnumber", "customernumber",
        "customerno", "customernum", "customernbr", "custnumber", "custno", "custnum",
        "custnbr", "accountnumber", "accountno", "accountnum", "accountnbr", "acctnumber",
        "acctno", "acctnum", "acctnbr", "accountid", "account",
    ),
    "first_name": (
        "firstname", "first", "fname", "givenname", "given", "forename", "firstnm",
        "namefirst",
    ),
    "middle_name": (
        "middlename", "middle", "mname", "middleinitial", "middleinit", "mi", "initial",
        "middlenm", "namemiddle",
    ),
    "last_name": ("lastname", "last", "lname", "surname", "familyname", "lastnm", "namelast"),
    "company": (
        "company", "companyname", "businessname", "business", "organization",
        "organisation", "organizationname", "organisationname", "org", "orgname", "firm",
        "firmname",
    ),
    "address_line1": (
        "addressline1", "address1", "streetaddress1", "street1", "addr1", "addressln1",
        "streetline1", "line1", "mailingaddress1", "address", "streetaddress", "street",
        "addr", "addressstreet", "mailingaddress", "homeaddress",
    ),
    "address_line2": (
        "addressline2", "address2", "streetaddress2", "street2", "addr2", "addressln2",
        "streetline2", "line2", "mailingaddress2", "aptsuite", "suiteapt", "apt", "aptno",
        "aptnumber", "apartment", "suite", "unit", "unitnumber",
    ),
    "city": ("city", "town", "cityname", "citytown", "towncity", "municipality", "locality", "suburb"),
    "state": (
        "state", "province", "stateprovince", "stateorprovince", "provincestate", "stateprov",
        "statecode", "stateabbr", "st", "prov", "region",
    ),
    "postal_code": (
        "postalcode", "zip", "zipcode", "postcode", "zip5", "zipcode5", "postal",
        "zippostalcode", "zippostal", "postalzip", "postalzipcode",
    ),
    "country": ("country", "countrycode", "countryname", "nation", "ctry"),
    "created_at": (
        "createdat", "created", "createddate", "datecreated", "createdate", "createdon",
        "creationdate", "createddatetime", "createdtime", "createtime", "datecreate",
        "dateadded", "entrydate", "dateentered", "addeddate",
    ),
}  # fmt: skip
_SINGLE_RANK = {
    key: (canon, rank) for canon, keys in _SINGLE.items() for rank, key in enumerate(keys)
}
_CUSTOMER_ID = frozenset({"customerid", "custid"})
_STREET_NUMBER = frozenset(
    {"streetnumber", "streetno", "streetnum", "housenumber", "houseno", "housenum"}
)
_FULL_NAME = frozenset({"name", "fullname", "fullnm", "displayname"})
_FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "phone",
        re.compile(
            r"(?:home|cell|cellular|mobile|work|business|office|day|daytime|evening|night|"
            r"primary|secondary|alt|alternate|other|main|personal)?"
            r"(?:phone|telephone|tel|cell|cellphone|cellular|mobile|mobilephone)"
            r"(?:number|num|no)?\d*"
        ),
    ),
    (
        "email",
        re.compile(
            r"(?:primary|secondary|alt|alternate|other|home|work|personal|business)?"
            r"email(?:address|addr|id)?\d*"
        ),
    ),
    ("vin", re.compile(r"(?:vehicle\d*)?(?:vin|vinnumber|vinno|vehicleidentificationnumber)\d*")),
)
# One leading word that does not change what a column holds ("Cust First Name").
_PREFIX = re.compile(r"^(?:customer|cust|client|contact|buyer|owner|primary)(?=.)")


def _classify(key: str) -> tuple[str, Any] | None:
    if key in _SINGLE_RANK:
        return ("single", _SINGLE_RANK[key])
    if key in _CUSTOMER_ID:
        return ("customer_id", None)
    if key in _STREET_NUMBER:
        return ("street_number", None)
    if key in _FULL_NAME:
        return ("full_name", None)
    for family, pattern in _FAMILIES:
        if pattern.fullmatch(key):
            return ("family", family)
    return None


def detect_mapping(columns: list[str]) -> dict[str, str | list[str]]:
    """Map header names to output columns by their usual spellings (see the module
    docstring for the rules): canonical columns, overflow ``phone_3``/``email_3``/
    ``vin_4``... and ``full_name``. Columns it does not recognize are left out."""
    best: dict[str, tuple[int, int, str]] = {}
    families: dict[str, list[str]] = {name: [] for name, _ in _FAMILIES}
    others: dict[str, list[str]] = {"customer_id": [], "street_number": [], "full_name": []}
    for position, column in enumerate(columns):
        key = header_key(column)
        found = _classify(key)
        if found is None and _PREFIX.match(key):
            found = _classify(_PREFIX.sub("", key))
        if found is None:
            continue
        kind, what = found
        if kind == "single":
            canon, rank = what
            if canon not in best or (rank, position) < best[canon][:2]:
                best[canon] = (rank, position, column)
        elif kind == "family":
            families[what].append(column)
        else:
            others[kind].append(column)
    customer_ids, street_numbers, full_names = (
        others["customer_id"],
        others["street_number"],
        others["full_name"],
    )
    chosen: dict[str, str | list[str]] = {canon: col for canon, (_, _, col) in best.items()}
    if customer_ids:
        # customer_id names the customer in the exporting system: the row id when the
        # export has no id of its own, else the customer key.
        if "record_id" not in chosen:
            chosen["record_id"] = customer_ids[0]
        elif "customer_key" not in chosen:
            chosen["customer_key"] = customer_ids[0]
    if street_numbers:
        line1 = chosen.get("address_line1")
        chosen["address_line1"] = (
            [street_numbers[0], line1] if isinstance(line1, str) else street_numbers[0]
        )
    out: dict[str, str | list[str]] = {c: chosen[c] for c in CANONICAL_COLUMNS if c in chosen}
    for family, _ in _FAMILIES:
        # Overflow columns simply continue the numbering: phone_3, vin_4, ...
        for i, column in enumerate(families[family], start=1):
            out[f"{family}_{i}"] = column
    if full_names and "first_name" not in out and "last_name" not in out:
        out["full_name"] = full_names[0]
    # Keep canonical columns first, then overflow columns, then full_name.
    canon = {k: v for k, v in out.items() if k in CANONICAL_COLUMNS}
    rest = {k: v for k, v in out.items() if k not in CANONICAL_COLUMNS}
    return {**canon, **rest}


def _resolve_mapping(
    mapping: Mapping | dict[str, Any] | str | os.PathLike[str] | None,
    columns: list[str],
    id_column: str | None,
    where: str,
) -> Mapping:
    if mapping is None:
        resolved = Mapping.from_dict(detect_mapping(columns), where=f"{where} (detected)")
    elif isinstance(mapping, Mapping):
        resolved = mapping
    elif isinstance(mapping, dict):
        resolved = Mapping.from_dict(mapping)
    else:
        resolved = load_mapping(mapping)
    if id_column is not None:
        resolved = Mapping(
            {**resolved.columns, "record_id": id_column}, dict(resolved.extra), resolved.full_name
        )
    resolved.check_sources(columns, where=where)
    return resolved


# ======================================================================================
# Export
# ======================================================================================


@dataclass
class Export:
    """A dealer export read into the canonical shape.

    ``records``: one row per record, the canonical columns (all present; NA where not
    mapped or empty) then the extra columns, every value text; indexed by ``line`` (the
    physical line the record starts on, or the row position for DataFrame input).
    ``rejects``: ``line, record_id, reason, raw`` for rows that could not be read.
    ``mapping``: the mapping actually used. ``unmapped_columns``: source columns not used.
    ``source_rows``: data rows seen (= records + rejects; blank rows not included).
    ``blank_lines``: blank lines/rows skipped. ``encoding``/``delimiter``: as detected
    (None for DataFrame input).
    """

    records: pd.DataFrame
    rejects: pd.DataFrame
    mapping: Mapping
    unmapped_columns: list[str]
    source_rows: int
    encoding: str | None
    delimiter: str | None = None
    blank_lines: int = 0
    source: str = "<DataFrame>"

    def summary(self) -> str:
        """One line: ``read N rows: M records, K rejects`` (plus blank lines skipped)."""
        text = f"read {self.source_rows} rows: {len(self.records)} records, {len(self.rejects)} rejects"
        if self.blank_lines:
            text += f" ({self.blank_lines} blank lines skipped)"
        return text


def read_export(
    source: Source,
    mapping: Mapping | dict[str, Any] | str | os.PathLike[str] | None = None,
    *,
    encoding: str | None = None,
    id_column: str | None = None,
    rejects_path: str | os.PathLike[str] | None = None,
    delimiter: str | None = None,
) -> Export:
    """Read a dealer export into the canonical columns, with rejects.

    ``source``: a CSV path, a Parquet path (suffix ``.parquet``/``.pq``) or a DataFrame.
    ``mapping``: a :class:`Mapping`, a dict, or a mapping-file path; None detects it from
    the header. ``encoding``/``delimiter``: override detection (CSV only). ``id_column``:
    the source column holding record ids (overrides the mapping's). ``rejects_path``:
    also write the rejects there (:func:`write_rejects`). Raises :class:`MappingError`
    when the mapping does not fit the columns.
    """
    if isinstance(source, pd.DataFrame):
        export = _read_frame(source, mapping, id_column, "<DataFrame>")
    else:
        path = Path(source)
        if path.suffix.lower() in (".parquet", ".pq"):
            export = _read_frame(pd.read_parquet(path), mapping, id_column, str(path))
        else:
            export = _read_csv(path, mapping, encoding, id_column, delimiter)
    if rejects_path is not None:
        write_rejects(export.rejects, rejects_path)
    return export


# ======================================================================================
# Shared by CSV and DataFrame input: source columns -> records and rejects
# ======================================================================================

AnyArray = pa.Array | pa.ChunkedArray


@dataclass
class _Rows:
    """Parsed source rows before mapping: one cleaned text column per source column, the
    line each row starts on, how many physical lines it spans, and rows already known to
    be bad (position -> reason)."""

    columns: list[AnyArray]
    lines: np.ndarray
    spans: np.ndarray
    bad: dict[int, str] = field(default_factory=dict)


@dataclass
class _Reject:
    line: int
    span: int
    reason: str
    record_id: str | None = None
    raw: str | None = None


def _clean(array: AnyArray) -> AnyArray:
    """Strip surrounding whitespace (the same characters as ``str.strip``); empty -> null.

    Large strings stay large (pandas keeps its text so: no cast there and back); any other
    type becomes ``string``."""
    if array.type != pa.string() and array.type != pa.large_string():
        array = array.cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(array)
    if isinstance(trimmed, pa.ChunkedArray):
        return pa.chunked_array([_empty_to_null(c) for c in trimmed.chunks], type=trimmed.type)
    return _empty_to_null(trimmed)


def _empty_to_null(array: pa.Array) -> pa.Array:
    if array.null_count:
        return pc.if_else(pc.equal(pc.binary_length(array), 0), pa.scalar(None, array.type), array)
    # No nulls yet: reuse the offsets and data and take the validity bitmap from
    # "length > 0" (a boolean array's data buffer is a bitmap): no string copy.
    present = pc.greater(pc.binary_length(array), 0)
    missing = len(array) - pc.sum(present).as_py() if len(array) else 0
    if not missing:
        return array
    if present.offset != 0 or present.null_count:
        return pc.if_else(present, array, pa.scalar(None, array.type))
    _, offsets, data = array.buffers()
    kind = pa.LargeStringArray if array.type == pa.large_string() else pa.StringArray
    return kind.from_buffers(
        len(array), offsets, data, present.buffers()[1], missing, array.offset
    )


def _join(arrays: list[AnyArray]) -> AnyArray:
    """Non-missing values joined with one space; null when all are missing."""
    # pyarrow 26's binary_join_element_wise(null_handling="skip") drops all-null rows,
    # so join pairwise and let if_else pick the side that is present.
    result = arrays[0]
    for other in arrays[1:]:
        both = pc.binary_join_element_wise(result, other, pa.scalar(" ", result.type))
        result = pc.if_else(pc.is_null(result), other, pc.if_else(pc.is_null(other), result, both))
    return result


def _strictly_increasing(values: AnyArray) -> bool:
    """True when the (non-null) texts are in strictly increasing order, so all distinct:
    exports usually come sorted by id, and one comparison pass is much cheaper than
    hashing every id."""
    if len(values) < 2 or values.null_count:
        return len(values) < 2 and not values.null_count
    return bool(pc.all(pc.less(values.slice(0, len(values) - 1), values.slice(1))).as_py())


def _valid_mask(array: AnyArray) -> np.ndarray:
    return np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=bool)


def _to_series(array: AnyArray, index: pd.Index) -> pd.Series:
    values = array.to_pandas(types_mapper={pa.string(): _STR, pa.large_string(): _STR}.get)
    return pd.Series(
        values.array if isinstance(values, pd.Series) else values, index=index, dtype=_STR
    )


def _build(
    rows: _Rows,
    names: list[str],
    mapping: Mapping,
    *,
    raw_of: Any,
    rejects: list[_Reject],
    blank: int,
    source: str,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Export:
    """Map the source columns, skip blank rows, reject bad rows and bad record ids."""
    n = len(rows.lines)
    by_name = dict(zip(names, rows.columns, strict=True))
    keep = np.ones(n, dtype=bool)
    if n and all(column.null_count for column in rows.columns):  # else no row is blank
        any_value = np.zeros(n, dtype=bool)
        for column in rows.columns:
            any_value |= _valid_mask(column)
        blank += int(rows.spans[~any_value].sum())
        keep &= any_value

    def source_of(value: SourceColumns) -> AnyArray:
        return by_name[value] if isinstance(value, str) else _join([by_name[v] for v in value])

    mapped = {c: source_of(mapping.columns[c]) for c in CANONICAL_COLUMNS if c in mapping.columns}
    if "record_id" in mapped:
        ids = mapped["record_id"]
    else:
        generated = pa.array(rows.lines).cast(pa.string())
        ids = mapped["record_id"] = pc.binary_join_element_wise("L", generated, "")
    found: list[_Reject] = []

    def reject(positions: np.ndarray | list[int], reasons: list[str]) -> None:
        for i, reason in zip(positions, reasons, strict=True):
            i = int(i)
            found.append(
                _Reject(int(rows.lines[i]), int(rows.spans[i]), reason, ids[i].as_py(), raw_of(i))
            )
            keep[i] = False

    bad = [i for i in sorted(rows.bad) if keep[i]]
    reject(bad, [rows.bad[i] for i in bad])
    empty = np.flatnonzero(~_valid_mask(ids) & keep) if n else np.zeros(0, np.int64)
    if len(empty):
        reject(
            empty, [f"empty record_id (column {mapping.columns.get('record_id')!r})"] * len(empty)
        )
    if keep.any():
        kept_ids = ids if keep.all() else ids.filter(pa.array(keep))
        if not _strictly_increasing(kept_ids) and len(pc.unique(kept_ids)) != len(kept_ids):
            positions = np.flatnonzero(keep)
            id_values = pd.Series(kept_ids.to_numpy(zero_copy_only=False), dtype=object)
            dup = id_values.duplicated(keep="first").to_numpy()
            firsts = ~dup & id_values.isin(set(id_values[dup])).to_numpy()
            first_line = dict(zip(id_values[firsts], rows.lines[positions[firsts]], strict=True))
            reject(
                positions[dup],
                [
                    f"duplicate record_id {v} (first seen on line {first_line[v]})"
                    for v in id_values[dup]
                ],
            )

    mask = None if keep.all() else pa.array(keep)

    def kept(array: AnyArray) -> pd.Series:
        return _to_series(array if mask is None else array.filter(mask), index)

    index = pd.Index(rows.lines[keep], name="line")
    frame = {
        c: kept(mapped[c]) if c in mapped else pd.Series(np.nan, index=index, dtype=_STR)
        for c in CANONICAL_COLUMNS
    }
    for name, value in mapping.extra.items():
        frame[name] = kept(source_of(value))
    if mapping.full_name:
        full = frame["full_name"] = kept(by_name[mapping.full_name])
        parsed = parse_full_name_series(full.astype(object))
        # The suffix goes back on the last name, where normalize_frame looks for it.
        last = parsed["last"].where(
            parsed["suffix"].isna(),
            (parsed["last"].fillna("") + " " + parsed["suffix"].fillna("")).str.strip(),
        )
        for canon, part in (
            ("first_name", parsed["first"]),
            ("middle_name", parsed["middle"]),
            ("last_name", last),
        ):
            if canon not in mapping.columns:
                frame[canon] = part.astype(_STR)
    records = pd.DataFrame(frame, index=index)

    every = sorted(rejects + found, key=lambda r: r.line)
    rejects_frame = pd.DataFrame(
        {  # REJECT_COLUMNS
            "line": np.array([r.line for r in every], dtype=np.int64),
            "record_id": pd.array([r.record_id for r in every], dtype=_STR),
            "reason": pd.array([r.reason for r in every], dtype=_STR),
            # NUL is shown escaped: many tools cut a text at NUL.
            "raw": pd.array(
                [
                    None if r.raw is None else r.raw.replace("\x00", "\\x00")[:RAW_MAX_CHARS]
                    for r in every
                ],
                dtype=_STR,
            ),
        }
    )
    used = set(mapping.sources())
    return Export(
        records=records,
        rejects=rejects_frame,
        mapping=mapping,
        unmapped_columns=[c for c in names if c not in used],
        source_rows=len(records) + len(rejects_frame),
        encoding=encoding,
        delimiter=delimiter,
        blank_lines=blank,
        source=source,
    )


def _may_hold_nul(column: AnyArray) -> bool:
    """False when no string data buffer of ``column`` holds a NUL byte (a byte scan, far
    cheaper than a per-row search); True means "look row by row" (the byte may also sit
    outside the rows a sliced array uses)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        buffers = chunk.buffers()
        data = buffers[2] if len(buffers) > 2 else None
        if data is not None and data.size and not np.frombuffer(data, dtype=np.uint8).all():
            return True
    return False


def _nul_rows(columns: list[AnyArray], names: list[str]) -> dict[int, str]:
    bad: dict[int, str] = {}
    for name, column in zip(names, columns, strict=True):
        if not _may_hold_nul(column):
            continue  # the usual case: no NUL anywhere in the column
        hit = pc.fill_null(pc.match_substring(column, "\x00"), False)
        for i in np.flatnonzero(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)):
            bad.setdefault(int(i), f"NUL byte in field {name!r}")
    return bad


def _unique_names(names: list[str]) -> list[str]:
    """Header names made usable: stripped, empty ones named ``column_N`` (1-based
    position), repeats suffixed ``.1``, ``.2`` as pandas does."""
    out: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(names, start=1):
        name = raw.replace("\ufeff", "").strip() or f"column_{position}"
        candidate, k = name, 0
        while candidate in seen:
            k += 1
            candidate = f"{name}.{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


# ======================================================================================
# DataFrame and Parquet input
# ======================================================================================


def _cell_text(value: Any) -> str | None:
    """A cell as text. Unlike the normalizers' ``as_text`` nothing is cut or dropped
    (booleans stay ``True``/``False``): reading must lose nothing."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        # Spreadsheets turn phones and ZIPs into floats: 3105550100.0 is "3105550100".
        return (
            str(int(value))
            if math.isfinite(value) and float(value).is_integer()
            else repr(float(value))
        )
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def _arrow_column(series: pd.Series) -> AnyArray | None:
    """The Arrow text data behind a pyarrow-backed text column (pandas 3's default ``str``,
    ``string[pyarrow]`` or ``ArrowDtype`` text), else None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        if dtype.storage != "pyarrow":
            return None
    elif not (
        isinstance(dtype, pd.ArrowDtype)
        and (pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype))
    ):
        return None
    data = series.array.__arrow_array__()
    return data if pa.types.is_string(data.type) or pa.types.is_large_string(data.type) else None


def _frame_column(series: pd.Series) -> AnyArray:
    """A source column as cleaned Arrow text (see :func:`_cell_text`)."""
    data = _arrow_column(series)
    if data is not None:
        # Already Arrow text: clean it as it is. Going through Python strings (astype
        # object, then back to Arrow) made one object per cell for nothing.
        return _clean(data)
    if isinstance(series.dtype, pd.StringDtype) or pd.api.types.infer_dtype(
        series, skipna=True
    ) in ("string", "empty"):
        try:
            return _clean(pa.array(series.astype(object), type=pa.large_string(), from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    # Large strings, as the Arrow-backed columns are: all columns of a frame share one type.
    return _clean(pa.array(map_distinct(series, _cell_text), type=pa.large_string(), from_pandas=True))


def _read_frame(df: pd.DataFrame, mapping: Any, id_column: str | None, where: str) -> Export:
    names = _unique_names([str(c) for c in df.columns])
    resolved = _resolve_mapping(mapping, names, id_column, where)
    columns = [_frame_column(df.iloc[:, i]) for i in range(df.shape[1])]
    n = len(df)
    rows = _Rows(
        columns, np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64), _nul_rows(columns, names)
    )

    def raw_of(i: int) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(
            ["" if (v := c[i].as_py()) is None else v for c in columns]
        )
        return out.getvalue()

    return _build(rows, names, resolved, raw_of=raw_of, rejects=[], blank=0, source=where)


# ======================================================================================
# CSV input
# ======================================================================================


_Decoded = tuple[bytes, list[int]]  # UTF-8 text for the parser, lines with bad bytes


def _detect_encoding(data: bytes) -> tuple[str, _Decoded | None]:
    """The encoding to report, and the decoded text when detection produced it."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", None
    if _is_utf8(data):
        return "utf-8", (data, [])
    # cp1252 text almost never forms valid multi-byte UTF-8 sequences, so when most
    # non-ASCII bytes do form them, this is UTF-8 with a few broken rows.
    if _utf8_share(data) > 0.5:
        text, bad_lines = _decode(data, "utf-8")
        return "utf-8", (text.encode("utf-8"), bad_lines)
    return "cp1252", None


def _utf8_share(data: bytes) -> float:
    """The share of non-ASCII bytes that sit in well-formed UTF-8 sequences."""
    arr = np.frombuffer(data, dtype=np.uint8)
    high = np.flatnonzero(arr >= 0x80)
    if not len(high):
        return 1.0
    lead = arr[high]
    cont = [(np.take(arr, high + k, mode="clip") & 0xC0) == 0x80 for k in (1, 2, 3)]
    two = (lead >= 0xC2) & (lead <= 0xDF) & cont[0]
    three = (lead >= 0xE0) & (lead <= 0xEF) & cont[0] & cont[1]
    four = (lead >= 0xF0) & (lead <= 0xF4) & cont[0] & cont[1] & cont[2]
    in_sequences = 2 * int(two.sum()) + 3 * int(three.sum()) + 4 * int(four.sum())
    return in_sequences / len(high)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _ascii_compatible(codec: str) -> bool:
    try:
        return 'a,;|\t"\r\n'.encode(codec) == b'a,;|\t"\r\n'
    except (UnicodeError, LookupError):
        return False


_SURROGATE = re.compile("[\udc80-\udcff]")


def _decode(data: bytes, codec: str) -> tuple[str, list[int]]:
    """Decode; undecodable bytes become ``?``. Also returns the (1-based, sorted) physical
    lines that held them."""
    try:
        return data.decode(codec), []
    except UnicodeDecodeError:
        # Each undecodable byte becomes one lone surrogate (PEP 383).
        return _mark_undecodable(data.decode(codec, errors="surrogateescape"))


def _mark_undecodable(text: str) -> tuple[str, list[int]]:
    """``text`` decoded with ``surrogateescape``: surrogates -> ``?``, and the lines
    that held them."""
    bad_lines: list[int] = []
    line, previous = 1, 0
    for match in _SURROGATE.finditer(text):
        # Count line breaks since the previous bad byte (a surrogate is never part of a
        # CRLF, so no CRLF straddles two segments).
        pos = match.start()
        line += text.count("\n", previous, pos) + text.count("\r", previous, pos)
        line -= text.count("\r\n", previous, pos)
        previous = pos
        if not bad_lines or bad_lines[-1] != line:
            bad_lines.append(line)
    return _SURROGATE.sub("?", text), bad_lines


class _LineIndex:
    """Byte offsets of the physical lines of a buffer, computed on first use (only
    rejects and undecodable bytes need them)."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        self._starts: np.ndarray | None = None

    @property
    def starts(self) -> np.ndarray:
        if self._starts is None:
            arr = np.frombuffer(self.data, dtype=np.uint8)
            newline = np.flatnonzero(arr == 10)
            cr = np.flatnonzero(arr == 13)
            lone_cr = cr[np.append(arr, np.uint8(0))[cr + 1] != 10]
            ends = np.sort(np.concatenate([newline, lone_cr])) + 1
            self._starts = np.concatenate([[0], ends]).astype(np.int64)
        return self._starts

    def text(self, line: int, span: int, codec: str) -> str:
        """Lines ``line`` .. ``line + span - 1`` as written (undecodable bytes as ``\\xNN``)."""
        starts = self.starts
        a = starts[line - 1] if line - 1 < len(starts) else len(self.data)
        b = starts[line - 1 + span] if line - 1 + span < len(starts) else len(self.data)
        return _drop_final_break(bytes(self.data[a:b])).decode(codec, errors="backslashreplace")


def _count_lines(buf: bytes, start: int) -> int:
    """Physical lines in ``buf[start:]``."""
    if start >= len(buf):
        return 0
    terminators = buf.count(b"\n", start)
    if b"\r" in buf:
        terminators += buf.count(b"\r", start) - buf.count(b"\r\n", start)
    return terminators + (0 if buf.endswith((b"\n", b"\r")) else 1)


def _sniff_delimiter(line: str) -> str:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


def _lines_from(buf: bytes, start: int) -> Iterator[tuple[str, int]]:
    """(line text with its terminator, offset just after it), from ``start`` on."""
    pos, n = start, len(buf)
    while pos < n:
        m = _BREAK_B.search(buf, pos)
        end = m.end() if m else n
        yield buf[pos:end].decode("utf-8", errors="replace"), end
        pos = end


def _split_fields(text: str, delimiter: str) -> list[list[str]] | None:
    """Python's csv module on a row's text (it allows a space before an opening quote,
    which the fast parser does not); None when it cannot parse it."""
    try:
        return list(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
        )
    except csv.Error:
        return None


def _one_clean_row(text: str, delimiter: str) -> bool:
    """Is ``text`` exactly one row with every quote closed properly?"""
    try:
        rows = list(
            csv.reader(
                io.StringIO(text, newline=""),
                delimiter=delimiter,
                strict=True,
                skipinitialspace=True,
            )
        )
    except csv.Error:
        return False
    return len(rows) == 1


def _unclosed_quote(text: str, delimiter: str) -> bool:
    """Does a quoted field in ``text`` run to its end without closing?"""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc) or "field larger than field limit" in str(exc)
    return False


def _last_lines(data: bytes, start: int, count: int) -> str:
    """The last ``count`` physical lines of ``data[start:]`` (without the final break)."""
    starts = _LineIndex(memoryview(data)[start:]).starts
    # A final line break starts no line: the last line starts before it.
    n_lines = len(starts) - 1 if starts[-1] == len(data) - start else len(starts)
    first = start + int(starts[max(n_lines - count, 0)])
    return _drop_final_break(data[first:]).decode("utf-8", errors="replace")


def _drop_final_break(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith((b"\n", b"\r")) else data


@dataclass
class _Region:
    """One pass of the fast parser over a slice of the file."""

    table: pa.Table
    lines: np.ndarray  # start line of each valid row
    spans: np.ndarray
    invalid: list[
        tuple[int, int, str, bool]
    ]  # (line, span, text, unclosed quote) of rows it could not fit


def _parse_region(data: bytes, start: int, first_line: int, width: int, delimiter: str) -> _Region:
    """Parse ``data[start:]`` (UTF-8) whose first line is ``first_line``."""
    buf = pa.py_buffer(data).slice(start)
    total_lines = _count_lines(data, start)
    invalid_rows: list[tuple[int, str]] = []

    def on_invalid(row: Any) -> str:
        invalid_rows.append((row.number, row.text))
        return "skip"

    names = [f"f{i}" for i in range(width)]
    block = 1 << 22
    while True:
        try:
            table = pacsv.read_csv(
                pa.BufferReader(buf),
                # Serial: pyarrow only reports row numbers when reading in one thread.
                read_options=pacsv.ReadOptions(
                    column_names=names, use_threads=False, block_size=block
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter,
                    quote_char='"',
                    double_quote=True,
                    escape_char=False,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    # Large strings: what pandas keeps, so no cast when the records are made.
                    column_types=dict.fromkeys(names, pa.large_string()),
                    null_values=[],
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    check_utf8=False,  # decoded and re-encoded by us
                ),
            )
            break
        except pa.ArrowInvalid as exc:
            # A quoted field that never closes can outgrow a block: retry with the whole
            # region as one block.
            if "straddl" not in str(exc) or block > buf.size:
                raise
            invalid_rows.clear()
            block = buf.size + 1
    # pyarrow's row.number counts records (valid, invalid, empty lines), not physical
    # lines: rebuild the physical lines from the line breaks each record holds.
    total = table.num_rows + len(invalid_rows)
    spans = np.ones(total, dtype=np.int64)
    valid = np.ones(total, dtype=bool)
    for number, text in invalid_rows:
        spans[number - 1] = 1 + len(_BREAK.findall(text))
        valid[number - 1] = False
    if int(spans.sum()) != total_lines:
        # Some valid rows hold quoted line breaks: count them.
        breaks = np.zeros(table.num_rows, dtype=np.int64)
        for column in table.columns:
            counts = pc.count_substring_regex(column, r"\r\n|\r|\n")
            breaks += np.asarray(counts.to_numpy(), dtype=np.int64)
        spans[valid] = 1 + breaks
        if int(spans.sum()) == total_lines + 1 and valid[-1]:
            # A quote left open at the end of the text swallowed the final line break.
            spans[-1] -= 1
    if int(spans.sum()) != total_lines:
        raise RuntimeError(
            f"internal error: parsed rows cover {int(spans.sum())} lines, the text has {total_lines}"
        )
    invalid_rows.sort()
    unclosed_last = False
    if total and valid[-1] and spans[-1] > 1:
        # pyarrow accepts a quote still open at the end of the text; if the fields happen
        # to fit, that row silently holds every line after it. Treat it as invalid.
        last_text = _last_lines(data, start, int(spans[-1]))
        if _unclosed_quote(last_text, delimiter):
            invalid_rows.append((total, last_text))
            valid[-1] = False
            table = table.slice(0, table.num_rows - 1)
            unclosed_last = True
    starts = first_line + np.cumsum(spans) - spans
    invalid = [
        (int(starts[number - 1]), int(spans[number - 1]), text, unclosed_last and number == total)
        for number, text in invalid_rows
    ]
    return _Region(table, starts[valid], spans[valid], invalid)


def _text_of(data: bytes, codec: str) -> _Decoded:
    """The file as UTF-8 bytes for the parser, and the lines with undecodable bytes."""
    if codec == "utf-8" and _is_utf8(data):
        return data, []  # the common case: no copy
    if _ascii_compatible(codec):
        text, bad = _decode(data, codec)
        return text.encode("utf-8"), bad
    # UTF-16 and the like: a line break is not one byte, so decode strictly.
    try:
        return data.decode(codec).lstrip("\ufeff").encode("utf-8"), []
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid {codec} at byte {exc.start}: {exc.reason}") from exc


def _read_csv(
    path: Path, mapping: Any, encoding: str | None, id_column: str | None, delimiter: str | None
) -> Export:
    where = str(path)
    data = path.read_bytes()
    reported, decoded = (codecs.lookup(encoding).name, None) if encoding else _detect_encoding(data)
    codec = "utf-8" if reported == "utf-8-sig" else reported
    if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    try:
        utf8, bad_lines = decoded if decoded is not None else _text_of(data, codec)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    # Rejects show the original bytes (undecodable ones as \xNN).
    raw_index, raw_codec = (
        (_LineIndex(data), codec) if _ascii_compatible(codec) else (_LineIndex(utf8), "utf-8")
    )

    # The header is the first non-blank line, read with csv rules (a name may be quoted).
    leading_blank = header_lines = header_end = 0
    header: list[str] | None = None
    lines = _lines_from(utf8, 0)
    for text, end in lines:
        if not text.strip():
            leading_blank += 1
            continue
        delimiter = delimiter or _sniff_delimiter(text)

        def feed(first: str = text, first_end: int = end) -> Iterator[str]:
            nonlocal header_end
            header_end = first_end
            yield first
            for more, more_end in lines:
                header_end = more_end
                yield more

        reader = csv.reader(feed(), delimiter=delimiter, skipinitialspace=True)
        try:
            header = next(reader)
        except (csv.Error, StopIteration) as exc:
            raise ValueError(
                f"{where}: cannot read the header on line {leading_blank + 1}: {exc}"
            ) from exc
        header_lines = reader.line_num
        break
    if header is None or delimiter is None:
        raise ValueError(f"{where}: no header row (the file is empty or blank)")
    names = _unique_names(header)
    resolved = _resolve_mapping(mapping, names, id_column, where)
    width = len(names)
    pad = _trailing_delimiter_pad(utf8, header_end, width, delimiter)
    id_position = _id_position(resolved, names)

    # Fast parse; rows it cannot fit are re-read with the csv module, and after an
    # unbalanced quote the rest of the swallowed text is parsed again.
    regions: list[_Region] = []
    recovered: list[tuple[int, int, list[str]]] = []
    rejects: list[_Reject] = []
    blank = leading_blank
    work: list[tuple[bytes, int, int]] = [(utf8, header_end, leading_blank + header_lines + 1)]
    while work:
        region_data, start, first_line = work.pop()
        if start >= len(region_data):
            continue
        region = _parse_region(region_data, start, first_line, width + pad, delimiter)
        regions.append(region)
        for line, span, text, unclosed in region.invalid:
            if not text.strip():
                blank += span
                continue
            parsed = None if unclosed else _split_fields(text, delimiter)
            fields = parsed[0] if parsed is not None and len(parsed) == 1 else None
            if fields is not None:
                while len(fields) > width and not fields[-1].strip():
                    fields.pop()  # trailing delimiters
                if not any(f.strip() for f in fields):
                    blank += span
                    continue
                if len(fields) == width:
                    recovered.append((line, span, fields))
                    continue
            m = _BREAK.search(text) if span > 1 else None
            if m is not None and (unclosed or not _one_clean_row(text, delimiter)):
                # A quoted field opened on this line and ran on without closing cleanly:
                # the classic unbalanced quote that would swallow the rest of the file.
                # (A clean multi-line row with the wrong fields is rejected whole below.)
                first, tail = text[: m.start()], text[m.end() :]
                first_fields = _split_fields(first, delimiter) or [[]]
                why = (
                    "never closes"
                    if unclosed
                    else f"runs on to line {line + span - 1} and the row has the wrong number of fields"
                )
                rejects.append(
                    _Reject(
                        line,
                        1,
                        f"unbalanced quote: a quoted field opened on line {line} {why}; "
                        f"reading resumes on line {line + 1}",
                        _field_at(first_fields[0] if first_fields else [], id_position),
                    )
                )
                work.append((tail.encode("utf-8"), 0, line + 1))
                continue
            if fields is None:
                reason = "cannot parse the row"
            else:
                reason = f"wrong number of fields: {len(fields)}, header has {width}"
            rejects.append(_Reject(line, span, reason, _field_at(fields or [], id_position)))
    for r in rejects:
        r.raw = raw_index.text(r.line, r.span, raw_codec)

    rows = _assemble(regions, recovered, width, pad)
    if bad_lines:
        hit = np.searchsorted(bad_lines, rows.lines + rows.spans) > np.searchsorted(
            bad_lines, rows.lines
        )
        for i in np.flatnonzero(hit):
            rows.bad.setdefault(int(i), f"bytes not valid in {codec} (shown as \\xNN in raw)")
    if b"\x00" in utf8:
        for i, reason in _nul_rows(rows.columns, names).items():
            rows.bad.setdefault(i, reason)
    return _build(
        rows,
        names,
        resolved,
        raw_of=lambda i: raw_index.text(int(rows.lines[i]), int(rows.spans[i]), raw_codec),
        rejects=rejects,
        blank=blank,
        source=where,
        encoding=reported,
        delimiter=delimiter,
    )


def _id_position(mapping: Mapping, names: list[str]) -> int | None:
    src = mapping.columns.get("record_id")
    if isinstance(src, list):
        src = src[0]
    return names.index(src) if src in names else None


def _field_at(fields: list[str], position: int | None) -> str | None:
    if position is None or position >= len(fields):
        return None
    return fields[position].strip() or None


def _trailing_delimiter_pad(buf: bytes, start: int, width: int, delimiter: str) -> int:
    """1 when most of the first data rows end with a delimiter the header lacks (some
    DMS exports do), so the fast parser expects that empty last field; else 0."""
    sample: list[str] = []
    for text, _ in _lines_from(buf, start):
        if text.strip():
            sample.append(text)
            if len(sample) >= 20:
                break
    padded = 0
    for text in sample:
        parsed = _split_fields(text, delimiter)
        if (
            parsed
            and len(parsed) == 1
            and len(parsed[0]) == width + 1
            and not parsed[0][-1].strip()
        ):
            padded += 1
    return 1 if sample and padded * 2 > len(sample) else 0


def _assemble(
    regions: list[_Region], recovered: list[tuple[int, int, list[str]]], width: int, pad: int
) -> _Rows:
    """All parsed rows in line order, values cleaned."""
    chunks: list[list[pa.Array]] = [[] for _ in range(width + pad)]
    lines: list[np.ndarray] = []
    spans: list[np.ndarray] = []
    for region in regions:
        for i in range(width + pad):
            chunks[i].extend(region.table.column(i).chunks)
        lines.append(region.lines)
        spans.append(region.spans)
    if recovered:
        for i in range(width):
            chunks[i].append(pa.array([r[2][i] for r in recovered], type=pa.large_string()))
        if pad:
            chunks[width].append(pa.array([""] * len(recovered), type=pa.large_string()))
        lines.append(np.array([r[0] for r in recovered], dtype=np.int64))
        spans.append(np.array([r[1] for r in recovered], dtype=np.int64))
    all_lines = np.concatenate(lines) if lines else np.zeros(0, np.int64)
    all_spans = np.concatenate(spans) if spans else np.zeros(0, np.int64)
    raw_columns = [pa.chunked_array(c, type=pa.large_string()) for c in chunks]
    if len(all_lines) > 1 and not (np.diff(all_lines) > 0).all():
        order = np.argsort(all_lines, kind="stable")
        raw_columns = [c.take(pa.array(order)) for c in raw_columns]
        all_lines, all_spans = all_lines[order], all_spans[order]
    columns = [_clean(c) for c in raw_columns]
    bad: dict[int, str] = {}
    if pad:
        # Rows whose trailing field (absent from the header) is not empty.
        for i in np.flatnonzero(_valid_mask(columns[width])):
            bad[int(i)] = f"wrong number of fields: {width + 1}, header has {width}"
        columns = columns[:width]
    return _Rows(columns, all_lines, all_spans, bad)


# ======================================================================================
# Writing
# ======================================================================================

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def write_csv_safe(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``df`` (without its index) as a CSV that is safe to open in a spreadsheet:
    text that a spreadsheet could run as a formula gets a leading ``'`` (the rule is in
    the module docstring). UTF-8 with a BOM, CRLF line ends.

    The bytes are exactly those ``DataFrame.to_csv`` writes for the escaped frame
    (minimal quoting as the csv module does it: fields holding ``,`` ``"`` CR or LF are
    quoted; floats as numpy prints them; missing values empty), but built with Arrow and
    numpy a block of rows at a time (see :class:`_CsvLayout`), so millions of rows take
    seconds and only one block is held as text at once. A frame with a column of another
    dtype (time zones, periods, mixed objects...) goes through pandas instead, slowly.

    Most of the work is done by Arrow and numpy outside Python's lock, in a few calls a
    block: another thread can write a large frame while this one does other work.
    """
    series = [df.iloc[:, i] for i in range(df.shape[1])]
    kinds = [_csv_kind(col) for col in series]
    if not series or None in kinds:
        _write_csv_pandas(df, path)
        return
    # Rows per block: fewer where many columns are text (a block's text is held a few
    # times over while it is put together).
    texts = sum(kind == "text" for kind in kinds)
    block_rows = max(1, min(_CSV_BLOCK_ROWS, _CSV_BLOCK_TEXT_CELLS // max(texts, 1)))
    header = io.StringIO()
    # The csv module's own quoting for the few header cells (pandas writes them with it too).
    csv.writer(header, lineterminator="\r\n").writerow([_escape_text(str(c)) for c in df.columns])
    from concurrent.futures import ThreadPoolExecutor

    with open(path, "wb") as fh, ThreadPoolExecutor(max_workers=1) as writer:
        fh.write(codecs.BOM_UTF8)
        fh.write(header.getvalue().encode("utf-8"))
        if not len(df):
            return
        layout = _CsvLayout(kinds, series)
        # What finding the distinct numbers took (hash tables over every row) goes back
        # to the system now, not at the end: the blocks are made with the memory of a
        # run near its peak (pairs.csv is written while the golden records are built).
        pa.default_memory_pool().release_unused()
        # A block is written by another thread while the next one is built: the write
        # releases the GIL, and waiting for the disk then overlaps the work.
        pending = None
        for start in range(0, len(df), block_rows):
            block = layout.block(start, min(start + block_rows, len(df)))
            if pending is not None:
                pending.result()  # in order, and at most two blocks held
            pending = writer.submit(fh.write, block)
        if pending is not None:
            pending.result()


def _escape_text(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet could read it as a formula."""
    if not value:
        return value
    risky = value[0] in "=+-@\t\r" or value.lstrip()[:1] in ("=", "+", "-", "@")
    return "'" + value if risky and not _PLAIN_NUMBER.fullmatch(value) else value


def _escape_column(series: pd.Series) -> pd.Series:
    """``series`` (index reset) with every text value escaped by :func:`_escape_text`;
    numbers, booleans and missing values as they are."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.reset_index(drop=True)  # numbers are never formulas
    if _csv_kind(series) == "text":
        escaped = _escape_arrow(_text_array(series))
        return pd.Series(escaped.to_numpy(zero_copy_only=False), dtype=object)  # None where missing
    return (
        series.map(lambda v: _escape_text(v) if isinstance(v, str) else v)
        .astype(object)
        .reset_index(drop=True)
    )


def write_rejects(rejects: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write rejects (``line, record_id, reason, raw``) with :func:`write_csv_safe`: their
    raw text comes straight from the export and may hold formulas."""
    write_csv_safe(rejects, path)


# Helpers of write_csv_safe --------------------------------------------------------------

#: Rows turned into text and written at a time: bounds what is held in memory (about
#: 8 MB of text for a block of scored pairs; held a few times over while it is put
#: together, beside the golden records when pairs.csv is written during a run: blocks
#: four times larger took ~90 MB more at 1M pairs, and were no faster).
_CSV_BLOCK_ROWS = 1 << 15
#: At most this many text fields a block, too: frames of many text columns get fewer
#: rows a block (golden records: about 45,000 rows of 23 columns), as a block's text is
#: held a few times over while it is put together (smaller blocks are also faster).
_CSV_BLOCK_TEXT_CELLS = 1 << 20
#: Adjacent coded columns are written as one piece while the combinations of their
#: values (all of them, used or not) are at most this many (see :class:`_CsvLayout`).
_CSV_MAX_COMBINATIONS = 4096

#: Every character ``str.isspace`` accepts, which ``str.lstrip()`` removes (a test checks
#: this against Python's own table).
_SPACE_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: RE2 for :func:`_escape_text`'s "risky": a tab or CR first, or = + - @ after any spaces.
_RISKY_RE2 = "^(?:[\t\r]|[" + "".join(f"\\x{{{ord(c):x}}}" for c in _SPACE_CHARS) + "]*[=+\\-@])"
#: RE2 for :data:`_PLAIN_NUMBER` on ASCII text (where Python's ``\d`` is ``[0-9]``).
_PLAIN_ASCII_RE2 = r"^[+-]?[0-9]+(?:\.[0-9]+)?$"
#: First bytes a risky text can start with: = + - @, an ASCII space, or any non-ASCII
#: lead byte (some Unicode spaces). Texts starting otherwise are never escaped, so only
#: the few others go through the regexes.
_RISKY_FIRST_BYTE = np.zeros(256, dtype=bool)
_RISKY_FIRST_BYTE[[ord(c) for c in "=+-@" + _SPACE_CHARS if ord(c) < 128]] = True
_RISKY_FIRST_BYTE[128:] = True
#: The bytes that make the csv module quote a field (with CRLF line ends): " , CR LF.
_QUOTE_BYTES = b'",\r\n'
#: Whether a byte is one of :data:`_QUOTE_BYTES`, by byte value.
_QUOTE_BYTE = np.zeros(256, dtype=bool)
_QUOTE_BYTE[list(_QUOTE_BYTES)] = True
#: The inferred dtypes of categories written from their values (others go through pandas).
_CATEGORY_KINDS = frozenset({"string", "empty", "integer", "floating", "mixed-integer-float"})
_MASKED_INTS = (pd.Int8Dtype, pd.Int16Dtype, pd.Int32Dtype, pd.Int64Dtype,
                pd.UInt8Dtype, pd.UInt16Dtype, pd.UInt32Dtype, pd.UInt64Dtype)


def _csv_kind(series: pd.Series) -> str | None:
    """How :func:`write_csv_safe` turns ``series`` into text, or None for "through pandas"."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        inferred = pd.api.types.infer_dtype(dtype.categories, skipna=True)
        return "category" if inferred in _CATEGORY_KINDS else None
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if isinstance(dtype, pd.ArrowDtype):
        t = dtype.pyarrow_dtype
        return "text" if pa.types.is_string(t) or pa.types.is_large_string(t) else None
    if isinstance(dtype, pd.BooleanDtype):
        return "bool"
    if isinstance(dtype, _MASKED_INTS):
        return "int"
    if not isinstance(dtype, np.dtype):
        return None
    if dtype.kind in "biufM":
        return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime"}[dtype.kind]
    if dtype.kind == "O" and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return "text"
    return None


class _CsvColumn:
    """One column of a frame as CSV fields (escaped and quoted; missing = empty).

    A *coded* column (categories, numbers, booleans) has ``labels``: every distinct
    field it holds, formatted once for the whole frame, and :meth:`codes` gives each
    row's label (-1 = missing). Text and datetimes are formatted a block at a time by
    :meth:`text`.
    """

    def __init__(self, kind: str, series: pd.Series, labels: pa.Array | None = None) -> None:
        """``labels``: a category's, when already formatted (see :func:`_category_labels`)."""
        self.kind = kind
        self.series = series
        self.labels: pa.Array | None = None  # large_string, for coded columns
        self._values: Any = None  # what codes() reads
        self._distinct: pd.Index | None = None  # numbers: the values of the labels
        self._mask: np.ndarray | None = None  # nullable ints: where values are missing
        # Coded: whether a code may be -1 (a missing value; floats have a label for NaN).
        self.missing = kind in ("bool", "int") and bool(series.hasnans)
        if kind == "category":
            self.labels = labels if labels is not None else _category_labels(series)
            self._values = series.array.codes  # the categorical's own codes (``.cat.codes`` copies them)
            self.missing = bool(len(self._values)) and int(self._values.min()) < 0
        elif kind == "bool":
            self.labels = pa.array(["False", "True"], pa.large_string())
            if series.dtype == np.bool_:
                self._values = series.to_numpy().view(np.int8)
        elif kind == "int":
            values = series.to_numpy()
            if self.missing:  # nullable ints: missing values read as 0 here, -1 in codes()
                self._mask = series.isna().to_numpy()
                values = series.to_numpy(dtype=series.dtype.numpy_dtype, na_value=0)
            self._values = values
            self._distinct = pd.Index(pc.unique(pa.array(values)).to_numpy())
            self.labels = pc.cast(pa.array(self._distinct.to_numpy()), pa.large_string())
        elif kind == "float":
            values = np.ascontiguousarray(series.to_numpy())
            # Distinct bit patterns, not values: -0.0 prints differently from 0.0.
            bits = values.view(f"i{values.dtype.itemsize}")
            self._values = bits
            self._distinct = pd.Index(pc.unique(pa.array(bits)).to_numpy())
            self.labels = _format_floats(self._distinct.to_numpy().view(values.dtype))

    def codes(self, start: int, stop: int) -> np.ndarray:
        """The label of each row ``start:stop`` (-1 = missing): a coded column's."""
        if self.kind == "category" or (self.kind == "bool" and self._values is not None):
            return self._values[start:stop]
        if self.kind == "bool":  # nullable booleans
            part = self.series.iloc[start:stop]
            return part.to_numpy(dtype=np.int8, na_value=-1) if part.hasnans else part.to_numpy(dtype=np.int8)
        # Numbers: looked up among the distinct values (every one is there), in the hash
        # table the index keeps (three times faster than a binary search for the
        # hundreds of thousands of distinct total weights, for ~20 MB).
        assert self._distinct is not None
        codes = self._distinct.get_indexer(self._values[start:stop])
        if self._mask is not None:
            codes[self._mask[start:stop]] = -1
        return codes

    def text(self, start: int, stop: int) -> pa.Array:
        """The fields of rows ``start:stop`` of a text or datetime column (large_string;
        null where missing, an empty field)."""
        part = self.series.iloc[start:stop]
        if self.kind == "datetime":
            return _datetime_text(part.to_numpy())
        return _quote_text(_escape_arrow(_text_array(part)))


class _CsvSegment:
    """Adjacent columns written as one piece of each row: a run of text columns (their
    fields joined by commas), or a run of coded columns (one entry of the pool per
    combination of their labels, the separators included)."""

    def __init__(self, columns: list[_CsvColumn], *, line_end: bool = False, dims: tuple[int, ...] = (),
                 offset: int = 0, piece: pa.Array | None = None) -> None:
        self.columns = columns
        self.line_end = line_end  # text: the row's CRLF is a piece of its own after it
        self.dims = dims  # coded: the number of labels of each column, "missing" included
        self.offset = offset  # coded: where its combinations start in the pool...
        self.piece = piece  # ...or, for a column of many labels, its fields (by code)

    def combination(self, start: int, stop: int) -> np.ndarray:
        """Coded: the number of each row's combination of labels, rows ``start:stop``:
        the codes as digits, the first column's the most significant, a missing code
        (-1) read as the last label, the missing field.

        What ``np.ravel_multi_index(codes, dims, mode="wrap")`` gives, in whole-array
        operations, each of which leaves Python's lock once (ravel_multi_index takes it
        back every few thousand rows, and other threads wait for it each time)."""
        combination: np.ndarray | None = None
        for col, k in zip(self.columns, self.dims, strict=True):
            codes = col.codes(start, stop)
            if combination is None:
                if not col.missing and len(self.columns) == 1:
                    return codes
                combination = codes.astype(np.int32)
                if col.missing:
                    combination %= k
                continue
            combination *= k
            if col.missing:
                codes = codes.astype(np.int32)
                codes %= k
            combination += codes
        assert combination is not None
        return combination


class _CsvLayout:
    """How the rows of a frame are put together, and the text that is the same for all
    blocks of rows.

    A row is gathered by one Arrow ``take`` from a pool of pieces: the text fields of the
    block, and for each run of adjacent coded columns every combination of their labels,
    with the separators around them (a run grows while its combinations stay few: for
    scored pairs a handful of pieces stand for 25 columns of levels and weights; a column
    of many labels, such as record ids, is a run of its own). The combinations are made
    once for the whole frame, so a block takes a few calls into Arrow and numpy, which
    run outside Python's lock. Adjacent text fields are joined (commas between) into one
    piece; the line end after a last text field is a piece of its own.
    """

    def __init__(self, kinds: list[str], series: list[pd.Series]) -> None:
        """``kinds``: each column's :func:`_csv_kind` (none None); ``series``: the columns."""
        # A category's labels are formatted once (and once for columns of one dtype: the
        # pairs' two id columns share a million record ids).
        shared: dict[int, tuple[pd.CategoricalDtype, pa.Array]] = {}
        columns = []
        for kind, col in zip(kinds, series, strict=True):
            if kind == "category" and id(col.dtype) not in shared:
                shared[id(col.dtype)] = (col.dtype, _category_labels(col))  # the dtype keeps its id
            columns.append(_CsvColumn(kind, col, shared[id(col.dtype)][1] if kind == "category" else None))
        del shared
        self.single = len(columns) == 1
        # The csv module quotes the only field of a row when it is empty (else the line
        # would read as blank).
        missing = _lstr('""') if self.single else _lstr("")
        labels = [
            None if col.labels is None else pa.concat_arrays([
                pc.if_else(pc.equal(col.labels, ""), _lstr('""'), col.labels) if self.single
                else col.labels.cast(pa.large_string()),
                pa.array([missing.as_py()], pa.large_string()),
            ])
            for col in columns
        ]  # each coded column's fields, then the missing one
        last = len(columns) - 1
        pool: list[pa.Array] = [pa.array([",", "\r\n"], pa.large_string())]
        size = 2
        self.segments: list[_CsvSegment] = []
        wide: dict[tuple[int, bool, bool], pa.Array] = {}  # fields of many labels, by labels and separators
        i = 0
        while i < len(columns):
            if labels[i] is None:
                end = i
                while end < last and labels[end + 1] is None:
                    end += 1
                self.segments.append(_CsvSegment(columns[i : end + 1], line_end=end == last))
                i = end + 1
                continue
            run = [i]
            combinations = len(labels[i])
            while run[-1] < last and labels[run[-1] + 1] is not None and \
                    combinations * len(labels[run[-1] + 1]) <= _CSV_MAX_COMBINATIONS:
                combinations *= len(labels[run[-1] + 1])
                run.append(run[-1] + 1)
            lead = i > 0 and labels[i - 1] is None  # a comma after the text before
            dims = tuple(len(labels[j]) for j in run)
            if combinations <= _CSV_MAX_COMBINATIONS:
                pool.append(self._combinations([labels[j] for j in run], lead, run[-1] == last))
                self.segments.append(_CsvSegment([columns[j] for j in run], dims=dims, offset=size))
                size += combinations
            else:
                # Many labels (a run of one column: record ids, distinct weights): the
                # block's fields are taken from them first, and then from the block's own
                # array. The final take then reads a small pool and arrays in row order,
                # not a large pool at random (several times slower, as the memory caches
                # go). Columns of one dtype share their fields (the pairs' two ids).
                key = (id(columns[i].labels), lead, i == last)
                if key not in wide:
                    wide[key] = self._combinations([labels[i]], lead, i == last)
                self.segments.append(_CsvSegment([columns[i]], dims=dims, piece=wide[key]))
            i = run[-1] + 1
        self.pool = pa.concat_arrays(pool)
        self.pieces = sum(1 + s.line_end for s in self.segments)

    @staticmethod
    def _combinations(labels: list[pa.Array], lead: bool, line_end: bool) -> pa.Array:
        """Every combination of the fields of adjacent coded columns (``labels``: each
        one's, the missing field last), the first column's slowest: the fields with their
        separators (a comma after each, CRLF after the row's last; a comma first after a
        text field, with ``lead``)."""
        dims = [len(lab) for lab in labels]
        combinations = math.prod(dims)
        parts = [_lstr(",")] if lead else []
        stride = combinations
        for j, (lab, k) in enumerate(zip(labels, dims, strict=True)):
            stride //= k
            fields = pc.binary_join_element_wise(
                lab, _lstr("\r\n" if line_end and j == len(labels) - 1 else ","), _lstr("")
            )
            parts.append(fields if len(labels) == 1 else
                         fields.take(pa.array(np.arange(combinations, dtype=np.int64) // stride % k)))
        return pc.binary_join_element_wise(*parts, _lstr("")) if len(parts) > 1 else parts[0]

    def block(self, start: int, stop: int) -> memoryview:
        """The CSV text of rows ``start:stop``: every row's fields, commas between, CRLF after."""
        n = stop - start
        index = np.empty((n, self.pieces), dtype=np.int32)
        texts: list[pa.Array] = []
        size = len(self.pool)
        j = 0
        for segment in self.segments:
            if segment.dims:
                combination = segment.combination(start, stop)
                if segment.piece is None:
                    index[:, j] = combination
                    index[:, j] += segment.offset
                    j += 1
                    continue
                texts.append(segment.piece.take(pa.array(combination)))
            else:
                fields = [col.text(start, stop) for col in segment.columns]
                if len(fields) > 1:
                    # Missing values are empty fields (no fill_null of each column first).
                    texts.append(pc.binary_join_element_wise(*fields, _lstr(","), null_handling="replace",
                                                             null_replacement=""))
                elif self.single:
                    field = fields[0].fill_null("")
                    texts.append(pc.if_else(pc.equal(field, ""), _lstr('""'), field))
                else:
                    texts.append(fields[0].fill_null(""))
            index[:, j] = np.arange(size, size + n, dtype=np.int32)
            size += n
            j += 1
            if segment.line_end:
                index[:, j] = 1
                j += 1
        pool = pa.concat_arrays([self.pool, *texts]) if texts else self.pool
        rows = pool.take(pa.array(index.ravel()))
        # The pieces lie back to back in the value buffer: a view of it, no copy.
        offsets, _ = _offsets_and_data(rows)
        return memoryview(rows.buffers()[2])[int(offsets[0]) : int(offsets[-1])] if len(rows) else memoryview(b"")


def _category_labels(series: pd.Series) -> pa.Array:
    """A categorical column's categories as CSV fields. Text categories (there may be
    millions: record ids) are escaped and quoted by Arrow, as text columns are."""
    categories = series.cat.categories
    if len(categories) and pd.api.types.infer_dtype(categories, skipna=False) == "string":
        return _quote_text(_escape_arrow(_text_array(pd.Series(categories, copy=False))))
    return _quote_text(pa.array(_object_cells(np.asarray(categories, dtype=object)), pa.large_string()))


def _text_array(series: pd.Series) -> pa.Array:
    """The text values of ``series`` as one Arrow large_string array (missing = null)."""
    if series.dtype == object:
        # Python strings convert faster to string (32-bit offsets) than to large_string;
        # the cast after copies only the offsets. (Arrow chunks what would not fit.)
        arr = pa.array(series.to_numpy(), type=pa.string(), from_pandas=True)
    else:
        arr = pa.array(series)
    if isinstance(arr, pa.ChunkedArray):
        chunks = [chunk.cast(pa.large_string()) for chunk in arr.chunks]
        return pa.concat_arrays(chunks) if chunks else pa.array([], pa.large_string())
    return arr.cast(pa.large_string())


def _offsets_and_data(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Numpy views of a string array's offsets (one per value, plus the end) and bytes."""
    bufs = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    if not len(arr) or bufs[1] is None:
        return np.zeros(len(arr) + 1, dtype=width), np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(bufs[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def _escape_arrow(arr: pa.Array) -> pa.Array:
    """:func:`_escape_text` of every value of a string array (nulls stay null)."""
    offsets, data = _offsets_and_data(arr)
    starts = offsets[:-1]
    nonempty = offsets[1:] > starts
    first = np.zeros(len(arr), dtype=np.uint8)
    first[nonempty] = data[starts[nonempty]]
    candidates = np.flatnonzero(_RISKY_FIRST_BYTE[first] & nonempty)
    if not len(candidates):
        return arr
    sub = arr.take(pa.array(candidates))
    escape = _bools(pc.match_substring_regex(sub, _RISKY_RE2)) & ~_bools(pc.match_substring_regex(sub, _PLAIN_ASCII_RE2))
    # Python's \d takes every Unicode digit: the rare risky non-ASCII texts are checked by
    # _PLAIN_NUMBER itself, so "plain number" means exactly what it does in _escape_text.
    for k in np.flatnonzero(escape & ~_bools(pc.string_is_ascii(sub))):
        escape[k] = not _PLAIN_NUMBER.fullmatch(sub[int(k)].as_py())
    if not escape.any():
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[candidates[escape]] = True
    escaped = pc.binary_join_element_wise(_lstr("'"), sub.filter(pa.array(escape)), _lstr(""))
    return pc.replace_with_mask(arr, pa.array(mask), escaped)


def _quote_text(arr: pa.Array) -> pa.Array:
    """A string array with each value holding " , CR or LF quoted as the csv module
    quotes it: in quotes, inner quotes doubled (nulls stay null)."""
    arr = arr.cast(pa.large_string())
    offsets, data = _offsets_and_data(arr)
    data = data[offsets[0] : offsets[-1]] if len(offsets) else data[:0]
    # The values to quote are found by a scan of the bytes (UTF-8 never hides an ASCII
    # byte in another character), several times faster than a regex over the values;
    # most columns need no quoting at all.
    hits = np.flatnonzero(_QUOTE_BYTE[data])
    if not len(hits):
        return arr
    rows = np.unique(np.searchsorted(offsets, hits + offsets[0], side="right") - 1)
    needs = np.zeros(len(arr), dtype=bool)
    needs[rows] = True
    if arr.null_count:
        needs &= _bools(arr.is_valid())
    needs_arr = pa.array(needs)
    inner = pc.replace_substring(arr.filter(needs_arr), '"', '""')
    return pc.replace_with_mask(arr, needs_arr, pc.binary_join_element_wise(_lstr('"'), inner, _lstr('"'), _lstr("")))


def _lstr(value: str) -> pa.Scalar:
    """A large_string scalar (the kernels want one string type throughout)."""
    return pa.scalar(value, pa.large_string())


def _bools(arr: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy (null is False)."""
    return arr.fill_null(False).to_numpy(zero_copy_only=False)


def _format_floats(values: np.ndarray) -> pa.Array:
    """``values.astype(str)`` (NaN empty), as pandas writes floats, as Arrow text: mostly
    by Arrow's cast, about ten times faster. Both print the shortest digits that read back
    as the same float; they differ in layout only: numpy writes ``1.0`` where Arrow writes
    ``1``, and switches to an exponent below 1e-4 and from 1e16 where Arrow has its own
    rule. So Arrow's text is kept where it is positional and numpy's would be too (``.0``
    added to whole numbers), and numpy formats the rest (exponents, inf, nan: rare in
    weights; narrower floats)."""
    if values.dtype != np.float64:  # numpy has other thresholds for narrower floats
        return pa.array(np.where(np.isnan(values), "", values.astype(str)), pa.large_string())
    text = pc.cast(pa.array(values), pa.large_string())
    magnitude = np.abs(values)
    arrow_ok = ((magnitude >= 1e-4) & (magnitude < 1e16)) | (values == 0)
    arrow_ok &= ~_bools(pc.match_substring(text, "e"))
    whole = arrow_ok & ~_bools(pc.match_substring(text, "."))
    if whole.any():
        text = pc.replace_with_mask(
            text, pa.array(whole), pc.binary_join_element_wise(text.filter(pa.array(whole)), _lstr(".0"), _lstr(""))
        )
    if not arrow_ok.all():
        others = values[~arrow_ok].astype(str)
        others[np.isnan(values[~arrow_ok])] = ""  # pandas writes NaN as an empty field
        text = pc.replace_with_mask(text, pa.array(~arrow_ok), pa.array(others, pa.large_string()))
    return text


def _datetime_text(values: np.ndarray) -> pa.Array:
    """Naive datetimes as ``str(pd.Timestamp)``: ``2024-01-31 09:05:00``, with the
    fraction of a second only where there is one; NaT empty."""
    seconds = values.astype("datetime64[s]")
    nat = np.isnat(values)
    # Arrow formats whole seconds of four-digit years; str() the rare others.
    plain = nat | (
        (seconds == values)
        & (seconds >= np.datetime64("1000-01-01", "s"))
        & (seconds <= np.datetime64("9999-12-31T23:59:59", "s"))
    )
    # Arrow's cast of whole seconds writes exactly that text (``YYYY-MM-DD HH:MM:SS``),
    # over ten times faster than numpy's ISO text; NaT and the values it would not write
    # so are null (NaT empty at the end, the others replaced below).
    text = pc.cast(pa.array(seconds, mask=~plain | nat), pa.large_string())
    others = np.flatnonzero(~plain)
    if len(others):
        mask = np.zeros(len(values), dtype=bool)
        mask[others] = True
        text = pc.replace_with_mask(
            text, pa.array(mask), pa.array([str(pd.Timestamp(v)) for v in values[others]], pa.large_string())
        )
    return text.fill_null("")


def _object_cells(values: np.ndarray) -> list[str]:
    """Python values as the csv module writes them after :func:`_escape_column` (text
    escaped; floats by ``repr``, other values by ``str``; missing empty). For a few values."""
    missing = pd.isna(values)
    return [
        "" if na else _escape_text(v) if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)
        for v, na in zip(values, missing, strict=True)
    ]


def _write_csv_pandas(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """:func:`write_csv_safe` through ``DataFrame.to_csv``, for dtypes the fast path does
    not handle (per-cell Python: slow for millions of rows)."""
    safe = pd.DataFrame({i: _escape_column(df.iloc[:, i]) for i in range(df.shape[1])})
    safe.columns = [_escape_text(str(c)) for c in df.columns]
    # CRLF (RFC 4180, what Excel writes) also makes the csv module quote every field that
    # holds a CR or LF; with "\n" Python 3.11 leaves a lone CR unquoted.
    safe.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
