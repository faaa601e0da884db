"""The bulk load (CustomerStore.create_many) stores exactly what create does one request at
a time: the same read() answers, the same rows in every table, the same match decisions,
on messy requests too. Its column-wise normalizations equal the scalar ones they replace."""

from __future__ import annotations

import copy
import gc
import re
import sqlite3
import uuid as uuidlib
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.normalize.emails import email as normalize_email
from matching.normalize.names import fold
from matching.store import (
    CustomerStore,
    _bulk_entries,
    _email_entries,
    _email_folds,
    _folded,
    _new_uuids,
    _Normalizers,
    _phone_entries,
    _vin_entries,
)

DEPT = "dept-1"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

NAMES = [None, "", "  ", "N/A", 5, "José", "O'Brien Jr.", "Ms. Ann-Marie", "SMITH III", "Ännchen",
         "x" * 1200, " ＡＢＣ ", "Acme, Inc.", "The Smith Co.", "李", "Doe\x1f"]  # fmt: skip
PHONES = ["+13105550100", "(310) 555-0101", "555-5555", "", " ", "+44 20 7946 0958",
          "000-000-0000", "3105550100", " 310.555.0199 x12 ", "１２３", "3105550100.0",
          "+1 (212) 555-0100 ext. 7", "N/A", 3105550100, None, "\t+13105550100\n"]  # fmt: skip
EMAILS = ["Jane.Doe@Gmail.com", "jane+x@outlook.com", "bad@", "", "a@b.co", "noemail@none.com",
          "J.A.N.E@googlemail.com", " Bob@Example.COM ", '"q"@x.com', "x@localhost",
          "+t@gmail.com", "a.b+c@icloud.com", "José@exämple.com", "mailto:ann@x.org", 7, None,
          "<ann@x.org>", "ann@x.org.", "Ann Lee <ANN@X.ORG>"]  # fmt: skip
VINS = ["1HGCM82633A004352", "1hgcm8263 3a004352", "ABC12", "", "VIN: 2T1BURHE0JC043821",
        "UNKNOWN", "11111111111111111", "1HGCM82633A00435Z", "é1234567", None, 123,
        "1HGCM-82633-A004352", "ＷＶＷ１２３４５"]  # fmt: skip
KEYS = ["DMS1", " dms1 ", "", "  ", None, "Ключ", "K1", 4, "STRASSE", "straße"]


def messy_request(draw: Any) -> dict[str, Any]:
    """One create request with the odd shapes a dealer feed has; ``draw`` picks an element."""
    customer: dict[str, Any] = {
        "firstName": draw(NAMES),
        "lastName": draw(NAMES),
        "company": draw(NAMES),
        "customerKey": draw(KEYS),
        "isBusiness": draw([True, False, None, "yes"]),
        "phoneNumbers": draw([
            None, "x", [], [{"phoneNumber": draw(PHONES)}],
            [{"phoneNumber": draw(PHONES), "label": "cell"}, {"phoneNumber": draw(PHONES)}],
            [None, {"phoneNumber": draw(PHONES)}, 3],
        ]),
        "emails": draw([
            None, {"a": 1}, [], [{"emailAddress": draw(EMAILS), "isPreferred": True}],
            [{"emailAddress": draw(EMAILS)}, {"emailAddress": draw(EMAILS)}],
            [1, {"emailAddress": draw(EMAILS)}],
        ]),
    }  # fmt: skip
    extra = draw(["none", "addresses", "identity", "bad addresses", "unknown"])
    if extra == "addresses":
        customer["addresses"] = [{"line1": "1 Main St", "uuid": "given", "city": "LA"}, None]
    elif extra == "bad addresses":
        customer["addresses"] = draw([None, "x", []])
    elif extra == "identity":
        customer.update(customerUuid="given-uuid", id=5, customerId="5")
    elif extra == "unknown":
        customer["loyaltyTier"] = {"level": 2, "since": [2019, 1.5]}
    vehicles = draw([
        None, "x", [], [{"vin": draw(VINS), "vehicleMake": "Honda"}],
        [{"vin": draw(VINS), "isMatching": True, "id": 9, "vehicleUuid": "given"}, {"vin": draw(VINS)}],
        [None, {"vin": draw(VINS)}, {"vehicleKey": "K"}],
    ])  # fmt: skip
    return {"customer": customer, "vehicles": vehicles, "searchForDuplicate": draw([True, False])}


def messy_batch(seed: int, size: int) -> list[dict[str, Any]]:
    """``size`` messy requests, a few of them repeated (duplicates within the batch)."""
    rng = np.random.default_rng(seed)

    def draw(options: list[Any]) -> Any:
        return options[int(rng.integers(len(options)))]

    batch = [messy_request(draw) for _ in range(size)]
    return batch + [copy.deepcopy(batch[i]) for i in range(0, size, 7)]


def tables(store: CustomerStore) -> tuple[list[Any], ...]:
    """Every stored row but the random parts (uuids, and the doc: compared through read)."""
    c = store._conn
    return (
        c.execute(
            "SELECT id, dept, merged_into, first, last, suffix, company, is_business, ckey,"
            " phones, emails, vins, key_values FROM customers ORDER BY id"
        ).fetchall(),
        c.execute("SELECT * FROM search ORDER BY dept, cust").fetchall(),
        c.execute("SELECT * FROM keys ORDER BY hash, dept, cust").fetchall(),
        c.execute("SELECT * FROM meta ORDER BY name").fetchall(),
    )


def without_random_parts(response: dict[str, Any]) -> dict[str, Any]:
    """A read() answer with its uuids and timestamps blanked (they differ per call)."""
    body = copy.deepcopy(response["customerWithVehicles"])
    assert UUID4.fullmatch(body["customer"]["customerUuid"])
    body["customer"]["customerUuid"] = None
    for a in body["customer"]["addresses"]:
        if isinstance(a, dict):
            assert UUID4.fullmatch(a["uuid"])
            a["uuid"] = a["updateTS"] = None
    for v in body["vehicles"]:
        assert UUID4.fullmatch(v["vehicleUuid"])
        v["vehicleUuid"] = None
    return body


def assert_same_as_one_by_one(requests: list[dict[str, Any]], bulk: CustomerStore) -> None:
    original = copy.deepcopy(requests)
    with CustomerStore() as single:
        bulk_uuids = bulk.create_many(requests, department=DEPT)
        single_uuids = [single.create(r, department=DEPT) for r in copy.deepcopy(requests)]
        assert requests == original  # the caller's dicts are not modified
        assert len(set(bulk_uuids)) == len(requests)
        assert tables(bulk) == tables(single)
        for b, s in zip(bulk_uuids, single_uuids, strict=True):
            assert without_random_parts(bulk.read(b, department=DEPT)) == without_random_parts(
                single.read(s, department=DEPT)
            )
        for r in requests:
            db, ds = bulk.match(r, department=DEPT), single.match(r, department=DEPT)
            pick_b = None if db.customer_uuid is None else bulk_uuids.index(db.customer_uuid)
            pick_s = None if ds.customer_uuid is None else single_uuids.index(ds.customer_uuid)
            assert (pick_b, db.step, db.reason) == (pick_s, ds.step, ds.reason)


# --------------------------------------------------------------------------- create_many == create


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_create_many_stores_what_create_stores(seed: int) -> None:
    # Over _BULK_MIN customers: the column-wise path; _CHUNK small: several chunks.
    with CustomerStore() as bulk:
        bulk._CHUNK = 97
        bulk._KEY_BATCH = 150  # key rows inserted in a few sorted runs
        batch = messy_batch(seed, 260)
        assert len(batch) >= bulk._BULK_MIN
        assert_same_as_one_by_one(batch, bulk)
        # Vehicle ids go on from where the bulk load left them.
        (seq,) = bulk._conn.execute("SELECT value FROM meta WHERE name = 'vehicle_seq'").fetchone()
        more = bulk.create(
            {"customer": {}, "vehicles": [{"vin": "1HGCM82633A004352"}]}, department=DEPT
        )
        assert (
            bulk.read(more, department=DEPT)["customerWithVehicles"]["vehicles"][0]["id"] == seq + 1
        )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_create_many_stores_what_create_stores_property(data: st.DataObject) -> None:
    def draw(options: list[Any]) -> Any:
        return data.draw(st.one_of(st.sampled_from(options), st.text(max_size=12)))

    size = data.draw(st.integers(1, 12))
    batch = [messy_request(draw) for _ in range(size)]
    batch += [copy.deepcopy(r) for r in data.draw(st.lists(st.sampled_from(batch), max_size=3))]
    with CustomerStore() as bulk:
        bulk._BULK_MIN = 1  # the column-wise path even for these small batches
        try:
            assert_same_as_one_by_one(batch, bulk)
        except UnicodeEncodeError:  # lone surrogates: SQLite stores UTF-8 only
            with CustomerStore() as single, pytest.raises(UnicodeEncodeError):
                for r in batch:
                    single.create(r, department=DEPT)
            assert bulk.count(DEPT) == 0


def test_create_many_of_benchmark_like_customers() -> None:
    """Plain, clean customers (the bulk path's fast lane), in a few chunks."""
    batch = [
        {
            "customer": {
                "firstName": ["Ann", "Bob", "Eve"][i % 3], "lastName": f"Lee{i % 11}",
                "isBusiness": i % 13 == 0, "company": "Lee Motors LLC" if i % 13 == 0 else None,
                "customerKey": f"DMS{i:07d}" if i % 4 else None,
                "phoneNumbers": [{"phoneNumber": f"+1310555{i % 9000:04d}", "label": "cell"}],
                "emails": [{"emailAddress": f"ann.lee{i % 50}@gmail.com"}] if i % 2 else [],
            },
            "vehicles": [{"vin": f"1HGCM8263{i % 10}A{i:06d}"}] if i % 3 else [],
        }
        for i in range(300)
    ]  # fmt: skip
    with CustomerStore() as bulk:
        bulk._CHUNK = 128
        assert_same_as_one_by_one(batch, bulk)


def test_create_many_is_all_or_nothing_and_restores_the_garbage_collector() -> None:
    batch = messy_batch(3, 80)
    with CustomerStore() as store:
        assert gc.isenabled()
        with pytest.raises(ValueError, match="request 81"):
            store.create_many([*batch[:81], {"customer": "nope"}, *batch[81:]], department=DEPT)
        assert gc.isenabled() and store.count(DEPT) == 0
        with pytest.raises(UnicodeEncodeError):
            store.create_many([*batch, {"customer": {"firstName": "\ud800"}}], department=DEPT)
        assert gc.isenabled() and store.count(DEPT) == 0
        gc.disable()
        try:
            store.create_many(batch, department=DEPT)
            assert not gc.isenabled()  # left as the caller had it
        finally:
            gc.enable()
        assert store.count(DEPT) == len(batch)


def test_bulk_uuids_are_handed_out_in_hash_order_and_read_back_in_input_order() -> None:
    batch = messy_batch(4, 120)
    with CustomerStore() as store:
        uuids = store.create_many(batch, department=DEPT)
        hashes = [zlib.crc32(u.encode()) for u in uuids]
        assert hashes == sorted(hashes)  # the uuid index is swept once
        assert len(set(uuids)) == len(batch) and all(UUID4.fullmatch(u) for u in uuids)
        # uuids[i] is the customer of batch[i]: id order is input order.
        for i in (0, 1, 57, len(batch) - 1):
            read = store.read(uuids[i], department=DEPT)["customerWithVehicles"]["customer"]
            assert read["id"] == i + 1 and read["customerUuid"] == uuids[i]
            assert read.get("firstName") == batch[i]["customer"].get("firstName")


def _read_uuid(store: CustomerStore, customer_uuid: str) -> str:
    return store.read(customer_uuid, department=DEPT)["customerWithVehicles"]["customer"][
        "customerUuid"
    ]


def _in_database_file(path: Path) -> int:
    """Customers in the database file itself, without its WAL (what checkpoints put there)."""
    copy_path = path.with_name(f"copy-{path.name}")
    copy_path.write_bytes(path.read_bytes())  # the file alone: no -wal beside the copy
    try:
        with sqlite3.connect(copy_path) as conn:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search'").fetchone():
                return 0  # not even the schema was checkpointed yet
            return conn.execute("SELECT count(*) FROM search").fetchone()[0]
    finally:
        copy_path.unlink()
        for extra in copy_path.parent.glob(copy_path.name + "-*"):
            extra.unlink()


def test_bulk_load_checkpoints_in_the_background_and_keeps_the_autocheckpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    batch = messy_batch(5, 3000)
    with CustomerStore(path) as store:
        uuids = store.create_many(batch, department=DEPT)
        # The commit's own automatic checkpoint was off; the connection has it back.
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        store.flush()
        assert store._ckpt_thread is None
        # Another connection sees every customer: the load was committed before returning.
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT count(*) FROM search").fetchone() == (len(batch),)
        store.flush()  # nothing running: returns at once
        # Failed loads restore the setting too (and start no checkpoint).
        with pytest.raises(ValueError):
            store.create_many([*batch[:100], {"customer": None}], department=DEPT)
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
        assert store.count(DEPT) == len(batch)
        more = store.create_many(batch[:200], department=DEPT)
    # close() waited for the checkpoint: the database file holds everything.
    assert _in_database_file(path) == len(batch) + 200
    with CustomerStore(path) as reopened:
        assert reopened.count(DEPT) == len(batch) + 200
        for u in (uuids[0], uuids[-1], more[-1]):
            assert _read_uuid(reopened, u) == u


def test_a_failed_background_checkpoint_is_only_an_unfinished_optimization(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    with CustomerStore(path) as store:

        def refuse(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            raise sqlite3.OperationalError("unable to open database file")

        monkeypatch.setattr(sqlite3, "connect", refuse)  # the checkpoint thread's connection
        first = store.create_many(messy_batch(6, 100), department=DEPT)
        store.flush()
        assert store._ckpt_thread is None  # the next bulk load may start one again
        monkeypatch.undo()
        assert _in_database_file(path) == 0  # not checkpointed, but committed:
        assert store.count(DEPT) == len(first)
        second = store.create_many(messy_batch(7, 100), department=DEPT)
        store.flush()
        assert _in_database_file(path) == len(first) + len(second)


def test_concurrent_bulk_loads_and_checkpoints_into_one_file(tmp_path: Path) -> None:
    """Two stores on one file loading in turns while their checkpoints run: every
    customer is there once, readable from both."""
    path = tmp_path / "store.db"
    a, b = CustomerStore(path), CustomerStore(path)
    try:
        made: list[str] = []
        for k in range(6):
            store = (a, b)[k % 2]
            made += store.create_many(messy_batch(10 + k, 400), department=DEPT)
        assert a.count(DEPT) == b.count(DEPT) == len(made) == len(set(made))
        for u in made[::97]:
            assert _read_uuid(b, u) == u
    finally:
        a.close()
        b.close()
    assert _in_database_file(path) == len(made)


# --------------------------------------------------------------------------- column-wise == scalar


def strings(options: list[Any]) -> st.SearchStrategy[list[str]]:
    return st.lists(
        st.one_of(
            st.sampled_from([o for o in options if isinstance(o, str)]), st.text(max_size=20)
        ),
        max_size=30,
    )


@settings(max_examples=150, deadline=None)
@given(strings(PHONES), strings(EMAILS), strings(VINS))
def test_bulk_entries_equal_the_scalar_entries(
    phones: list[str], emails: list[str], vins: list[str]
) -> None:
    n = _Normalizers()
    for raws, batch, scalar in (
        (phones, _phone_entries, n.phone_entry),
        (emails, _email_entries, n.email_entry),
        (vins, _vin_entries, n.vin_entry),
    ):
        assert _bulk_entries(raws + raws[:3], batch, scalar) == [scalar(r) for r in raws + raws[:3]]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([e for e in EMAILS if isinstance(e, str)]),
            st.emails(),
            st.text(max_size=20),
        )
    )
)
def test_email_folds_equal_the_scalar_fold(raws: list[str]) -> None:
    extra = ["a.b.c+d@gmail.com", "+x@gmail.com", "x+y+z@outlook.com", "A.B@googlemail.com",
             "ann.lee+cars@hotmail.com", "ann@yahoo.com", "a..b@gmail.com"]  # fmt: skip
    addresses = [a for a in map(normalize_email, [*raws, *extra]) if a is not None]
    assert _email_folds(addresses) == [_Normalizers._email_fold(a) for a in addresses]


def test_folded_and_surrogates_fall_back_to_the_scalar_forms() -> None:
    texts = ["  Ab C ", "ÉCOLE ", "a\x1fB", "\tX ", "", "Straße", "x" * 1500]
    assert _folded(np.array(texts, dtype=object)) == [fold(t.strip()) for t in texts]
    n = _Normalizers()
    raws = ["+13105550100", "\ud800 310 555 0100", "+13105550100"]
    assert _bulk_entries(raws, _phone_entries, n.phone_entry) == [n.phone_entry(r) for r in raws]


def test_new_uuids_are_distinct_version_4_uuids() -> None:
    made = _new_uuids(5000)
    assert len(set(made)) == 5000 and _new_uuids(0) == []
    for u in made[:200]:
        assert UUID4.fullmatch(u) and uuidlib.UUID(u).version == 4
        assert uuidlib.UUID(u).variant == uuidlib.RFC_4122


def test_stored_documents_keep_what_the_fast_encoder_refuses() -> None:
    """orjson refuses integers beyond 64 bits and non-string keys; the document is then
    encoded by the standard library, and read back whole."""
    big = 2**70
    request = {
        "customer": {"firstName": "Ann", "lastName": "Lee", "extra": {"n": big}},
        "vehicles": [{"vin": "1HGCM82633A004352", "note": "é\n\"x\""}],
    }
    with CustomerStore() as store:
        uuid = store.create(request, department=DEPT)
        read = store.read(uuid, department=DEPT)["customerWithVehicles"]
    assert read["customer"]["extra"] == {"n": big}
    assert read["vehicles"][0]["note"] == "é\n\"x\""
