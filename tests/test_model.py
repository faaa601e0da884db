"""Tests of matching.model: JSON round trips, type reporting and every validation rule."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.model import (
    ABSENT,
    WARNING_TITLES,
    Address,
    ApiError,
    ApiWarning,
    BestTimeToContact,
    Customer,
    CustomerRequest,
    CustomerResponse,
    CustomerWithVehicles,
    Email,
    Phone,
    ValidationIssue,
    Vehicle,
    update_list_warnings,
    validate_search_params,
)

# --------------------------------------------------------------------------- spec §6 examples

CREATE_REQUEST: dict[str, Any] = json.loads(
    """
{
  "customer": {
    "customerKey": "DOM123",
    "firstName": "Jane",
    "lastName": "Doe",
    "isBusiness": false,
    "preferredCommunication": "text",
    "preferredLocale": "en-us",
    "addresses": [
      {"line1": "1 Main St", "line2": "", "city": "Los Angeles", "state": "CA",
       "zip": "90001", "country": "US", "type": "PRIMARY", "addressType": "P",
       "isValid": true, "isPreferred": true}
    ],
    "emails": [
      {"emailAddress": "jane.doe@example.com", "label": "home",
       "okToEmail": true, "isPreferred": true}
    ],
    "phoneNumbers": [
      {"phoneNumber": "+13105550100", "label": "cell",
       "okToCall": true, "okToText": true, "isPreferred": true}
    ]
  },
  "vehicles": [
    {"vin": "1HGCM82633A004352", "vehicleYear": "2003", "vehicleMake": "Honda",
     "vehicleModel": "Accord", "vehicleTrim": "EX", "color": "Silver",
     "licensePlate": "7ABC123", "estimatedMileage": "120000", "isValid": true}
  ],
  "validateVin": true,
  "searchForDuplicate": true
}
"""
)

READ_RESPONSE: dict[str, Any] = json.loads(
    """
{
  "errors": [],
  "warnings": [],
  "customerWithVehicles": {
    "customer": {
      "id": 123456, "customerUuid": "c-uuid", "customerId": "123456",
      "customerKey": "DOM123", "firstName": "Jane", "middleName": null,
      "lastName": "Doe", "company": null, "isBusiness": false,
      "preferredLocale": "en-us", "preferredCommunication": "text",
      "bestTimeToContact": {"startTime": null, "endTime": null},
      "availability": 0,
      "emails": [{"emailAddress": "jane.doe@example.com", "label": "home",
                  "okToEmail": true, "isPreferred": true, "comments": null}],
      "phoneNumbers": [{"phoneNumber": "+13105550100", "label": "cell",
                        "okToCall": true, "okToText": true, "isPreferred": true,
                        "comments": null}],
      "addresses": [{"line1": "1 Main St", "city": "Los Angeles", "state": "CA",
                     "zip": "90001", "country": "US", "type": "PRIMARY",
                     "addressType": "P", "uuid": "a-uuid",
                     "updateTS": "2025-04-07T07:51:23.930Z",
                     "isValid": true, "isPreferred": true}]
    },
    "vehicles": [
      {"id": 987, "vehicleUuid": "v-uuid", "vehicleKey": "VK1",
       "vin": "1HGCM82633A004352", "vehicleYear": "2003", "vehicleMake": "Honda",
       "vehicleModel": "Accord", "vehicleTrim": "EX", "vehicleEngine": null,
       "color": "Silver", "licensePlate": "7ABC123", "estimatedMileage": "120000",
       "isValid": true, "brandId": 0, "imageUrl": null}
    ]
  }
}
"""
)

# Spec §9: the shapes of the official example code (E1, E2).
E1_CREATE = {
    "customer": {
        "firstName": "John",
        "lastName": "Smith",
        "phoneNumbers": [
            {
                "label": "work",
                "okToCall": True,
                "okToText": True,
                "isPreferred": True,
                "phoneNumber": "+13105550123",
            }
        ],
        "addresses": [
            {
                "line1": "2 Side St",
                "city": "Austin",
                "state": "TX",
                "country": "US",
                "zip": "73301",
                "addressType": "B",
            }
        ],
    }
}
E2_CREATE = {
    "customer": {
        "firstName": "Ann",
        "lastName": "Lee",
        "emails": [{"emailAddress": "ann@example.org", "label": "B", "okToEmail": True}],
        "phoneNumbers": [{"phoneNumber": "+14155550199", "label": "cell"}],
    },
    "vehicles": [{"vin": "1HGCM82633A004352", "isValid": True}],
    "validateVin": True,
}
E2_SEARCH_RESPONSE = {
    "matchingCount": 1,
    "matchingCustomers": [
        {
            "customer": {"customerUuid": "c-1", "customerKey": "DOM123", "firstName": "Ann"},
            "vehicles": [{"vehicleUuid": "v-1", "vin": "1HGCM82633A004352"}],
        }
    ],
}
E1_CREATE_RESPONSE = {"customerUuid": "c-uuid", "errors": [], "warnings": []}


def request(customer: dict[str, Any] | None = None, **top: Any) -> CustomerRequest:
    """A request around a valid minimal customer, with overrides."""
    body: dict[str, Any] = {
        "customer": {"firstName": "Jane", "lastName": "Doe", **(customer or {})}
    }
    body.update(top)
    return CustomerRequest.from_json(body)


def issues_at(issues: list[ValidationIssue], path: str) -> list[ValidationIssue]:
    return [i for i in issues if i.path == path]


def codes(issues: list[ValidationIssue]) -> list[int | None]:
    return [i.code for i in issues]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "cls, data",
    [
        (CustomerRequest, CREATE_REQUEST),
        (CustomerResponse, READ_RESPONSE),
        (CustomerWithVehicles, READ_RESPONSE["customerWithVehicles"]),
        (Customer, READ_RESPONSE["customerWithVehicles"]["customer"]),
        (Vehicle, READ_RESPONSE["customerWithVehicles"]["vehicles"][0]),
        (CustomerRequest, E1_CREATE),
        (CustomerRequest, E2_CREATE),
        (CustomerResponse, E1_CREATE_RESPONSE),
    ],
)
def test_documented_shapes_round_trip(cls: type, data: dict[str, Any]) -> None:
    parsed = cls.from_json(data)
    assert parsed.to_json() == data
    # Key order is kept too, so JSON text comes back identical.
    assert json.dumps(parsed.to_json()) == json.dumps(data)


def test_create_request_parses_into_snake_case_attributes() -> None:
    req = CustomerRequest.from_json(CREATE_REQUEST)
    assert req.validate_vin is True and req.search_for_duplicate is True
    assert req.requester_user_uuid is ABSENT
    c = req.customer
    assert isinstance(c, Customer)
    assert (c.first_name, c.last_name, c.customer_key) == ("Jane", "Doe", "DOM123")
    assert c.is_business is False
    assert isinstance(c.addresses[0], Address) and c.addresses[0].type == "PRIMARY"
    assert c.addresses[0].address_type == "P"
    assert isinstance(c.emails[0], Email) and c.emails[0].ok_to_email is True
    assert isinstance(c.phone_numbers[0], Phone) and c.phone_numbers[0].ok_to_text is True
    v = req.vehicles[0]
    assert isinstance(v, Vehicle)
    assert (v.vehicle_year, v.license_plate, v.estimated_mileage) == ("2003", "7ABC123", "120000")
    assert req.validate() == []


def test_read_response_parses_read_side_extras() -> None:
    resp = CustomerResponse.from_json(READ_RESPONSE)
    assert resp.errors == [] and resp.warnings == []
    cwv = resp.customer_with_vehicles
    assert isinstance(cwv, CustomerWithVehicles)
    c = cwv.customer
    assert (c.id, c.customer_id, c.availability) == (123456, "123456", 0)
    assert c.middle_name is None and c.company is None  # explicit nulls, not ABSENT
    assert c.best_time_to_contact == BestTimeToContact(start_time=None, end_time=None)
    assert c.addresses[0].uuid == "a-uuid"
    assert c.addresses[0].update_ts == "2025-04-07T07:51:23.930Z"
    assert c.emails[0].comments is None and c.phone_numbers[0].comments is None
    v = cwv.vehicles[0]
    assert (v.id, v.brand_id, v.image_url, v.vehicle_engine) == (987, 0, None, None)
    assert cwv.validate() == []


def test_e2_search_response_items_parse_as_customer_with_vehicles() -> None:
    items = [CustomerWithVehicles.from_json(m) for m in E2_SEARCH_RESPONSE["matchingCustomers"]]
    assert items[0].customer.customer_key == "DOM123"
    assert items[0].vehicles[0].vehicle_uuid == "v-1"
    assert [i.to_json() for i in items] == E2_SEARCH_RESPONSE["matchingCustomers"]


def test_e1_address_without_type_is_reported() -> None:
    # The 2020 example code sends addressType "B" but no type: rule 3 flags it.
    issues = CustomerRequest.from_json(E1_CREATE).validate()
    assert [(i.severity, i.path) for i in issues] == [("error", "customer.addresses[0].type")]


def test_json_names_are_exact_camel_case() -> None:
    assert CustomerRequest.json_names() == {
        "requester_user_uuid": "requesterUserUUID",
        "dealer_uuid_list": "dealerUUIDList",
        "customer": "customer",
        "vehicles": "vehicles",
        "validate_vin": "validateVin",
        "search_for_duplicate": "searchForDuplicate",
    }
    assert Address.json_names()["update_ts"] == "updateTS"
    assert Address.json_names()["address_type"] == "addressType"
    assert set(Customer.json_names().values()) == {
        "id", "customerUuid", "customerId", "customerKey", "firstName", "middleName",
        "lastName", "company", "isBusiness", "bestTimeToContact", "availability",
        "preferredCommunication", "preferredLocale", "addresses", "emails", "phoneNumbers",
    }  # fmt: skip
    assert set(Vehicle.json_names().values()) == {
        "id", "vehicleUuid", "vehicleKey", "vin", "vehicleYear", "vehicleMake",
        "vehicleModel", "vehicleTrim", "vehicleEngine", "color", "licensePlate",
        "estimatedMileage", "isValid", "isMatching", "brandId", "imageUrl",
    }  # fmt: skip
    assert set(Phone.json_names().values()) == {
        "phoneNumber", "label", "okToCall", "okToText", "isPreferred", "comments",
    }  # fmt: skip
    assert set(Email.json_names().values()) == {
        "emailAddress", "label", "okToEmail", "isPreferred", "comments",
    }  # fmt: skip


def test_unknown_fields_kept_at_every_level() -> None:
    data = copy.deepcopy(CREATE_REQUEST)
    data["futureTop"] = {"nested": [1, {"a": None}]}
    data["customer"]["loyaltyTier"] = "gold"
    data["customer"]["addresses"][0]["geo"] = {"lat": 1.5, "lon": -2.25}
    data["customer"]["emails"][0]["verified"] = True
    data["customer"]["phoneNumbers"][0]["extension"] = "12"
    data["customer"]["bestTimeToContact"] = {"startTime": "09:00", "tz": "PST"}
    data["vehicles"][0]["odometerUnit"] = "mi"
    req = CustomerRequest.from_json(data)
    assert req.extra == {"futureTop": {"nested": [1, {"a": None}]}}
    assert req.customer.extra == {"loyaltyTier": "gold"}
    assert req.customer.addresses[0].extra == {"geo": {"lat": 1.5, "lon": -2.25}}
    assert req.customer.emails[0].extra == {"verified": True}
    assert req.customer.phone_numbers[0].extra == {"extension": "12"}
    assert req.customer.best_time_to_contact.extra == {"tz": "PST"}
    assert req.vehicles[0].extra == {"odometerUnit": "mi"}
    assert req.to_json() == data


def test_explicit_nulls_kept_and_absent_stays_absent() -> None:
    data = {"customer": {"firstName": None, "emails": None}, "vehicles": None, "validateVin": None}
    req = CustomerRequest.from_json(data)
    assert req.customer.first_name is None and req.customer.last_name is ABSENT
    assert req.vehicles is None and req.search_for_duplicate is ABSENT
    assert req.to_json() == data
    assert "lastName" not in req.to_json()["customer"]


def test_programmatic_construction_writes_only_set_fields() -> None:
    c = Customer(first_name="Ann", phone_numbers=[Phone(phone_number="+14155550199")])
    assert c.to_json() == {"firstName": "Ann", "phoneNumbers": [{"phoneNumber": "+14155550199"}]}
    assert Customer().to_json() == {}
    assert Vehicle(vin=None, extra={"x": 1}).to_json() == {"vin": None, "x": 1}
    assert "ABSENT" not in repr(c) and "first_name='Ann'" in repr(c)


def test_from_json_copies_instead_of_aliasing() -> None:
    data = {"customer": {"tags": ["a"]}, "dealerUUIDList": ["d1"]}
    req = CustomerRequest.from_json(data)
    req.customer.extra["tags"].append("b")
    req.dealer_uuid_list.append("d2")
    out = req.to_json()
    out["customer"]["tags"].append("c")
    assert data == {"customer": {"tags": ["a"]}, "dealerUUIDList": ["d1"]}
    assert req.customer.extra["tags"] == ["a", "b"]


@pytest.mark.parametrize("bad", [[], "text", None, 3, [{"customer": {}}]])
def test_from_json_rejects_non_objects_with_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="expects a JSON object"):
        CustomerRequest.from_json(bad)
    with pytest.raises(TypeError, match="Vehicle.from_json"):
        Vehicle.from_json(bad)


# --------------------------------------------------------------------------- wrong types


def test_wrong_types_kept_raw_and_reported_with_path() -> None:
    data = {
        "requesterUserUUID": 5,
        "dealerUUIDList": ["d1", 7],
        "customer": {
            "id": "abc",
            "firstName": 12,
            "lastName": "Doe",
            "isBusiness": "yes",
            "availability": True,
            "bestTimeToContact": "morning",
            "addresses": [{"type": "PRIMARY", "zip": 90001}, "home"],
            "emails": {"emailAddress": "a@b.com"},
            "phoneNumbers": "abc",
        },
        "vehicles": [{"vin": "1HGCM82633A004352", "vehicleYear": 2003, "brandId": 1.5}],
        "validateVin": "true",
        "searchForDuplicate": 1,
    }
    req = CustomerRequest.from_json(data)
    assert req.to_json() == data
    assert req.customer.is_business == "yes" and req.customer.phone_numbers == "abc"
    assert req.customer.addresses[1] == "home"
    errors = {i.path for i in req.validate() if i.severity == "error"}
    assert {
        "requesterUserUUID",
        "dealerUUIDList[1]",
        "customer.id",
        "customer.firstName",
        "customer.isBusiness",
        "customer.availability",
        "customer.bestTimeToContact",
        "customer.addresses[0].zip",
        "customer.addresses[1]",
        "customer.emails",
        "customer.phoneNumbers",
        "vehicles[0].vehicleYear",
        "vehicles[0].brandId",
        "validateVin",
        "searchForDuplicate",
    } <= errors
    # A wrong-typed firstName gets the type error only, not also "required".
    assert len(issues_at(req.validate(), "customer.firstName")) == 1


def test_non_object_customer_and_vehicle_entries_are_type_errors() -> None:
    req = CustomerRequest.from_json({"customer": "jane", "vehicles": ["VIN", None]})
    issues = req.validate()
    assert ("error", "customer") in [(i.severity, i.path) for i in issues]
    assert issues_at(issues, "vehicles[0]")[0].message.startswith("expected an object")
    assert issues_at(issues, "vehicles[1]")[0].severity == "error"


# --------------------------------------------------------------------------- rules 1-2: names


def test_rule1_first_and_last_name_required() -> None:
    issues = CustomerRequest.from_json({"customer": {"lastName": "  "}}).validate()
    assert [(i.severity, i.path) for i in issues] == [
        ("error", "customer.firstName"),
        ("error", "customer.lastName"),  # whitespace-only counts as empty
    ]


def test_rule1_business_with_company_needs_no_names() -> None:
    req = CustomerRequest.from_json({"customer": {"isBusiness": True, "company": "Acme Fleet"}})
    assert req.validate() == []


def test_rule1_company_without_is_business_still_needs_names() -> None:
    req = CustomerRequest.from_json({"customer": {"company": "Acme", "isBusiness": "true"}})
    paths = {i.path for i in req.validate()}
    assert {"customer.firstName", "customer.lastName", "customer.isBusiness"} <= paths


def test_rule2_company_required_when_business() -> None:
    issues = request({"isBusiness": True, "company": " "}).validate()
    assert [(i.severity, i.path) for i in issues] == [("error", "customer.company")]
    # Without names as well, the names are required too (the exception needs a company).
    issues = CustomerRequest.from_json({"customer": {"isBusiness": True}}).validate()
    assert {i.path for i in issues} == {
        "customer.firstName",
        "customer.lastName",
        "customer.company",
    }


def test_customer_required_in_request() -> None:
    assert [i.path for i in CustomerRequest.from_json({}).validate()] == ["customer"]
    assert [i.path for i in CustomerRequest.from_json({"customer": None}).validate()] == [
        "customer"
    ]


def test_customer_validate_alone_uses_relative_paths() -> None:
    issues = Customer.from_json({"firstName": "A"}).validate()
    assert [i.path for i in issues] == ["lastName"]
    assert [i.path for i in Customer.from_json({"firstName": "A"}).validate("c")] == ["c.lastName"]


# --------------------------------------------------------------------------- rule 3: addresses


@pytest.mark.parametrize("kind", ["COMMON", "PRIMARY", "BILLING", "OTHER"])
def test_rule3_documented_address_types_accepted(kind: str) -> None:
    assert (
        request({"addresses": [{"line1": "x", "type": kind, "addressType": "Q"}]}).validate() == []
    )


@pytest.mark.parametrize("kind", [None, "", "Enum", "primary", "HOME", ABSENT])
def test_rule3_address_type_required_and_enumerated(kind: Any) -> None:
    address: dict[str, Any] = {"line1": "1 Main St", "addressType": "anything"}
    if kind is not ABSENT:
        address["type"] = kind
    issues = request({"addresses": [{"type": "PRIMARY"}, address]}).validate()
    assert [(i.severity, i.path, i.code) for i in issues] == [
        ("error", "customer.addresses[1].type", None)
    ]
    if kind == "primary":
        assert "did you mean PRIMARY" in issues[0].message


def test_rule3_empty_address_list_and_null_entry() -> None:
    assert request({"addresses": []}).validate() == []
    issues = request({"addresses": [None]}).validate()
    assert [(i.severity, i.path) for i in issues] == [("error", "customer.addresses[0]")]


# --------------------------------------------------------------------------- rule 4: preferences


@pytest.mark.parametrize("value", ["text", "phone", "email", "EMAIL", " Text ", "", None])
def test_rule4_preferred_communication_accepted(value: Any) -> None:
    assert request({"preferredCommunication": value}).validate() == []


@pytest.mark.parametrize("value", ["fax", "sms", "mail"])
def test_rule4_preferred_communication_rejected(value: str) -> None:
    issues = request({"preferredCommunication": value}).validate()
    assert [(i.severity, i.path, i.code) for i in issues] == [
        ("error", "customer.preferredCommunication", None)
    ]


@pytest.mark.parametrize("value", ["en-us", "fr-ca", "EN-US", "Fr-CA", "", None])
def test_rule4_documented_locales_accepted(value: Any) -> None:
    assert request({"preferredLocale": value}).validate() == []


@pytest.mark.parametrize("value", ["de-de", "en_US", "es-mx"])
def test_rule4_other_locale_is_warning_without_code(value: str) -> None:
    issues = request({"preferredLocale": value}).validate()
    assert [(i.severity, i.path, i.code) for i in issues] == [
        ("warning", "customer.preferredLocale", None)
    ]


# --------------------------------------------------------------------------- rules 5-6: vehicles


def test_rule5_vehicle_without_vin_needs_year_make_model() -> None:
    ok = {"vehicleYear": "2003", "vehicleMake": "Honda", "vehicleModel": "Accord"}
    assert request(vehicles=[ok]).validate() == []
    issues = request(
        vehicles=[ok, {"vehicleYear": "2003", "vehicleMake": "Honda", "vin": " "}]
    ).validate()
    assert [(i.severity, i.path) for i in issues] == [("error", "vehicles[1].vin")]
    assert "vehicleModel" in issues[0].message
    issues = request(vehicles=[{}]).validate()
    assert [(i.severity, i.path) for i in issues] == [("error", "vehicles[0].vin")]


@pytest.mark.parametrize(
    "vin",
    [
        "1HGCM82633A00435",  # 16 chars
        "1HGCM82633A0043521",  # 18 chars
        "1HGCM82633A00I352",  # I not allowed
        "1HGCM82633A00O352",  # O not allowed
        "1HGCQ82633A004352",  # Q not allowed
        "1HGCM-2633A004352",
    ],
)
def test_rule6_validate_vin_true_rejects_invalid_vin(vin: str) -> None:
    issues = request(vehicles=[{"vin": vin}], validateVin=True).validate()
    assert [(i.severity, i.path) for i in issues] == [("error", "vehicles[0].vin")]
    assert "rejected" in issues[0].message


@pytest.mark.parametrize("flag", [False, None, ABSENT, "true"])
def test_rule6_validate_vin_not_true_only_warns(flag: Any) -> None:
    top = {} if flag is ABSENT else {"validateVin": flag}
    issues = request(vehicles=[{"vin": "SHORTVIN"}], **top).validate()
    vin_issues = issues_at(issues, "vehicles[0].vin")
    assert [(i.severity, i.code) for i in vin_issues] == [("warning", None)]


def test_rule6_vin_trimmed_and_uppercased() -> None:
    assert request(vehicles=[{"vin": " 1hgcm82633a004352 "}], validateVin=True).validate() == []


def test_rule6_check_digit_is_optional() -> None:
    bad_digit = "1HGCM82643A004352"  # position 9 should be 3
    req = request(vehicles=[{"vin": bad_digit}], validateVin=True)
    assert req.validate() == []
    issues = req.validate(check_vin_digit=True)
    assert [(i.severity, i.path) for i in issues] == [("error", "vehicles[0].vin")]
    assert "check digit" in issues[0].message
    good = request(
        vehicles=[{"vin": "1HGCM82633A004352"}, {"vin": "11111111111111111"}], validateVin=True
    )
    assert good.validate(check_vin_digit=True) == []


def test_vehicle_validate_alone() -> None:
    v = Vehicle.from_json({"vin": "BAD"})
    assert [(i.severity, i.path) for i in v.validate()] == [("warning", "vin")]
    assert [(i.severity, i.path) for i in v.validate("car", validate_vin=True)] == [
        ("error", "car.vin")
    ]


# --------------------------------------------------------------------------- rule 7: phones, emails


def test_rule7_valid_phone_gives_nothing() -> None:
    assert request({"phoneNumbers": [{"phoneNumber": "+13105550100"}]}).validate() == []


def test_10011_empty_phone_number() -> None:
    issues = request(
        {"phoneNumbers": [{"phoneNumber": "+13105550100"}, {"phoneNumber": " "}, {"label": "cell"}]}
    ).validate()
    assert [(i.path, i.code) for i in issues] == [
        ("customer.phoneNumbers[1].phoneNumber", 10011),
        ("customer.phoneNumbers[2].phoneNumber", 10011),
    ]
    assert all(i.severity == "warning" for i in issues)


@pytest.mark.parametrize(
    "number", ["3105550100", "+1310555010", "+1 310 555 0100", "+443105550100", "+1310555010x"]
)
def test_10015_incorrect_phone_format(number: str) -> None:
    issues = request(
        {"phoneNumbers": [{"phoneNumber": "+13105550100"}, {"phoneNumber": number}]}
    ).validate()
    assert [(i.severity, i.path, i.code) for i in issues] == [
        ("warning", "customer.phoneNumbers[1].phoneNumber", 10015)
    ]


def test_10013_all_phones_invalid() -> None:
    issues = request({"phoneNumbers": [{"phoneNumber": "555"}, {"phoneNumber": ""}]}).validate()
    assert codes(issues) == [10015, 10011, 10013]
    assert issues[-1].path == "customer.phoneNumbers"


def test_10016_invalid_phone_fields() -> None:
    issues = request(
        {
            "phoneNumbers": [
                {"phoneNumber": "+13105550100"},
                {"phoneNumber": 13105550100},
                {"phoneNumber": "+13105550101", "okToText": "yes"},
                "+13105550102",
            ]
        }
    ).validate()
    warnings = [(i.path, i.code) for i in issues if i.severity == "warning"]
    assert warnings == [
        ("customer.phoneNumbers[1].phoneNumber", 10016),
        ("customer.phoneNumbers[2].okToText", 10016),
        ("customer.phoneNumbers[3]", 10016),
    ]
    # The same values are JSON type errors too.
    errors = {i.path for i in issues if i.severity == "error"}
    assert errors == {
        "customer.phoneNumbers[1].phoneNumber",
        "customer.phoneNumbers[2].okToText",
        "customer.phoneNumbers[3]",
    }


def test_10010_and_10009_null_or_empty_entries() -> None:
    issues = request(
        {
            "phoneNumbers": [None, {}, {"phoneNumber": "+13105550100"}],
            "emails": [None, {"emailAddress": "a@example.com"}],
        }
    ).validate()
    assert [(i.path, i.code) for i in issues] == [
        ("customer.phoneNumbers[0]", 10010),
        ("customer.phoneNumbers[1]", 10010),
        ("customer.emails[0]", 10009),
    ]


def test_10012_empty_email() -> None:
    issues = request(
        {
            "emails": [
                {"emailAddress": "a@example.com"},
                {"emailAddress": None},
                {"emailAddress": ""},
            ]
        }
    ).validate()
    assert [(i.severity, i.path, i.code) for i in issues] == [
        ("warning", "customer.emails[1].emailAddress", 10012),
        ("warning", "customer.emails[2].emailAddress", 10012),
    ]


def test_invalid_email_syntax_is_warning_and_10014_when_all_invalid() -> None:
    issues = request(
        {
            "emails": [
                {"emailAddress": "not-an-email"},
                {"emailAddress": "a@b"},
                {"emailAddress": ""},
            ]
        }
    ).validate()
    assert [(i.path, i.code) for i in issues] == [
        ("customer.emails[0].emailAddress", None),
        ("customer.emails[1].emailAddress", None),
        ("customer.emails[2].emailAddress", 10012),
        ("customer.emails", 10014),
    ]
    assert all(i.severity == "warning" for i in issues)


def test_email_surrounding_whitespace_is_ignored() -> None:
    assert request({"emails": [{"emailAddress": " jane.doe@example.com "}]}).validate() == []


def test_empty_lists_give_nothing_on_create() -> None:
    assert request({"phoneNumbers": [], "emails": None}).validate() == []


def test_update_list_warnings_10005_to_10008() -> None:
    both_empty = request({"phoneNumbers": [], "emails": None})
    assert [(i.path, i.code) for i in update_list_warnings(both_empty)] == [
        ("customer.phoneNumbers", 10005),
        ("customer.emails", 10006),
        ("customer.phoneNumbers", 10007),
        ("customer.emails", 10008),
    ]
    absent_emails = request({"phoneNumbers": [{"phoneNumber": "+13105550100"}]})
    assert codes(update_list_warnings(absent_emails)) == [10006, 10008]
    full = CustomerRequest.from_json(CREATE_REQUEST)
    assert update_list_warnings(full) == []
    assert update_list_warnings(CustomerRequest.from_json({})) == []
    assert all(i.severity == "warning" for i in update_list_warnings(both_empty))


# --------------------------------------------------------------------------- rule 8: search


def test_rule8_valid_search_params() -> None:
    assert validate_search_params("DOM123") == []
    assert (
        validate_search_params(
            "DOM123 6C650709",
            "customerKey,vehicles.vin",
            max_results=10,
            query_operator="OR",
            search_preference="customer",
        )
        == []
    )
    assert (
        validate_search_params(
            "x", ["fname", "lname", "company", "communications.commValue"], "100", "and", "Vehicle"
        )
        == []
    )


@pytest.mark.parametrize("term", [None, "", "   "])
def test_rule8_search_term_required(term: Any) -> None:
    issues = validate_search_params(term)
    assert [(i.severity, i.path, i.code) for i in issues] == [("error", "searchTerm", None)]


def test_rule8_search_term_length() -> None:
    assert validate_search_params("x" * 30) == []
    assert [(i.severity, i.code) for i in validate_search_params("x" * 31)] == [("error", None)]
    long = validate_search_params("x" * 151)
    assert [(i.severity, i.code) for i in long] == [("error", None), ("warning", 10003)]
    assert validate_search_params(12345)[0].severity == "error"


@pytest.mark.parametrize("value", [0, 101, -5, "abc", "1.5", 2.0, True])
def test_rule8_10002_invalid_max_results(value: Any) -> None:
    issues = validate_search_params("DOM123", max_results=value)
    assert [(i.severity, i.path, i.code) for i in issues] == [("warning", "maxResults", 10002)]


@pytest.mark.parametrize("value", [1, 50, 100, "7"])
def test_rule8_max_results_in_range(value: Any) -> None:
    assert validate_search_params("DOM123", max_results=value) == []


@pytest.mark.parametrize("value", ["dealer", "", 3])
def test_rule8_10004_invalid_search_preference(value: Any) -> None:
    issues = validate_search_params("DOM123", search_preference=value)
    assert [(i.severity, i.path, i.code) for i in issues] == [
        ("warning", "searchPreference", 10004)
    ]


def test_rule8_fields_and_query_operator() -> None:
    issues = validate_search_params("DOM123", "fname,firstName,vehicles.vin,")
    assert [(i.severity, i.path) for i in issues] == [("error", "fieldsToBeSearched[1]")]
    assert validate_search_params("DOM123", 5)[0].path == "fieldsToBeSearched"
    issues = validate_search_params("DOM123", query_operator="XOR")
    assert [(i.severity, i.path) for i in issues] == [("error", "queryOperator")]


# --------------------------------------------------------------------------- warnings and errors


def test_warning_table_is_complete() -> None:
    assert sorted(WARNING_TITLES) == list(range(10001, 10017))
    assert WARNING_TITLES[10015] == "INCORRECT_PHONE_FORMAT"
    assert WARNING_TITLES[10005] == "DELETED_ALL_PHONE_NUMBERS"


def test_issue_to_api_warning() -> None:
    issue = request({"phoneNumbers": [{"phoneNumber": "555"}]}).validate()[0]
    warning = issue.to_api_warning()
    assert warning == ApiWarning(10015, "INCORRECT_PHONE_FORMAT", issue.message)
    assert warning.to_json() == {
        "warningCode": 10015,
        "warningTitle": "INCORRECT_PHONE_FORMAT",
        "warningMessage": issue.message,
    }
    with pytest.raises(ValueError, match="no documented warning code"):
        ValidationIssue("error", "customer.firstName", None, "required").to_api_warning()


def test_api_envelope_round_trip() -> None:
    w = {"warningCode": 10001, "warningTitle": "NO_CUSTOMER_FOUND", "warningMessage": "none"}
    assert ApiWarning.from_json(w).warning_title == "NO_CUSTOMER_FOUND"
    assert ApiWarning.from_json(w).to_json() == w
    e = ApiError(400, "BAD_REQUEST", "bad").to_json()
    assert e == {"errorCode": 400, "errorTitle": "BAD_REQUEST", "errorMessage": "bad"}
    assert ApiError.from_json(e) == ApiError(400, "BAD_REQUEST", "bad")
    body = {"errors": [], "warnings": [w]}
    assert CustomerResponse.from_json(body).to_json() == body


def test_validation_issue_is_frozen() -> None:
    issue = ValidationIssue("warning", "x", 10011, "m")
    with pytest.raises(AttributeError):
        issue.code = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- convenience


def test_phones_emails_vins_helpers() -> None:
    req = CustomerRequest.from_json(
        {
            "customer": {
                "phoneNumbers": [
                    {"phoneNumber": " +13105550100"},
                    {"phoneNumber": ""},
                    {"phoneNumber": 5},
                    "x",
                    None,
                ],
                "emails": [{"emailAddress": "A@Example.com"}, {}, {"emailAddress": None}],
            },
            "vehicles": [
                {"vin": "1hgcm82633a004352"},
                {"vin": " "},
                {"vehicleMake": "Honda"},
                None,
            ],
        }
    )
    assert req.customer.phones() == [" +13105550100"]
    assert req.customer.email_addresses() == ["A@Example.com"]
    assert req.vins() == ["1hgcm82633a004352"]
    assert CustomerRequest.from_json({"vehicles": "x"}).vins() == []
    assert Customer.from_json({"phoneNumbers": "abc"}).phones() == []


# --------------------------------------------------------------------------- property tests

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
json_values_with_nan = st.recursive(
    json_scalars | st.floats(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)

unknown_keys = st.dictionaries(st.text(max_size=8).map(lambda k: "x-" + k), json_values, max_size=2)


def obj(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of the known fields, plus unknown keys, in shuffled order."""
    known = st.fixed_dictionaries({}, optional=fields)
    return st.tuples(known, unknown_keys, st.randoms()).map(_shuffled_merge)


def _shuffled_merge(parts: tuple[dict[str, Any], dict[str, Any], Any]) -> dict[str, Any]:
    known, unknown, rnd = parts
    items = list({**unknown, **known}.items())
    rnd.shuffle(items)
    return dict(items)


def field_value(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A mostly valid value, sometimes null, sometimes any JSON value (wrong type)."""
    return st.one_of(valid, valid, st.none(), json_values)


def list_of(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return field_value(st.lists(st.one_of(item, item, json_values), max_size=3))


text = st.text(max_size=12)
bools = st.booleans()
phone_numbers = st.one_of(st.from_regex(r"\+1[0-9]{10}", fullmatch=True), text, st.just(""))
emails = st.one_of(st.emails(), text, st.just(""))
vins = st.one_of(st.from_regex(r"[A-HJ-NPR-Z0-9]{17}", fullmatch=True), text)

phone_obj = obj(
    {
        "phoneNumber": field_value(phone_numbers),
        "label": field_value(text),
        "okToCall": field_value(bools),
        "okToText": field_value(bools),
        "isPreferred": field_value(bools),
        "comments": field_value(text),
    }
)
email_obj = obj(
    {
        "emailAddress": field_value(emails),
        "label": field_value(text),
        "okToEmail": field_value(bools),
        "isPreferred": field_value(bools),
        "comments": field_value(text),
    }
)
address_obj = obj(
    {
        **{
            k: field_value(text)
            for k in (
                "line1",
                "line2",
                "city",
                "state",
                "zip",
                "country",
                "addressType",
                "uuid",
                "updateTS",
            )
        },
        "type": field_value(st.sampled_from(["COMMON", "PRIMARY", "BILLING", "OTHER", "Enum", ""])),
        "isValid": field_value(bools),
        "isPreferred": field_value(bools),
    }
)
customer_obj = obj(
    {
        "id": field_value(st.integers()),
        "availability": field_value(st.integers()),
        **{
            k: field_value(text)
            for k in (
                "customerUuid",
                "customerId",
                "customerKey",
                "firstName",
                "middleName",
                "lastName",
                "company",
            )
        },
        "isBusiness": field_value(bools),
        "bestTimeToContact": field_value(
            obj({"startTime": field_value(text), "endTime": field_value(text)})
        ),
        "preferredCommunication": field_value(
            st.sampled_from(["text", "phone", "email", "fax", "EMAIL"])
        ),
        "preferredLocale": field_value(st.sampled_from(["en-us", "fr-ca", "de-de", "EN-US"])),
        "addresses": list_of(address_obj),
        "emails": list_of(email_obj),
        "phoneNumbers": list_of(phone_obj),
    }
)
vehicle_obj = obj(
    {
        "id": field_value(st.integers()),
        "brandId": field_value(st.integers()),
        "vin": field_value(vins),
        **{
            k: field_value(text)
            for k in (
                "vehicleUuid",
                "vehicleKey",
                "vehicleYear",
                "vehicleMake",
                "vehicleModel",
                "vehicleTrim",
                "vehicleEngine",
                "color",
                "licensePlate",
                "estimatedMileage",
                "imageUrl",
            )
        },  # fmt: skip
        "isValid": field_value(bools),
        "isMatching": field_value(bools),
    }
)
request_obj = obj(
    {
        "requesterUserUUID": field_value(text),
        "dealerUUIDList": field_value(st.lists(text, max_size=3)),
        "customer": field_value(customer_obj),
        "vehicles": list_of(vehicle_obj),
        "validateVin": field_value(bools),
        "searchForDuplicate": field_value(bools),
    }
)

PROPERTY_SETTINGS = settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(request_obj)
def test_property_generated_requests_round_trip(data: dict[str, Any]) -> None:
    snapshot = copy.deepcopy(data)
    req = CustomerRequest.from_json(data)
    assert req.to_json() == data
    assert list(req.to_json()) == list(data)  # key order kept
    assert data == snapshot  # input not mutated
    assert CustomerRequest.from_json(req.to_json()) == req


@PROPERTY_SETTINGS
@given(st.fixed_dictionaries({"customerWithVehicles": customer_obj.map(lambda c: {"customer": c})}))
def test_property_read_shapes_round_trip(data: dict[str, Any]) -> None:
    assert CustomerResponse.from_json(data).to_json() == data


def _check_issues(issues: list[ValidationIssue]) -> None:
    for issue in issues:
        assert issue.severity in ("error", "warning")
        assert isinstance(issue.path, str) and issue.message
        assert issue.code is None or issue.code in WARNING_TITLES


@PROPERTY_SETTINGS
@given(request_obj, st.booleans())
def test_property_validate_never_raises_on_generated_requests(
    data: dict[str, Any], digit: bool
) -> None:
    req = CustomerRequest.from_json(data)
    _check_issues(req.validate(check_vin_digit=digit))
    _check_issues(update_list_warnings(req))
    req.vins()
    if isinstance(req.customer, Customer):
        assert all(isinstance(p, str) for p in req.customer.phones())
        assert all(isinstance(e, str) for e in req.customer.email_addresses())


@PROPERTY_SETTINGS
@given(st.dictionaries(st.text(max_size=20), json_values_with_nan, max_size=6))
def test_property_validate_never_raises_on_arbitrary_dicts(data: dict[str, Any]) -> None:
    for cls in (
        CustomerRequest,
        Customer,
        Vehicle,
        CustomerWithVehicles,
        CustomerResponse,
        Phone,
        Email,
        Address,
    ):
        _check_issues(cls.from_json(data).validate())


# Every known key of every level, with arbitrary JSON values: exercises the type paths.
_ANY_CUSTOMER = st.fixed_dictionaries(
    {}, optional={k: json_values_with_nan for k in Customer.json_names().values()}
)


@PROPERTY_SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            **{k: json_values_with_nan for k in CustomerRequest.json_names().values()},
            "customer": _ANY_CUSTOMER,
            "vehicles": st.lists(
                st.fixed_dictionaries(
                    {}, optional={k: json_values_with_nan for k in Vehicle.json_names().values()}
                ),
                max_size=2,
            ),
        },
    ),
    st.booleans(),
)
def test_property_validate_never_raises_on_known_keys_with_any_values(
    data: dict[str, Any], digit: bool
) -> None:
    req = CustomerRequest.from_json(data)
    _check_issues(req.validate(check_vin_digit=digit))
    _check_issues(update_list_warnings(req))
    out = req.to_json()
    assert set(out) == set(data)
    # NaN breaks ==, so compare the JSON text (NaN serialises the same way on both sides).
    assert json.dumps(out, sort_keys=True) == json.dumps(data, sort_keys=True)


@PROPERTY_SETTINGS
@given(
    json_values_with_nan,
    json_values_with_nan,
    json_values_with_nan,
    json_values_with_nan,
    json_values_with_nan,
)
def test_property_search_params_never_raise(
    term: Any, fields: Any, mx: Any, op: Any, pref: Any
) -> None:
    _check_issues(validate_search_params(term, fields, mx, op, pref))


def test_nan_and_infinity_values_are_kept() -> None:
    data = {"customer": {"availability": math.inf, "x": math.nan}}
    out = CustomerRequest.from_json(data).to_json()
    assert out["customer"]["availability"] == math.inf and math.isnan(out["customer"]["x"])
