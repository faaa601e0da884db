"""The customer store: myKaarma customers of many dealer departments in one SQLite file.

:class:`CustomerStore` keeps customers (with their vehicles) in an embedded SQLite
database (stdlib :mod:`sqlite3`; ``":memory:"`` or a file in WAL mode), scoped by dealer
department, and offers the myKaarma operations on them: create, bulk create, read,
update, search, the Customer Matching Logic (:meth:`CustomerStore.match`), create-or-
update with dedupe (:meth:`CustomerStore.save`) and bulk merge.

Layout (one file, four tables that matter):

- ``customers``: one row per customer ever created (merged ones stay as tombstones with
  ``merged_into`` set). ``id`` is the numeric id and the creation order (``Profile.seq``);
  the normalized name, suffix, company, customerKey and phone/email/VIN keys are columns,
  so a candidate's :class:`~matching.logic.Profile` is built without parsing JSON; ``doc``
  is the stored customer and vehicles as JSON. Looked up by uuid through a CRC-32 index.
- ``keys``: the matching index, one row per (hash, department, customer): CRC-32 of the
  phone match key, of the provider-folded email (it finds the exact address too), of the
  VIN's last 8 characters (it finds the full VIN too) and of the case-folded
  customerKey. Four-byte hashes keep the index small, so bulk loads stay fast; every
  lookup then keeps only customers whose real values match (a collision costs a row
  read, never a wrong candidate). Every :class:`~matching.logic.MatchPolicy` is answered
  from the same rows, so a file can be reopened with another policy.
- ``search``: the six searchable fields, folded (case and accents), for substring scans.
- ``merges``: the audit trail of bulk merges (who, manual or not, when).

Choices where the spec is silent (each also said at the method):

- **Reads**: documented read-model keys absent from the stored request come back as
  null (lists as ``[]``, ``availability``/``brandId`` as 0, ``isBusiness`` as false), as
  in the §6 example. ``exclude_vehicles=True`` gives ``"vehicles": []``.
- **Create** ignores ``id``/``customerUuid``/``customerId`` in the request and assigns new
  ones (uuid4; ``customerId`` is ``str(id)``); every vehicle and address gets a new uuid,
  vehicles a numeric id, addresses an ``updateTS``. The store does not validate requests
  (that is :meth:`matching.model.CustomerRequest.validate`); it needs a ``customer``
  object. ``isMatching`` (write-only, undocumented) is not stored. ``create_many`` stores
  exactly what ``create`` of each request in turn would (vehicle ids included: one per
  vehicle object stored).
- **Update** (the update endpoint): phone and email lists are REPLACED (null, empty or
  absent deletes them all, warnings 10005-10008); other customer fields present in the
  request overwrite (explicit null included), absent ones keep their value; addresses are
  replaced when the key is present; vehicles are merged: a request vehicle updates the
  stored one with the same ``vehicleUuid``, else the same normalized VIN, else the same
  ``vehicleKey``; other request vehicles are added; stored vehicles not in the request
  are kept.
- **Save** (create-or-update with ``searchForDuplicate``): the match is updated in
  ``save_update_mode="merge"`` (default) or ``"replace"`` (the update semantics above).
  Merge never deletes: phones, emails, addresses and vehicles are a union by normalized
  value (an incoming entry refreshes the stored entry with the same value), and only
  non-null incoming values overwrite. A request whose ``customer.customerUuid`` names a
  live customer of the department updates that customer without matching (spec §1(c) 1).
  Match and write run in one ``BEGIN IMMEDIATE`` transaction, so concurrent saves of the
  same new customer make one customer.
- **Merge**: the others' phones, emails, addresses and vehicles move to the primary,
  deduplicated by normalized value (the primary's entry wins); the others become
  tombstones pointing at the primary and leave the matching and search indexes.
  ``read``/``update`` of a merged uuid raise :class:`CustomerMerged` (a
  :class:`CustomerNotFound`) carrying ``primary_uuid``; :meth:`CustomerStore.resolve`
  follows it. A preferred phone/email not among the merged ones is added.
- **Search**: see :meth:`CustomerStore.search`.
- **Policy**: ``CustomerStore(name_match=...)`` sets ``MatchPolicy.name_match``; with a
  ``policy`` too, ``name_match`` overrides the policy's when given (not None).

Logging never shows phones, emails or names above debug level.
"""

from __future__ import annotations

import functools
import gc
import itertools
import json
import logging
import os
import re
import sqlite3
import threading
import time
import uuid as uuidlib
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.logic import Decision, MatchPolicy, Profile, TraceStep, match_customer
from matching.model import (
    SEARCH_FIELDS,
    SEARCH_TERM_SERVER_MAX,
    WARNING_TITLES,
    ApiWarning,
    CustomerRequest,
    CustomerWithVehicles,
    update_list_warnings,
    validate_search_params,
)
from matching.normalize.emails import (
    GMAIL_DOMAINS,
    PLUS_ADDRESSING_DOMAINS,
    email_match_key,
    email_series,
)
from matching.normalize.emails import email as normalize_email
from matching.normalize.names import company as normalize_company
from matching.normalize.names import fold, split_suffix
from matching.normalize.names import name as normalize_name
from matching.normalize.phones import phone_match_key, phone_series
from matching.normalize.vins import vin as normalize_vin
from matching.normalize.vins import vin_series

__all__ = ["CustomerStore", "CustomerNotFound", "CustomerMerged", "SaveUpdateMode"]

log = logging.getLogger(__name__)

SaveUpdateMode = Literal["merge", "replace"]
Request = CustomerRequest | Mapping[str, Any]

SCHEMA_VERSION = 1

# The ``keys`` table holds CRC-32 hashes, one per (kind, value): 4-byte integers keep the
# index small (a bulk load rewrites much of it). The seed makes the kind part of the hash.
# A hash is only a candidate: every lookup checks the real values of what it finds.
_PHONE, _EMAIL, _VIN, _CKEY = 1, 2, 3, 4


def _hash(kind: int, value: str) -> int:
    return zlib.crc32(value.encode(), kind)


def _vin_tail(vin: str) -> str:
    # VINs are indexed by their last 8 characters (the whole VIN when shorter): one row
    # answers both the full and the last-8 rule.
    return vin[-8:]


# Joins lists inside one column; no normalized value contains it, and search terms have
# it removed, so a substring never spans two values.
_SEP = "\x1f"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS departments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL,
    uuid_hash INTEGER NOT NULL,
    dept INTEGER NOT NULL,
    merged_into TEXT,
    first TEXT, last TEXT, suffix TEXT, company TEXT,
    is_business INTEGER NOT NULL,
    ckey TEXT,
    phones TEXT NOT NULL, emails TEXT NOT NULL, vins TEXT NOT NULL,
    key_values TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_by_uuid ON customers (uuid_hash);
CREATE TABLE IF NOT EXISTS keys (
    hash INTEGER NOT NULL, dept INTEGER NOT NULL, cust INTEGER NOT NULL,
    PRIMARY KEY (hash, dept, cust)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search (
    dept INTEGER NOT NULL, cust INTEGER NOT NULL,
    fname TEXT NOT NULL, lname TEXT NOT NULL, company TEXT NOT NULL, ckey TEXT NOT NULL,
    comm TEXT NOT NULL, vin TEXT NOT NULL,
    PRIMARY KEY (dept, cust)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merges (
    id INTEGER PRIMARY KEY, dept INTEGER NOT NULL, primary_uuid TEXT NOT NULL,
    merged_uuid TEXT NOT NULL, requested_by TEXT, is_manual INTEGER NOT NULL, ts TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', {SCHEMA_VERSION});
INSERT OR IGNORE INTO meta (name, value) VALUES ('vehicle_seq', 0);
"""

# Compact JSON for the stored documents (request JSON has no cycles to check for): what
# orjson refuses is encoded by the standard library instead.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def _dumps(o: Any) -> str:
    """Compact JSON of ``o``: orjson's (the same text as the standard encoder's for
    request JSON, in about a fifth of the time), or the standard encoder's for what
    orjson refuses (integers beyond 64 bits, lone surrogates, non-string keys), so
    nothing storable is lost. One difference: NaN and infinities, which JSON has no
    words for, are stored as null, where the standard encoder writes the non-JSON ``NaN``."""
    try:
        return orjson.dumps(o).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _ENCODER.encode(o)


_PROFILE_COLUMNS = "id, uuid, first, last, suffix, company, is_business, ckey, phones, emails, vins"


# --------------------------------------------------------------------------- errors


class CustomerNotFound(KeyError):
    """No live customer with this uuid in this department."""

    def __init__(self, customer_uuid: str, department: str, detail: str = "") -> None:
        super().__init__(customer_uuid)
        self.customer_uuid = customer_uuid
        self.department = department
        self.detail = detail

    def __str__(self) -> str:
        return self.detail or (
            f"no customer {self.customer_uuid!r} in department {self.department!r}"
        )


class CustomerMerged(CustomerNotFound):
    """The customer was merged into another one (``primary_uuid``) and is a tombstone."""

    def __init__(self, customer_uuid: str, department: str, primary_uuid: str) -> None:
        super().__init__(
            customer_uuid,
            department,
            f"customer {customer_uuid!r} was merged into {primary_uuid!r}; read that one",
        )
        self.primary_uuid = primary_uuid


# --------------------------------------------------------------------------- read model

# Documented read-model keys and the value a missing one reads as (spec §2.7, §6).
_CUSTOMER_DEFAULTS: dict[str, Any] = {
    "customerKey": None,
    "firstName": None,
    "middleName": None,
    "lastName": None,
    "company": None,
    "isBusiness": False,
    "preferredLocale": None,
    "preferredCommunication": None,
    "bestTimeToContact": None,  # replaced by {"startTime": None, "endTime": None}
    "availability": 0,
    "emails": None,
    "phoneNumbers": None,
    "addresses": None,
}
_EMAIL_KEYS = ("emailAddress", "label", "okToEmail", "isPreferred", "comments")
_PHONE_KEYS = ("phoneNumber", "label", "okToCall", "okToText", "isPreferred", "comments")
_ADDRESS_KEYS = (
    "line1", "line2", "city", "state", "zip", "country", "type", "addressType",
    "uuid", "updateTS", "isValid", "isPreferred",
)  # fmt: skip
_VEHICLE_DEFAULTS: dict[str, Any] = {
    "vehicleKey": None,
    "vin": None,
    "vehicleYear": None,
    "vehicleMake": None,
    "vehicleModel": None,
    "vehicleTrim": None,
    "vehicleEngine": None,
    "color": None,
    "licensePlate": None,
    "estimatedMileage": None,
    "isValid": None,
    "brandId": 0,
    "imageUrl": None,
}
_IDENTITY_KEYS = ("id", "customerUuid", "customerId")
_LIST_KEYS = ("phoneNumbers", "emails", "addresses")


def _entry(stored: Any, keys: Sequence[str]) -> Any:
    if not isinstance(stored, dict):
        return stored
    out = {k: stored.get(k) for k in keys}
    out.update((k, v) for k, v in stored.items() if k not in out)
    return out


def _read_customer(row_id: int, uuid: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row_id, "customerUuid": uuid, "customerId": str(row_id)}
    for key, default in _CUSTOMER_DEFAULTS.items():
        out[key] = stored.get(key, default)
    if not isinstance(out["bestTimeToContact"], dict):
        out["bestTimeToContact"] = {"startTime": None, "endTime": None}
    for key, keys in (
        ("emails", _EMAIL_KEYS),
        ("phoneNumbers", _PHONE_KEYS),
        ("addresses", _ADDRESS_KEYS),
    ):
        value = out[key]
        out[key] = [_entry(e, keys) for e in value] if isinstance(value, list) else []
    out.update((k, v) for k, v in stored.items() if k not in out)
    return out


def _read_vehicle(stored: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": stored.get("id"), "vehicleUuid": stored.get("vehicleUuid")}
    for key, default in _VEHICLE_DEFAULTS.items():
        out[key] = stored.get(key, default)
    out.update((k, v) for k, v in stored.items() if k not in out)
    return out


# --------------------------------------------------------------------------- helpers


def _str_or_none(value: Any) -> str | None:
    # Same reading as logic.Profile.from_request: a non-blank string, stripped.
    return value.strip() or None if isinstance(value, str) else None


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _split(column: str) -> tuple[str, ...]:
    return tuple(column.split(_SEP)) if column else ()


def _collect_entries(
    cust: dict[str, Any], original: Mapping[str, Any], list_key: str, value_key: str, raws: list[str]
) -> tuple[dict[str, Any], int]:
    """Append the raw ``value_key`` texts of ``cust[list_key]`` (phones, emails) to
    ``raws``; returns the customer (a copy of ``original`` when its list had to be
    cleaned: a list that is not all objects keeps only its objects) and how many."""
    start = len(raws)
    entries = cust.get(list_key)
    if entries.__class__ is list:
        add = raws.append
        for e in entries:
            if e.__class__ is not dict:
                break
            if (raw := e.get(value_key)).__class__ is str:
                add(raw)
        else:
            entries = None  # a list of objects: stored as it is
    if entries is not None:
        # Not a list of objects: its objects are kept; only exact dicts are read.
        del raws[start:]
        if cust is original:
            cust = dict(original)
        entries = cust[list_key] = _dicts(entries)
        raws += [raw for e in entries if e.__class__ is dict and (raw := e.get(value_key)).__class__ is str]
    return cust, len(raws) - start


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _uuid_hash(customer_uuid: str) -> int:
    return zlib.crc32(customer_uuid.encode())


def _new_uuid() -> str:
    return str(uuidlib.uuid4())


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Where the 32 hex digits of a uuid go in its 36 characters (the rest are dashes).
_UUID_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _new_uuids(count: int) -> list[str]:
    """``count`` random (version 4) uuid strings; one urandom call, numpy for the text of
    many (numpy's fixed cost is more than a few uuids take in Python)."""
    if count < 64:
        raw = bytearray(os.urandom(16 * count))
        out = []
        for i in range(0, 16 * count, 16):
            raw[i + 6] = (raw[i + 6] & 0x0F) | 0x40
            raw[i + 8] = (raw[i + 8] & 0x3F) | 0x80
            h = raw[i : i + 16].hex()
            out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        return out
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_DIGITS[0::2]] = _HEX_DIGITS[raw >> 4]
    text[:, _UUID_DIGITS[1::2]] = _HEX_DIGITS[raw & 0x0F]
    joined = text.tobytes().decode("ascii")
    return [joined[i : i + 36] for i in range(0, 36 * count, 36)]


class _UuidPool:
    """New uuid4 strings for vehicles and addresses, made ``batch`` at a time."""

    def __init__(self, batch: int) -> None:
        self._batch = max(1, batch)
        self._left: list[str] = []

    def take(self) -> str:
        if not self._left:
            self._left = _new_uuids(self._batch)
        return self._left.pop()


def _as_dict(request: Request) -> dict[str, Any]:
    if isinstance(request, CustomerRequest):
        return request.to_json()
    if isinstance(request, Mapping):
        return request if isinstance(request, dict) else dict(request)
    raise TypeError(
        f"a request must be a matching.model.CustomerRequest or its JSON dict, not {type(request).__name__}"
    )


@contextmanager
def _gc_paused(pause: bool) -> Iterator[None]:
    """Python's cyclic garbage collector off inside (when ``pause``), back on after if it
    was on. See :meth:`CustomerStore.create_many`."""
    if not (pause and gc.isenabled()):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _check_department(department: Any) -> str:
    if not isinstance(department, str) or not department.strip():
        raise ValueError(
            f"department must be a non-blank string (the departmentUUID), not {department!r}"
        )
    return department


_PHONE_PUNCT = re.compile(r"[\s().+\-/]")
_VIN_TAIL = re.compile(r"[A-HJ-NPR-Za-hj-npr-z0-9]{8}")


_FOLDING_DOMAINS = GMAIL_DOMAINS | PLUS_ADDRESSING_DOMAINS


# What the store derives from one raw value, made one at a time (:class:`_Normalizers`) or
# per chunk (:func:`_bulk_entries`); tests check both ways agree.
#: (normalized name, suffix, search text) of a first or last name.
NameEntry = tuple[str | None, str | None, str]
#: (normalized company, search text).
CompanyEntry = tuple[str | None, str]
#: (search text, match key, ``keys`` hash of the key) of a phone.
PhoneEntry = tuple[str, str | None, int | None]
#: (search text, normalized address, ``keys`` hash of its provider-folded form) of an email.
EmailEntry = tuple[str, str | None, int | None]
#: (search text, normalized VIN, ``keys`` hash of its tail, VIN lower-cased) of a VIN.
VinEntry = tuple[str, str | None, int | None, str | None]
#: (stripped customerKey, ``keys`` hash of it case-folded, search text).
KeyEntry = tuple[str | None, int | None, str]

_NO_NAME: NameEntry = (None, None, "")
_NO_COMPANY: CompanyEntry = (None, "")
_NO_PHONE: PhoneEntry = ("", None, None)
_NO_EMAIL: EmailEntry = ("", None, None)
_NO_VIN: VinEntry = ("", None, None, None)
_NO_KEY: KeyEntry = (None, None, "")


class _Normalizers:
    """The library's normalizers, names behind per-store LRU caches (exports repeat them).

    The ``*_entry`` forms return everything the store derives from one raw phone, email,
    VIN or customerKey string (see :data:`PhoneEntry` and the others); they take strings
    only (other JSON types are handled by the caller). Phones, emails and VINs are nearly
    unique per customer: a cache would cost more than it saves on them. The bulk load
    makes the same entries column-wise with :func:`_bulk_entries`.
    """

    def __init__(self, size: int = 1 << 17) -> None:
        cached = functools.lru_cache(maxsize=size)
        self.phone_key: Callable[[str], str | None] = cached(phone_match_key)
        self.email: Callable[[str], str | None] = cached(normalize_email)
        self.vin: Callable[[str], str | None] = cached(normalize_vin)
        self.fold: Callable[[str], str] = cached(fold)
        self.name_info: Callable[[str], NameEntry] = cached(self._name_info)
        self.company_info: Callable[[str], CompanyEntry] = cached(self._company_info)
        self.email_fold: Callable[[str], str] = cached(self._email_fold)

    @staticmethod
    def _name_info(raw: str) -> NameEntry:
        """(normalized name, suffix, search text), as Profile.from_request reads a name."""
        stripped = raw.strip()
        if not stripped:
            return _NO_NAME
        base, suffix = split_suffix(stripped)
        return normalize_name(base), suffix, fold(stripped)

    @staticmethod
    def _company_info(raw: str) -> CompanyEntry:
        stripped = raw.strip()
        return (normalize_company(stripped) if stripped else None), fold(stripped)

    @staticmethod
    def _email_fold(address: str) -> str:
        """The provider-folded key of a normalized address (itself for most providers)."""
        if address[address.rfind("@") + 1 :] in _FOLDING_DOMAINS:
            return email_match_key(address) or address
        return address

    @staticmethod
    def phone_entry(raw: str) -> PhoneEntry:
        stripped = raw.strip()
        if not stripped:
            return _NO_PHONE
        key = phone_match_key(raw)
        return fold(stripped), key, None if key is None else _hash(_PHONE, key)

    @classmethod
    def email_entry(cls, raw: str) -> EmailEntry:
        stripped = raw.strip()
        if not stripped:
            return _NO_EMAIL
        address = normalize_email(raw)
        folded = None if address is None else _hash(_EMAIL, cls._email_fold(address))
        return fold(stripped), address, folded

    @staticmethod
    def vin_entry(raw: str) -> VinEntry:
        stripped = raw.strip()
        if not stripped:
            return _NO_VIN
        vin = normalize_vin(raw)
        if vin is None:
            return fold(stripped), None, None, None
        return fold(stripped), vin, _hash(_VIN, _vin_tail(vin)), vin.lower()

    @staticmethod
    def key_entry(raw: str) -> KeyEntry:
        ckey = raw.strip()
        if not ckey:
            return _NO_KEY
        return ckey, _hash(_CKEY, ckey.casefold()), fold(ckey)


def _index(
    n: _Normalizers, cust: Mapping[str, Any], vehicles: Any, dept: int, cust_id: int
) -> tuple[tuple[Any, ...], list[tuple[int, int, int]], tuple[Any, ...]]:
    """(profile columns, key rows, search row) of one stored customer.

    Mirrors ``Profile.from_request`` field by field (tests check they agree), but on the
    JSON dict and with cached normalizers: no model objects.
    """
    get = cust.get
    value = get("firstName")
    first = n.name_info(value) if value.__class__ is str else _NO_NAME
    value = get("lastName")
    last = n.name_info(value) if value.__class__ is str else _NO_NAME
    value = get("company")
    company = n.company_info(value) if value.__class__ is str else _NO_COMPANY
    value = get("customerKey")
    key = n.key_entry(value) if value.__class__ is str else _NO_KEY
    entries = get("phoneNumbers")
    phones = (
        [n.phone_entry(raw) for e in entries
         if e.__class__ is dict and (raw := e.get("phoneNumber")).__class__ is str]
        if entries.__class__ is list else ()
    )  # fmt: skip
    entries = get("emails")
    emails = (
        [n.email_entry(raw) for e in entries
         if e.__class__ is dict and (raw := e.get("emailAddress")).__class__ is str]
        if entries.__class__ is list else ()
    )  # fmt: skip
    vins = (
        [n.vin_entry(raw) for v in vehicles
         if v.__class__ is dict and (raw := v.get("vin")).__class__ is str]
        if vehicles.__class__ is list else ()
    )  # fmt: skip
    profile, hashes, search = _assemble(
        first, last, company, key, get("isBusiness") is True, phones, emails, vins, dept, cust_id
    )
    return profile, [(h, dept, cust_id) for h in hashes], search


def _assemble(
    first: NameEntry,
    last: NameEntry,
    company: CompanyEntry,
    key: KeyEntry,
    is_business: bool,
    phone_entries: Sequence[PhoneEntry],
    email_entries: Sequence[EmailEntry],
    vin_entries: Sequence[VinEntry],
    dept: int,
    cust_id: int,
) -> tuple[tuple[Any, ...], dict[int, None], tuple[Any, ...]]:
    """(profile columns, key hashes, search row) of a customer from its entries.

    The one place that decides the stored columns, for single writes and bulk loads
    alike. The hot loop of :meth:`CustomerStore.create_many`, hence the terse style.
    """
    hashes: dict[int, None] = {}
    comm: dict[str, None] = {}
    phones: dict[str, int] = {}
    for text, value, h in phone_entries:
        if text:
            comm[text] = None
        if value:
            phones[value] = h  # type: ignore[assignment]
    emails: dict[str, None] = {}
    email_texts: dict[str, None] = {}
    for text, value, h in email_entries:
        if text:
            email_texts[text] = None
        if value:
            emails[value] = None
            # One row per provider-folded address: it finds the exact address too.
            hashes[h] = None  # type: ignore[index]
    vins: dict[str, tuple[int, str]] = {}
    vin_texts: dict[str, None] = {}
    for text, value, h, lower in vin_entries:
        if text:
            vin_texts[text] = None
        if value:
            vins[value] = (h, lower)  # type: ignore[assignment]
    for value, h in phones.items():
        hashes[h] = None
        comm[value] = None
    comm.update(email_texts)
    comm.update(emails)
    for h, lower in vins.values():
        hashes[h] = None
        vin_texts[lower] = None
    ckey, h, ckey_text = key
    if ckey:
        hashes[h] = None  # type: ignore[index]
    profile = (
        first[0],
        last[0],
        last[1] or first[1],
        company[0],
        1 if is_business else 0,
        ckey,
        _SEP.join(phones),
        _SEP.join(emails),
        _SEP.join(vins),
        # The customer's key hashes: how its rows are found again to delete them (cheaper
        # than a second index on the keys table).
        " ".join(map(str, hashes)),
    )
    search = (
        dept,
        cust_id,
        first[2],
        last[2],
        company[1],
        ckey_text,
        _SEP.join(comm),
        _SEP.join(vin_texts),
    )
    return profile, hashes, search


# --------------------------------------------------------------------------- bulk normalization


def _folded(texts: np.ndarray) -> list[str]:
    """``fold(t.strip())`` of each text: pyarrow for printable ASCII (str.strip() removes
    only spaces from it, fold() is lower()), fold() for the rest."""
    arr = pa.array(texts, type=pa.string())
    plain = pc.ascii_is_printable(arr).to_numpy(zero_copy_only=False)
    out: list[str] = pc.ascii_lower(pc.utf8_trim(arr, " ")).to_pylist()
    for i in np.flatnonzero(~plain).tolist():
        out[i] = fold(texts[i].strip())
    return out


def _series(texts: np.ndarray, func: Callable[[pd.Series], pd.Series]) -> list[Any]:
    """A library ``*_series`` normalizer on distinct texts, as a list (None where junk)."""
    return func(pd.Series(texts, dtype=object)).tolist()


def _phone_entries(texts: np.ndarray) -> list[PhoneEntry]:
    crc32 = zlib.crc32
    out: list[PhoneEntry] = []
    for text, e164 in zip(_folded(texts), _series(texts, phone_series), strict=True):
        if e164 is None:
            out.append((text, None, None))
        else:
            key = e164[2:] if e164.startswith("+1") else e164  # as phone_match_key
            out.append((text, key, crc32(key.encode(), _PHONE)))
    return out


_GMAIL_DOMAINS = pa.array(sorted(GMAIL_DOMAINS), type=pa.string())
_PLUS_DOMAINS = pa.array(sorted(PLUS_ADDRESSING_DOMAINS), type=pa.string())


def _email_folds(addresses: list[str]) -> list[str]:
    """:meth:`_Normalizers._email_fold` of normalized addresses, column-wise.

    ``email_match_key`` has no vectorized form that is faster than its scalar one, so its
    folding (documented there: Gmail without dots and ``+tags``, the other subaddressing
    providers without ``+tags``, an address whose local part folds to nothing unchanged)
    is done here with pyarrow; ``email`` is idempotent, so normalizing again is not
    needed. Tests check this equals the scalar form.
    """
    if not all("@" in a for a in addresses):  # never so for email()'s answers
        return [_Normalizers._email_fold(a) for a in addresses]
    arr = pa.array(addresses, type=pa.string())
    # Split at the last "@" and at the first "+" (rsplit and split, as email_match_key).
    parts = pc.split_pattern(arr, "@", max_splits=1, reverse=True)
    local, domain = pc.list_element(parts, 0), pc.list_element(parts, 1)
    gmail = pc.is_in(domain, value_set=_GMAIL_DOMAINS)
    plus = pc.is_in(domain, value_set=_PLUS_DOMAINS)
    base = pc.list_element(pc.split_pattern(local, "+", max_splits=1), 0)
    base = pc.if_else(gmail, pc.replace_substring(base, ".", ""), base)
    folded = pc.binary_join_element_wise(base, pc.if_else(gmail, "gmail.com", domain), "@")
    changed = pc.and_(
        pc.and_(pc.or_(gmail, plus), pc.not_equal(base, "")), pc.not_equal(folded, arr)
    )
    # Most addresses do not change: only the others are made into Python strings.
    out = list(addresses)
    where = np.flatnonzero(changed.to_numpy(zero_copy_only=False)).tolist()
    for i, value in zip(where, pc.filter(folded, changed).to_pylist(), strict=True):
        out[i] = value
    return out


def _email_entries(texts: np.ndarray) -> list[EmailEntry]:
    crc32 = zlib.crc32
    addresses = _series(texts, email_series)
    valid = [a for a in addresses if a is not None]
    folds = iter(_email_folds(valid) if valid else ())
    return [
        (text, None, None) if address is None
        else (text, address, crc32(next(folds).encode(), _EMAIL))
        for text, address in zip(_folded(texts), addresses, strict=True)
    ]  # fmt: skip


def _vin_entries(texts: np.ndarray) -> list[VinEntry]:
    crc32 = zlib.crc32
    return [
        (text, None, None, None) if vin is None
        else (text, vin, crc32(_vin_tail(vin).encode(), _VIN), vin.lower())
        for text, vin in zip(_folded(texts), _series(texts, vin_series), strict=True)
    ]  # fmt: skip


def _bulk_entries(
    raws: list[str],
    batch: Callable[[np.ndarray], list[Any]],
    scalar: Callable[[str], Any],
) -> list[Any]:
    """The entries of many raw strings, column-wise: ``batch`` runs once per distinct
    value (the library's vectorized normalizers), equal to ``scalar`` on each."""
    if not raws:
        return []
    texts = list(dict.fromkeys(raws))
    try:
        distinct = batch(np.array(texts, dtype=object))
    except UnicodeEncodeError:
        # Lone surrogates (json.loads lets "\ud800" through) are not UTF-8: Arrow refuses
        # them, the scalar normalizers do not.
        distinct = [scalar(t) for t in texts]
    if len(texts) == len(raws):
        return distinct
    entry = dict(zip(texts, distinct, strict=True))
    return [entry[raw] for raw in raws]


# --------------------------------------------------------------------------- list merging


def _phone_identity(n: _Normalizers, entry: Mapping[str, Any]) -> str | None:
    raw = _str_or_none(entry.get("phoneNumber"))
    return None if raw is None else (n.phone_key(raw) or raw)


def _email_identity(n: _Normalizers, entry: Mapping[str, Any]) -> str | None:
    raw = _str_or_none(entry.get("emailAddress"))
    return None if raw is None else (n.email(raw) or raw.casefold())


def _address_identity(n: _Normalizers, entry: Mapping[str, Any]) -> tuple[str, ...] | None:
    parts = tuple(
        " ".join(n.fold(v).split()) if isinstance(v := entry.get(k), str) else ""
        for k in ("line1", "line2", "city", "state")
    )
    zip_code = entry.get("zip")
    key = (*parts, zip_code.strip()[:5] if isinstance(zip_code, str) else "")
    return key if any(key) else None


def _overlay(
    base: Mapping[str, Any], incoming: Mapping[str, Any], *, nulls: bool, skip: Iterable[str] = ()
) -> dict[str, Any]:
    skipped = set(skip)
    out = dict(base)
    for k, v in incoming.items():
        if k in skipped or (v is None and not nulls):
            continue
        out[k] = v
    return out


def _union(
    stored: list[dict[str, Any]],
    incoming: Iterable[dict[str, Any]],
    identity: Callable[[Mapping[str, Any]], Any],
    *,
    refresh: bool,
    fresh: Callable[[Mapping[str, Any]], dict[str, Any]] = dict,
    touched: Callable[[dict[str, Any]], dict[str, Any]] = lambda e: e,
) -> list[dict[str, Any]]:
    """Stored entries plus the incoming ones whose identity is new (made by ``fresh``).

    ``refresh``: an incoming entry with a known identity overlays its non-null fields
    (never ``uuid``) on the stored one, which then goes through ``touched``.
    """
    out = [dict(e) for e in stored]
    where: dict[Any, int] = {}
    for i, e in enumerate(out):
        key = identity(e)
        if key is not None:
            where.setdefault(key, i)
    for e in incoming:
        key = identity(e)
        if key is not None and key in where:
            if refresh:
                i = where[key]
                out[i] = touched(_overlay(out[i], e, nulls=False, skip=("uuid", "updateTS")))
            continue
        if key is not None:
            where[key] = len(out)
        out.append(fresh(e))
    return out


# --------------------------------------------------------------------------- the store


class CustomerStore:
    """Customers of dealer departments in an embedded SQLite database.

    ``path`` is a file (created if missing; WAL mode, busy timeout ``timeout`` seconds so
    several processes can share it) or ``":memory:"``. ``policy`` is the
    :class:`~matching.logic.MatchPolicy` of :meth:`match` and :meth:`save`; ``name_match``
    (``"exact"``, ``"fuzzy"`` or a callable), when given, overrides its ``name_match``.
    ``save_update_mode`` is how :meth:`save` updates a matched customer (see the module
    docstring). One store may be shared by threads (calls are serialized); use one store
    per process.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        name_match: Literal["exact", "fuzzy"] | Callable[[Profile, Profile], bool] | None = None,
        policy: MatchPolicy | None = None,
        save_update_mode: SaveUpdateMode = "merge",
        timeout: float = 30.0,
    ) -> None:
        policy = policy or MatchPolicy()
        if name_match is not None:
            policy = replace(policy, name_match=name_match)
        self.policy: MatchPolicy = policy
        if save_update_mode not in ("merge", "replace"):
            raise ValueError(
                f"save_update_mode must be 'merge' or 'replace', not {save_update_mode!r}"
            )
        self.save_update_mode: SaveUpdateMode = save_update_mode
        self.path = str(path)
        self._lock = threading.RLock()
        self._norm = _Normalizers()
        self._dept_ids: dict[str, int] = {}
        self._in_tx = False
        self._timeout = timeout
        # The background WAL checkpoint after bulk loads (see create_many).
        self._ckpt_lock = threading.Lock()
        self._ckpt_thread: threading.Thread | None = None
        self._ckpt_wanted = False
        self._conn = sqlite3.connect(
            self.path,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=512,
        )
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        is_file = self.path != ":memory:" and not self.path.startswith("file::memory:")
        self._is_file = is_file
        # A new database gets 16 KiB pages (an existing one keeps its own: SQLite ignores
        # this then). Bulk loads rewrite much of the hashed indexes on every commit; bigger
        # pages mean fewer WAL frames for the same bytes, measured at about 40% less
        # commit CPU at 1M customers. Must come before the first write (journal_mode).
        self._conn.execute("PRAGMA page_size = 16384")
        if is_file:
            self._retry(lambda: self._conn.execute("PRAGMA journal_mode = WAL"), timeout)
            self._conn.execute("PRAGMA synchronous = NORMAL")
            # Reads through mmap: no syscall per page on the hot lookup path.
            self._conn.execute("PRAGMA mmap_size = 4294967296")
        self._conn.execute("PRAGMA cache_size = -131072")  # 128 MiB
        self._conn.execute("PRAGMA temp_store = MEMORY")
        # Bulk loads send key rows as one JSON array (json_each); SQLite builds without
        # JSON support get one row per statement instead.
        try:
            self._conn.execute("SELECT count(*) FROM json_each('[1]')").fetchone()
            self._json_each = True
        except sqlite3.OperationalError:
            self._json_each = False
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            version = self._conn.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'"
            ).fetchone()[0]
        if int(version) != SCHEMA_VERSION:
            self._conn.close()
            raise ValueError(
                f"{self.path} has store schema version {version}; this library reads version {SCHEMA_VERSION}"
            )

    @staticmethod
    def _retry(action: Callable[[], Any], timeout: float) -> Any:
        # Switching to WAL takes a lock that does not always wait on the busy handler.
        deadline = time.monotonic() + timeout
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close the database connection (after the background checkpoint, if one runs)."""
        self.flush()
        with self._lock:
            self._conn.close()

    def flush(self) -> None:
        """Wait for the background WAL checkpoint of earlier bulk loads, if one is running.

        Not needed for durability (a committed bulk load is in the WAL); it is for timing
        the load whole, or for copying the database file without its WAL.
        """
        with self._ckpt_lock:
            thread = self._ckpt_thread
        if thread is not None:
            thread.join()

    def _checkpoint_in_background(self) -> None:
        """Copy the WAL into the database file in a thread with its own connection.

        A checkpoint is one SQLite call that holds no Python lock, so it runs on the
        other core while the caller prepares the next batch, instead of inside the
        commit (where it was most of a bulk commit's wall time at 1M customers: writes
        and two fsyncs). A request while one runs makes it checkpoint once more.
        """
        with self._ckpt_lock:
            self._ckpt_wanted = True
            if self._ckpt_thread is not None:
                return
            self._ckpt_thread = thread = threading.Thread(
                target=self._checkpoint_loop, name="CustomerStore-checkpoint", daemon=True
            )
        thread.start()

    def _checkpoint_loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            while True:
                with self._ckpt_lock:
                    if not self._ckpt_wanted:
                        # Decided under the lock: a request made after this starts a thread.
                        self._ckpt_thread = None
                        return
                    self._ckpt_wanted = False
                # PASSIVE: never waits for (or blocks) readers and writers of the file.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            # Only an optimization: the next commit's automatic checkpoint does the work.
            log.debug("background checkpoint failed: %s", exc)
        finally:
            with self._ckpt_lock:
                if self._ckpt_thread is threading.current_thread():
                    self._ckpt_thread = None
            if conn is not None:
                conn.close()

    def __enter__(self) -> CustomerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CustomerStore({self.path!r}, policy={self.policy!r})"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so that what is read
        inside it (the match) is still true when the write commits."""
        with self._lock:
            if self._in_tx:  # nested: part of the caller's transaction
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._in_tx = True
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                # A department created in the rolled-back transaction is gone again.
                self._dept_ids.clear()
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._in_tx = False

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot for multi-query operations."""
        with self._lock:
            if self._in_tx:
                yield self._conn
                return
            self._conn.execute("BEGIN")
            self._in_tx = True
            try:
                yield self._conn
            finally:
                self._in_tx = False
                self._conn.execute("COMMIT")

    def _dept(self, department: str, *, create: bool) -> int | None:
        _check_department(department)
        dept = self._dept_ids.get(department)
        if dept is not None:
            return dept
        row = self._conn.execute(
            "SELECT id FROM departments WHERE name = ?", (department,)
        ).fetchone()
        if row is None:
            if not create:
                return None
            self._conn.execute("INSERT INTO departments (name) VALUES (?)", (department,))
            row = self._conn.execute(
                "SELECT id FROM departments WHERE name = ?", (department,)
            ).fetchone()
        self._dept_ids[department] = row[0]
        return row[0]

    def _vehicle_ids(self, count: int) -> int:
        """Reserve ``count`` vehicle ids; returns the first."""
        (last,) = self._conn.execute("SELECT value FROM meta WHERE name = 'vehicle_seq'").fetchone()
        if count:
            self._conn.execute(
                "UPDATE meta SET value = ? WHERE name = 'vehicle_seq'", (last + count,)
            )
        return int(last) + 1

    def _row(self, customer_uuid: str, department: str) -> tuple[int, int, str]:
        """(id, dept, doc) of a live customer; CustomerNotFound / CustomerMerged otherwise."""
        if not isinstance(customer_uuid, str):
            raise TypeError(f"customer_uuid must be a string, not {type(customer_uuid).__name__}")
        dept = self._dept(department, create=False)
        row = self._conn.execute(
            "SELECT id, dept, merged_into, doc FROM customers WHERE uuid_hash = ? AND uuid = ?",
            (_uuid_hash(customer_uuid), customer_uuid),
        ).fetchone()
        if row is None or dept is None or row[1] != dept:
            raise CustomerNotFound(customer_uuid, department)
        if row[2] is not None:
            raise CustomerMerged(customer_uuid, department, row[2])
        return row[0], row[1], row[3]

    # ------------------------------------------------------------------ writing

    @staticmethod
    def _stored_vehicle(
        v: Mapping[str, Any], vid: int, vehicle_uuid: str | None = None
    ) -> dict[str, Any]:
        out = dict(v)
        out.pop("isMatching", None)  # write-only and undocumented: not kept
        out["id"] = vid
        out["vehicleUuid"] = vehicle_uuid or _new_uuid()
        return out

    def _stored_address(
        self, a: Mapping[str, Any], now: str, keep_uuid: set[str] | None = None
    ) -> dict[str, Any]:
        out = dict(a)
        given = a.get("uuid")
        if not (keep_uuid and isinstance(given, str) and given in keep_uuid):
            out["uuid"] = _new_uuid()
        out["updateTS"] = now
        return out

    def _write_indexes(
        self, cust_id: int, dept: int, doc: Mapping[str, Any], *, replace_old: bool
    ) -> tuple[Any, ...]:
        profile, keys, search = _index(
            self._norm, doc["customer"], doc.get("vehicles"), dept, cust_id
        )
        if replace_old:
            self._delete_keys(cust_id, dept)
        self._conn.executemany(
            "INSERT OR IGNORE INTO keys (hash, dept, cust) VALUES (?, ?, ?)", keys
        )
        self._conn.execute(
            "INSERT OR REPLACE INTO search (dept, cust, fname, lname, company, ckey, comm, vin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            search,
        )
        return profile

    def _delete_keys(self, cust_id: int, dept: int) -> None:
        (hashes,) = self._conn.execute(
            "SELECT key_values FROM customers WHERE id = ?", (cust_id,)
        ).fetchone()
        self._conn.executemany(
            "DELETE FROM keys WHERE hash = ? AND dept = ? AND cust = ?",
            [(int(h), dept, cust_id) for h in hashes.split()],
        )

    def _rewrite(self, cust_id: int, dept: int, doc: Mapping[str, Any]) -> None:
        profile = self._write_indexes(cust_id, dept, doc, replace_old=True)
        self._conn.execute(
            "UPDATE customers SET first = ?, last = ?, suffix = ?, company = ?, is_business = ?, ckey = ?,"
            " phones = ?, emails = ?, vins = ?, key_values = ?, doc = ? WHERE id = ?",
            (*profile, _dumps(doc), cust_id),
        )

    # Customers prepared and inserted per chunk: bounds the memory of a big batch. (A writer
    # thread inserting one chunk while the next is prepared was measured slower: sqlite3
    # takes the GIL back for every row, so the two threads mostly take turns.)
    _CHUNK = 8192
    # From this many customers in a chunk on, phones, emails, VINs and customerKeys are
    # normalized column-wise (once per distinct value, pyarrow fast paths); below it the
    # fixed cost of the vectorized forms is more than they save.
    _BULK_MIN = 64
    # A bulk load's key rows are inserted (sorted) once this many are waiting.
    _KEY_BATCH = 1 << 20

    def _create_in_tx(self, requests: Sequence[Request], department: str) -> list[str]:
        dept = self._dept(department, create=True)
        assert dept is not None
        dicts: list[dict[str, Any]] = []
        for i, request in enumerate(requests):
            # JSON dicts (the common input) skip _as_dict's checks against the Mapping ABC.
            r = request if request.__class__ is dict else _as_dict(request)
            if r.get("customer").__class__ is not dict:
                where = f"request {i}" if len(requests) > 1 else "the request"
                raise ValueError(f"{where} has no customer object: nothing to store")
            dicts.append(r)
        conn = self._conn
        (max_id,) = conn.execute("SELECT coalesce(max(id), 0) FROM customers").fetchone()
        first_vid = vid = self._vehicle_ids(0)
        uuids = _new_uuids(len(dicts))
        if len(dicts) >= self._BULK_MIN:
            # The uuid index is ordered by a hash of the uuid: new uuids handed out in hash
            # order make the inserts sweep it once, not land on random pages. (They are
            # random uuid4s all the same; only which new customer gets which one is chosen.)
            uuids.sort(key=_uuid_hash)
        pool = _UuidPool(min(len(dicts), self._CHUNK))
        now = _now()
        # Key rows of a bulk load wait and go in sorted by hash (then customer), the whole
        # batch (or _KEY_BATCH rows) at once: the keys index is ordered by a hash, so rows in
        # input order land on random pages; sorted, the insert sweeps the index once.
        packed_keys = self._json_each and max_id + len(dicts) < 1 << 31
        pending: list[tuple[np.ndarray, np.ndarray]] = []
        waiting = 0
        for start in range(0, len(dicts), self._CHUNK):
            stop = min(len(dicts), start + self._CHUNK)
            customer_rows, (hashes, custs), search_rows, vid = self._prepare_rows(
                dicts[start:stop], max_id + 1 + start, uuids[start:stop], vid, pool, now, dept
            )
            conn.executemany(
                "INSERT INTO customers (id, uuid, uuid_hash, dept, first, last, suffix, company, is_business,"
                " ckey, phones, emails, vins, key_values, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                customer_rows,
            )
            conn.executemany(
                "INSERT INTO search (dept, cust, fname, lname, company, ckey, comm, vin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                search_rows,
            )
            if len(dicts) < self._BULK_MIN:
                conn.executemany(
                    "INSERT OR IGNORE INTO keys (hash, dept, cust) VALUES (?, ?, ?)",
                    sorted(zip(hashes, itertools.repeat(dept), custs)),
                )
                continue
            pending.append((np.array(hashes, np.int64), np.array(custs, np.int64)))
            waiting += len(hashes)
            if waiting >= self._KEY_BATCH or stop == len(dicts):
                self._insert_keys(dept, pending, packed_keys)
                pending, waiting = [], 0
        if vid != first_vid:
            # Vehicle ids were given out in order from first_vid; record the last one used.
            conn.execute("UPDATE meta SET value = ? WHERE name = 'vehicle_seq'", (vid - 1,))
        return uuids

    def _insert_keys(
        self, dept: int, parts: Sequence[tuple[np.ndarray, np.ndarray]], packed: bool
    ) -> None:
        """Insert key rows given as (hashes, customer ids) arrays, sorted by hash (stable:
        ids ascend within a hash). ``packed``: as one JSON array of ``hash << 31 | id``
        read by json_each, one statement without per-row binding (most of what
        executemany costs on such small rows); needs ids below 2**31 and SQLite's JSON."""
        hashes = np.concatenate([h for h, _ in parts])
        custs = np.concatenate([c for _, c in parts])
        order = np.argsort(hashes, kind="stable")
        hashes, custs = hashes[order], custs[order]
        if packed:
            self._conn.execute(
                "INSERT OR IGNORE INTO keys (hash, dept, cust)"
                " SELECT value >> 31, ?, value & 2147483647 FROM json_each(?)",
                (dept, _dumps(((hashes << 31) | custs).tolist())),
            )
        else:
            self._conn.executemany(
                "INSERT OR IGNORE INTO keys (hash, dept, cust) VALUES (?, ?, ?)",
                zip(hashes.tolist(), itertools.repeat(dept), custs.tolist()),
            )

    def _prepare_rows(
        self,
        requests: Sequence[Mapping[str, Any]],
        first_id: int,
        uuids: Sequence[str],
        vid: int,
        pool: _UuidPool,
        now: str,
        dept: int,
    ) -> tuple[list[tuple[Any, ...]], tuple[list[int], list[int]], list[tuple[Any, ...]], int]:
        """(customer rows, key rows, search rows, next vehicle id) of new customers; the key
        rows as two lists (hash, customer id), in customer order.

        Two passes: the first builds each stored document (what ``create`` stores) and
        collects the raw phones, emails, VINs and customerKeys; those are normalized, per
        chunk column-wise (:func:`_bulk_entries`) or one by one; the second pass builds
        the rows from them (:func:`_assemble`).
        """
        n = self._norm
        name_info, company_info, dumps, take = n.name_info, n.company_info, _dumps, pool.take
        phone_raws: list[str] = []
        email_raws: list[str] = []
        vin_raws: list[str] = []
        key_raws: list[str] = []
        add_vin = vin_raws.append
        shapes: list[tuple[Any, ...]] = []
        raw: Any
        for r in requests:
            c = r["customer"]
            # The stored customer is the request's unless something below must change;
            # then it is a copy (the caller's dicts are never modified).
            cust = c
            if "id" in c or "customerUuid" in c or "customerId" in c or "addresses" in c:
                cust = self._new_customer(c, take, now)
            cust, n_phones = _collect_entries(cust, c, "phoneNumbers", "phoneNumber", phone_raws)
            cust, n_emails = _collect_entries(cust, c, "emails", "emailAddress", email_raws)
            vehicles = []
            n_vins = len(vin_raws)
            entries = r.get("vehicles")
            for v in entries if entries.__class__ is list else _dicts(entries):
                if isinstance(v, dict):
                    v = {**v, "id": vid, "vehicleUuid": take()}
                    if "isMatching" in v:
                        del v["isMatching"]  # write-only and undocumented: not kept
                    vid += 1
                    vehicles.append(v)
                    if (raw := v.get("vin")).__class__ is str:
                        add_vin(raw)
            n_vins = len(vin_raws) - n_vins
            get = cust.get
            raw = get("customerKey")
            if has_key := raw.__class__ is str:
                key_raws.append(raw)
            first, last, company = get("firstName"), get("lastName"), get("company")
            shapes.append((
                name_info(first) if first.__class__ is str else _NO_NAME,
                name_info(last) if last.__class__ is str else _NO_NAME,
                company_info(company) if company.__class__ is str else _NO_COMPANY,
                has_key, get("isBusiness") is True, n_phones, n_emails, n_vins,
                dumps({"customer": cust, "vehicles": vehicles}),
            ))  # fmt: skip
        if len(requests) >= self._BULK_MIN:
            phones = _bulk_entries(phone_raws, _phone_entries, n.phone_entry)
            emails = _bulk_entries(email_raws, _email_entries, n.email_entry)
            vins = _bulk_entries(vin_raws, _vin_entries, n.vin_entry)
            # customerKeys: a strip, a lower() and a CRC each; pyarrow costs more than that.
            keys = [n.key_entry(raw) for raw in key_raws]
        else:
            phones = [n.phone_entry(raw) for raw in phone_raws]
            emails = [n.email_entry(raw) for raw in email_raws]
            vins = [n.vin_entry(raw) for raw in vin_raws]
            keys = [n.key_entry(raw) for raw in key_raws]
        customer_rows: list[tuple[Any, ...]] = []
        search_rows: list[tuple[Any, ...]] = []
        key_hashes: list[int] = []
        key_custs: list[int] = []
        crc32, assemble = zlib.crc32, _assemble
        p = e = v = k = 0
        cust_id = first_id
        for shape, uuid in zip(shapes, uuids, strict=True):
            first, last, company, has_key, is_business, n_phones, n_emails, n_vins, doc = shape
            profile, hashes, search = assemble(
                first, last, company, keys[k] if has_key else _NO_KEY, is_business,
                phones[p : p + n_phones], emails[e : e + n_emails], vins[v : v + n_vins],
                dept, cust_id,
            )  # fmt: skip
            p += n_phones
            e += n_emails
            v += n_vins
            k += has_key
            customer_rows.append((cust_id, uuid, crc32(uuid.encode()), dept, *profile, doc))
            search_rows.append(search)
            key_hashes += hashes
            key_custs += [cust_id] * len(hashes)
            cust_id += 1
        return customer_rows, (key_hashes, key_custs), search_rows, vid

    def _new_customer(
        self, c: Mapping[str, Any], take: Callable[[], str], now: str
    ) -> dict[str, Any]:
        """A copy of request customer ``c`` without identity fields, its addresses with new
        uuids and ``updateTS`` (what create stores)."""
        cust = dict(c)
        for key in _IDENTITY_KEYS:
            cust.pop(key, None)  # identity is assigned here, never taken from a request
        if "addresses" in cust:
            addresses = []
            for a in _dicts(cust["addresses"]):
                a = dict(a)
                a["uuid"] = take()
                a["updateTS"] = now
                addresses.append(a)
            cust["addresses"] = addresses
        return cust

    def create(self, request: Request, *, department: str) -> str:
        """Store a new customer (and its vehicles); returns its new ``customerUuid``.

        The numeric ``id``, ``customerId`` (= ``str(id)``), vehicle ids and uuids, address
        uuids and ``updateTS`` are assigned here; identity fields in the request are ignored.
        """
        with self._write():
            return self._create_in_tx([request], department)[0]

    def create_many(self, requests: Iterable[Request], *, department: str) -> list[str]:
        """Store many new customers in one transaction (all or none); returns their uuids
        in input order. Stores exactly what :meth:`create` of each request in turn would
        (tests check it).

        The bulk-load path: phones, emails, VINs and customerKeys are normalized per
        chunk, column-wise, once per distinct value; rows are inserted in batches while
        the next chunk is prepared. A large batch runs with Python's cyclic garbage
        collector paused (and resumed after, if it was on): the rows built here would
        otherwise set off full collections that walk every live object, the caller's
        requests included, for a large part of the load time.

        New uuids are handed out in the order of their hash (the uuid index's order), so
        the index is swept once; they are random uuid4s all the same. On a file store,
        the WAL checkpoint of a large batch runs after the commit in a background thread
        (:meth:`flush` waits for it, :meth:`close` does): the commit itself, and so
        durability (``synchronous=NORMAL`` in WAL mode, as for every write), is as
        before; only the copy into the database file no longer holds up the caller.
        """
        batch = requests if isinstance(requests, Sequence) else list(requests)
        if not batch:
            return []
        bulk = len(batch) >= self._BULK_MIN
        with self._lock:
            # A large commit's WAL is checkpointed in the background, not by the commit.
            deferred = bulk and self._is_file and not self._in_tx
            if deferred:
                (pages,) = self._conn.execute("PRAGMA wal_autocheckpoint").fetchone()
                self._conn.execute("PRAGMA wal_autocheckpoint = 0")
            try:
                with self._write(), _gc_paused(bulk):
                    uuids = self._create_in_tx(batch, department)
            finally:
                if deferred:
                    self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
        if deferred:
            self._checkpoint_in_background()
        return uuids

    def _updated_doc(
        self, doc: dict[str, Any], r: Mapping[str, Any], mode: SaveUpdateMode
    ) -> dict[str, Any]:
        """The stored doc after applying request ``r`` (see the module docstring)."""
        cust = dict(doc["customer"])
        vehicles = [dict(v) for v in _dicts(doc.get("vehicles"))]
        now = _now()
        n = self._norm
        rc = r.get("customer")
        if isinstance(rc, dict):
            merge = mode == "merge"
            for key, value in rc.items():
                if key in _IDENTITY_KEYS or key in _LIST_KEYS:
                    continue
                if merge and value is None:
                    continue  # a dedupe save never erases what the store knows
                cust[key] = value
            identities = {
                "phoneNumbers": functools.partial(_phone_identity, n),
                "emails": functools.partial(_email_identity, n),
            }
            for key, identity in identities.items():
                incoming = _dicts(rc.get(key))
                if merge:
                    cust[key] = _union(_dicts(cust.get(key)), incoming, identity, refresh=True)
                else:
                    cust[key] = incoming  # REPLACE: null/empty/absent deletes them all
                if not cust[key]:
                    cust.pop(key)
            old_addresses = _dicts(cust.get("addresses"))
            if merge:
                cust["addresses"] = _union(
                    old_addresses,
                    _dicts(rc.get("addresses")),
                    functools.partial(_address_identity, n),
                    refresh=True,
                    fresh=lambda a: self._stored_address(a, now),
                    touched=lambda a: {**a, "updateTS": now},
                )
            elif "addresses" in rc:
                keep = {a["uuid"] for a in old_addresses if isinstance(a.get("uuid"), str)}
                cust["addresses"] = [
                    self._stored_address(a, now, keep) for a in _dicts(rc["addresses"])
                ]
            if "addresses" in cust and not cust["addresses"]:
                cust.pop("addresses")
        incoming_vehicles = _dicts(r.get("vehicles"))
        if incoming_vehicles:
            vehicles = self._merge_vehicles(vehicles, incoming_vehicles, nulls=mode == "replace")
        return {"customer": cust, "vehicles": vehicles}

    def _merge_vehicles(
        self, stored: list[dict[str, Any]], incoming: list[dict[str, Any]], *, nulls: bool
    ) -> list[dict[str, Any]]:
        n = self._norm
        out = [dict(v) for v in stored]

        def find(v: Mapping[str, Any]) -> int | None:
            uuid = _str_or_none(v.get("vehicleUuid"))
            vin = _str_or_none(v.get("vin"))
            vin_key = n.vin(vin) if vin else None
            vkey = _str_or_none(v.get("vehicleKey"))
            for test in (
                (lambda s: uuid is not None and s.get("vehicleUuid") == uuid),
                (
                    lambda s: (
                        vin_key is not None
                        and isinstance(s.get("vin"), str)
                        and n.vin(s["vin"]) == vin_key
                    )
                ),
                (lambda s: vkey is not None and _str_or_none(s.get("vehicleKey")) == vkey),
            ):
                for i, s in enumerate(out):
                    if test(s):
                        return i
            return None

        new: list[Mapping[str, Any]] = []
        for v in incoming:
            i = find(v)
            if i is None:
                new.append(v)
            else:
                out[i] = _overlay(out[i], v, nulls=nulls, skip=("id", "vehicleUuid", "isMatching"))
        if new:
            first = self._vehicle_ids(len(new))
            out.extend(self._stored_vehicle(v, first + k) for k, v in enumerate(new))
        return out

    def _update_in_tx(
        self, customer_uuid: str, r: Mapping[str, Any], department: str, mode: SaveUpdateMode
    ) -> None:
        cust_id, dept, doc = self._row(customer_uuid, department)
        self._rewrite(cust_id, dept, self._updated_doc(json.loads(doc), r, mode))

    def update(self, customer_uuid: str, request: Request, *, department: str) -> list[ApiWarning]:
        """Update a customer (the update endpoint, REPLACE semantics for phones and emails).

        Returns the warnings of the update: 10005/10007 when the phone list is null, empty
        or absent (all phones deleted), 10006/10008 likewise for emails. Other fields: see
        the module docstring. Unknown or merged uuid: :class:`CustomerNotFound`.
        """
        r = _as_dict(request)
        model = request if isinstance(request, CustomerRequest) else CustomerRequest.from_json(r)
        warnings = [issue.to_api_warning() for issue in update_list_warnings(model)]
        with self._write():
            self._update_in_tx(customer_uuid, r, department, "replace")
        return warnings

    # ------------------------------------------------------------------ reading

    def read(
        self, customer_uuid: str, *, department: str, exclude_vehicles: bool = False
    ) -> dict[str, Any]:
        """The read response ``{"errors": [], "warnings": [], "customerWithVehicles":
        {"customer": {...}, "vehicles": [...]}}`` (spec §6). Unknown uuid:
        :class:`CustomerNotFound`; merged uuid: :class:`CustomerMerged`."""
        with self._lock:
            cust_id, _, doc = self._row(customer_uuid, department)
        return {
            "errors": [],
            "warnings": [],
            "customerWithVehicles": self._customer_with_vehicles(
                cust_id, customer_uuid, doc, exclude_vehicles
            ),
        }

    def read_model(
        self, customer_uuid: str, *, department: str, exclude_vehicles: bool = False
    ) -> CustomerWithVehicles:
        """Like :meth:`read`, as a :class:`~matching.model.CustomerWithVehicles`."""
        response = self.read(
            customer_uuid, department=department, exclude_vehicles=exclude_vehicles
        )
        return CustomerWithVehicles.from_json(response["customerWithVehicles"])

    @staticmethod
    def _customer_with_vehicles(
        cust_id: int, customer_uuid: str, doc: str, exclude_vehicles: bool = False
    ) -> dict[str, Any]:
        stored = json.loads(doc)
        vehicles = (
            [] if exclude_vehicles else [_read_vehicle(v) for v in stored.get("vehicles", [])]
        )
        return {
            "customer": _read_customer(cust_id, customer_uuid, stored["customer"]),
            "vehicles": vehicles,
        }

    def resolve(self, customer_uuid: str, *, department: str) -> str:
        """The live customer a uuid stands for: itself, or the primary it was merged into."""
        with self._lock:
            try:
                self._row(customer_uuid, department)
            except CustomerMerged as merged:
                return merged.primary_uuid
        return customer_uuid

    def count(self, department: str | None = None) -> int:
        """Number of live (not merged) customers, in one department or in all."""
        with self._lock:
            if department is None:
                return self._conn.execute("SELECT count(*) FROM search").fetchone()[0]
            dept = self._dept(department, create=False)
            if dept is None:
                return 0
            return self._conn.execute(
                "SELECT count(*) FROM search WHERE dept = ?", (dept,)
            ).fetchone()[0]

    def departments(self) -> list[str]:
        """The departments the store has seen."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT name FROM departments ORDER BY id")]

    # ------------------------------------------------------------------ matching

    def _source(self, department: str, policy: MatchPolicy) -> _StoreSource:
        return _StoreSource(self, self._dept(department, create=False), policy)

    def match(
        self, request: Request, *, department: str, policy: MatchPolicy | None = None
    ) -> Decision:
        """Run the Customer Matching Logic for ``request`` against the department's
        customers (``policy`` defaults to the store's). Returns the :class:`Decision`."""
        policy = policy or self.policy
        incoming = self._incoming(request, policy)
        with self._read():
            return match_customer(incoming, self._source(department, policy), policy)

    def save(
        self,
        request: Request,
        *,
        department: str,
        save_update_mode: SaveUpdateMode | None = None,
        policy: MatchPolicy | None = None,
    ) -> tuple[str, bool, Decision]:
        """Create, or with ``searchForDuplicate: true`` create-or-update (spec §1(b) save step).

        Returns ``(customerUuid, created, decision)``. Matching and writing happen in one
        ``BEGIN IMMEDIATE`` transaction: concurrent saves of one new customer make one.
        """
        policy = policy or self.policy
        mode = save_update_mode or self.save_update_mode
        if mode not in ("merge", "replace"):
            raise ValueError(f"save_update_mode must be 'merge' or 'replace', not {mode!r}")
        r = _as_dict(request)
        dedupe = r.get("searchForDuplicate") is True
        with self._write():
            if not dedupe:
                decision = Decision(
                    None, 0, "searchForDuplicate is not true: created without matching", (), policy
                )
                return self._create_in_tx([r], department)[0], True, decision
            given = (
                _str_or_none(r["customer"].get("customerUuid"))
                if isinstance(r.get("customer"), dict)
                else None
            )
            if given is not None:
                try:
                    self._row(given, department)
                except CustomerMerged as merged:
                    given = merged.primary_uuid  # the customer lives on in its primary
                except CustomerNotFound:
                    given = None
            if given is not None:
                trace = TraceStep(
                    0,
                    "Request carries the customerUuid of a customer",
                    (),
                    (given,),
                    "updated without matching",
                )
                decision = Decision(
                    given,
                    0,
                    "the request names an existing customer by customerUuid",
                    (trace,),
                    policy,
                )
            else:
                incoming = self._incoming(r, policy)
                decision = match_customer(incoming, self._source(department, policy), policy)
            if decision.customer_uuid is None:
                return self._create_in_tx([r], department)[0], True, decision
            self._update_in_tx(decision.customer_uuid, r, department, mode)
            log.info("save: updated existing customer (step %s)", decision.step)
            return decision.customer_uuid, False, decision

    def _profiles(self, sql: str, params: Sequence[Any], policy: MatchPolicy) -> list[Profile]:
        """Profiles of the customers whose ids the subquery ``sql`` selects."""
        rows = self._conn.execute(
            f"SELECT {_PROFILE_COLUMNS} FROM customers WHERE id IN ({sql})", params
        )
        return [self._profile(row[1], row[0], row[2:], policy) for row in rows]

    def _profile(
        self, uuid: str | None, seq: int, columns: Sequence[Any], policy: MatchPolicy
    ) -> Profile:
        """A Profile from the stored profile columns, keyed as ``policy`` asks."""
        first, last, suffix, company, is_business, ckey, phones, emails, vins = columns[:9]
        email_keys = _split(emails)
        if policy.email_key == "provider":
            email_keys = tuple(_unique(self._norm.email_fold(e) for e in email_keys))
        if ckey is not None and not policy.customer_key_case_sensitive:
            ckey = ckey.casefold()
        return Profile(
            uuid=uuid,
            first_name=first,
            last_name=last,
            suffix=suffix,
            company=company,
            is_business=bool(is_business),
            customer_key=ckey,
            phones=_split(phones),
            emails=email_keys,
            vins=_split(vins),
            seq=seq,
        )

    def _incoming(self, request: Request, policy: MatchPolicy) -> Profile:
        """The request's Profile: equal to ``Profile.from_request`` (tests check it), but
        read from the JSON dict with the store's cached normalizers (no model objects)."""
        if isinstance(request, Mapping) and isinstance(cust := request.get("customer"), dict):
            columns, _, _ = _index(self._norm, cust, request.get("vehicles"), 0, 0)
            return self._profile(_str_or_none(cust.get("customerUuid")), 0, columns, policy)
        return Profile.from_request(request, policy=policy)

    # ------------------------------------------------------------------ merge

    def merge(
        self,
        primary_uuid: str,
        other_uuids: Sequence[str],
        *,
        department: str,
        first_name: str | None = None,
        last_name: str | None = None,
        preferred_email: str | None = None,
        preferred_phone: str | None = None,
        company: str | None = None,
        requested_by: str | None = None,
        is_manual: bool = False,
    ) -> dict[str, Any]:
        """Bulk merge (spec §3 #9): fold ``other_uuids`` into ``primary_uuid``.

        Phones, emails, addresses and vehicles of the others move to the primary
        (deduplicated by normalized value); the name/company overrides and preferred
        phone/email are applied; the others become tombstones. Returns the primary's
        read response. ``other_uuids`` may list the primary too (it is skipped).
        """
        if isinstance(other_uuids, str):
            other_uuids = [other_uuids]
        others = [u for u in dict.fromkeys(other_uuids) if u != primary_uuid]
        n = self._norm
        with self._write():
            primary_id, dept, primary_doc = self._row(primary_uuid, department)
            doc = json.loads(primary_doc)
            cust, vehicles = doc["customer"], _dicts(doc.get("vehicles"))
            other_rows = [(u, *self._row(u, department)) for u in others]
            phones, emails, addresses = (
                _dicts(cust.get("phoneNumbers")),
                _dicts(cust.get("emails")),
                _dicts(cust.get("addresses")),
            )
            for _, _, _, other_doc in other_rows:
                o = json.loads(other_doc)
                oc = o["customer"]
                phones = _union(
                    phones,
                    _dicts(oc.get("phoneNumbers")),
                    functools.partial(_phone_identity, n),
                    refresh=False,
                )
                emails = _union(
                    emails,
                    _dicts(oc.get("emails")),
                    functools.partial(_email_identity, n),
                    refresh=False,
                )
                addresses = _union(
                    addresses,
                    _dicts(oc.get("addresses")),
                    functools.partial(_address_identity, n),
                    refresh=False,
                )
                vehicles = self._move_vehicles(vehicles, _dicts(o.get("vehicles")))
                for key in ("customerKey", "firstName", "lastName", "company"):
                    if (
                        _str_or_none(cust.get(key)) is None
                        and _str_or_none(oc.get(key)) is not None
                    ):
                        cust[key] = oc[key]  # fill a gap of the primary, never overwrite
            if preferred_phone is not None:
                phones = self._prefer(
                    phones, "phoneNumber", preferred_phone, functools.partial(_phone_identity, n)
                )
            if preferred_email is not None:
                emails = self._prefer(
                    emails, "emailAddress", preferred_email, functools.partial(_email_identity, n)
                )
            for key, value in (
                ("phoneNumbers", phones),
                ("emails", emails),
                ("addresses", addresses),
            ):
                if value:
                    cust[key] = value
                else:
                    cust.pop(key, None)
            for key, value in (
                ("firstName", first_name),
                ("lastName", last_name),
                ("company", company),
            ):
                if value is not None:
                    cust[key] = value
            self._rewrite(primary_id, dept, {"customer": cust, "vehicles": vehicles})
            now = _now()
            for other_uuid, other_id, _, _ in other_rows:
                self._conn.execute(
                    "UPDATE customers SET merged_into = ? WHERE id = ?", (primary_uuid, other_id)
                )
                # Earlier tombstones follow their primary to the new one.
                self._conn.execute(
                    "UPDATE customers SET merged_into = ? WHERE merged_into = ?",
                    (primary_uuid, other_uuid),
                )
                self._delete_keys(other_id, dept)
                self._conn.execute(
                    "DELETE FROM search WHERE dept = ? AND cust = ?", (dept, other_id)
                )
                self._conn.execute(
                    "INSERT INTO merges (dept, primary_uuid, merged_uuid, requested_by, is_manual, ts) VALUES (?, ?, ?, ?, ?, ?)",
                    (dept, primary_uuid, other_uuid, requested_by, 1 if is_manual else 0, now),
                )
            log.info("merge: %d customer(s) merged into one", len(other_rows))
            return self.read(primary_uuid, department=department)

    def merge_json(
        self, primary_uuid: str, body: Mapping[str, Any], *, department: str
    ) -> dict[str, Any]:
        """Bulk merge from the documented body ``{customerGUIDs, firstName, lastName,
        preferredEmail, preferredPhone, primaryCustomerGUID, company, requestedBy, isManual}``."""
        if not isinstance(body, Mapping):
            raise TypeError(f"the bulk merge body must be a JSON object, not {type(body).__name__}")
        body_primary = body.get("primaryCustomerGUID")
        if body_primary is not None and body_primary != primary_uuid:
            raise ValueError(
                f"primaryCustomerGUID {body_primary!r} differs from the customer of the path {primary_uuid!r}"
            )
        guids = body.get("customerGUIDs") or []
        if not isinstance(guids, list) or not all(isinstance(g, str) for g in guids):
            raise ValueError("customerGUIDs must be a list of customer uuids")
        return self.merge(
            primary_uuid,
            guids,
            department=department,
            first_name=body.get("firstName"),
            last_name=body.get("lastName"),
            preferred_email=body.get("preferredEmail"),
            preferred_phone=body.get("preferredPhone"),
            company=body.get("company"),
            requested_by=body.get("requestedBy"),
            is_manual=body.get("isManual") is True,
        )

    def _move_vehicles(
        self, vehicles: list[dict[str, Any]], moving: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        n = self._norm
        out = [dict(v) for v in vehicles]
        by_vin = {
            n.vin(v["vin"]): i
            for i, v in enumerate(out)
            if isinstance(v.get("vin"), str) and n.vin(v["vin"])
        }
        for v in moving:
            key = n.vin(v["vin"]) if isinstance(v.get("vin"), str) else None
            if key is not None and key in by_vin:
                i = by_vin[key]
                out[i] = {**v, **{k: val for k, val in out[i].items() if val is not None}}
                continue
            if key is not None:
                by_vin[key] = len(out)
            out.append(dict(v))  # moved with its id and uuid
        return out

    @staticmethod
    def _prefer(
        entries: list[dict[str, Any]],
        field: str,
        value: str,
        identity: Callable[[Mapping[str, Any]], Any],
    ) -> list[dict[str, Any]]:
        target = identity({field: value})
        out = [{**e, "isPreferred": identity(e) == target} for e in entries]
        if target is not None and not any(e["isPreferred"] for e in out):
            out.insert(0, {field: value, "isPreferred": True})
        return out

    # ------------------------------------------------------------------ search

    def search(
        self,
        term: str,
        *,
        department: str,
        fields: str | Sequence[str] | None = None,
        operator: str = "AND",
        max_results: int | str | None = 100,
        preference: str = "customer",
    ) -> dict[str, Any]:
        """The customer search (``/customer/list``, spec §4) in the documented shape
        ``{"errors": [], "warnings": [...], "matchingCount": n, "matchingCustomers":
        [{"customer": ..., "vehicles": [...]}]}``.

        - Fields: ``fname``, ``lname``, ``company``, ``customerKey``,
          ``communications.commValue``, ``vehicles.vin`` (comma-separated or a list).
          ``fields=None`` searches all six and a match in any of them counts (OR);
          with fields given, ``operator`` AND = the term is in every listed field, OR =
          in at least one.
        - "Contains": case- and accent-insensitive substring. Phones are also searched
          as their 10-digit key (a 10-digit term finds ``+1XXXXXXXXXX``), VINs in their
          normalized form (the last 8 characters find the VIN).
        - Several words (``DOM123 6C650709 9891361006``, spec §1(d)): each word is
          searched alone; a customer matches when any word matches; customers matching
          more words come first. A term that is one phone number or email as a whole is
          one word. Ties: with ``preference="vehicle"`` customers found through
          ``vehicles.vin`` come first, with ``"customer"`` those found through customer
          fields; then creation order.
        - Speed: a word that is a whole identifier (customerKey, 10-digit phone, email,
          VIN or its last 8) is looked up in the indexes; when that finds customers
          (passing the fields and operator), they are the word's answer. Other words,
          or identifiers the index does not find, scan the department (substring).
        - ``matchingCount`` is the number of customers returned (after ``maxResults``).
        - Warnings: 10001 nothing found, 10002 ``maxResults`` not in 1..100 (100 used),
          10003 term over 150 characters (cut), 10004 bad ``preference`` (customer used).
          A missing term, an unknown field or operator raise ValueError.
        """
        issues = validate_search_params(term, fields, max_results, operator, preference)
        errors = [
            i
            for i in issues
            if i.severity == "error"
            and not (i.path == "searchTerm" and isinstance(term, str) and term.strip())
        ]
        if errors:
            raise ValueError("; ".join(f"{i.path}: {i.message}" for i in errors))
        warnings = [i.to_api_warning() for i in issues if i.code is not None]
        limit = (
            int(max_results)
            if not any(w.warning_code == 10002 for w in warnings) and max_results is not None
            else 100
        )
        pref = (
            preference.strip().lower()
            if isinstance(preference, str) and not any(w.warning_code == 10004 for w in warnings)
            else "customer"
        )
        term = term[:SEARCH_TERM_SERVER_MAX].replace(_SEP, " ")
        if fields is None:
            names, op = list(SEARCH_FIELDS), "OR"
        else:
            raw = fields.split(",") if isinstance(fields, str) else list(fields)
            names = list(dict.fromkeys(f.strip() for f in raw if f.strip())) or list(SEARCH_FIELDS)
            op = operator.strip().upper()
        with self._read():
            dept = self._dept(department, create=False)
            found = (
                []
                if dept is None
                else self._search(dept, self._words(term), names, op, pref, limit)
            )
            customers = [
                self._customer_with_vehicles(cust_id, uuid, doc) for cust_id, uuid, doc in found
            ]
        if not customers:
            warnings.append(
                ApiWarning(
                    warning_code=10001,
                    warning_title=WARNING_TITLES[10001],
                    warning_message="No customer found for given search term",
                )
            )
        return {
            "errors": [],
            "warnings": [w.to_json() for w in warnings],
            "matchingCount": len(customers),
            "matchingCustomers": customers,
        }

    def _words(self, term: str) -> list[str]:
        whole = term.strip()
        if self._norm.phone_key(whole) or ("@" in whole and self._norm.email(whole)):
            return [whole]
        return list(dict.fromkeys(term.split()))

    _COLUMNS = {
        "fname": "fname",
        "lname": "lname",
        "company": "company",
        "customerKey": "ckey",
        "communications.commValue": "comm",
        "vehicles.vin": "vin",
    }

    def _predicate(self, word: str, names: Sequence[str], op: str, params: list[Any]) -> str:
        """SQL (with its parameters appended) true when ``word`` is in the fields."""
        text = self._norm.fold(word)
        parts = []
        for name in names:
            column = self._COLUMNS[name]
            params.append(text)
            test = f"instr({column}, ?) > 0"
            digits = _PHONE_PUNCT.sub("", word)
            if column == "comm" and digits != word and digits.isdigit() and len(digits) >= 4:
                params.append(digits)
                test = f"({test} OR instr(comm, ?) > 0)"
            parts.append(test)
        return "(" + f" {op} ".join(parts) + ")"

    def _index_hits(self, dept: int, word: str, names: Sequence[str]) -> set[int]:
        """Customers holding ``word`` as a whole identifier (a superset: hashes collide;
        the caller checks the fields)."""
        n = self._norm
        hashes: list[int] = []
        if "customerKey" in names:
            hashes.append(_hash(_CKEY, word.casefold()))
        if "communications.commValue" in names:
            if phone := n.phone_key(word):
                hashes.append(_hash(_PHONE, phone))
            if "@" in word and (address := n.email(word)):
                hashes.append(_hash(_EMAIL, n.email_fold(address)))
        if "vehicles.vin" in names:
            # An 8-character VIN tail may be all letters, which vin() refuses as a whole VIN.
            vin = n.vin(word) or (word.upper() if _VIN_TAIL.fullmatch(word) else None)
            if vin:
                hashes.append(_hash(_VIN, _vin_tail(vin)))
        return self._custs_by_hashes(dept, hashes)

    def _custs_by_hashes(self, dept: int, hashes: Sequence[int]) -> set[int]:
        if not hashes:
            return set()
        marks = ",".join("?" * len(hashes))
        sql = f"SELECT cust FROM keys WHERE hash IN ({marks}) AND dept = ?"
        return {r[0] for r in self._conn.execute(sql, (*hashes, dept))}

    def _search(
        self, dept: int, words: list[str], names: list[str], op: str, pref: str, limit: int
    ) -> list[tuple[int, str, str]]:
        if not words:
            return []
        score_params: list[Any] = []
        score = " + ".join(self._predicate(w, names, op, score_params) for w in words)
        # Which ties come first: customers found through their vehicles, or through the rest.
        vin_names = [f for f in names if f == "vehicles.vin"]
        other_names = [f for f in names if f != "vehicles.vin"]
        preferred_names = vin_names if pref == "vehicle" else other_names
        pref_params: list[Any] = []
        preferred = (
            " OR ".join(self._predicate(w, preferred_names, "OR", pref_params) for w in words)
            if preferred_names
            else "0"
        )
        where_ids: set[int] = set()
        scan_words: list[str] = []
        for w in words:
            hits = self._index_hits(dept, w, names)
            if hits:
                check_params: list[Any] = []
                check = self._predicate(w, names, op, check_params)
                ids = sorted(hits)
                marks = ",".join("?" * len(ids))
                hits = {
                    r[0]
                    for r in self._conn.execute(
                        f"SELECT cust FROM search WHERE dept = ? AND cust IN ({marks}) AND {check}",
                        (dept, *ids, *check_params),
                    )
                }
            if hits:
                where_ids |= hits
            else:
                scan_words.append(w)
        where_params: list[Any] = []
        conditions = [self._predicate(w, names, op, where_params) for w in scan_words]
        if where_ids:
            ids = sorted(where_ids)
            conditions.append(f"cust IN ({','.join('?' * len(ids))})")
            where_params.extend(ids)
        sql = (
            f"SELECT cust, ({score}) AS score, ({preferred}) AS preferred FROM search"
            f" WHERE dept = ? AND ({' OR '.join(conditions)})"
            " ORDER BY score DESC, preferred DESC, cust LIMIT ?"
        )
        rows = self._conn.execute(
            sql, (*score_params, *pref_params, dept, *where_params, limit)
        ).fetchall()
        if not rows:
            return []
        order = [r[0] for r in rows]
        docs = {
            r[0]: (r[0], r[1], r[2])
            for r in self._conn.execute(
                f"SELECT id, uuid, doc FROM customers WHERE id IN ({','.join('?' * len(order))})",
                order,
            )
        }
        return [docs[i] for i in order]


class _StoreSource:
    """The store as a :class:`~matching.logic.CandidateSource` of one department and policy.

    Lookups go through the hashed ``keys`` index and then keep only the customers whose
    real values match: hash collisions never reach the logic.
    """

    def __init__(self, store: CustomerStore, dept: int | None, policy: MatchPolicy) -> None:
        self._store = store
        self._dept = dept
        self._policy = policy

    def _fetch(self, hashes: Iterable[int]) -> list[Profile]:
        hashes = list(dict.fromkeys(hashes))
        if self._dept is None or not hashes:
            return []
        marks = ",".join("?" * len(hashes))
        sql = f"SELECT cust FROM keys WHERE hash IN ({marks}) AND dept = ?"
        return self._store._profiles(sql, (*hashes, self._dept), self._policy)

    def by_communications(self, phones: Sequence[str], emails: Sequence[str]) -> list[Profile]:
        fold_email = self._store._norm.email_fold
        found = self._fetch(
            [*(_hash(_PHONE, p) for p in phones), *(_hash(_EMAIL, fold_email(e)) for e in emails)]
        )
        phone_set, email_set = set(phones), set(emails)
        return [
            p for p in found if phone_set.intersection(p.phones) or email_set.intersection(p.emails)
        ]

    def by_vins(self, vins: Sequence[str], last8: bool = False) -> list[Profile]:
        found = self._fetch(_hash(_VIN, _vin_tail(v)) for v in vins)
        wanted = set(vins)
        tails = {v[-8:] for v in vins if len(v) >= 8} if last8 else set()
        return [
            p for p in found
            if wanted.intersection(p.vins) or (tails and tails.intersection(v[-8:] for v in p.vins if len(v) >= 8))
        ]  # fmt: skip

    def by_customer_key(self, customer_key: str) -> list[Profile]:
        # The profile's key is already case-folded when the policy ignores case.
        return [
            p
            for p in self._fetch([_hash(_CKEY, customer_key.casefold())])
            if p.customer_key == customer_key
        ]
