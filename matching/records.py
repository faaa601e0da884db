"""Canonical export rows <-> myKaarma customer request JSON.

A dealer export row (the canonical columns of :data:`matching.normalize.CANONICAL_COLUMNS`)
becomes the documented create/update body (spec §2.1): ``{"customer": {...},
"vehicles": [...]}``. Values are carried as written: normalization is the matcher's job,
and a request must say what the dealer's system said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matching.normalize._vector import as_text

PHONE_LABELS = {"phone_1": "cell", "phone_2": "home"}
EMAIL_LABELS = {"email_1": "home", "email_2": "work"}


def _value(row: Mapping[str, Any], col: str) -> str | None:
    text = as_text(row.get(col))
    if text is None:
        return None
    text = text.strip()
    return text or None


def request_from_row(
    row: Mapping[str, Any], *, search_for_duplicate: bool | None = None, validate_vin: bool | None = None
) -> dict[str, Any]:
    """The myKaarma request body for one canonical export row.

    Empty cells are left out. The first phone and email are preferred; a row with a
    company and no person name is a business customer. ``search_for_duplicate`` and
    ``validate_vin``, when given, are set on the envelope.
    """
    v = lambda col: _value(row, col)  # noqa: E731 - local shorthand
    customer: dict[str, Any] = {}
    for col, key in (
        ("customer_key", "customerKey"),
        ("first_name", "firstName"),
        ("middle_name", "middleName"),
        ("last_name", "lastName"),
        ("company", "company"),
    ):
        if (value := v(col)) is not None:
            customer[key] = value
    if "company" in customer:
        customer["isBusiness"] = not ("firstName" in customer and "lastName" in customer)
    phones = [
        {"phoneNumber": value, "label": label, "isPreferred": i == 0}
        for i, (col, label) in enumerate(PHONE_LABELS.items())
        if (value := v(col)) is not None
    ]
    emails = [
        {"emailAddress": value, "label": label, "isPreferred": i == 0}
        for i, (col, label) in enumerate(EMAIL_LABELS.items())
        if (value := v(col)) is not None
    ]
    if phones:
        customer["phoneNumbers"] = phones
    if emails:
        customer["emails"] = emails
    address = {
        key: value
        for col, key in (
            ("address_line1", "line1"),
            ("address_line2", "line2"),
            ("city", "city"),
            ("state", "state"),
            ("postal_code", "zip"),
            ("country", "country"),
        )
        if (value := v(col)) is not None
    }
    if address:
        customer["addresses"] = [{**address, "type": "PRIMARY", "isPreferred": True}]
    body: dict[str, Any] = {"customer": customer}
    vehicles = [{"vin": value} for col in ("vin_1", "vin_2", "vin_3") if (value := v(col)) is not None]
    if vehicles:
        body["vehicles"] = vehicles
    if validate_vin is not None:
        body["validateVin"] = validate_vin
    if search_for_duplicate is not None:
        body["searchForDuplicate"] = search_for_duplicate
    return body
