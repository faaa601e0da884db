"""Tests of matching.sandbox: the local myKaarma Customer API over real HTTP (raw httpx)."""

from __future__ import annotations

import argparse
from typing import Any

import httpx
import pytest

from matching.commands import sandbox as sandbox_command
from matching.sandbox import FaultConfig, Sandbox

DEPT = "dept-1"
JANE: dict[str, Any] = {
    "customer": {
        "customerKey": "DOM123",
        "firstName": "Jane",
        "lastName": "Doe",
        "emails": [{"emailAddress": "jane.doe@example.com", "isPreferred": True}],
        "phoneNumbers": [{"phoneNumber": "+13105550100", "isPreferred": True}],
    },
    "vehicles": [{"vin": "1HGCM82633A004352"}],
}


@pytest.fixture
def sandbox(tmp_path):
    with Sandbox(tmp_path / "s.db", "apiuser", "securepass") as sb:
        yield sb


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.base_url, auth=("apiuser", "securepass")) as c:
        yield c


def test_binds_local_and_free_port(sandbox):
    assert sandbox.host == "127.0.0.1" and sandbox.port > 0
    assert sandbox.base_url.endswith("/customer/v2")


@pytest.mark.parametrize("auth", [None, ("apiuser", "wrong"), ("other", "securepass")])
def test_auth_rejected(sandbox, auth):
    with httpx.Client(base_url=sandbox.base_url, auth=auth) as c:
        r = c.get(f"/department/{DEPT}/customer/list", params={"searchTerm": "x"})
    assert r.status_code == 401
    assert r.json()["errors"][0]["errorTitle"] == "UNAUTHORIZED"
    assert "Basic" in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize("method,path", [("POST", "customer"), ("PUT", "customer/")])
def test_create_read_update_search(http, method, path):
    r = http.request(method, f"/department/{DEPT}/{path}", json=JANE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["errors"] == [] and body["created"] is True
    uuid = body["customerUuid"]
    read = http.get(f"/department/{DEPT}/customer/{uuid}").json()
    assert read["customerWithVehicles"]["customer"]["firstName"] == "Jane"
    assert len(read["customerWithVehicles"]["vehicles"]) == 1
    no_veh = http.get(f"/department/{DEPT}/customer/{uuid}/", params={"excludeVehicles": "true"}).json()
    assert no_veh["customerWithVehicles"]["vehicles"] == []
    update = {"customer": {"firstName": "Janet", "lastName": "Doe"}}
    for m in ("PUT", "POST"):
        u = http.request(m, f"/department/{DEPT}/customer/{uuid}", json=update)
        assert u.status_code == 200
        codes = {w["warningCode"] for w in u.json()["warnings"]}
        assert {10005, 10006} <= codes  # phones and emails replaced by nothing
    s = http.get(f"/department/{DEPT}/customer/list", params={"searchTerm": "Janet", "fieldsToBeSearched": "fname"})
    assert s.json()["matchingCount"] == 1


def test_search_for_duplicate_updates(http):
    first = http.post(f"/department/{DEPT}/customer", json={**JANE, "searchForDuplicate": True}).json()
    again = http.post(f"/department/{DEPT}/customer", json={**JANE, "searchForDuplicate": True}).json()
    assert again["customerUuid"] == first["customerUuid"] and again["created"] is False
    plain = http.post(f"/department/{DEPT}/customer", json=JANE).json()
    assert plain["customerUuid"] != first["customerUuid"]


def test_validation_error_400(http):
    r = http.post(f"/department/{DEPT}/customer", json={"customer": {"lastName": "Doe"}})
    assert r.status_code == 400
    assert r.json()["errors"][0]["errorTitle"] == "VALIDATION_ERROR"
    assert http.post(f"/department/{DEPT}/customer", content=b"{nope").status_code == 400


def test_not_found_and_merged(http):
    assert http.get(f"/department/{DEPT}/customer/nope").status_code == 404
    a = http.post(f"/department/{DEPT}/customer", json=JANE).json()["customerUuid"]
    b = http.post(f"/department/{DEPT}/customer", json=JANE).json()["customerUuid"]
    body = {"customerGUIDs": [b], "primaryCustomerGUID": a, "isManual": True}
    m = http.post(f"/department/{DEPT}/customer/{a}/bulk_merge", json=body)
    assert m.status_code == 200
    gone = http.get(f"/department/{DEPT}/customer/{b}")
    assert gone.status_code == 404 and gone.json()["mergedInto"] == a
    assert gone.json()["errors"][0]["errorTitle"] == "CUSTOMER_MERGED"
    # A re-sent merge is a no-op.
    assert http.post(f"/department/{DEPT}/customer/{a}/bulk_merge", json=body).status_code == 200


def test_search_no_result_warning_and_bad_param(http):
    r = http.get(f"/department/{DEPT}/customer/list", params={"searchTerm": "zzz"}).json()
    assert r["matchingCount"] == 0 and r["warnings"][-1]["warningCode"] == 10001
    bad = http.get(f"/department/{DEPT}/customer/list", params={"searchTerm": "x", "fieldsToBeSearched": "nope"})
    assert bad.status_code == 400


def test_faults_seeded(tmp_path):
    faults = FaultConfig(error_rate=0.5, rate_429=0.2, retry_after=0.25, seed=7)
    with Sandbox(tmp_path / "s.db", "u", "p", faults=faults) as sb, httpx.Client(
        base_url=sb.base_url, auth=("u", "p")
    ) as c:
        statuses = [c.get(f"/department/{DEPT}/customer/list", params={"searchTerm": "x"}).status_code for _ in range(30)]
        r429 = next(
            r for r in (c.get(f"/department/{DEPT}/customer/list", params={"searchTerm": "x"}) for _ in range(50))
            if r.status_code == 429
        )
    assert {200, 500, 429} <= set(statuses)
    assert r429.headers["Retry-After"] == "0.25"


def test_drop_after_write_applies_the_write(tmp_path):
    with Sandbox(tmp_path / "s.db", "u", "p", faults=FaultConfig(drop_after_write_rate=1.0, seed=1)) as sb:
        with httpx.Client(base_url=sb.base_url, auth=("u", "p")) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                c.post(f"/department/{DEPT}/customer", json=JANE)
        assert sb.store.count(DEPT) == 1
        assert sb.stats["dropped"] == 1


def test_command_requires_password(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MYKAARMA_PASSWORD", raising=False)
    parser = argparse.ArgumentParser()
    sandbox_command.configure(parser)
    args = parser.parse_args(["--store", str(tmp_path / "s.db"), "--user", "u", "--port", "0"])
    assert sandbox_command.run(args) == 1
    assert "password" in capsys.readouterr().err
