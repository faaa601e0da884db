"""Tests of matching.store.CustomerStore (every method, its warnings and choices) and of the
store CLI commands on the shipped sample."""

from __future__ import annotations

import argparse
import copy
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.commands import match as match_command
from matching.commands import search as search_command
from matching.commands import store as store_command
from matching.logic import MatchPolicy, Profile
from matching.model import ApiWarning, CustomerRequest, CustomerWithVehicles
from matching.store import CustomerMerged, CustomerNotFound, CustomerStore

DEPT = "dept-1"
SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "store_sample"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

JANE: dict[str, Any] = {
    "customer": {
        "customerKey": "DOM123",
        "firstName": "Jane",
        "lastName": "Doe",
        "isBusiness": False,
        "preferredCommunication": "text",
        "preferredLocale": "en-us",
        "addresses": [
            {"line1": "1 Main St", "line2": "", "city": "Los Angeles", "state": "CA", "zip": "90001",
             "country": "US", "type": "PRIMARY", "addressType": "P", "isValid": True, "isPreferred": True}
        ],
        "emails": [{"emailAddress": "jane.doe@example.com", "label": "home", "okToEmail": True, "isPreferred": True}],
        "phoneNumbers": [
            {"phoneNumber": "+13105550100", "label": "cell", "okToCall": True, "okToText": True, "isPreferred": True}
        ],
    },
    "vehicles": [
        {"vin": "1HGCM82633A004352", "vehicleYear": "2003", "vehicleMake": "Honda", "vehicleModel": "Accord",
         "vehicleTrim": "EX", "color": "Silver", "licensePlate": "7ABC123", "estimatedMileage": "120000", "isValid": True}
    ],
    "validateVin": True,
    "searchForDuplicate": True,
}  # fmt: skip


def person(
    first: str,
    last: str,
    *,
    phones: list[str] = (),
    emails: list[str] = (),
    vins: list[str] = (),
    key: str | None = None,
    dedupe: bool = False,
) -> dict[str, Any]:  # type: ignore[assignment]
    customer: dict[str, Any] = {"firstName": first, "lastName": last,
                                "phoneNumbers": [{"phoneNumber": p} for p in phones],
                                "emails": [{"emailAddress": e} for e in emails]}  # fmt: skip
    if key is not None:
        customer["customerKey"] = key
    return {
        "customer": customer,
        "vehicles": [{"vin": v} for v in vins],
        "searchForDuplicate": dedupe,
    }


@pytest.fixture
def store() -> CustomerStore:
    with CustomerStore() as s:
        yield s


def body(s: CustomerStore, uuid: str, department: str = DEPT) -> dict[str, Any]:
    return s.read(uuid, department=department)["customerWithVehicles"]


def codes(warnings: list[Any]) -> list[int]:
    return [w.warning_code if isinstance(w, ApiWarning) else w["warningCode"] for w in warnings]


# --------------------------------------------------------------------------- create / read


def test_create_returns_a_uuid4_and_read_gives_the_documented_shape(store: CustomerStore) -> None:
    uuid = store.create(JANE, department=DEPT)
    assert UUID4.fullmatch(uuid)
    response = store.read(uuid, department=DEPT)
    assert set(response) == {"errors", "warnings", "customerWithVehicles"}
    assert response["errors"] == [] and response["warnings"] == []
    customer = response["customerWithVehicles"]["customer"]
    assert customer["customerUuid"] == uuid
    assert isinstance(customer["id"], int) and customer["customerId"] == str(customer["id"])
    for key in ("customerKey", "firstName", "middleName", "lastName", "company", "isBusiness", "preferredLocale",
                "preferredCommunication", "bestTimeToContact", "availability", "emails", "phoneNumbers", "addresses"):  # fmt: skip
        assert key in customer
    assert customer["middleName"] is None and customer["availability"] == 0
    assert customer["bestTimeToContact"] == {"startTime": None, "endTime": None}
    assert customer["emails"][0] == {
        "emailAddress": "jane.doe@example.com",
        "label": "home",
        "okToEmail": True,
        "isPreferred": True,
        "comments": None,
    }
    assert customer["phoneNumbers"][0]["comments"] is None
    address = customer["addresses"][0]
    assert UUID4.fullmatch(address["uuid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", address["updateTS"])
    vehicle = response["customerWithVehicles"]["vehicles"][0]
    assert isinstance(vehicle["id"], int) and UUID4.fullmatch(vehicle["vehicleUuid"])
    assert (
        vehicle["vin"] == "1HGCM82633A004352"
        and vehicle["brandId"] == 0
        and vehicle["imageUrl"] is None
    )
    assert vehicle["vehicleEngine"] is None and "isMatching" not in vehicle
    # The read model parses and validates cleanly.
    assert CustomerWithVehicles.from_json(response["customerWithVehicles"]).validate() == []


def test_ids_increase_in_creation_order_and_vehicle_ids_are_unique(store: CustomerStore) -> None:
    a = store.create(JANE, department=DEPT)
    b = store.create_many([JANE, JANE], department=DEPT)
    ids = [body(store, u)["customer"]["id"] for u in [a, *b]]
    assert ids == sorted(ids) and len(set(ids)) == 3
    vids = [body(store, u)["vehicles"][0]["id"] for u in [a, *b]]
    assert len(set(vids)) == 3
    assert len({body(store, u)["vehicles"][0]["vehicleUuid"] for u in [a, *b]}) == 3


def test_create_ignores_identity_fields_of_the_request(store: CustomerStore) -> None:
    request = copy.deepcopy(JANE)
    request["customer"].update({"id": 7, "customerUuid": "not-mine", "customerId": "7"})
    request["vehicles"][0].update({"id": 9, "vehicleUuid": "v-1", "isMatching": True})
    uuid = store.create(request, department=DEPT)
    got = body(store, uuid)
    assert got["customer"]["customerUuid"] == uuid != "not-mine"
    assert got["vehicles"][0]["vehicleUuid"] != "v-1"
    with pytest.raises(CustomerNotFound):
        store.read("not-mine", department=DEPT)


def test_create_accepts_a_customer_request_and_keeps_unknown_keys(store: CustomerStore) -> None:
    request = copy.deepcopy(JANE)
    request["customer"]["loyaltyTier"] = "gold"
    uuid = store.create(CustomerRequest.from_json(request), department=DEPT)
    assert body(store, uuid)["customer"]["loyaltyTier"] == "gold"


def test_create_without_a_customer_object_is_refused(store: CustomerStore) -> None:
    with pytest.raises(ValueError, match="no customer object"):
        store.create({"vehicles": [{"vin": "1HGCM82633A004352"}]}, department=DEPT)
    with pytest.raises(TypeError):
        store.create("not a request", department=DEPT)  # type: ignore[arg-type]


@pytest.mark.parametrize("department", ["", "  ", None, 5])
def test_department_must_be_a_non_blank_string(store: CustomerStore, department: Any) -> None:
    with pytest.raises(ValueError, match="department"):
        store.create(JANE, department=department)


def test_create_many_is_one_transaction(store: CustomerStore) -> None:
    store.create(JANE, department=DEPT)
    with pytest.raises(ValueError, match="request 2"):
        store.create_many([JANE, JANE, {"customer": None}], department=DEPT)
    assert store.count(DEPT) == 1
    assert store.create_many([], department=DEPT) == []


def test_create_many_large_batch_in_chunks(store: CustomerStore) -> None:
    requests = [
        person("Ann", f"Lee{i}", phones=[f"+1310555{i:04d}"], vins=[f"1HGCM8263{i % 10}A{i:06d}"])
        for i in range(9000)
    ]
    uuids = store.create_many(requests, department=DEPT)
    assert len(set(uuids)) == 9000 and store.count(DEPT) == 9000
    assert body(store, uuids[8500])["customer"]["lastName"] == "Lee8500"
    assert store.match(requests[8765], department=DEPT).customer_uuid == uuids[8765]


def test_read_unknown_uuid_raises_a_key_error_naming_it(store: CustomerStore) -> None:
    with pytest.raises(CustomerNotFound) as info:
        store.read("0000-unknown", department=DEPT)
    assert isinstance(info.value, KeyError)
    assert "0000-unknown" in str(info.value)


def test_departments_are_separate(store: CustomerStore) -> None:
    uuid = store.create(JANE, department=DEPT)
    with pytest.raises(CustomerNotFound):
        store.read(uuid, department="dept-2")
    assert store.match(JANE, department="dept-2").customer_uuid is None
    assert store.search("Jane", department="dept-2")["matchingCount"] == 0
    assert store.count("dept-2") == 0 and store.count(DEPT) == 1 and store.count() == 1
    store.create(JANE, department="dept-2")
    assert store.count() == 2 and store.departments() == [DEPT, "dept-2"]


def test_read_exclude_vehicles_and_read_model(store: CustomerStore) -> None:
    uuid = store.create(JANE, department=DEPT)
    assert (
        store.read(uuid, department=DEPT, exclude_vehicles=True)["customerWithVehicles"]["vehicles"]
        == []
    )
    model = store.read_model(uuid, department=DEPT)
    assert isinstance(model, CustomerWithVehicles)
    assert model.customer.first_name == "Jane" and model.vehicles[0].vin == "1HGCM82633A004352"


def test_file_store_persists_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with CustomerStore(path) as s:
        uuid = s.create(JANE, department=DEPT)
    with CustomerStore(str(path)) as s:
        assert body(s, uuid)["customer"]["firstName"] == "Jane"
        assert s.match(JANE, department=DEPT).customer_uuid == uuid
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    CustomerStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = 99 WHERE name = 'schema_version'")
    with pytest.raises(ValueError, match="schema version 99"):
        CustomerStore(path)


# --------------------------------------------------------------------------- update


def test_update_replaces_phone_and_email_lists_and_keeps_absent_fields(
    store: CustomerStore,
) -> None:
    uuid = store.create(JANE, department=DEPT)
    warnings = store.update(
        uuid,
        {
            "customer": {
                "firstName": "Janet",
                "phoneNumbers": [{"phoneNumber": "+13105550199"}],
                "emails": [{"emailAddress": "janet@example.com"}],
            }
        },
        department=DEPT,
    )
    assert warnings == []
    got = body(store, uuid)["customer"]
    assert (
        got["firstName"] == "Janet" and got["lastName"] == "Doe" and got["customerKey"] == "DOM123"
    )
    assert [p["phoneNumber"] for p in got["phoneNumbers"]] == ["+13105550199"]
    assert [e["emailAddress"] for e in got["emails"]] == ["janet@example.com"]
    assert got["addresses"][0]["line1"] == "1 Main St"  # absent: kept
    # The matching index follows the update.
    assert (
        store.match(person("Janet", "Doe", phones=["+13105550199"]), department=DEPT).customer_uuid
        == uuid
    )
    assert (
        store.match(person("Janet", "Doe", phones=["+13105550100"]), department=DEPT).customer_uuid
        is None
    )


@pytest.mark.parametrize("phones", ["absent", None, []])
def test_update_with_null_empty_or_absent_lists_deletes_them_with_warnings(
    store: CustomerStore, phones: Any
) -> None:
    uuid = store.create(JANE, department=DEPT)
    customer: dict[str, Any] = {"emails": [{"emailAddress": "jane.doe@example.com"}]}
    if phones != "absent":
        customer["phoneNumbers"] = phones
    warnings = store.update(uuid, {"customer": customer}, department=DEPT)
    assert codes(warnings) == [10005, 10007]
    assert all(isinstance(w, ApiWarning) and w.warning_title for w in warnings)
    got = body(store, uuid)["customer"]
    assert got["phoneNumbers"] == [] and len(got["emails"]) == 1
    warnings = store.update(uuid, {"customer": {}}, department=DEPT)
    assert codes(warnings) == [10005, 10006, 10007, 10008]
    assert body(store, uuid)["customer"]["emails"] == []
    assert store.search("3105550100", department=DEPT)["matchingCount"] == 0


def test_update_explicit_null_clears_a_field(store: CustomerStore) -> None:
    uuid = store.create(JANE, department=DEPT)
    store.update(
        uuid,
        {
            "customer": {
                "customerKey": None,
                "phoneNumbers": JANE["customer"]["phoneNumbers"],
                "emails": JANE["customer"]["emails"],
            }
        },
        department=DEPT,
    )
    assert body(store, uuid)["customer"]["customerKey"] is None
    assert store.search("DOM123", department=DEPT, fields="customerKey")["matchingCount"] == 0


def test_update_merges_vehicles_by_vin_adds_new_and_keeps_the_rest(store: CustomerStore) -> None:
    request = copy.deepcopy(JANE)
    request["vehicles"].append({"vin": "2T1BURHE0JC043821", "vehicleMake": "Toyota"})
    uuid = store.create(request, department=DEPT)
    before = {v["vin"]: v for v in body(store, uuid)["vehicles"]}
    store.update(uuid, {"customer": JANE["customer"], "vehicles": [
        {"vin": "1hgcm82633a004352", "color": "Blue"},  # same VIN, other spelling
        {"vin": "5YJ3E1EA7KF300001", "vehicleMake": "Tesla"},
    ]}, department=DEPT)  # fmt: skip
    after = body(store, uuid)["vehicles"]
    assert len(after) == 3
    honda = after[0]
    assert honda["color"] == "Blue" and honda["vehicleMake"] == "Honda"
    assert honda["vehicleUuid"] == before["1HGCM82633A004352"]["vehicleUuid"]
    assert after[1]["vehicleUuid"] == before["2T1BURHE0JC043821"]["vehicleUuid"]
    assert after[2]["vehicleMake"] == "Tesla" and UUID4.fullmatch(after[2]["vehicleUuid"])
    # By vehicleUuid too.
    store.update(
        uuid,
        {
            "customer": JANE["customer"],
            "vehicles": [{"vehicleUuid": after[2]["vehicleUuid"], "licensePlate": "EV1"}],
        },
        department=DEPT,
    )
    assert body(store, uuid)["vehicles"][2]["licensePlate"] == "EV1"
    assert (
        store.match(
            person("Jane", "Doe", vins=["5YJ3E1EA7KF300001"]), department=DEPT
        ).customer_uuid
        == uuid
    )


def test_update_replaces_addresses_when_given(store: CustomerStore) -> None:
    uuid = store.create(JANE, department=DEPT)
    old = body(store, uuid)["customer"]["addresses"][0]
    store.update(
        uuid,
        {
            "customer": {
                **JANE["customer"],
                "addresses": [{**old, "line2": "Apt 2"}, {"line1": "9 Elm", "type": "BILLING"}],
            }
        },
        department=DEPT,
    )
    addresses = body(store, uuid)["customer"]["addresses"]
    assert [a["line1"] for a in addresses] == ["1 Main St", "9 Elm"]
    assert addresses[0]["uuid"] == old["uuid"] and addresses[0]["line2"] == "Apt 2"
    store.update(uuid, {"customer": {**JANE["customer"], "addresses": []}}, department=DEPT)
    assert body(store, uuid)["customer"]["addresses"] == []


def test_update_unknown_customer(store: CustomerStore) -> None:
    with pytest.raises(CustomerNotFound):
        store.update("nope", JANE, department=DEPT)


# --------------------------------------------------------------------------- match / save


def test_match_returns_the_decision(store: CustomerStore) -> None:
    uuid = store.create(JANE, department=DEPT)
    decision = store.match(JANE, department=DEPT)
    assert decision.customer_uuid == uuid and decision.matched and decision.step == 2
    assert (
        store.match(person("Jane", "Doe", phones=["+14155550000"]), department=DEPT).matched
        is False
    )


def test_name_match_and_policy_options_of_the_store() -> None:
    bob = person("Bob", "Doe", phones=["+13105550100"])
    with CustomerStore() as exact, CustomerStore(name_match="fuzzy") as fuzzy:
        for s in (exact, fuzzy):
            s.create(JANE, department=DEPT)
        assert (
            exact.match(person("Janie", "Doe", phones=["+13105550100"]), department=DEPT).matched
            is False
        )
        assert (
            fuzzy.match(person("Janie", "Doe", phones=["+13105550100"]), department=DEPT).matched
            is True
        )
        assert fuzzy.match(bob, department=DEPT).matched is False
    policy = MatchPolicy(name_match="fuzzy", vin_match="full_or_last8")
    assert CustomerStore(policy=policy).policy == policy
    assert CustomerStore(policy=policy, name_match="exact").policy.name_match == "exact"
    assert CustomerStore(policy=policy, name_match="exact").policy.vin_match == "full_or_last8"
    with pytest.raises(ValueError, match="save_update_mode"):
        CustomerStore(save_update_mode="upsert")  # type: ignore[arg-type]


def test_match_with_a_per_call_policy(store: CustomerStore) -> None:
    store.create(person("Jane", "Doe", emails=["jane.doe@gmail.com"]), department=DEPT)
    incoming = person("Jane", "Doe", emails=["janedoe+promo@gmail.com"])
    assert store.match(incoming, department=DEPT).matched is False
    assert (
        store.match(incoming, department=DEPT, policy=MatchPolicy(email_key="provider")).matched
        is True
    )


def test_save_without_search_for_duplicate_always_creates(store: CustomerStore) -> None:
    request = {**JANE, "searchForDuplicate": False}
    first = store.save(request, department=DEPT)
    second = store.save(
        {k: v for k, v in JANE.items() if k != "searchForDuplicate"}, department=DEPT
    )
    assert first[1] is True and second[1] is True and first[0] != second[0]
    assert first[2].step == 0 and not first[2].matched
    assert store.count(DEPT) == 2


def test_save_with_search_for_duplicate_updates_the_match(store: CustomerStore) -> None:
    uuid, created, decision = store.save(JANE, department=DEPT)
    assert created and decision.step == 1 and not decision.matched
    again = copy.deepcopy(JANE)
    again["customer"]["phoneNumbers"] = [{"phoneNumber": "+13105550177", "label": "work"}]
    again["customer"]["emails"] = []
    again["customer"]["company"] = None  # a dedupe save never erases
    again["customer"]["preferredLocale"] = "fr-ca"
    again["vehicles"] = [
        {"vin": "1HGCM82633A004352", "color": None},
        {"vin": "2T1BURHE0JC043821"},
    ]  # found by the VIN
    uuid2, created2, decision2 = store.save(again, department=DEPT)
    assert (uuid2, created2) == (uuid, False) and decision2.customer_uuid == uuid
    got = body(store, uuid)
    # merge mode: phones, emails and vehicles are a union
    assert [p["phoneNumber"] for p in got["customer"]["phoneNumbers"]] == [
        "+13105550100",
        "+13105550177",
    ]
    assert [e["emailAddress"] for e in got["customer"]["emails"]] == ["jane.doe@example.com"]
    assert [v["vin"] for v in got["vehicles"]] == ["1HGCM82633A004352", "2T1BURHE0JC043821"]
    assert got["vehicles"][0]["color"] == "Silver"
    assert got["customer"]["preferredLocale"] == "fr-ca" and got["customer"]["company"] is None
    assert len(got["customer"]["addresses"]) == 1
    assert store.count(DEPT) == 1


def test_save_merge_refreshes_a_known_phone_entry(store: CustomerStore) -> None:
    uuid, _, _ = store.save(JANE, department=DEPT)
    again = copy.deepcopy(JANE)
    again["customer"]["phoneNumbers"] = [{"phoneNumber": "(310) 555-0100", "okToText": False}]
    store.save(again, department=DEPT)
    phones = body(store, uuid)["customer"]["phoneNumbers"]
    assert len(phones) == 1 and phones[0]["okToText"] is False and phones[0]["label"] == "cell"


def test_save_in_replace_mode_uses_update_semantics(store: CustomerStore) -> None:
    uuid, _, _ = store.save(JANE, department=DEPT)
    again = copy.deepcopy(JANE)
    again["customer"]["phoneNumbers"] = [{"phoneNumber": "+13105550100"}]
    again["customer"]["emails"] = []
    store.save(again, department=DEPT, save_update_mode="replace")
    assert body(store, uuid)["customer"]["emails"] == []
    with CustomerStore(save_update_mode="replace") as s:
        u, _, _ = s.save(JANE, department=DEPT)
        s.save(again, department=DEPT)
        assert body(s, u)["customer"]["emails"] == []


def test_save_with_the_customer_uuid_of_an_existing_customer_updates_it(
    store: CustomerStore,
) -> None:
    uuid = store.create(JANE, department=DEPT)
    request = person("Someone", "Else", phones=["+14155550000"], dedupe=True)
    request["customer"]["customerUuid"] = uuid
    got_uuid, created, decision = store.save(request, department=DEPT)
    assert (got_uuid, created, decision.step) == (uuid, False, 0)
    assert body(store, uuid)["customer"]["firstName"] == "Someone"
    request["customer"]["customerUuid"] = "unknown"  # not a customer: matching runs
    assert store.save(request, department=DEPT)[:2] == (uuid, False)
    request["customer"]["phoneNumbers"] = [{"phoneNumber": "+14155550001"}]
    assert store.save(request, department=DEPT)[1] is True


# --------------------------------------------------------------------------- merge


def test_merge_moves_everything_to_the_primary_and_leaves_tombstones(store: CustomerStore) -> None:
    primary = store.create(JANE, department=DEPT)
    other = copy.deepcopy(JANE)
    other["customer"]["phoneNumbers"] = [
        {"phoneNumber": "310-555-0100"},
        {"phoneNumber": "+13105550111"},
    ]
    other["customer"]["emails"] = [{"emailAddress": "JD@example.org"}]
    other["customer"]["addresses"] = [{"line1": "1 Main St", "city": "Los Angeles", "state": "CA", "zip": "90001-1234", "type": "PRIMARY"},
                                      {"line1": "5 Side Rd", "type": "BILLING"}]  # fmt: skip
    other["vehicles"] = [
        {"vin": "1HGCM82633A004352"},
        {"vin": "2T1BURHE0JC043821", "vehicleMake": "Toyota"},
    ]
    second = store.create(other, department=DEPT)
    third = store.create(person("Jane", "Doe", phones=["+13105550122"]), department=DEPT)
    result = store.merge(primary, [second, third], department=DEPT, first_name="Janet", preferred_phone="+13105550111",
                         preferred_email="jd@example.org", requested_by="user-1", is_manual=True)  # fmt: skip
    assert result == store.read(primary, department=DEPT)
    got = result["customerWithVehicles"]
    assert got["customer"]["firstName"] == "Janet" and got["customer"]["lastName"] == "Doe"
    phones = got["customer"]["phoneNumbers"]
    assert [p["phoneNumber"] for p in phones] == ["+13105550100", "+13105550111", "+13105550122"]
    assert [p["isPreferred"] for p in phones] == [False, True, False]
    emails = got["customer"]["emails"]
    assert [e["emailAddress"] for e in emails] == ["jane.doe@example.com", "JD@example.org"]
    assert [e["isPreferred"] for e in emails] == [False, True]
    assert [a["line1"] for a in got["customer"]["addresses"]] == ["1 Main St", "5 Side Rd"]
    assert [v["vin"] for v in got["vehicles"]] == ["1HGCM82633A004352", "2T1BURHE0JC043821"]
    assert store.count(DEPT) == 1
    for merged in (second, third):
        with pytest.raises(CustomerMerged) as info:
            store.read(merged, department=DEPT)
        assert info.value.primary_uuid == primary and isinstance(info.value, CustomerNotFound)
        assert store.resolve(merged, department=DEPT) == primary
    assert store.resolve(primary, department=DEPT) == primary
    # Tombstones leave the matching and search indexes; the primary is found by all values.
    assert (
        store.match(person("Janet", "Doe", phones=["+13105550122"]), department=DEPT).customer_uuid
        == primary
    )
    assert [
        c["customer"]["customerUuid"]
        for c in store.search("Doe", department=DEPT)["matchingCustomers"]
    ] == [primary]
    audit = store._conn.execute(
        "SELECT merged_uuid, requested_by, is_manual FROM merges ORDER BY id"
    ).fetchall()
    assert audit == [(second, "user-1", 1), (third, "user-1", 1)]


def test_merge_chains_point_tombstones_at_the_newest_primary(store: CustomerStore) -> None:
    a, b, c = store.create_many([JANE, JANE, JANE], department=DEPT)
    store.merge(b, [a], department=DEPT)
    store.merge(c, [b], department=DEPT)
    assert store.resolve(a, department=DEPT) == c
    with pytest.raises(CustomerMerged):
        store.merge(c, [a], department=DEPT)
    with pytest.raises(CustomerNotFound):
        store.merge(c, ["missing"], department=DEPT)
    with pytest.raises(CustomerMerged):
        store.update(a, JANE, department=DEPT)


def test_merge_json_takes_the_documented_body(store: CustomerStore) -> None:
    primary, other = store.create_many(
        [JANE, person("Jane", "Doe", emails=["jd2@example.com"])], department=DEPT
    )
    result = store.merge_json(primary, {
        "customerGUIDs": [primary, other], "firstName": None, "lastName": "Doe-Smith", "preferredEmail": "jd2@example.com",
        "preferredPhone": None, "primaryCustomerGUID": primary, "company": "Doe LLC", "requestedBy": "u", "isManual": False,
    }, department=DEPT)  # fmt: skip
    customer = result["customerWithVehicles"]["customer"]
    assert (
        customer["lastName"] == "Doe-Smith"
        and customer["company"] == "Doe LLC"
        and customer["firstName"] == "Jane"
    )
    assert [e["isPreferred"] for e in customer["emails"]] == [False, True]
    with pytest.raises(ValueError, match="primaryCustomerGUID"):
        store.merge_json(
            primary, {"customerGUIDs": [], "primaryCustomerGUID": other}, department=DEPT
        )
    with pytest.raises(ValueError, match="customerGUIDs"):
        store.merge_json(primary, {"customerGUIDs": "x"}, department=DEPT)


def test_merge_adds_a_preferred_phone_that_was_not_there(store: CustomerStore) -> None:
    uuid = store.create(JANE, department=DEPT)
    phones = store.merge(uuid, [], department=DEPT, preferred_phone="+13105550188")[
        "customerWithVehicles"
    ]["customer"]["phoneNumbers"]
    assert [(p["phoneNumber"], p["isPreferred"]) for p in phones] == [
        ("+13105550188", True),
        ("+13105550100", False),
    ]


# --------------------------------------------------------------------------- search


@pytest.fixture
def sample_store() -> tuple[CustomerStore, list[str]]:
    with CustomerStore() as s:
        requests = [
            json.loads(line) for line in (SAMPLE / "customers.jsonl").read_text().splitlines()
        ]
        yield s, s.create_many(requests, department=DEPT)


def found(response: dict[str, Any], ids: list[str]) -> list[int]:
    assert response["matchingCount"] == len(response["matchingCustomers"])
    return [ids.index(c["customer"]["customerUuid"]) for c in response["matchingCustomers"]]


def test_search_response_shape(sample_store: tuple[CustomerStore, list[str]]) -> None:
    s, ids = sample_store
    response = s.search("DOM123", department=DEPT, fields="customerKey")
    assert set(response) == {"errors", "warnings", "matchingCount", "matchingCustomers"}
    assert response["errors"] == [] and response["warnings"] == []
    assert found(response, ids) == [18]
    entry = response["matchingCustomers"][0]
    assert set(entry) == {"customer", "vehicles"} and entry == body(s, ids[18])


@pytest.mark.parametrize(
    ("term", "fields", "expected"),
    [
        ("garcia", "lname", [0, 1, 2]),  # accent-insensitive: García
        ("ROBERT", "fname", [3, 4, 14]),
        ("plumbing", "company", [7, 8]),
        ("dom12", "customerKey", [18, 19]),  # substring
        ("3105550101", "communications.commValue", [0, 1, 2]),  # 10 digits find +1 numbers
        ("(310) 555-0101", "communications.commValue", [0, 1, 2]),
        ("example.net", "communications.commValue", [1]),
        ("5YJ3E1EA7KF300001", "vehicles.vin", [10, 11]),
        ("KF300001", "vehicles.vin", [10, 11]),  # the last 8 characters
        ("3e1ea7", "vehicles.vin", [10, 11]),  # any part, any case
    ],
)
def test_search_each_field(
    sample_store: tuple[CustomerStore, list[str]], term: str, fields: str, expected: list[int]
) -> None:
    s, ids = sample_store
    assert found(s.search(term, department=DEPT, fields=fields), ids) == expected


def test_search_operator_and_vs_or(sample_store: tuple[CustomerStore, list[str]]) -> None:
    s, ids = sample_store
    # "lee" is Dana Lee's last name and in "Lee Landscaping".
    assert found(s.search("lee", department=DEPT, fields="lname,company", operator="AND"), ids) == [
        9
    ]
    assert found(
        s.search("lee", department=DEPT, fields=["lname", "company"], operator="or"), ids
    ) == [9]
    assert (
        found(s.search("smith", department=DEPT, fields="fname,lname", operator="AND"), ids) == []
    )
    assert found(s.search("smith", department=DEPT, fields="fname,lname", operator="OR"), ids) == [
        12,
        13,
        16,
    ]
    # fields None: every field, any matching (the operator does not apply).
    assert found(s.search("smith", department=DEPT, operator="AND"), ids) == [12, 13, 16]


def test_search_several_words_rank_customers_matching_more_words_first(
    sample_store: tuple[CustomerStore, list[str]],
) -> None:
    s, ids = sample_store
    response = s.search("DOM123 4A004399 3105550100", department=DEPT)
    assert found(response, ids) == [18, 19]  # Jane matches all three words, John Doe one
    assert found(s.search("DOM123 6C650709 john.doe@example.com", department=DEPT), ids) == [18, 19]


def test_search_preference_orders_ties(sample_store: tuple[CustomerStore, list[str]]) -> None:
    s, ids = sample_store
    # "smith" is in the names of 12, 13, 16 and "1G1ZD5ST" in the VIN of 12 and 13.
    assert found(s.search("smith 1G1ZD5ST", department=DEPT), ids) == [12, 13, 16]
    # One word each: Lisa Chen (11) by her first name; 0, 18, 19 by their VINs.
    assert found(s.search("lisa 1HGCM82633A0043", department=DEPT), ids) == [11, 0, 18, 19]
    assert found(s.search("lisa 1HGCM82633A0043", department=DEPT, preference="vehicle"), ids) == [
        0,
        18,
        19,
        11,
    ]


def test_search_warnings(sample_store: tuple[CustomerStore, list[str]]) -> None:
    s, ids = sample_store
    nothing = s.search("zzzz", department=DEPT)
    assert nothing["matchingCount"] == 0 and nothing["matchingCustomers"] == []
    assert nothing["warnings"] == [
        {
            "warningCode": 10001,
            "warningTitle": "NO_CUSTOMER_FOUND",
            "warningMessage": "No customer found for given search term",
        }
    ]
    assert codes(s.search("Doe", department=DEPT, max_results=0)["warnings"]) == [10002]
    assert codes(s.search("Doe", department=DEPT, max_results=101)["warnings"]) == [10002]
    assert codes(s.search("Doe", department=DEPT, max_results="abc")["warnings"]) == [10002]
    assert codes(s.search("Doe", department=DEPT, preference="boat")["warnings"]) == [10004]
    assert codes(s.search("Doe", department=DEPT, preference="Vehicle")["warnings"]) == []
    long = s.search("doe " + "x" * 200, department=DEPT)
    assert codes(long["warnings"]) == [10003]
    assert found(long, ids) == [18, 19, 20]
    assert found(s.search("1", department=DEPT, max_results=5), ids) == [0, 1, 2, 3, 4]
    assert s.search("1", department=DEPT, max_results="7")["matchingCount"] == 7
    assert s.search("1", department=DEPT)["matchingCount"] == 50


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"term": ""}, "searchTerm"),
        ({"term": None}, "searchTerm"),
        ({"fields": "fname,zip"}, "zip"),
        ({"operator": "XOR"}, "queryOperator"),
    ],
)
def test_search_errors(
    sample_store: tuple[CustomerStore, list[str]], kwargs: dict[str, Any], message: str
) -> None:
    s, _ = sample_store
    args = {"term": "Doe", **kwargs}
    with pytest.raises(ValueError, match=message):
        s.search(args.pop("term"), department=DEPT, **args)


# --------------------------------------------------------------------------- profile equivalence

TEXT = st.one_of(
    st.none(),
    st.integers(),
    st.sampled_from(
        [
            "",
            "  ",
            "Jane",
            "Doe Jr.",
            "JR",
            "José",
            "O'Brien",
            "Mary Ann",
            "Smith, Sr",
            "N/A",
            "Acme, Inc.",
        ]
    ),
    st.text(max_size=12),
)
PHONE = st.one_of(
    st.none(),
    st.integers(0, 10**11),
    st.sampled_from(["+13105550100", "(310) 555-0101", "555-5555", "", "+44 20 7946 0958"]),
    st.text(max_size=14),
)
EMAIL = st.one_of(
    st.none(),
    st.sampled_from(["Jane.Doe@Gmail.com", "jane+x@outlook.com", "bad@", "", "a@b.co"]),
    st.text(max_size=14),
)
VIN = st.one_of(
    st.none(),
    st.sampled_from(
        ["1HGCM82633A004352", "1hgcm8263 3a004352", "ABC12", "", "VIN: 2T1BURHE0JC043821"]
    ),
    st.text(max_size=18),
)


@st.composite
def messy_requests(draw: st.DrawFn) -> dict[str, Any]:
    customer = {
        "firstName": draw(TEXT),
        "lastName": draw(TEXT),
        "company": draw(TEXT),
        "customerKey": draw(TEXT),
        "isBusiness": draw(st.one_of(st.booleans(), st.none(), st.just("yes"))),
        "phoneNumbers": draw(
            st.one_of(
                st.none(),
                st.lists(
                    st.one_of(st.none(), st.fixed_dictionaries({"phoneNumber": PHONE})), max_size=3
                ),
            )
        ),
        "emails": draw(
            st.lists(
                st.one_of(st.integers(), st.fixed_dictionaries({"emailAddress": EMAIL})), max_size=3
            )
        ),
    }
    vehicles = draw(st.one_of(st.none(), st.lists(st.fixed_dictionaries({"vin": VIN}), max_size=3)))
    return {"customer": customer, "vehicles": vehicles}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    messy_requests(),
    st.sampled_from(
        [MatchPolicy(), MatchPolicy(email_key="provider", customer_key_case_sensitive=False)]
    ),
)
def test_stored_profiles_equal_profile_from_request(
    request: dict[str, Any], policy: MatchPolicy
) -> None:
    with CustomerStore(policy=policy) as s:
        uuid = s.create(request, department=DEPT)
        cust_id = body(s, uuid)["customer"]["id"]
        (stored,) = s._profiles("SELECT ?", (cust_id,), policy)
    assert stored == Profile.from_request(request, uuid=uuid, seq=cust_id, policy=policy)
    # The incoming side of a match is read the same way.
    request["customer"]["customerUuid"] = "u-1"
    with CustomerStore(policy=policy) as s:
        assert s._incoming(request, policy) == Profile.from_request(request, policy=policy)


# --------------------------------------------------------------------------- CLI on the shipped sample


def run_command(module: Any, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    module.configure(parser)
    return module.run(parser.parse_args(argv))


def test_cli_load_match_search_read_on_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "store.db")
    assert (
        run_command(
            store_command, ["load", db, str(SAMPLE / "customers.jsonl"), "--department", DEPT]
        )
        == 0
    )
    assert "loaded 50 customers" in capsys.readouterr().out
    assert run_command(store_command, ["count", db, "--department", DEPT]) == 0
    assert capsys.readouterr().out.strip() == "50"

    assert run_command(match_command, [db, str(SAMPLE / "request.json"), "--department", DEPT]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["matched"] is True and decision["step"] == 3
    assert [t["step"] for t in decision["trace"]] == [1, 2, 3]
    jane = decision["customerUuid"]

    assert (
        run_command(search_command, [db, "DOM123 6C650709 9891361006", "--department", DEPT]) == 0
    )
    response = json.loads(capsys.readouterr().out)
    assert response["matchingCustomers"][0]["customer"]["customerUuid"] == jane
    assert (
        run_command(
            search_command,
            [
                db,
                "Garcia",
                "--department",
                DEPT,
                "--fields",
                "fname,lname",
                "--operator",
                "OR",
                "--max-results",
                "2",
                "--preference",
                "vehicle",
            ],
        )
        == 0
    )
    response = json.loads(capsys.readouterr().out)
    assert response["matchingCount"] == 2

    assert run_command(store_command, ["read", db, jane, "--department", DEPT]) == 0
    assert (
        json.loads(capsys.readouterr().out)["customerWithVehicles"]["customer"]["customerKey"]
        == "DOM123"
    )
    assert run_command(store_command, ["read", db, "nope", "--department", DEPT]) == 1
    assert "nope" in capsys.readouterr().err


def test_cli_match_with_fuzzy_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "store.db")
    run_command(store_command, ["load", db, str(SAMPLE / "customers.jsonl"), "--department", DEPT])
    request = tmp_path / "bob.json"
    request.write_text(json.dumps(person("Bobby", "Miller", phones=["+13105550109"])))
    capsys.readouterr()
    assert run_command(match_command, [db, str(request), "--department", DEPT]) == 0
    assert json.loads(capsys.readouterr().out)["matched"] is False
    assert (
        run_command(
            match_command, [db, str(request), "--department", DEPT, "--name-match", "fuzzy"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["matched"] is True


def test_cli_load_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = tmp_path / "customers.csv"
    csv_path.write_text("First Name,lastName,customerKey,phone1,phone2,Email,vin,city,isBusiness,company\n"
                        "Jane,Doe,DOM123,+13105550100,,jane@example.com,1HGCM82633A004352,Los Angeles,false,\n"
                        ",,B1,+13105550199,,,,,true,Acme Inc\n")  # fmt: skip
    db = str(tmp_path / "store.db")
    assert run_command(store_command, ["load", db, str(csv_path), "--department", DEPT]) == 0
    with CustomerStore(db) as s:
        assert s.count(DEPT) == 2
        response = s.search("DOM123", department=DEPT, fields="customerKey")
        customer = response["matchingCustomers"][0]["customer"]
        assert (
            customer["lastName"] == "Doe"
            and customer["phoneNumbers"][0]["phoneNumber"] == "+13105550100"
        )
        assert customer["addresses"][0]["city"] == "Los Angeles"
        assert response["matchingCustomers"][0]["vehicles"][0]["vin"] == "1HGCM82633A004352"
        business = s.search("acme", department=DEPT)["matchingCustomers"][0]["customer"]
        assert business["isBusiness"] is True


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"customer": {}}\n{oops\n')
    db = str(tmp_path / "store.db")
    assert run_command(store_command, ["load", db, str(bad), "--department", DEPT]) == 1
    assert "bad.jsonl:2" in capsys.readouterr().err
    assert (
        run_command(store_command, ["load", db, str(tmp_path / "x.txt"), "--department", DEPT]) == 1
    )
    assert (
        run_command(match_command, [str(tmp_path / "missing.db"), str(bad), "--department", DEPT])
        == 1
    )
    assert (
        run_command(search_command, [str(tmp_path / "missing.db"), "x", "--department", DEPT]) == 1
    )
    CustomerStore(db).close()
    assert run_command(search_command, [db, "x", "--department", DEPT, "--fields", "nope"]) == 1
    assert "nope" in capsys.readouterr().err


def test_cli_dispatch_with_the_commands_registered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from matching import cli

    monkeypatch.setitem(cli.COMMANDS, "store", ("store", "load customers into a store file"))
    monkeypatch.setitem(cli.COMMANDS, "match", ("match", "match one request against a store"))
    monkeypatch.setitem(cli.COMMANDS, "search", ("search", "search a store"))
    db = str(tmp_path / "store.db")
    assert (
        cli.main(["store", "load", db, str(SAMPLE / "customers.jsonl"), "--department", DEPT]) == 0
    )
    assert cli.main(["match", db, str(SAMPLE / "request.json"), "--department", DEPT]) == 0
    capsys.readouterr()
    assert (
        cli.main(["search", db, "KF300001", "--department", DEPT, "--fields", "vehicles.vin"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["matchingCount"] == 2
