"""Tests of matching.client against the sandbox over real HTTP (and MockTransport for the
answer shapes the sandbox does not produce)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import httpx
import pytest

from matching.client import (
    ApiResult,
    AuthError,
    MyKaarmaClient,
    NotFoundError,
    RateLimited,
    ServerError,
    TokenBucket,
    TransportError,
    ValidationError,
    parse_search_response,
)
from matching.model import CustomerWithVehicles
from matching.sandbox import FaultConfig, Sandbox

DEPT = "dept-1"
USER, PASSWORD = "apiuser", "s3cret-Pa55word"
PHONE, EMAIL, LAST = "+13105550100", "jane.doe@example.com", "Doevinski"
JANE: dict[str, Any] = {
    "customer": {
        "customerKey": "DOM123",
        "firstName": "Janelle",
        "lastName": LAST,
        "emails": [{"emailAddress": EMAIL, "isPreferred": True}],
        "phoneNumbers": [{"phoneNumber": PHONE, "isPreferred": True}],
    },
    "vehicles": [{"vin": "1HGCM82633A004352"}],
}


def make_client(base_url: str, **kw: Any) -> MyKaarmaClient:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("rate_limit_per_second", None)
    return MyKaarmaClient(base_url, USER, PASSWORD, **kw)


@pytest.fixture
def sandbox(tmp_path):
    with Sandbox(tmp_path / "s.db", USER, PASSWORD) as sb:
        yield sb


@pytest.fixture
def client(sandbox):
    with make_client(sandbox.base_url) as c:
        yield c


def test_every_operation(client, sandbox):
    created = client.create_customer(DEPT, JANE)
    assert isinstance(created, ApiResult) and created.created is True
    uuid = created.value
    read = client.read_customer(DEPT, uuid)
    assert isinstance(read.value, CustomerWithVehicles)
    assert read.value.customer.last_name == LAST and len(read.value.vehicles) == 1
    assert client.read_customer(DEPT, uuid, exclude_vehicles=True).value.vehicles == []
    dup = client.create_customer(DEPT, {**JANE, "searchForDuplicate": True})
    assert dup.value == uuid and dup.created is False
    upd = client.update_customer(DEPT, uuid, {"customer": {"firstName": "Jan", "lastName": LAST}})
    assert {w.warning_code for w in upd.warnings} >= {10005, 10006}
    found = client.search_customers(DEPT, "DOM123", fields=["customerKey"], max_results=5, query_operator="OR", search_preference="customer")
    assert [c.customer.customer_uuid for c in found.value] == [uuid]
    none = client.search_customers(DEPT, "nobody")
    assert none.value == [] and none.warnings[-1].warning_code == 10001
    other = client.create_customer(DEPT, JANE).value
    merged = client.bulk_merge(DEPT, uuid, [other], first_name="Jane", is_manual=True)
    assert merged.value.customer.customer_uuid == uuid
    with pytest.raises(NotFoundError) as exc:
        client.read_customer(DEPT, other)
    assert exc.value.merged_into == uuid
    post_client = make_client(sandbox.base_url, update_method="POST")
    assert post_client.update_customer(DEPT, uuid, JANE).value == uuid
    post_client.close()


def test_search_param_validation_without_a_call(client):
    with pytest.raises(ValueError, match="searchTerm"):
        client.search_customers(DEPT, "x" * 31)
    with pytest.raises(ValueError, match="unknown search field"):
        client.search_customers(DEPT, "x", fields="nope")


@pytest.mark.parametrize("auth", [(USER, "wrong"), ("nobody", PASSWORD)])
def test_auth_rejected(sandbox, auth):
    with MyKaarmaClient(sandbox.base_url, *auth, rate_limit_per_second=None) as c, pytest.raises(AuthError) as exc:
        c.search_customers(DEPT, "x")
    assert exc.value.status == 401


def test_no_auth_rejected(sandbox):
    with httpx.Client() as raw:
        assert raw.get(f"{sandbox.base_url}/department/{DEPT}/customer/list?searchTerm=x").status_code == 401


def test_credentials_from_env(sandbox, monkeypatch):
    monkeypatch.setenv("MYKAARMA_USERNAME", USER)
    monkeypatch.setenv("MYKAARMA_PASSWORD", PASSWORD)
    with MyKaarmaClient(sandbox.base_url, rate_limit_per_second=None) as c:
        assert c.search_customers(DEPT, "x").value == []
    monkeypatch.delenv("MYKAARMA_USERNAME")
    with pytest.raises(ValueError, match="credentials"):
        MyKaarmaClient(sandbox.base_url)
    assert PASSWORD not in repr(MyKaarmaClient(sandbox.base_url, USER, PASSWORD))


def test_validation_error_not_retried(client, sandbox):
    before = sandbox.stats["requests"]
    with pytest.raises(ValidationError) as exc:
        client.create_customer(DEPT, {"customer": {"lastName": "x"}, "searchForDuplicate": True})
    assert exc.value.status == 400 and exc.value.errors[0].error_title == "VALIDATION_ERROR"
    assert sandbox.stats["requests"] == before + 1


def test_retries_500_and_429_with_retry_after(tmp_path):
    faults = FaultConfig(error_rate=0.3, rate_429=0.3, retry_after=0.02, seed=3)
    slept: list[float] = []
    with Sandbox(tmp_path / "s.db", USER, PASSWORD, faults=faults) as sb:
        with make_client(sb.base_url, max_retries=10, sleep=slept.append) as c:
            for _ in range(10):
                c.create_customer(DEPT, {**JANE, "searchForDuplicate": True})
                assert c.search_customers(DEPT, "DOM123").value
        assert sb.stats["500"] > 0 and sb.stats["429"] > 0
        assert sb.store.count(DEPT) == 1
    assert slept.count(0.02) == sb.stats["429"]  # every 429 waited exactly Retry-After


def test_gives_up_after_max_retries(tmp_path):
    with Sandbox(tmp_path / "s.db", USER, PASSWORD, faults=FaultConfig(error_rate=1.0, seed=1)) as sb:
        with make_client(sb.base_url, max_retries=2) as c, pytest.raises(ServerError):
            c.search_customers(DEPT, "x")
        assert sb.stats["requests"] == 3
    with Sandbox(tmp_path / "t.db", USER, PASSWORD, faults=FaultConfig(rate_429=1.0, retry_after=0.01, seed=1)) as sb:
        with make_client(sb.base_url, max_retries=1) as c, pytest.raises(RateLimited):
            c.search_customers(DEPT, "x")


def test_plain_create_not_resent_after_a_500_or_drop(tmp_path):
    with Sandbox(tmp_path / "s.db", USER, PASSWORD, faults=FaultConfig(error_rate=1.0, seed=1)) as sb:
        with make_client(sb.base_url) as c, pytest.raises(ServerError) as exc:
            c.create_customer(DEPT, JANE)
        assert exc.value.maybe_applied and sb.stats["requests"] == 1
    with Sandbox(tmp_path / "t.db", USER, PASSWORD, faults=FaultConfig(drop_after_write_rate=1.0, seed=1)) as sb:
        with make_client(sb.base_url) as c, pytest.raises(TransportError) as exc:
            c.create_customer(DEPT, JANE)
        assert exc.value.maybe_applied
        assert sb.store.count(DEPT) == 1 and sb.stats["requests"] == 1


def test_create_or_update_resent_after_drop_makes_one_customer(tmp_path):
    faults = FaultConfig(drop_after_write_rate=0.5, seed=2)
    with Sandbox(tmp_path / "s.db", USER, PASSWORD, faults=faults) as sb:
        with make_client(sb.base_url, max_retries=20) as c:
            for _ in range(5):
                c.create_customer(DEPT, {**JANE, "searchForDuplicate": True})
        assert sb.stats["dropped"] > 0
        assert sb.store.count(DEPT) == 1


def test_connection_refused_is_transport_error():
    with make_client("http://127.0.0.1:9/customer/v2", max_retries=1) as c, pytest.raises(TransportError):
        c.read_customer(DEPT, "x")


def _mock(payload: Any, status: int = 200) -> MyKaarmaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        return httpx.Response(status, json=payload)

    return make_client("https://api.example.invalid/customer/v2", transport=httpx.MockTransport(handler))


CUST = {"customerUuid": "c-1", "firstName": "A", "lastName": "B"}


@pytest.mark.parametrize(
    "payload",
    [
        [{"customer": CUST, "vehicles": [{"vin": "V1"}]}],
        {"matchingCount": 1, "matchingCustomers": [{"customer": CUST, "vehicles": [{"vin": "V1"}]}]},
        {"errors": [], "warnings": [], "customers": [{**CUST, "vehicles": [{"vin": "V1"}]}]},
        {"errors": [], "warnings": [], "customers": [[{"customer": CUST, "vehicles": [{"vin": "V1"}]}]]},
    ],
)
def test_search_every_shape(payload):
    with _mock(payload) as c:
        result = c.search_customers(DEPT, "A")
    assert [r.customer.customer_uuid for r in result.value] == ["c-1"]
    assert result.value[0].vehicles[0].vin == "V1"


def test_search_empty_shapes():
    assert parse_search_response(None) == []
    assert parse_search_response({"matchingCount": 0}) == []
    assert parse_search_response([]) == []


def test_errors_in_200_are_validation_errors_and_403_auth():
    with _mock({"errors": [{"errorCode": 1, "errorTitle": "X", "errorMessage": "m"}], "warnings": []}) as c:
        with pytest.raises(ValidationError):
            c.read_customer(DEPT, "u")
    with _mock({}, 403) as c, pytest.raises(AuthError):
        c.read_customer(DEPT, "u")


def test_search_then_save(client, sandbox):
    first = client.search_then_save(DEPT, JANE)
    assert first.created and "no customer" not in first.explanation
    again = client.search_then_save(DEPT, JANE)
    assert not again.created and again.customer_uuid == first.customer_uuid
    assert again.explanation.startswith("customerKey")
    by_phone = {"customer": {"firstName": "Q", "lastName": "R", "phoneNumbers": [{"phoneNumber": PHONE}]}}
    third = client.search_then_save(DEPT, by_phone)
    assert third.customer_uuid == first.customer_uuid and "phone" in third.explanation
    assert PHONE[2:] not in third.explanation  # masked
    assert sandbox.store.count(DEPT) == 1


def test_search_terms_follow_the_guidelines():
    terms = MyKaarmaClient.search_terms(JANE)
    assert terms == [
        ("customerKey", "DOM123", "customerKey"),
        ("vin", "3A004352", "vehicles.vin"),
        ("phone", "3105550100", "communications.commValue"),
    ]
    no_phone = {"customer": {"emails": [{"emailAddress": EMAIL}]}}
    assert MyKaarmaClient.search_terms(no_phone) == [("email", EMAIL, "communications.commValue")]


def test_token_bucket():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(2.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        bucket.acquire()
    assert sum(slept) == pytest.approx(1.0)


def test_logs_leak_no_pii_or_credentials(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    faults = FaultConfig(error_rate=0.2, rate_429=0.2, retry_after=0.01, drop_after_write_rate=0.2, seed=5)
    with Sandbox(tmp_path / "s.db", USER, PASSWORD, faults=faults) as sb:
        with make_client(sb.base_url, max_retries=10) as c:
            c.create_customer(DEPT, {**JANE, "searchForDuplicate": True})
            c.search_customers(DEPT, PHONE[2:])
            c.search_customers(DEPT, EMAIL)
            c.search_customers(DEPT, LAST)
            c.search_then_save(DEPT, JANE)
            # A plain create is not re-sent after a 500, so an injected 500 may come first.
            with pytest.raises((ValidationError, ServerError)):
                c.create_customer(DEPT, {"customer": {"lastName": LAST, "phoneNumbers": [{"phoneNumber": PHONE}]}})
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, token, "Authorization", PHONE, PHONE[2:], EMAIL, LAST, json.dumps(JANE)[:40]):
        assert secret not in text, secret
    assert "matching.client" in caplog.text and "/department/dept-1/customer" in caplog.text
