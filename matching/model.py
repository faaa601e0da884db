"""myKaarma customer data model: request and read shapes, JSON mapping and validation.

This module holds the customer/vehicle shapes of the myKaarma Customer API as
dataclasses with snake_case attributes and an exact camelCase JSON mapping:

- :class:`CustomerRequest`: the create/update body (``requesterUserUUID``,
  ``dealerUUIDList``, ``customer``, ``vehicles``, ``validateVin``,
  ``searchForDuplicate``);
- :class:`Customer`, :class:`Address`, :class:`Email`, :class:`Phone`,
  :class:`BestTimeToContact`, :class:`Vehicle`: write model plus the read-side
  extras (``id``, ``middleName``, ``availability``, ``customerId``, ``comments``,
  ``uuid``/``updateTS``, ``brandId``, ``imageUrl``);
- :class:`CustomerWithVehicles` and :class:`CustomerResponse`: the read shapes;
- :class:`ApiWarning`, :class:`ApiError` and :data:`WARNING_TITLES`: the response
  envelope entries and the documented warning table (10001-10016);
- :class:`ValidationIssue`, ``validate()`` on every model,
  :func:`validate_search_params` and :func:`update_list_warnings`: the validation
  rules of the spec (§7 rules 1-8) plus JSON type checks.

JSON fidelity: ``from_json`` never raises on a JSON object. Values of the wrong JSON
type are kept raw in the attribute (so an attribute may hold e.g. ``"yes"`` where a
bool is expected) and reported by ``validate()``. Keys the model does not know go to
``extra`` and are written back. A key absent from the input is :data:`ABSENT` on the
attribute and stays absent in ``to_json``; an explicit JSON ``null`` is ``None`` and is
written back as ``null``. So ``X.from_json(d).to_json() == d`` for every JSON object.

Sources: rules marked [DOC] in the spec (/work/shared/spec/mykaarma-customers.md)
are implemented as written. Where the docs are silent this module makes [INF]
choices, each marked ``[INF]`` in a comment next to the code: whitespace-only strings
count as empty; phones and emails are stripped before the format check;
``preferredCommunication`` and ``preferredLocale`` compare case-insensitively;
``addresses[].type`` compares case-sensitively (it is a Java enum); null or ``{}``
entries of the phone/email lists give 10010/10009; an invalid VIN with
``validateVin`` not true is only a warning; an absent phone/email list counts as
null for the update warnings 10005-10008 (a Java server cannot tell them apart).
"""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, Self, TypeVar

from matching.privacy import mask

__all__ = [
    "ABSENT",
    "Absent",
    "Address",
    "ApiError",
    "ApiWarning",
    "BestTimeToContact",
    "Customer",
    "CustomerRequest",
    "CustomerResponse",
    "CustomerWithVehicles",
    "Email",
    "Phone",
    "Severity",
    "ValidationIssue",
    "Vehicle",
    "WARNING_TITLES",
    "update_list_warnings",
    "validate_search_params",
]


# --------------------------------------------------------------------------- sentinel


class Absent(enum.Enum):
    """Type of :data:`ABSENT`: the marker for a JSON key that is not present."""

    ABSENT = "ABSENT"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ABSENT"


#: Marks a field whose key was absent from the JSON (as opposed to ``None`` = explicit null).
#: An enum member, so it survives ``copy.deepcopy`` and pickling as the same object.
ABSENT = Absent.ABSENT

T = TypeVar("T")


# --------------------------------------------------------------------------- warnings and errors

#: The documented warning table of the myKaarma Customer API (S12), code -> title.
#: The docs' table is cut off after 10016; no error codes were captured.
WARNING_TITLES: dict[int, str] = {
    10001: "NO_CUSTOMER_FOUND",
    10002: "INVALID_MAXRESULTS",
    10003: "SEARCH_TERM_LIMIT",
    10004: "INVALID_SEARCH_PREFERENCE",
    10005: "DELETED_ALL_PHONE_NUMBERS",
    10006: "DELETED_ALL_EMAILS",
    10007: "EMPTY_PHONE_LIST",
    10008: "EMPTY_EMAIL_LIST",
    10009: "EMPTY_EMAIL_SET",
    10010: "EMPTY_PHONE_SET",
    10011: "EMPTY_PHONE_NUMBER",
    10012: "EMPTY_EMAIL",
    10013: "NO_VALID_PHONE_FOUND",
    10014: "NO_VALID_EMAIL_FOUND",
    10015: "INCORRECT_PHONE_FORMAT",
    10016: "INVALID_PHONE_FIELDS",
}

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found by validation.

    ``path`` locates the value in the JSON (``customer.phoneNumbers[2].phoneNumber``,
    ``vehicles[1].vin``); ``code`` is the documented myKaarma warning code when one
    applies, else ``None``.
    """

    severity: Severity
    path: str
    code: int | None
    message: str

    def to_api_warning(self) -> ApiWarning:
        """The myKaarma ``warnings[]`` entry for this issue; ValueError if it has no code."""
        if self.code is None:
            raise ValueError(
                f"issue at {self.path!r} has no documented warning code; "
                "only issues with a code map to an ApiWarning"
            )
        return ApiWarning(
            warning_code=self.code,
            warning_title=WARNING_TITLES.get(self.code, "UNKNOWN_WARNING"),
            warning_message=self.message,
        )


def _error(path: str, message: str) -> ValidationIssue:
    return ValidationIssue("error", path, None, message)


def _warning(path: str, message: str, code: int | None = None) -> ValidationIssue:
    return ValidationIssue("warning", path, code, message)


# --------------------------------------------------------------------------- JSON machinery


@dataclass(frozen=True)
class _Kind:
    """The declared JSON type of a field: a scalar type or a model, optionally a list of it."""

    base: type
    many: bool = False


def _jf(json_name: str, base: type, *, many: bool = False) -> Any:
    """Declare a model field: JSON key, JSON type; defaults to ABSENT."""
    return field(default=ABSENT, metadata={"json": json_name, "kind": _Kind(base, many)})


@dataclass(frozen=True)
class _FieldSpec:
    attr: str
    json: str
    kind: _Kind


_JSON_TYPE_NAMES: dict[type, str] = {str: "string", bool: "boolean", int: "integer"}


def _json_type_name(value: Any) -> str:
    """The JSON type name of a decoded value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, _JsonModel):
        return "object"
    return type(value).__name__


def _scalar_ok(value: Any, base: type) -> bool:
    # bool is a subclass of int in Python, but not an integer in JSON.
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, base)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


@dataclass(repr=False)
class _JsonModel:
    """Base of all models: camelCase JSON mapping, unknown-key keeping, type checks."""

    #: Unknown JSON keys of this object, written back unchanged by ``to_json``.
    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)
    # Key order of the parsed input, so to_json reproduces it (diff-friendly output).
    _order: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    _specs_cache: ClassVar[dict[type, tuple[_FieldSpec, ...]]] = {}

    @classmethod
    def _specs(cls) -> tuple[_FieldSpec, ...]:
        specs = _JsonModel._specs_cache.get(cls)
        if specs is None:
            specs = tuple(
                _FieldSpec(f.name, f.metadata["json"], f.metadata["kind"])
                for f in fields(cls)
                if "json" in f.metadata
            )
            _JsonModel._specs_cache[cls] = specs
        return specs

    @classmethod
    def json_names(cls) -> dict[str, str]:
        """The mapping of this class's attribute names to their exact JSON keys."""
        return {s.attr: s.json for s in cls._specs()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Self:
        """Parse a JSON object. Never raises for a dict; TypeError if ``obj`` is not a dict."""
        if not isinstance(obj, Mapping):
            raise TypeError(
                f"{cls.__name__}.from_json expects a JSON object (dict), got {_json_type_name(obj)}"
            )
        by_json = {s.json: s for s in cls._specs()}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in obj.items():
            spec = by_json.get(key)
            if spec is None:
                extra[key] = copy.deepcopy(value)
            else:
                kwargs[spec.attr] = _decode(spec.kind, value)
        instance = cls(**kwargs, extra=extra)
        instance._order = tuple(obj)
        return instance

    def to_json(self) -> dict[str, Any]:
        """The JSON object: present fields (nulls included) plus ``extra``, input key order first."""
        by_json = {s.json: s for s in self._specs()}
        out: dict[str, Any] = {}
        for key in self._order:
            spec = by_json.get(key)
            if spec is not None:
                value = getattr(self, spec.attr)
                if value is not ABSENT:
                    out[key] = _encode(value)
            elif key in self.extra:
                out[key] = copy.deepcopy(self.extra[key])
        for spec in self._specs():
            value = getattr(self, spec.attr)
            if spec.json not in out and value is not ABSENT:
                out[spec.json] = _encode(value)
        for key, value in self.extra.items():
            if key not in out:
                out[key] = copy.deepcopy(value)
        return out

    def __repr__(self) -> str:
        # Only present fields: a repr full of ABSENT hides what the JSON held.
        parts = [
            f"{s.attr}={getattr(self, s.attr)!r}"
            for s in self._specs()
            if getattr(self, s.attr) is not ABSENT
        ]
        if self.extra:
            parts.append(f"extra={self.extra!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def validate(self, prefix: str = "") -> list[ValidationIssue]:
        """JSON type errors and the spec rules for this object; paths start with ``prefix``."""
        return _type_issues(self, prefix) + self._rules(prefix)

    def _rules(self, prefix: str) -> list[ValidationIssue]:
        """Domain rules beyond JSON types; models with rules override this."""
        return []


def _decode(kind: _Kind, value: Any) -> Any:
    """Turn a JSON value into the attribute value; wrong types are kept raw."""
    if kind.many:
        if isinstance(value, list):
            return [_decode_one(kind.base, item) for item in value]
        return copy.deepcopy(value)
    return _decode_one(kind.base, value)


def _decode_one(base: type, value: Any) -> Any:
    if issubclass(base, _JsonModel) and isinstance(value, Mapping):
        return base.from_json(value)  # type: ignore[arg-type]
    return copy.deepcopy(value)


def _encode(value: Any) -> Any:
    if isinstance(value, _JsonModel):
        return value.to_json()
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return copy.deepcopy(value)


def _type_issues(model: _JsonModel, prefix: str) -> list[ValidationIssue]:
    """Errors for every value whose JSON type differs from the declared one, recursively.

    Null is accepted for every field, and as an element of object lists: the domain
    rules decide what a null means there (e.g. 10010 for a null phone entry).
    """
    issues: list[ValidationIssue] = []
    for spec in model._specs():
        value = getattr(model, spec.attr)
        path = _join(prefix, spec.json)
        if value is ABSENT or value is None:
            continue
        if spec.kind.many:
            if not isinstance(value, list):
                issues.append(
                    _error(path, f"{spec.json} must be an array, got {_json_type_name(value)}")
                )
                continue
            for i, item in enumerate(value):
                item_path = f"{path}[{i}]"
                if item is None and issubclass(spec.kind.base, _JsonModel):
                    continue
                issues.extend(_type_issues_one(spec.kind.base, item, item_path))
        else:
            issues.extend(_type_issues_one(spec.kind.base, value, path))
    return issues


def _type_issues_one(base: type, value: Any, path: str) -> list[ValidationIssue]:
    if issubclass(base, _JsonModel):
        if isinstance(value, _JsonModel):
            return _type_issues(value, path)
        return [_error(path, f"expected an object, got {_json_type_name(value)}")]
    if not _scalar_ok(value, base):
        return [
            _error(
                path,
                f"expected {_JSON_TYPE_NAMES.get(base, base.__name__)}, "
                f"got {_json_type_name(value)}",
            )
        ]
    return []


def _text(value: Any) -> str | None:
    """The stripped string if ``value`` is a non-blank string, else None. [INF] blank = empty."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def _is_missing(value: Any) -> bool:
    """True for absent, null and blank strings (not for values of another type)."""
    return value is ABSENT or value is None or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------- models


@dataclass(repr=False)
class BestTimeToContact(_JsonModel):
    """``customer.bestTimeToContact``: ``{startTime, endTime}`` (time format undocumented)."""

    start_time: str | None | Absent = _jf("startTime", str)
    end_time: str | None | Absent = _jf("endTime", str)


#: Allowed values of ``addresses[].type`` (S4 lists the first three, S13 adds OTHER).
ADDRESS_TYPES: frozenset[str] = frozenset({"COMMON", "PRIMARY", "BILLING", "OTHER"})


@dataclass(repr=False)
class Address(_JsonModel):
    """``customer.addresses[]``. ``type`` is the COMMON/PRIMARY/BILLING/OTHER enum;
    ``address_type`` is the free single-letter code (``P``, ``B``, ...)."""

    line1: str | None | Absent = _jf("line1", str)
    line2: str | None | Absent = _jf("line2", str)
    city: str | None | Absent = _jf("city", str)
    state: str | None | Absent = _jf("state", str)
    zip: str | None | Absent = _jf("zip", str)
    country: str | None | Absent = _jf("country", str)
    type: str | None | Absent = _jf("type", str)
    address_type: str | None | Absent = _jf("addressType", str)
    is_valid: bool | None | Absent = _jf("isValid", bool)
    is_preferred: bool | None | Absent = _jf("isPreferred", bool)
    uuid: str | None | Absent = _jf("uuid", str)
    update_ts: str | None | Absent = _jf("updateTS", str)

    def _rules(self, prefix: str) -> list[ValidationIssue]:
        return _address_entry_issues(self, prefix)


@dataclass(repr=False)
class Email(_JsonModel):
    """``customer.emails[]``."""

    email_address: str | None | Absent = _jf("emailAddress", str)
    label: str | None | Absent = _jf("label", str)
    ok_to_email: bool | None | Absent = _jf("okToEmail", bool)
    is_preferred: bool | None | Absent = _jf("isPreferred", bool)
    comments: str | None | Absent = _jf("comments", str)

    def _rules(self, prefix: str) -> list[ValidationIssue]:
        return _email_entry_issues(self, prefix)[0]


@dataclass(repr=False)
class Phone(_JsonModel):
    """``customer.phoneNumbers[]``; ``phone_number`` is expected as ``+1`` and 10 digits."""

    phone_number: str | None | Absent = _jf("phoneNumber", str)
    label: str | None | Absent = _jf("label", str)
    ok_to_call: bool | None | Absent = _jf("okToCall", bool)
    ok_to_text: bool | None | Absent = _jf("okToText", bool)
    is_preferred: bool | None | Absent = _jf("isPreferred", bool)
    comments: str | None | Absent = _jf("comments", str)

    def _rules(self, prefix: str) -> list[ValidationIssue]:
        return _phone_entry_issues(self, prefix)[0]


@dataclass(repr=False)
class Customer(_JsonModel):
    """The ``customer`` object: write model (§2.2) plus read-side extras (§2.7).

    Attributes hold the raw JSON value when it had the wrong type (``validate``
    reports it); list attributes may then hold raw non-object elements too.
    """

    id: int | None | Absent = _jf("id", int)
    customer_uuid: str | None | Absent = _jf("customerUuid", str)
    customer_id: str | None | Absent = _jf("customerId", str)
    customer_key: str | None | Absent = _jf("customerKey", str)
    first_name: str | None | Absent = _jf("firstName", str)
    middle_name: str | None | Absent = _jf("middleName", str)
    last_name: str | None | Absent = _jf("lastName", str)
    company: str | None | Absent = _jf("company", str)
    is_business: bool | None | Absent = _jf("isBusiness", bool)
    best_time_to_contact: BestTimeToContact | None | Absent = _jf(
        "bestTimeToContact", BestTimeToContact
    )
    availability: int | None | Absent = _jf("availability", int)
    preferred_communication: str | None | Absent = _jf("preferredCommunication", str)
    preferred_locale: str | None | Absent = _jf("preferredLocale", str)
    addresses: list[Address] | None | Absent = _jf("addresses", Address, many=True)
    emails: list[Email] | None | Absent = _jf("emails", Email, many=True)
    phone_numbers: list[Phone] | None | Absent = _jf("phoneNumbers", Phone, many=True)

    def phones(self) -> list[str]:
        """The raw ``phoneNumber`` strings of the phone entries (non-blank strings only)."""
        return _raw_strings(self.phone_numbers, Phone, "phone_number")

    def email_addresses(self) -> list[str]:
        """The raw ``emailAddress`` strings of the email entries (non-blank strings only)."""
        return _raw_strings(self.emails, Email, "email_address")

    def _rules(self, prefix: str) -> list[ValidationIssue]:
        return (
            _name_issues(self, prefix)
            + _address_issues(self, prefix)
            + _preference_issues(self, prefix)
            + _phone_list_issues(self.phone_numbers, _join(prefix, "phoneNumbers"))
            + _email_list_issues(self.emails, _join(prefix, "emails"))
        )


@dataclass(repr=False)
class Vehicle(_JsonModel):
    """A vehicle: write model (§2.6) plus read-side extras (``id``, ``brandId``, ``imageUrl``).

    Year, mileage etc. are strings in the myKaarma model.
    """

    id: int | None | Absent = _jf("id", int)
    vehicle_uuid: str | None | Absent = _jf("vehicleUuid", str)
    vehicle_key: str | None | Absent = _jf("vehicleKey", str)
    vin: str | None | Absent = _jf("vin", str)
    vehicle_year: str | None | Absent = _jf("vehicleYear", str)
    vehicle_make: str | None | Absent = _jf("vehicleMake", str)
    vehicle_model: str | None | Absent = _jf("vehicleModel", str)
    vehicle_trim: str | None | Absent = _jf("vehicleTrim", str)
    vehicle_engine: str | None | Absent = _jf("vehicleEngine", str)
    color: str | None | Absent = _jf("color", str)
    license_plate: str | None | Absent = _jf("licensePlate", str)
    estimated_mileage: str | None | Absent = _jf("estimatedMileage", str)
    is_valid: bool | None | Absent = _jf("isValid", bool)
    is_matching: bool | None | Absent = _jf("isMatching", bool)
    brand_id: int | None | Absent = _jf("brandId", int)
    image_url: str | None | Absent = _jf("imageUrl", str)

    def validate(
        self, prefix: str = "", *, validate_vin: bool = False, check_vin_digit: bool = False
    ) -> list[ValidationIssue]:
        """Type errors and rules 5-6. ``validate_vin`` is the request's ``validateVin``;
        ``check_vin_digit`` also requires the North-American check digit (position 9)."""
        return _type_issues(self, prefix) + _vehicle_issues(
            self, prefix, validate_vin=validate_vin, check_vin_digit=check_vin_digit
        )

    def _rules(self, prefix: str) -> list[ValidationIssue]:
        return _vehicle_issues(self, prefix, validate_vin=False, check_vin_digit=False)


@dataclass(repr=False)
class CustomerRequest(_JsonModel):
    """The create / update / create-or-update request body (§2.1)."""

    requester_user_uuid: str | None | Absent = _jf("requesterUserUUID", str)
    dealer_uuid_list: list[str] | None | Absent = _jf("dealerUUIDList", str, many=True)
    customer: Customer | None | Absent = _jf("customer", Customer)
    vehicles: list[Vehicle] | None | Absent = _jf("vehicles", Vehicle, many=True)
    validate_vin: bool | None | Absent = _jf("validateVin", bool)
    search_for_duplicate: bool | None | Absent = _jf("searchForDuplicate", bool)

    def vins(self) -> list[str]:
        """The raw ``vin`` strings of the vehicles (non-blank strings only)."""
        return _raw_strings(self.vehicles, Vehicle, "vin")

    def validate(self, prefix: str = "", *, check_vin_digit: bool = False) -> list[ValidationIssue]:
        """All errors and warnings of the request: JSON types and spec §7 rules 1-7.

        ``check_vin_digit`` makes a wrong VIN check digit invalid too (rule 6, off by default).
        """
        issues = _type_issues(self, prefix)
        customer_path = _join(prefix, "customer")
        if self.customer is ABSENT or self.customer is None:
            # [INF] a create/update body without a customer has nothing to save.
            issues.append(_error(customer_path, "customer is required"))
        elif isinstance(self.customer, Customer):
            issues.extend(self.customer._rules(customer_path))
        issues.extend(
            _vehicle_list_issues(
                self.vehicles,
                _join(prefix, "vehicles"),
                validate_vin=self.validate_vin is True,
                check_vin_digit=check_vin_digit,
            )
        )
        return issues


@dataclass(repr=False)
class CustomerWithVehicles(_JsonModel):
    """The read shape ``{"customer": {...}, "vehicles": [...]}`` (``customerWithVehicles``)."""

    customer: Customer | None | Absent = _jf("customer", Customer)
    vehicles: list[Vehicle] | None | Absent = _jf("vehicles", Vehicle, many=True)

    def _rules(self, prefix: str) -> list[ValidationIssue]:
        issues: list[ValidationIssue] = []
        if isinstance(self.customer, Customer):
            issues.extend(self.customer._rules(_join(prefix, "customer")))
        issues.extend(
            _vehicle_list_issues(
                self.vehicles, _join(prefix, "vehicles"), validate_vin=False, check_vin_digit=False
            )
        )
        return issues


@dataclass(repr=False)
class ApiWarning(_JsonModel):
    """A ``warnings[]`` entry: ``{warningCode, warningTitle, warningMessage}``."""

    warning_code: int | None | Absent = _jf("warningCode", int)
    warning_title: str | None | Absent = _jf("warningTitle", str)
    warning_message: str | None | Absent = _jf("warningMessage", str)


@dataclass(repr=False)
class ApiError(_JsonModel):
    """An ``errors[]`` entry: ``{errorCode, errorTitle, errorMessage}``."""

    error_code: int | None | Absent = _jf("errorCode", int)
    error_title: str | None | Absent = _jf("errorTitle", str)
    error_message: str | None | Absent = _jf("errorMessage", str)


@dataclass(repr=False)
class CustomerResponse(_JsonModel):
    """A read response: ``{errors, warnings, customerWithVehicles}`` (S8)."""

    errors: list[ApiError] | None | Absent = _jf("errors", ApiError, many=True)
    warnings: list[ApiWarning] | None | Absent = _jf("warnings", ApiWarning, many=True)
    customer_with_vehicles: CustomerWithVehicles | None | Absent = _jf(
        "customerWithVehicles", CustomerWithVehicles
    )


def _raw_strings(items: Any, cls: type[_JsonModel], attr: str) -> list[str]:
    if not isinstance(items, list):
        return []
    out: list[str] = []
    for item in items:
        if isinstance(item, cls):
            value = getattr(item, attr)
            if _text(value) is not None:
                out.append(value)
    return out


# --------------------------------------------------------------------------- rules 1-4


def _name_issues(c: Customer, prefix: str) -> list[ValidationIssue]:
    """Rules 1-2 (S4): names required unless a business with a company; company if business."""
    issues: list[ValidationIssue] = []
    is_business = c.is_business is True
    has_company = _text(c.company) is not None
    if not (is_business and has_company):
        for value, key in ((c.first_name, "firstName"), (c.last_name, "lastName")):
            # A value of the wrong type already has a type error; don't report it twice.
            if _is_missing(value):
                issues.append(
                    _error(
                        _join(prefix, key),
                        f"{key} is required unless isBusiness is true and company is given",
                    )
                )
    if is_business and _is_missing(c.company):
        issues.append(
            _error(_join(prefix, "company"), "company is required when isBusiness is true")
        )
    return issues


def _address_issues(c: Customer, prefix: str) -> list[ValidationIssue]:
    """Rule 3: every address of a non-empty list needs a valid ``type``."""
    if not isinstance(c.addresses, list):
        return []
    issues: list[ValidationIssue] = []
    for i, address in enumerate(c.addresses):
        path = f"{_join(prefix, 'addresses')}[{i}]"
        if address is None:
            issues.append(_error(path, "address entry is null; an address needs a type"))
        elif isinstance(address, Address):
            issues.extend(_address_entry_issues(address, path))
    return issues


def _address_entry_issues(address: Address, path: str) -> list[ValidationIssue]:
    type_path = _join(path, "type")
    allowed = ", ".join(sorted(ADDRESS_TYPES))
    if _is_missing(address.type):
        return [_error(type_path, f"address type is required; one of {allowed}")]
    value = address.type
    if isinstance(value, str) and value not in ADDRESS_TYPES:
        # [INF] case-sensitive: the server side is a Java enum. Hint at the fix.
        hint = (
            f" (did you mean {value.strip().upper()}?)"
            if value.strip().upper() in ADDRESS_TYPES
            else ""
        )
        return [_error(type_path, f"address type {value!r} is not one of {allowed}{hint}")]
    return []


PREFERRED_COMMUNICATIONS: frozenset[str] = frozenset({"text", "phone", "email"})
LOCALES: frozenset[str] = frozenset({"en-us", "fr-ca"})


def _preference_issues(c: Customer, prefix: str) -> list[ValidationIssue]:
    """Rule 4: preferredCommunication in text/phone/email (error); locale en-us/fr-ca (warning)."""
    issues: list[ValidationIssue] = []
    comm = _text(c.preferred_communication)
    # [INF] case-insensitive, like the locale; blank means "not set".
    if comm is not None and comm.lower() not in PREFERRED_COMMUNICATIONS:
        issues.append(
            _error(
                _join(prefix, "preferredCommunication"),
                f"preferredCommunication {c.preferred_communication!r} is not one of text, phone, email",
            )
        )
    locale = _text(c.preferred_locale)
    if locale is not None and locale.lower() not in LOCALES:
        issues.append(
            _warning(
                _join(prefix, "preferredLocale"),
                f"preferredLocale {c.preferred_locale!r} is not a documented locale (en-us, fr-ca)",
            )
        )
    return issues


# --------------------------------------------------------------------------- rule 7: phones, emails

_PHONE_FORMAT = re.compile(r"\+1[0-9]{10}")


def _phone_entry_issues(entry: Any, path: str) -> tuple[list[ValidationIssue], bool]:
    """Warnings for one ``phoneNumbers[]`` entry, and whether the entry is a valid phone."""
    if entry is None or (isinstance(entry, Phone) and entry == Phone()):
        # [INF] a null or {} entry is an empty "phone set".
        return [_warning(path, "phone entry is null or empty", 10010)], False
    if not isinstance(entry, Phone):
        return [_warning(path, "phone entry must be an object with a phoneNumber", 10016)], False
    issues: list[ValidationIssue] = []
    for spec in Phone._specs():
        value = getattr(entry, spec.attr)
        if value not in (ABSENT, None) and not _scalar_ok(value, spec.kind.base):
            issues.append(
                _warning(
                    _join(path, spec.json),
                    f"phone field {spec.json} has an invalid value of type {_json_type_name(value)}",
                    10016,
                )
            )
    number_path = _join(path, "phoneNumber")
    number = entry.phone_number
    if _is_missing(number):
        issues.append(_warning(number_path, "phone number must not be null or empty", 10011))
        return issues, False
    if not isinstance(number, str):
        return issues, False  # already reported as 10016 above
    # [INF] surrounding whitespace is ignored; inner spaces or dashes are a format error.
    if not _PHONE_FORMAT.fullmatch(number.strip()):
        issues.append(
            _warning(
                number_path,
                f"phone number {mask(number)!r} must be +1 followed by 10 digits, like +1310xxxxxxx",
                10015,
            )
        )
        return issues, False
    return issues, not issues


def _phone_list_issues(phones: Any, path: str) -> list[ValidationIssue]:
    """Per-entry phone warnings plus 10013 when the list has entries and none is valid."""
    if not isinstance(phones, list) or not phones:
        return []
    issues: list[ValidationIssue] = []
    any_valid = False
    for i, entry in enumerate(phones):
        entry_issues, ok = _phone_entry_issues(entry, f"{path}[{i}]")
        issues.extend(entry_issues)
        any_valid = any_valid or ok
    if not any_valid:
        issues.append(_warning(path, "none of the provided phone numbers is valid", 10013))
    return issues


def _email_ok(address: str) -> bool:
    """Syntax check only (no DNS), by email-validator."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except (EmailNotValidError, ValueError, UnicodeError):
        return False
    return True


def _email_entry_issues(entry: Any, path: str) -> tuple[list[ValidationIssue], bool]:
    """Warnings for one ``emails[]`` entry, and whether it holds a valid address."""
    if entry is None or (isinstance(entry, Email) and entry == Email()):
        # [INF] a null or {} entry is an empty "email set".
        return [_warning(path, "email entry is null or empty", 10009)], False
    if not isinstance(entry, Email):
        return [], False  # already a type error ("expected an object")
    address_path = _join(path, "emailAddress")
    value = entry.email_address
    if _is_missing(value):
        return [_warning(address_path, "email address must not be null or empty", 10012)], False
    if not isinstance(value, str):
        return [], False  # already a type error
    # [INF] surrounding whitespace is ignored for the check.
    if not _email_ok(value.strip()):
        return [_warning(address_path, f"email address {mask(value)!r} is not valid")], False
    return [], True


def _email_list_issues(emails: Any, path: str) -> list[ValidationIssue]:
    """Per-entry email warnings plus 10014 when the list has entries and none is valid."""
    if not isinstance(emails, list) or not emails:
        return []
    issues: list[ValidationIssue] = []
    any_valid = False
    for i, entry in enumerate(emails):
        entry_issues, ok = _email_entry_issues(entry, f"{path}[{i}]")
        issues.extend(entry_issues)
        any_valid = any_valid or ok
    if not any_valid:
        issues.append(_warning(path, "none of the provided email addresses is valid", 10014))
    return issues


def update_list_warnings(request: CustomerRequest) -> list[ValidationIssue]:
    """The update-path warnings for a null/empty phone or email list (replace semantics).

    An update replaces the stored lists, so a null or empty ``phoneNumbers`` gives
    10005 DELETED_ALL_PHONE_NUMBERS and 10007 EMPTY_PHONE_LIST, a null or empty
    ``emails`` gives 10006 DELETED_ALL_EMAILS and 10008 EMPTY_EMAIL_LIST. [INF] An
    absent list counts as null (the server cannot tell them apart). A request
    without a customer object gives nothing.
    """
    customer = request.customer
    if not isinstance(customer, Customer):
        return []
    no_phones = _null_or_empty(customer.phone_numbers)
    no_emails = _null_or_empty(customer.emails)
    phones_path, emails_path = "customer.phoneNumbers", "customer.emails"
    issues: list[ValidationIssue] = []
    if no_phones:
        message = "phone list is null or empty: all phone numbers of the customer are deleted"
        issues.append(_warning(phones_path, message, 10005))
    if no_emails:
        message = "email list is null or empty: all emails of the customer are deleted"
        issues.append(_warning(emails_path, message, 10006))
    if no_phones:
        issues.append(_warning(phones_path, "phone list is null or empty", 10007))
    if no_emails:
        issues.append(_warning(emails_path, "email list is null or empty", 10008))
    return issues


def _null_or_empty(value: Any) -> bool:
    return value is ABSENT or value is None or (isinstance(value, list) and not value)


# --------------------------------------------------------------------------- rules 5-6: vehicles

_VIN_FORMAT = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_VIN_VALUES: dict[str, int] = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _vin_check_digit_ok(vin: str) -> bool:
    """North-American check digit (position 9) of a 17-char VIN of the allowed alphabet."""
    total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return vin[8] == ("X" if remainder == 10 else str(remainder))


def _vehicle_list_issues(
    vehicles: Any, path: str, *, validate_vin: bool, check_vin_digit: bool
) -> list[ValidationIssue]:
    if not isinstance(vehicles, list):
        return []
    issues: list[ValidationIssue] = []
    for i, vehicle in enumerate(vehicles):
        item_path = f"{path}[{i}]"
        if vehicle is None:
            issues.append(
                _error(
                    item_path,
                    "vehicle entry is null; a vehicle needs a vin or year, make and model",
                )
            )
        elif isinstance(vehicle, Vehicle):
            issues.extend(
                _vehicle_issues(
                    vehicle, item_path, validate_vin=validate_vin, check_vin_digit=check_vin_digit
                )
            )
    return issues


def _vehicle_issues(
    v: Vehicle, prefix: str, *, validate_vin: bool, check_vin_digit: bool
) -> list[ValidationIssue]:
    """Rule 5 (vin, or year+make+model) and rule 6 (VIN validity when validateVin)."""
    issues: list[ValidationIssue] = []
    vin_path = _join(prefix, "vin")
    if _is_missing(v.vin):
        missing = [
            key
            for value, key in (
                (v.vehicle_year, "vehicleYear"),
                (v.vehicle_make, "vehicleMake"),
                (v.vehicle_model, "vehicleModel"),
            )
            if _is_missing(value)
        ]
        if missing:
            issues.append(
                _error(
                    vin_path,
                    "vin is required unless vehicleYear, vehicleMake and vehicleModel are all given "
                    f"(missing: {', '.join(missing)})",
                )
            )
        # [INF] no VIN is not an invalid VIN: rule 6 only judges VINs that are given.
        return issues
    if not isinstance(v.vin, str):
        return issues  # already a type error
    vin = v.vin.strip().upper()
    problem: str | None = None
    if not _VIN_FORMAT.fullmatch(vin):
        problem = "is not 17 characters of A-Z (no I, O, Q) and 0-9"
    elif check_vin_digit and not _vin_check_digit_ok(vin):
        problem = "has a wrong check digit (position 9)"
    if problem is not None:
        if validate_vin:
            issues.append(
                _error(
                    vin_path,
                    f"VIN {v.vin!r} {problem}; validateVin is true, so the vehicle is rejected",
                )
            )
        else:
            # [INF] without validateVin the server keeps the vehicle; tell the caller anyway.
            issues.append(
                _warning(vin_path, f"VIN {v.vin!r} {problem} (accepted: validateVin is not true)")
            )
    return issues


# --------------------------------------------------------------------------- rule 8: search

#: Field names accepted by ``fieldsToBeSearched`` (S9).
SEARCH_FIELDS: tuple[str, ...] = (
    "fname",
    "lname",
    "company",
    "customerKey",
    "communications.commValue",
    "vehicles.vin",
)
SEARCH_TERM_MAX = 30  # the guide's limit (S9)
SEARCH_TERM_SERVER_MAX = 150  # what the server keeps (warning 10003, S12)


def validate_search_params(
    search_term: Any,
    fields_to_be_searched: str | Iterable[str] | None = None,
    max_results: int | str | None = None,
    query_operator: str | None = None,
    search_preference: str | None = None,
) -> list[ValidationIssue]:
    """Rule 8: check the query parameters of the customer search (``/customer/list``).

    ``searchTerm`` is required and at most 30 chars (error; over 150 also warning
    10003, the server truncates); ``maxResults`` outside 1..100 or not an integer is
    warning 10002 (100 used); ``searchPreference`` other than customer/vehicle is
    warning 10004 (customer used); ``fieldsToBeSearched`` (comma-separated string or
    list) must name known fields and ``queryOperator`` must be AND or OR (errors).
    """
    issues: list[ValidationIssue] = []
    if search_term is None or (isinstance(search_term, str) and not search_term.strip()):
        issues.append(_error("searchTerm", "searchTerm is required"))
    elif not isinstance(search_term, str):
        issues.append(
            _error("searchTerm", f"searchTerm must be a string, got {_json_type_name(search_term)}")
        )
    else:
        if len(search_term) > SEARCH_TERM_MAX:
            issues.append(
                _error(
                    "searchTerm",
                    f"searchTerm is {len(search_term)} characters; at most {SEARCH_TERM_MAX} are allowed",
                )
            )
        if len(search_term) > SEARCH_TERM_SERVER_MAX:
            issues.append(
                _warning(
                    "searchTerm",
                    f"search term longer than {SEARCH_TERM_SERVER_MAX} characters; only the first {SEARCH_TERM_SERVER_MAX} are used",
                    10003,
                )
            )
    issues.extend(_search_fields_issues(fields_to_be_searched))
    if max_results is not None and not _max_results_ok(max_results):
        issues.append(
            _warning(
                "maxResults",
                f"maxResults {max_results!r} is not an integer in 1..100; 100 is used",
                10002,
            )
        )
    if query_operator is not None and (
        not isinstance(query_operator, str) or query_operator.strip().upper() not in ("AND", "OR")
    ):
        issues.append(
            _error("queryOperator", f"queryOperator {query_operator!r} must be AND or OR")
        )
    if search_preference is not None and (
        not isinstance(search_preference, str)
        or search_preference.strip().lower() not in ("customer", "vehicle")
    ):
        issues.append(
            _warning(
                "searchPreference",
                f"searchPreference {search_preference!r} must be vehicle or customer; customer is used",
                10004,
            )
        )
    return issues


def _search_fields_issues(fields_to_be_searched: Any) -> list[ValidationIssue]:
    if fields_to_be_searched is None:
        return []
    if isinstance(fields_to_be_searched, str):
        names: list[Any] = fields_to_be_searched.split(",")
    elif isinstance(fields_to_be_searched, Iterable) and not isinstance(
        fields_to_be_searched, Mapping | bytes
    ):
        names = list(fields_to_be_searched)
    else:
        return [
            _error(
                "fieldsToBeSearched",
                f"fieldsToBeSearched must be a comma-separated string or a list of names, "
                f"got {_json_type_name(fields_to_be_searched)}",
            )
        ]
    issues: list[ValidationIssue] = []
    for i, name in enumerate(names):
        if isinstance(name, str) and not name.strip():
            continue  # [INF] "fname,,lname" or a trailing comma is harmless
        if not isinstance(name, str) or name.strip() not in SEARCH_FIELDS:
            issues.append(
                _error(
                    f"fieldsToBeSearched[{i}]",
                    f"unknown search field {name!r}; one of {', '.join(SEARCH_FIELDS)}",
                )
            )
    return issues


def _max_results_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        stripped = value.strip()
        # Query parameters arrive as strings: accept plain decimal integers only.
        if not stripped.isdecimal() or not stripped.isascii():
            return False
        value = int(stripped)
    return isinstance(value, int) and 1 <= value <= 100
