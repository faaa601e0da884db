"""Tests of matching.pipeline.golden: survivorship rules, unions, provenance, validation,
row-order independence, and a run over the shipped sample with its truth as clusters."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from matching.model import CustomerRequest
from matching.normalize import (
    CANONICAL_COLUMNS,
    email,
    email_match_key_series,
    is_placeholder_email_series,
    name,
    normalize_frame,
    vin,
    vin_check_digit_ok,
)
from matching.normalize.emails import PLACEHOLDER_EMAIL_LOCAL_PARTS
from matching.pipeline import golden as golden_module
from matching.pipeline.golden import (
    ADDRESS_COLUMNS,
    DEFAULT_FIELD_RULES,
    GOLDEN_COLUMNS,
    RULE_FIELDS,
    RULES,
    GoldenRecords,
    SurvivorshipRules,
    golden_records,
    write_jsonl,
)

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
FULL = "1HGCM82633A004352"  # a real VIN with a right check digit
OTHER_FULL = "JH4KA7561PC008269"


def make(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical records (all columns, "" where not given) and their clusters from
    ``cluster`` keys; record ids R1, R2... in order unless given."""
    records, clusters = [], []
    for i, row in enumerate(rows, start=1):
        row = dict(row)
        cluster = row.pop("cluster", "C1")
        record = {c: "" for c in CANONICAL_COLUMNS}
        record["record_id"] = f"R{i}"
        record.update(row)
        records.append(record)
        clusters.append({"record_id": record["record_id"], "cluster_id": cluster})
    return (
        pd.DataFrame(records, columns=list(CANONICAL_COLUMNS), dtype=object),
        pd.DataFrame(clusters, columns=["record_id", "cluster_id"], dtype=object),
    )


def run(rows: list[dict[str, Any]], **kwargs: Any) -> GoldenRecords:
    records, clusters = make(rows)
    return golden_records(records, clusters, **kwargs)


def one(result: GoldenRecords, cluster: str = "C1") -> tuple[pd.Series, dict[str, Any]]:
    """The golden row (missing values as None) and the request body of ``cluster``."""
    row = result.golden.set_index("cluster_id").loc[cluster]
    row = row.astype(object).where(row.notna(), None)
    return row, result.golden_json[result.golden_cluster_ids.index(cluster)]


def prov(result: GoldenRecords, field: str, cluster: str = "C1") -> pd.DataFrame:
    p = result.provenance
    return p[(p["cluster_id"] == cluster) & (p["field"] == field)]


# --------------------------------------------------------------------------- the four rules


def test_most_recent_takes_the_newest_record_that_has_a_value() -> None:
    result = run(
        [
            {"customer_key": "DMS1", "created_at": "2015-01-01"},
            {"customer_key": "CRM7", "created_at": "2020-06-01"},
            {"customer_key": "", "created_at": "2023-01-01"},  # newest, but empty
            {"customer_key": "OLD", "created_at": ""},  # no date: the oldest
        ]
    )
    row, body = one(result)
    assert row["customer_key"] == "CRM7"
    assert body["customer"]["customerKey"] == "CRM7"
    p = prov(result, "customer_key")
    assert p[["value", "record_id", "rule"]].values.tolist() == [["CRM7", "R2", "most_recent"]]


def test_most_frequent_lets_the_right_spelling_beat_a_typo() -> None:
    result = run(
        [
            {
                "first_name": "Jonh",
                "last_name": "Smith",
                "created_at": "2024-01-01",
            },  # typo, newest
            {"first_name": "John", "last_name": "Smith", "created_at": "2019-01-01"},
            {"first_name": "John", "last_name": "Smith", "created_at": "2018-01-01"},
        ]
    )
    row, _ = one(result)
    assert row["first_name"] == "John"
    assert prov(result, "first_name")["record_id"].tolist() == ["R2"]  # most recent of the two


def test_most_frequent_ties_go_to_the_most_recent() -> None:
    result = run(
        [
            {"last_name": "Baker", "created_at": "2019-01-01"},
            {"last_name": "Barker", "created_at": "2021-01-01"},
        ]
    )
    assert one(result)[0]["last_name"] == "Barker"


def test_longest_prefers_the_full_middle_name() -> None:
    result = run(
        [
            {"middle_name": "A", "created_at": "2024-01-01"},
            {"middle_name": "Anne", "created_at": "2016-01-01"},
            {"middle_name": "", "created_at": "2025-01-01"},
        ]
    )
    assert one(result)[0]["middle_name"] == "Anne"
    assert prov(result, "middle_name")["rule"].tolist() == ["longest"]


def test_longest_ties_go_to_the_most_recent() -> None:
    rules = SurvivorshipRules().with_rule("first_name", "longest")
    result = run(
        [
            {"first_name": "Mark", "created_at": "2016-01-01"},
            {"first_name": "Mary", "created_at": "2020-01-01"},
        ],
        rules=rules,
    )
    assert one(result)[0]["first_name"] == "Mary"


def test_first_seen_takes_the_oldest_record() -> None:
    rules = SurvivorshipRules().with_rule("customer_key", "first_seen")
    result = run(
        [
            {"customer_key": "NEW", "created_at": "2022-01-01"},
            {"customer_key": "FIRST", "created_at": "05/31/2014 5:45 PM"},  # not ISO: parsed
            {"customer_key": "MID", "created_at": "2018-03-03T10:00:00Z"},
        ],
        rules=rules,
    )
    assert one(result)[0]["customer_key"] == "FIRST"
    assert prov(result, "customer_key")["rule"].tolist() == ["first_seen"]


def test_records_created_together_are_ordered_by_record_id() -> None:
    result = run(
        [
            {"customer_key": "A", "created_at": "2020-01-01"},
            {"customer_key": "B", "created_at": "2020-01-01"},
        ]
    )
    assert one(result)[0]["customer_key"] == "B"  # R2 > R1


def test_names_prefer_a_properly_capitalized_form_of_the_winning_value() -> None:
    result = run(
        [
            {"first_name": "ANNE", "last_name": "MCDONALD", "created_at": "2024-01-01"},
            {"first_name": "Anne", "last_name": "McDonald", "created_at": "2015-01-01"},
            {"first_name": "anne", "last_name": "mcdonald", "created_at": "2020-01-01"},
        ]
    )
    row, _ = one(result)
    assert (row["first_name"], row["last_name"]) == ("Anne", "McDonald")
    p = prov(result, "first_name")
    assert p[["record_id", "rule"]].values.tolist() == [["R2", "most_frequent+casing"]]


def test_names_prefer_the_form_with_accents() -> None:
    result = run(
        [
            {"first_name": "Jose", "created_at": "2024-01-01"},
            {"first_name": "José", "created_at": "2015-01-01"},
        ]
    )
    assert one(result)[0]["first_name"] == "José"


# --------------------------------------------------------------------------- addresses


def test_address_survives_whole_from_one_record() -> None:
    old = {
        "address_line1": "12 Oak Street",
        "address_line2": "Apt 4",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "country": "US",
        "created_at": "2015-01-01",
    }
    new = {
        "address_line1": "900 Pine Ave",
        "city": "Denver",
        "state": "CO",
        "postal_code": "80202",
        "created_at": "2023-01-01",
    }
    result = run([old, new])
    row, body = one(result)
    got = {c: row[c] for c in ADDRESS_COLUMNS}
    assert got == {
        "address_line1": "900 Pine Ave",
        "address_line2": None,  # not the old record's "Apt 4"
        "city": "Denver",
        "state": "CO",
        "postal_code": "80202",
        "country": None,  # not the old record's "US"
    }
    addresses = body["customer"]["addresses"]
    assert addresses[0] == {
        "line1": "900 Pine Ave",
        "city": "Denver",
        "state": "CO",
        "zip": "80202",
        "type": "PRIMARY",
        "isPreferred": True,
    }
    assert addresses[1]["line1"] == "12 Oak Street" and addresses[1]["line2"] == "Apt 4"
    assert (addresses[1]["type"], addresses[1]["isPreferred"]) == ("OTHER", False)
    p = prov(result, "address")
    assert p["record_id"].tolist() == ["R2", "R1"]
    assert p["rule"].tolist() == ["most_recent", "union"]


def test_the_same_address_spelled_differently_is_one_entry() -> None:
    result = run(
        [
            {
                "address_line1": "12 North Oak Street",
                "postal_code": "62701",
                "created_at": "2015-01-01",
            },
            {
                "address_line1": "12 N OAK ST",
                "postal_code": "62701-1234",
                "created_at": "2023-01-01",
            },
        ]
    )
    addresses = one(result)[1]["customer"]["addresses"]
    assert len(addresses) == 1 and addresses[0]["line1"] == "12 N OAK ST"


def test_address_rule_can_be_most_frequent() -> None:
    rules = SurvivorshipRules().with_rule("address", "most_frequent")
    home = {"address_line1": "12 Oak St", "city": "Springfield", "postal_code": "62701"}
    result = run(
        [
            {**home, "created_at": "2015-01-01"},
            {**home, "created_at": "2016-01-01"},
            {"address_line1": "1 Dealer Way", "postal_code": "62702", "created_at": "2024-01-01"},
        ],
        rules=rules,
    )
    row, _ = one(result)
    assert (row["address_line1"], row["city"]) == ("12 Oak St", "Springfield")


# --------------------------------------------------------------------------- placeholders


def test_placeholder_values_never_win_over_real_ones() -> None:
    junk = {
        "first_name": "N/A",
        "last_name": "UNKNOWN",
        "phone_1": "000-000-0000",
        "email_1": "noemail@dealer.com",
        "vin_1": "N/A",
    }
    result = run(
        [
            {**junk, "created_at": "2024-01-01"},
            {**junk, "created_at": "2023-01-01"},
            {
                "first_name": "Maria",
                "last_name": "Lopez",
                "phone_1": "(310) 555-0100",
                "email_1": "maria@aol.com",
                "vin_1": FULL,
                "created_at": "2010-01-01",
            },
        ]
    )
    row, body = one(result)
    assert (row["first_name"], row["last_name"]) == ("Maria", "Lopez")
    assert (row["phone_1"], row["email_1"], row["vin_1"]) == (
        "+13105550100",
        "maria@aol.com",
        FULL,
    )
    customer = body["customer"]
    assert [p["phoneNumber"] for p in customer["phoneNumbers"]] == ["+13105550100"]
    assert [e["emailAddress"] for e in customer["emails"]] == ["maria@aol.com"]
    assert body["vehicles"] == [{"vin": FULL}]


def test_only_placeholders_leave_the_field_empty() -> None:
    result = run(
        [
            {
                "first_name": "Bo",
                "last_name": "Li",
                "email_1": "none@none.com",
                "phone_1": "555-555-5555",
            }
        ]
    )
    row, body = one(result)
    assert row["email_1"] is None and row["phone_1"] is None
    assert "emails" not in body["customer"] and "phoneNumbers" not in body["customer"]


def test_dealer_domains_and_phones_are_placeholders() -> None:
    rows = [
        {"email_1": "sales@smithtoyota.com", "phone_1": "310-555-0199", "created_at": "2024-01-01"},
        {"email_1": "sales@smithtoyota.com", "phone_1": "310-555-0199", "created_at": "2023-01-01"},
        {"email_1": "kim@aol.com", "phone_1": "310 555 0142", "created_at": "2010-01-01"},
    ]
    plain = one(run(rows))[0]
    assert plain["email_1"] == "sales@smithtoyota.com"  # the most frequent
    dealer = one(run(rows, dealer_domains=["smithtoyota.com"], dealer_phones=["(310) 555-0199"]))[0]
    assert (dealer["email_1"], dealer["phone_1"]) == ("kim@aol.com", "+13105550142")


# --------------------------------------------------------------------------- unions


def test_phones_emails_and_vins_are_unions_with_one_preferred() -> None:
    result = run(
        [
            {
                "phone_1": "(310) 555-0100",
                "phone_2": "213.555.0111",
                "email_1": "Ann.Lee@Gmail.com",
                "vin_1": FULL,
                "created_at": "2020-01-01",
            },
            {
                "phone_1": "+1 310 555 0100",
                "phone_2": "(818) 555-0123",
                "email_1": "annlee@gmail.com",  # the same Gmail mailbox
                "email_2": "ann@acmecorp.com",
                "vin_1": OTHER_FULL,
                "created_at": "2022-01-01",
            },
            {
                "phone_1": "3105550100",
                "email_1": "ann@acmecorp.com",
                "created_at": "2021-01-01",
            },
        ]
    )
    row, body = one(result)
    customer = body["customer"]
    phones = customer["phoneNumbers"]
    assert sorted(p["phoneNumber"] for p in phones) == [
        "+12135550111",
        "+13105550100",
        "+18185550123",
    ]
    assert [p["phoneNumber"] for p in phones if p["isPreferred"]] == ["+13105550100"]
    assert phones[0]["isPreferred"] and row["phone_1"] == "+13105550100"
    emails = customer["emails"]
    assert len(emails) == 2 and sum(e["isPreferred"] for e in emails) == 1
    # Two mailboxes seen twice each: the tie goes to the newest record's first email,
    # in the form that record wrote.
    assert emails[0]["emailAddress"] == row["email_1"] == "annlee@gmail.com"
    assert row["email_2"] == "ann@acmecorp.com"
    assert sorted(v["vin"] for v in body["vehicles"]) == sorted([FULL, OTHER_FULL])
    assert (row["vin_1"], row["vin_2"]) == (OTHER_FULL, FULL)  # most recently seen first
    assert len(prov(result, "phone")) == 3 and len(prov(result, "vin")) == 2


def test_partial_vins_fold_into_the_full_vin_they_end() -> None:
    result = run(
        [
            {"vin_1": FULL, "created_at": "2015-01-01"},
            {"vin_1": FULL[-8:], "vin_2": "ZZ123456", "created_at": "2024-01-01"},
        ]
    )
    vehicles = one(result)[1]["vehicles"]
    assert sorted(v["vin"] for v in vehicles) == sorted([FULL, "ZZ123456"])


def test_a_vin_typo_folds_into_the_vin_with_the_right_check_digit() -> None:
    typo = FULL[:15] + FULL[16] + FULL[15]  # two neighbours swapped
    assert vin_check_digit_ok(FULL) and not vin_check_digit_ok(typo)
    result = run(
        [{"vin_1": typo, "created_at": "2024-01-01"}, {"vin_1": FULL, "created_at": "2015-01-01"}]
    )
    assert one(result)[1]["vehicles"] == [{"vin": FULL}]
    # Two different valid VINs stay two vehicles.
    both = run([{"vin_1": FULL}, {"vin_1": OTHER_FULL}])
    assert len(one(both)[1]["vehicles"]) == 2


# --------------------------------------------------------------------------- shape


def test_golden_shape_counts_ids_and_dates() -> None:
    result = run(
        [
            {
                "cluster": "B",
                "first_name": "Al",
                "last_name": "Ng",
                "created_at": "2019-02-03 04:05:06",
            },
            {"cluster": "A", "first_name": "Bea", "last_name": "Ode", "created_at": "2021-01-01"},
            {"cluster": "B", "first_name": "Al", "last_name": "Ng", "created_at": "2017-01-01"},
            {"cluster": "B", "first_name": "Al", "last_name": "Ng", "created_at": ""},
        ]
    )
    g = result.golden
    assert tuple(g.columns) == GOLDEN_COLUMNS
    assert g["cluster_id"].tolist() == ["A", "B"] == result.golden_cluster_ids
    assert g["record_count"].tolist() == [1, 3]
    assert g["source_record_ids"].tolist() == ["R2", "R1;R3;R4"]
    b = g.set_index("cluster_id").loc["B"]
    assert (b["created_at"], b["updated_at"]) == (
        pd.Timestamp("2017-01-01"),
        pd.Timestamp("2019-02-03 04:05:06"),
    )
    for body in result.golden_json:
        assert set(body) <= {"customer", "vehicles"}  # nothing the API does not know
        json.dumps(body)


def test_a_cluster_without_any_name_is_still_emitted_and_reported() -> None:
    result = run(
        [
            {"cluster": "X", "phone_1": "3105550100"},
            {"cluster": "Y", "first_name": "Al", "last_name": "Ng"},
        ]
    )
    assert result.golden_cluster_ids == ["X", "Y"]
    body = one(result, "X")[1]
    assert body["customer"]["isBusiness"] is False
    issues = result.issues
    assert set(issues.columns) >= {"cluster_id", "path", "message"}
    assert sorted(issues.loc[issues["cluster_id"] == "X", "path"]) == [
        "customer.firstName",
        "customer.lastName",
    ]
    assert (issues["cluster_id"] != "Y").all()


def test_a_company_without_person_names_is_a_valid_business() -> None:
    result = run([{"company": "Acme Fleet LLC", "phone_1": "3105550100"}])
    customer = one(result)[1]["customer"]
    assert (customer["company"], customer["isBusiness"]) == ("Acme Fleet LLC", True)
    assert result.issues.empty


def test_a_partial_vin_left_alone_is_a_warning() -> None:
    result = run([{"first_name": "Al", "last_name": "Ng", "vin_1": "ZZ123456"}])
    assert result.issues[["path", "severity"]].values.tolist() == [["vehicles[0].vin", "warning"]]


def test_empty_input_gives_empty_output() -> None:
    result = run([])
    assert result.golden.empty and result.golden_json == [] and result.provenance.empty
    assert tuple(result.golden.columns) == GOLDEN_COLUMNS


def test_missing_columns_are_allowed() -> None:
    records = pd.DataFrame(
        {"record_id": ["a", "b"], "first_name": ["Al", "AL"], "last_name": ["Ng", "Ng"]}
    )
    clusters = pd.DataFrame({"record_id": ["b", "a"], "cluster_id": [7, 7]})  # another order
    result = golden_records(
        records, clusters, rules=SurvivorshipRules(default="longest", fields={})
    )
    assert result.golden_cluster_ids == [7]
    assert one(result, 7)[0]["first_name"] == "Al"


@pytest.mark.parametrize(
    ("records", "clusters", "match"),
    [
        ({"record_id": ["a", "a"]}, {"record_id": ["a", "b"], "cluster_id": [1, 2]}, "repeated"),
        ({"record_id": ["a", "b"]}, {"record_id": ["a"], "cluster_id": [1]}, "no cluster"),
        ({"record_id": ["a"]}, {"record_id": ["a", "z"], "cluster_id": [1, 2]}, "not in records"),
        ({"record_id": ["a"]}, {"record_id": ["a", "a"], "cluster_id": [1, 1]}, "more than once"),
        ({"id": ["a"]}, {"record_id": ["a"], "cluster_id": [1]}, "record_id"),
        ({"record_id": ["a"]}, {"record_id": ["a"]}, "cluster_id"),
    ],
)
def test_bad_inputs_are_explained(records: dict, clusters: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        golden_records(pd.DataFrame(records), pd.DataFrame(clusters))


def test_norm_must_be_aligned() -> None:
    records, clusters = make([{"first_name": "Al"}, {"first_name": "Bo"}])
    with pytest.raises(ValueError, match="aligned"):
        golden_records(records, clusters, norm=normalize_frame(records.iloc[::-1]))


# --------------------------------------------------------------------------- rules


def test_default_rules_are_the_documented_ones() -> None:
    rules = SurvivorshipRules()
    assert dict(rules.fields) == dict(DEFAULT_FIELD_RULES)
    assert set(rules.fields) == set(RULE_FIELDS)


def test_rules_round_trip_through_json() -> None:
    rules = SurvivorshipRules().with_rule("address", "first_seen").with_rule("email", "longest")
    text = json.dumps(rules.to_json())
    again = SurvivorshipRules.from_json(json.loads(text))
    assert again == rules and SurvivorshipRules.from_json(text) == rules
    assert again.rule_for("address") == "first_seen"
    assert hash(again) == hash(rules)
    with pytest.raises(TypeError):
        rules.fields["phone"] = "longest"  # type: ignore[index]


def test_rules_change_per_field() -> None:
    changed = SurvivorshipRules().with_rule("first_name", "first_seen")
    assert changed.rule_for("first_name") == "first_seen"
    assert {f: r for f, r in changed.fields.items() if f != "first_name"} == {
        f: r for f, r in DEFAULT_FIELD_RULES.items() if f != "first_name"
    }
    # Fields a config does not name use its default.
    partial = SurvivorshipRules.from_json(
        {"default": "first_seen", "fields": {"phone": "most_recent"}}
    )
    assert (
        partial.rule_for("phone") == "most_recent" and partial.rule_for("last_name") == "first_seen"
    )
    assert SurvivorshipRules.from_json({}) == SurvivorshipRules()


@pytest.mark.parametrize(
    "config",
    [
        {"default": "newest"},
        {"fields": {"adress": "most_recent"}},
        {"fields": {"phone": "oldest"}},
        {"defaults": "most_recent"},
        [],
    ],
)
def test_bad_rules_raise(config: Any) -> None:
    with pytest.raises(ValueError):
        SurvivorshipRules.from_json(config)


# --------------------------------------------------------------------------- shortcuts


EMAILS = st.one_of(
    st.sampled_from(
        [
            "none@none.com",
            "no.email2@dealer.com",
            "x@sub.test.com",
            "noemail+x@gmail.com",
            "N.O.N.E@yahoo.com",
            "anna@smithtoyota.com",
            "ANNA@SUB.SMITHTOYOTA.COM",
            "decline@aol.com",
            "j.doe+cars@gmail.com",
            "jdoe@googlemail.com",
            "bob+1@outlook.com",
            "bob@outlook.com",
            "bob+1@yahoo.com",
        ]
    ),
    st.builds(
        "{}@{}".format,
        st.text("abcnoemailx._+-0123456789", min_size=1, max_size=12),
        st.sampled_from(["gmail.com", "none.com", "x.none.com", "icloud.com", "example.org"]),
    ),
)


_DEALER = ["smithtoyota.com"]


def _check_placeholder_shortcut(cells: list[str]) -> np.ndarray:
    """The distinct normalized addresses of ``cells``; asserts golden's placeholder
    shortcut flags them as the emails module does."""
    addresses = np.array(sorted({a for a in map(email, cells) if a}), dtype=object)
    if len(addresses):
        expected = is_placeholder_email_series(pd.Series(addresses, dtype=object), _DEALER).to_numpy()
        assert golden_module._placeholder_emails(addresses, _DEALER).tolist() == expected.tolist()
    return addresses


@settings(max_examples=150, deadline=None)
@given(st.lists(EMAILS, min_size=1, max_size=20))
def test_email_shortcuts_agree_with_the_emails_module(cells: list[str]) -> None:
    addresses = _check_placeholder_shortcut(cells)
    if not len(addresses):
        return
    keys = email_match_key_series(pd.Series(addresses, dtype=object)).tolist()
    assert golden_module._mailboxes(addresses).tolist() == keys


# --------------------------------------------------------------------------- properties

FIRST = ["Anne", "ANNE", "anne", "Ann", "José", "Jose", "N/A", "", "Bob", "Robert"]
LAST = ["Smith", "SMITH", "Smyth", "O'Neil", "", "unknown"]
PHONES = ["(310) 555-0100", "310.555.0100", "213-555-0111", "000-000-0000", "", "+44 20 7946 0958"]
MAILS = [
    "ann@example.org",
    "ANN@example.org ",
    "noemail@dealer.com",
    "a.nn@gmail.com",
    "ann@gmail.com",
    "",
]
VINS = [FULL, FULL[-8:], OTHER_FULL, "ZZ123456", FULL[:15] + FULL[16] + FULL[15], "N/A", ""]
STREETS = [
    ("12 Oak St", "", "Springfield", "IL", "62701"),
    ("12 OAK STREET", "", "springfield", "il", "62701"),
    ("9 Elm Rd", "Apt 2", "Denver", "CO", "80202"),
    ("", "", "Boise", "ID", ""),
    ("", "", "", "", ""),
]
DATES = ["2015-01-01", "2020-06-30 12:00:00", "2020-06-30 12:00:00", "", "07/04/2019", "garbage"]

RECORD = st.fixed_dictionaries(
    {
        "cluster": st.sampled_from(["c1", "c2", "c3", "c4"]),
        "first_name": st.sampled_from(FIRST),
        "middle_name": st.sampled_from(["", "A", "Anne", "a."]),
        "last_name": st.sampled_from(LAST),
        "company": st.sampled_from(["", "", "Acme Inc", "ACME, INC."]),
        "customer_key": st.sampled_from(["", "K1", "K2", " K1 "]),
        "phone_1": st.sampled_from(PHONES),
        "phone_2": st.sampled_from(PHONES),
        "email_1": st.sampled_from(MAILS),
        "email_2": st.sampled_from(MAILS),
        "vin_1": st.sampled_from(VINS),
        "vin_2": st.sampled_from(VINS),
        "address": st.sampled_from(STREETS),
        "created_at": st.sampled_from(DATES),
    }
)


def _expand(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        row = dict(row)
        parts = row.pop("address")
        keys = ("address_line1", "address_line2", "city", "state", "postal_code")
        row.update(dict(zip(keys, parts, strict=True)))
        out.append(row)
    return out


def _strip(value: Any) -> Any:
    return value.strip() or None if isinstance(value, str) else None


def carried(records: pd.DataFrame, clusters: pd.DataFrame) -> set[tuple[Any, str, str, Any]]:
    """(cluster, field, value, record) for every value a record carries, as golden
    records hold them: names and keys as written (trimmed), phones, emails and VINs
    normalized, the address as its written parts joined by ", "."""
    norm = normalize_frame(records)
    cluster_of = dict(zip(clusters["record_id"], clusters["cluster_id"], strict=True))
    rids = records["record_id"].tolist()
    out: set[tuple[Any, str, str, Any]] = set()

    def add(field: str, values: Any) -> None:
        for rid, value in zip(rids, values, strict=True):
            if isinstance(value, str) and value:
                out.add((cluster_of[rid], field, value, rid))

    for col in ("first_name", "middle_name", "last_name", "company", "customer_key"):
        add(col, records[col].map(_strip))
    for field, cols in (
        ("phone", ("phone_1", "phone_2")),
        ("email", ("email_1", "email_2")),
        ("vin", ("vin_1", "vin_2", "vin_3")),
    ):
        for col in cols:
            add(field, norm[col])
    parts = [
        tuple(_strip(v) for v in row)
        for row in records[list(ADDRESS_COLUMNS)].itertuples(index=False)
    ]
    add("address", [", ".join(filter(None, row)) for row in parts])
    add("address_parts", ["\x1f".join(map(str, row)) for row in parts])
    return out


def check_survivors(records: pd.DataFrame, clusters: pd.DataFrame, result: GoldenRecords) -> None:
    """Every surviving value is one a record of its cluster carries, and every
    provenance row points at a record of the cluster that carries its value."""
    facts = carried(records, clusters)
    by_value = {(c, f, v) for c, f, v, _ in facts}
    golden = result.golden
    for col, field in (
        ("first_name", "first_name"),
        ("middle_name", "middle_name"),
        ("last_name", "last_name"),
        ("company", "company"),
        ("customer_key", "customer_key"),
        ("phone_1", "phone"),
        ("phone_2", "phone"),
        ("email_1", "email"),
        ("email_2", "email"),
        ("vin_1", "vin"),
    ):
        for cluster, value in zip(golden["cluster_id"], golden[col], strict=True):
            if pd.notna(value):
                assert (cluster, field, value) in by_value, (cluster, col, value)
    address = golden[list(ADDRESS_COLUMNS)]
    for cluster, row in zip(golden["cluster_id"], address.itertuples(index=False), strict=True):
        row = [None if pd.isna(v) else v for v in row]  # missing text reads NaN
        if any(v is not None for v in row):  # all six parts from one record
            assert (cluster, "address_parts", "\x1f".join(map(str, row))) in by_value
    for p in result.provenance.astype(object).itertuples(index=False):
        assert (p.cluster_id, p.field, p.value, p.record_id) in facts, p


def check_json(result: GoldenRecords) -> None:
    for body in result.golden_json:
        customer = body["customer"]
        for key in ("phoneNumbers", "emails", "addresses"):
            if key in customer:
                assert sum(item["isPreferred"] for item in customer[key]) == 1
                assert customer[key][0]["isPreferred"]
        CustomerRequest.from_json(body)  # parses


def canonical(result: GoldenRecords) -> tuple[Any, ...]:
    prov = result.provenance.astype(object).sort_values(
        ["cluster_id", "field", "value", "record_id"]
    )
    issues = result.issues.astype(object).sort_values(list(result.issues.columns))
    return (
        result.golden.to_dict("records"),
        result.golden_json,
        result.golden_cluster_ids,
        prov.to_dict("records"),
        issues.to_dict("records"),
    )


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(st.lists(RECORD, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_properties_one_golden_per_cluster_real_values_row_order_free(
    rows: list[dict[str, Any]], rnd: Any
) -> None:
    records, clusters = make(_expand(rows))
    result = golden_records(records, clusters)
    # Exactly one golden record per cluster, in every output.
    expected = sorted(clusters["cluster_id"].unique())
    assert result.golden["cluster_id"].tolist() == expected == result.golden_cluster_ids
    assert len(result.golden_json) == len(expected)
    assert result.golden["record_count"].sum() == len(records)
    check_survivors(records, clusters, result)
    check_json(result)
    # Shuffled records (and cluster rows) give the same result.
    order = list(range(len(records)))
    rnd.shuffle(order)
    shuffled = golden_records(
        records.iloc[order].reset_index(drop=True), clusters.sample(frac=1, random_state=1)
    )
    assert canonical(shuffled) == canonical(result)


@PROPERTY_SETTINGS
@given(
    st.lists(RECORD, min_size=1, max_size=8),
    st.fixed_dictionaries({f: st.sampled_from(RULES) for f in RULE_FIELDS}),
)
def test_properties_hold_for_any_rules(rows: list[dict[str, Any]], fields: dict[str, str]) -> None:
    records, clusters = make(_expand(rows))
    result = golden_records(records, clusters, rules=SurvivorshipRules(fields=fields))
    assert result.golden_cluster_ids == sorted(clusters["cluster_id"].unique())
    check_survivors(records, clusters, result)
    check_json(result)


# --------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame, GoldenRecords]:
    records = pd.read_csv(SAMPLE / "customers.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLE / "truth.csv", dtype=str, keep_default_na=False)
    clusters = truth.rename(columns={"entity_id": "cluster_id"})
    return records, clusters, golden_records(records, clusters)


def test_sample_gives_one_golden_record_per_entity(sample: Any) -> None:
    records, clusters, result = sample
    entities = clusters["cluster_id"].nunique()
    assert len(result.golden) == len(result.golden_json) == entities
    assert result.golden["record_count"].sum() == len(records)
    check_json(result)


def test_sample_golden_json_is_valid_except_where_sources_lacked_names(sample: Any) -> None:
    records, clusters, result = sample
    # The issues are exactly what validating every entry in full finds.
    full = sorted(
        (cluster, issue.path, issue.message, issue.severity)
        for cluster, body in zip(result.golden_cluster_ids, result.golden_json, strict=True)
        for issue in CustomerRequest.from_json(body).validate()
    )
    assert sorted(result.issues.itertuples(index=False, name=None)) == full
    errors = result.issues[result.issues["severity"] == "error"]
    assert set(errors["path"]) <= {"customer.firstName", "customer.lastName"}
    frame = records.merge(clusters, on="record_id")
    for path, column in (("customer.firstName", "first_name"), ("customer.lastName", "last_name")):
        lacking = set(errors.loc[errors["path"] == path, "cluster_id"])
        for cluster in lacking:
            mine = frame[frame["cluster_id"] == cluster]
            assert mine[column].map(name).isna().all(), (cluster, column)
            assert not mine["company"].str.strip().astype(bool).any()


def test_sample_survivors_come_from_their_cluster(sample: Any) -> None:
    records, clusters, result = sample
    check_survivors(records, clusters, result)


# --------------------------------------------------------------------------- lazy bodies, shortcuts


def same_result(a: GoldenRecords, b: GoldenRecords) -> None:
    """Identical outputs (frames with their dtypes and categories, bodies, issues)."""
    pd.testing.assert_frame_equal(a.golden, b.golden)
    assert list(a.golden_json) == list(b.golden_json)
    assert a.golden_cluster_ids == b.golden_cluster_ids
    pd.testing.assert_frame_equal(a.provenance, b.provenance)
    pd.testing.assert_frame_equal(a.issues, b.issues)


def test_golden_json_behaves_as_the_list_of_bodies(sample: Any) -> None:
    bodies = sample[2].golden_json
    listed = list(bodies)
    assert isinstance(bodies, Sequence) and len(bodies) == len(listed) > 100
    assert bodies[0] == listed[0] and bodies[-1] == listed[-1] and bodies[np.int64(7)] == listed[7]
    assert bodies[10:20] == listed[10:20] and bodies[::97] == listed[::97] and bodies[5:2] == []
    assert bodies == listed and listed == bodies and bodies == tuple(listed)
    assert bodies != listed[:-1] and bodies != [*listed[:-1], {"customer": {}}]
    assert bodies.to_list() == listed and [b for b in bodies] == listed
    with pytest.raises(IndexError):
        bodies[len(bodies)]
    assert bodies[0] is not bodies[0]  # built on access: each time a new dict


def _jsonl(bodies: Any) -> str:
    out = io.StringIO()
    write_jsonl(bodies, out)
    return out.getvalue()


def test_json_lines_are_json_dumps_of_each_body(sample: Any) -> None:
    bodies = sample[2].golden_json
    expected = "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies)
    assert "".join(bodies.jsonl(chunk=137)) == expected
    assert _jsonl(bodies) == expected == _jsonl(list(bodies))


TEXT = st.text(
    st.characters(blacklist_categories=("Cs",))
    | st.sampled_from('"\\\x00\x01\x1f\x7f\u2028é🚗 '),
    max_size=12,
)


def text_rows(**fields: Any) -> st.SearchStrategy[list[dict[str, Any]]]:
    """1 to 8 records of ``fields`` in clusters c1..c3."""
    return st.lists(
        st.fixed_dictionaries({"cluster": st.sampled_from(["c1", "c2", "c3"]), **fields}),
        min_size=1,
        max_size=8,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text_rows(
        customer_key=TEXT,
        company=TEXT,
        last_name=TEXT,
        address_line1=TEXT,
        address_line2=TEXT,
        city=TEXT,
        phone_1=st.sampled_from(PHONES),
        email_1=st.sampled_from(MAILS),
        vin_1=st.sampled_from(VINS),
    )
)
def test_json_lines_escape_as_json_dumps_does(rows: list[dict[str, Any]]) -> None:
    records, clusters = make(rows)
    for frame in (records, records.astype("str")):  # object and Arrow-backed text
        bodies = golden_records(frame, clusters).golden_json
        expected = "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies)
        assert "".join(bodies.jsonl(chunk=2)) == expected


def test_json_lines_of_text_arrow_cannot_hold_are_built_from_the_dicts() -> None:
    result = run([{"company": "Acme", "phone_1": "3105550100"}])
    result.golden_json._names["company"][0] = "Ac\ud800me"  # a lone surrogate
    expected = json.dumps(result.golden_json[0], ensure_ascii=False) + "\n"
    assert "".join(result.golden_json.jsonl()) == expected


def _prepared(records: pd.DataFrame, clusters: pd.DataFrame) -> tuple[Any, pd.DataFrame]:
    from matching.pipeline.prepare import prepare

    prep = prepare(records)
    by_id = clusters.set_index("record_id")["cluster_id"]
    ids = prep.records["record_id"]
    ordered = pd.DataFrame({"record_id": ids, "cluster_id": by_id.loc[ids].to_numpy()})
    return prep, ordered


def test_prepared_frames_give_the_same_golden_records(sample: Any) -> None:
    records, clusters, _ = sample
    prep, ordered = _prepared(records, clusters)
    fast = golden_records(prep.records, ordered, norm=prep.norm, norm_email_keys=True)
    same_result(fast, golden_records(prep.records, ordered))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(RECORD, min_size=1, max_size=10),
    st.fixed_dictionaries({f: st.sampled_from(RULES) for f in RULE_FIELDS}),
)
def test_codes_and_released_columns_give_the_same_golden_records(
    rows: list[dict[str, Any]], fields: dict[str, str]
) -> None:
    """dedupe's inputs (prepare's codes instead of most values, each column let go once
    read) give what the prepared frame gives, whatever the rules."""
    from matching.pipeline.dedupe import _golden_inputs

    records, clusters = make(_expand(rows))
    prep, ordered = _prepared(records.astype("str"), clusters)
    rules = SurvivorshipRules(fields=fields)
    full = golden_records(prep.records, ordered, norm=prep.norm, rules=rules, norm_email_keys=True)
    values, codes = _golden_inputs(prep)
    lean = golden_records(prep.records, ordered, norm=values, rules=rules, norm_codes=codes,
                          norm_email_keys=True, release_norm=True)
    assert not values and not codes
    same_result(lean, full)


@pytest.mark.parametrize("fields", [{}, dict.fromkeys(RULE_FIELDS, "longest"), dict.fromkeys(RULE_FIELDS, "most_frequent")])
def test_vehicles_and_addresses_on_a_second_thread_give_the_same_golden_records(
    sample: Any, fields: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file builds vehicles and addresses on a second thread (here: any file, the
    threshold lowered to 0); the results are those of one thread, in the same order."""
    import matching.pipeline.golden as golden_module
    from matching.pipeline.dedupe import _golden_inputs

    records, clusters, _ = sample
    prep, ordered = _prepared(records, clusters)
    rules = SurvivorshipRules(fields=fields)
    results = {}
    for threshold in (10**9, 0):
        monkeypatch.setattr(golden_module, "_THREAD_MIN_RECORDS", threshold)
        values, codes = _golden_inputs(prep)
        results[threshold] = golden_records(prep.records, ordered, norm=values, rules=rules, norm_codes=codes,
                                            norm_email_keys=True, release_norm=True)
        assert not values and not codes  # every column let go, on either thread
    one, two = results[10**9], results[0]
    same_result(two, one)
    # Same order too: the golden frame's columns, and provenance row by row.
    assert list(two.golden.columns) == list(one.golden.columns)
    pd.testing.assert_frame_equal(two.provenance, one.provenance)
    assert set(two.stats["seconds"]) == set(one.stats["seconds"])
    # Provenance comes field by field, in the order the steps run on one thread.
    order = ["first_name", "middle_name", "last_name", "company", "customer_key", "phone", "email", "vin", "address"]
    assert list(dict.fromkeys(two.provenance["field"].astype(str))) == order


FOLDING = st.builds(
    "{}{}{}@{}{}".format,
    st.sampled_from(["", " ", "<", "John <", '"']),
    st.text("abJD.x+-_1é", min_size=1, max_size=8),
    st.sampled_from(["", "+cars", ".", "+"]),
    st.sampled_from(
        ["gmail.com", "GMail.com", "googlemail.com", "outlook.com", "icloud.com", "yahoo.com"]
        + ["bücher.de", "xn--bcher-kva.de"]
    ),
    st.sampled_from(["", ">", " ", ".", '"']),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "cluster": st.sampled_from(["c1", "c2", "c3"]),
                "first_name": st.sampled_from(FIRST),
                "email_1": FOLDING | st.sampled_from(MAILS),
                "email_2": FOLDING | st.sampled_from(["", "n/a", "none"]),
            }
        ),
        min_size=1,
        max_size=8,
    )
)
@example(rows=[{"cluster": "c1", "first_name": "Anne", "email_1": "1@googlemail.com", "email_2": ""}])
def test_email_match_keys_in_norm_give_the_same_golden_records(rows: list[dict[str, Any]]) -> None:
    records, clusters = make(rows)
    for frame in (records, records.astype("str")):  # the shortcut reads Arrow text
        prep, ordered = _prepared(frame, clusters)
        fast = golden_records(prep.records, ordered, norm=prep.norm, norm_email_keys=True)
        same_result(fast, golden_records(prep.records, ordered))


def test_provenance_does_not_depend_on_row_order(sample: Any) -> None:
    records, clusters, result = sample
    shuffled = records.sample(frac=1, random_state=3).reset_index(drop=True)
    other = golden_records(shuffled, clusters.sample(frac=1, random_state=4))
    same_result(other, result)
    categories = result.provenance["record_id"].cat.categories
    assert categories.tolist() == sorted(records["record_id"])


@given(st.text("ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=17, max_size=17))
def test_check_digits_agree_with_the_vins_module(text: str) -> None:
    cleaned = vin(text)
    if cleaned is None or len(cleaned) != 17:
        return
    chars = np.frombuffer(cleaned.encode("ascii"), dtype=np.uint8).reshape(1, 17)
    assert bool(golden_module._check_digit_ok(chars)[0]) == vin_check_digit_ok(cleaned)


def test_check_digits_of_known_vins() -> None:
    chars = np.frombuffer((FULL + OTHER_FULL + FULL[:15] + FULL[16] + FULL[15]).encode(), np.uint8)
    assert golden_module._check_digit_ok(chars.reshape(3, 17)).tolist() == [True, True, False]


PLACEHOLDER_LIKE = st.builds(
    "{}{}@{}".format,
    st.builds(
        lambda word, junk, seed: "".join(
            ch + (junk[(seed + i) % len(junk)] if (seed >> i) & 1 else "")
            for i, ch in enumerate(word)
        ),
        st.sampled_from(sorted(PLACEHOLDER_EMAIL_LOCAL_PARTS)),
        st.text("0123456789._-/!#$%&'*=?^`{|}~", min_size=1, max_size=3),
        st.integers(0, 2**16),
    ),
    st.sampled_from(["", "+x", "+no.ne", "9"]),
    st.sampled_from(["gmail.com", "mail.none.com", "none.com.au", "smithtoyota.com", "x.test.com"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(PLACEHOLDER_LIKE | EMAILS, min_size=1, max_size=20))
def test_placeholder_shortcut_agrees_on_placeholder_like_addresses(cells: list[str]) -> None:
    addresses = _check_placeholder_shortcut(cells)
    if not len(addresses):
        return
    # The one-address-at-a-time quick test flags exactly what the pattern does.
    letters = golden_module._NOT_LETTERS
    locals_ = {p.lower().translate(letters) for p in PLACEHOLDER_EMAIL_LOCAL_PARTS}
    domains = {d.lower() for d in (*golden_module.PLACEHOLDER_EMAIL_DOMAINS, *_DEALER)}
    quick = golden_module._maybe_placeholders(addresses, locals_, domains)
    pattern = golden_module._maybe_placeholder_pattern(locals_, domains)
    flagged = pc.match_substring_regex(pa.array(addresses, pa.string()), pattern)
    assert quick.tolist() == flagged.to_numpy(zero_copy_only=False).tolist()


def test_plain_timestamps_read_as_pandas_does() -> None:
    """The numpy reading of "YYYY-MM-DD HH:MM:SS" cells gives what pandas gives, and
    leaves every other spelling to pandas."""
    from matching.pipeline.golden import _parse_dates, _parse_dates_pandas

    cells = [
        "2011-09-08 14:50:58", "2000-02-29T00:00:00", "1900-03-01 23:59:59",
        "2199-12-31 23:59:59", "2001-02-29 00:00:00", None, "05/31/2014 5:45 PM",
        "2011-09-08 14:50:60", "2011-09-08 14:50:58+02:00", "1850-01-01 00:00:00",
        "2024-13-01 00:00:00", " 2011-09-08 14:50:58", "2100-02-29 00:00:00",
        "2000-01-01 24:00:00", "2011/09/08 14:50:58",
    ]
    rng = np.random.default_rng(0)
    ns = rng.integers(pd.Timestamp("1899-12-25").value, pd.Timestamp("2200-01-05").value, 2000)
    cells += list(pd.to_datetime(ns // 10**9 * 10**9).strftime("%Y-%m-%d %H:%M:%S"))
    for values in (cells, [c for c in cells if c is not None and len(c) == 19]):
        text = pd.Series(values, dtype="str")
        assert (_parse_dates(text, len(text)) == _parse_dates_pandas(text)).all()


def test_short_ids_sort_as_text() -> None:
    """Cluster ids of up to 8 bytes are coded as integers: codes and ids as pandas'
    sorted factorization gives them, whatever their lengths and order."""
    from matching.pipeline.golden import _sorted_codes

    ids = pd.Series(["R10", "R1", "é9", "R2", "R1", "Z", "", "R10", "12345678"], dtype="str")
    codes, uniques = _sorted_codes(ids)
    expected_codes, expected = pd.factorize(ids, sort=True)
    assert codes.tolist() == expected_codes.tolist()
    assert list(uniques) == list(expected) and uniques.dtype == expected.dtype


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text_rows(
        customer_key=TEXT,
        first_name=TEXT,
        last_name=TEXT,
        address_line1=TEXT,
        city=TEXT,
        postal_code=TEXT,
        phone_1=st.sampled_from(PHONES),
    )
)
def test_golden_text_is_pandas_str_whether_the_records_are_objects_or_arrow(
    rows: list[dict[str, Any]],
) -> None:
    """The golden frame's text columns are pandas' Arrow-backed ``str`` (missing = NaN),
    gathered by Arrow from Arrow-backed records and converted from object records: the
    same frame either way."""
    records, clusters = make(rows)
    frames = [golden_records(frame, clusters).golden for frame in (records, records.astype("str"))]
    pd.testing.assert_frame_equal(frames[0], frames[1])
    text = [c for c in GOLDEN_COLUMNS if c not in ("cluster_id", "record_count", "created_at", "updated_at")]
    for frame in frames:
        for column in text:
            assert frame[column].dtype == pd.StringDtype("pyarrow", na_value=np.nan), column
            values = frame[column].array._pa_array
            assert pa.types.is_large_string(values.type)
            assert not pc.any(pc.equal(values, "")).as_py()  # empty text is missing (NaN)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.none() | TEXT, min_size=0, max_size=12),
    st.lists(st.integers(-1, 11), max_size=15),
    st.booleans(),
)
def test_arrow_take_reads_what_the_object_path_reads(
    cells: list[str | None], picks: list[int], dictionary: bool
) -> None:
    series = pd.Series(cells, dtype="str")
    text = golden_module._RawText(series, dictionary=dictionary)
    rows = np.array([p for p in picks if p < len(cells)], dtype=np.int64)
    got = text.arrow_take(rows)
    assert got is not None and got.type == pa.large_string()
    objects = text(np.where(rows < 0, 0, rows)) if len(cells) else np.full(len(rows), None, dtype=object)
    expected = [None if r < 0 else v for r, v in zip(rows.tolist(), objects.tolist(), strict=True)]
    assert got.to_pylist() == expected
    assert golden_module._RawText(series.astype(object), dictionary=dictionary).arrow_take(rows) is None
