"""Concurrent saves into one store file: the match and the write are one transaction, so
processes saving the same new customer at the same moment make one customer, not two."""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path
from typing import Any

import pytest

from matching.store import CustomerStore

DEPT = "dept-1"
TIMEOUT = 180


def request(
    first: str, last: str, phone: str, *, vin: str | None = None, dedupe: bool = True
) -> dict[str, Any]:
    return {
        "customer": {
            "firstName": first,
            "lastName": last,
            "phoneNumbers": [{"phoneNumber": phone}],
        },
        "vehicles": [{"vin": vin}] if vin else [],
        "searchForDuplicate": dedupe,
    }


def _save_in_process(path: str, payload: dict[str, Any], barrier: Any, results: Any) -> None:
    """Worker (top level, so a spawned process can import it): open, wait, save."""
    try:
        with CustomerStore(path) as store:
            barrier.wait(timeout=TIMEOUT)
            uuid, created, decision = store.save(payload, department=DEPT)
        results.put((payload["customer"]["firstName"], uuid, created, decision.step))
    except BaseException as exc:  # report instead of dying silently
        results.put(("error", repr(exc), False, -1))


def _run_processes(path: Path, payloads: list[dict[str, Any]]) -> list[tuple[str, str, bool, int]]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(payloads))
    results = ctx.Queue()
    CustomerStore(path).close()  # schema in place before the race
    procs = [
        ctx.Process(target=_save_in_process, args=(str(path), p, barrier, results))
        for p in payloads
    ]
    for p in procs:
        p.start()
    out = [results.get(timeout=TIMEOUT) for _ in procs]
    for p in procs:
        p.join(timeout=TIMEOUT)
        assert p.exitcode == 0
    errors = [r for r in out if r[0] == "error"]
    assert not errors, errors
    return out


def test_processes_saving_the_same_new_customer_make_one(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    payload = request("Jane", "Doe", "+13105550100", vin="1HGCM82633A004352")
    results = _run_processes(path, [payload] * 4)
    assert len({uuid for _, uuid, _, _ in results}) == 1
    assert sorted(created for _, _, created, _ in results) == [False, False, False, True]
    with CustomerStore(path) as store:
        assert store.count(DEPT) == 1


def test_processes_saving_a_mix_of_customers(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    payloads = [
        request("Ann", "Lee", "+13105550101"),
        request("Ann", "Lee", "+13105550101"),
        request("Bob", "Kim", "+13105550102", vin="2T1BURHE0JC043821"),
        request("Bob", "Kim", "+13105550199", vin="2T1BURHE0JC043821"),  # same person by VIN
        request("Cy", "Diaz", "+13105550103", dedupe=False),  # no dedupe: always created
        request("Cy", "Diaz", "+13105550103", dedupe=False),
    ]
    results = _run_processes(path, payloads)
    by_name: dict[str, set[str]] = {}
    for name, uuid, _, _ in results:
        by_name.setdefault(name, set()).add(uuid)
    assert {k: len(v) for k, v in by_name.items()} == {"Ann": 1, "Bob": 1, "Cy": 2}
    with CustomerStore(path) as store:
        assert store.count(DEPT) == 4
        bob = store.read(next(iter(by_name["Bob"])), department=DEPT)["customerWithVehicles"][
            "customer"
        ]
        # Whichever Bob came second was merged into the first: both phones are there.
        assert sorted(p["phoneNumber"] for p in bob["phoneNumbers"]) == [
            "+13105550102",
            "+13105550199",
        ]


@pytest.mark.parametrize(
    "shared", [True, False], ids=["one-store-many-threads", "one-store-per-thread"]
)
def test_threads_saving_the_same_new_customer_make_one(tmp_path: Path, shared: bool) -> None:
    path = tmp_path / "store.db"
    payload = request("Jane", "Doe", "+13105550100")
    n = 6
    barrier = threading.Barrier(n)
    results: list[str] = []
    common = CustomerStore(path)
    stores = [common] * n if shared else [CustomerStore(path) for _ in range(n)]

    def work(store: CustomerStore) -> None:
        barrier.wait(timeout=TIMEOUT)
        results.append(store.save(payload, department=DEPT)[0])

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT)
    assert len(results) == n and len(set(results)) == 1
    assert common.count(DEPT) == 1
    for s in {id(s): s for s in stores}.values():
        s.close()
