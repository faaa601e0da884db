"""Tests for matching.io: reading dealer exports into the canonical columns."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.febrl import febrl_root, load_febrl
from matching.io import (
    Export,
    Mapping,
    MappingError,
    detect_mapping,
    load_mapping,
    read_export,
    write_csv_safe,
    write_rejects,
)
from matching.normalize.frame import CANONICAL_COLUMNS

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "data" / "io"


def write(tmp_path: Path, data: bytes | str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def read(tmp_path: Path, data: bytes | str, *args, **kwargs) -> Export:
    return read_export(write(tmp_path, data), *args, **kwargs)


def check_accounting(export: Export) -> None:
    """Every data row is a record or a reject, once."""
    assert export.source_rows == len(export.records) + len(export.rejects)
    lines = list(export.records.index) + list(export.rejects["line"])
    assert len(lines) == len(set(lines))
    assert list(export.records.columns[: len(CANONICAL_COLUMNS)]) == list(CANONICAL_COLUMNS)


# --------------------------------------------------------------------------------------
# Header detection
# --------------------------------------------------------------------------------------

SPELLINGS = {
    "first_name": ["first_name", "FirstName", "First Name", "fname", "first", "given_name",
                   "Cust First Name", "FIRST-NAME", "first.name", "Customer First Name", "Forename"],
    "last_name": ["last_name", "LastName", "lname", "surname", "Last Name", "family_name",
                  "SURNAME", "Cust Last Name"],
    "middle_name": ["middle_name", "middle", "MI", "Middle Initial", "Middle Name"],
    "company": ["company", "Company Name", "business_name", "organization", "Organisation",
                "Business"],
    "address_line1": ["address_line1", "address", "address1", "street", "Street Address",
                      "addr1", "Address Line 1", "ADDRESS_1", "Customer Address"],
    "address_line2": ["address_line2", "address2", "addr2", "Apt/Suite", "Address Line 2",
                      "Suite", "Apt #"],
    "city": ["city", "town", "City", "CITY_NAME", "suburb"],
    "state": ["state", "province", "st", "region", "State/Province", "ST"],
    "postal_code": ["postal_code", "zip", "zipcode", "zip code", "postcode", "Postal Code",
                    "ZIP_CODE", "Zip/Postal Code"],
    "country": ["country", "Country Code"],
    "record_id": ["record_id", "id", "Record ID", "rec_id", "ID", "Row ID", "cust_id",
                  "customer_id", "Customer ID"],
    "customer_key": ["customer_key", "customer key", "dms_id", "DMS Customer Number", "custno",
                     "Customer Number", "account_number", "Cust No", "Acct #"],
    "created_at": ["created_at", "created", "Created Date", "date_created", "Create Date",
                   "Date Added"],
    "phone_1": ["phone_1", "phone1", "Phone", "Home Phone", "Cell Phone", "mobile", "cell",
                "Work Phone", "telephone", "Phone Number", "Phone #", "Tel", "Mobile Phone"],
    "email_1": ["email_1", "email", "E-mail", "email_address", "Email Address", "EMAIL1",
                "Primary Email"],
    "vin_1": ["vin", "vin_1", "VIN1", "Vehicle VIN", "VIN Number", "Vehicle 1 VIN"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("header", "canonical"),
    [(h, c) for c, headers in SPELLINGS.items() for h in headers],
)
def test_detects_real_world_spellings(header: str, canonical: str) -> None:
    assert detect_mapping([header]).get(canonical) == header


@pytest.mark.parametrize(
    "header", ["Salesperson", "Notes", "phone_ext", "Phone Type", "Mail Stop", "Zip+4 Ext"]
)
def test_leaves_unknown_columns_unmapped(header: str) -> None:
    assert detect_mapping([header]) == {}


def test_phone_email_vin_families_fill_in_order_and_overflow() -> None:
    columns = ["Work Phone", "email", "Home Phone", "Cell", "E-mail 2", "Alt Email",
               "VIN", "vin2", "Vehicle VIN 3", "vin_4"]  # fmt: skip
    assert detect_mapping(columns) == {
        "phone_1": "Work Phone",
        "phone_2": "Home Phone",
        "email_1": "email",
        "email_2": "E-mail 2",
        "vin_1": "VIN",
        "vin_2": "vin2",
        "vin_3": "Vehicle VIN 3",
        "phone_3": "Cell",
        "email_3": "Alt Email",
        "vin_4": "vin_4",
    }


def test_most_specific_spelling_wins_then_leftmost() -> None:
    found = detect_mapping(["Address", "Address 1", "City", "Town", "State", "Region"])
    assert found["address_line1"] == "Address 1"
    assert found["city"] == "City"
    assert found["state"] == "State"
    assert detect_mapping(["Town", "City"])["city"] == "City"
    assert detect_mapping(["zip", "Zip Code"])["postal_code"] == "zip"  # same rank: leftmost


@pytest.mark.parametrize(
    ("columns", "record_id", "customer_key"),
    [
        (["id", "customer_id"], "id", "customer_id"),
        (["customer_id"], "customer_id", None),
        (["customer_id", "dms_id"], "customer_id", "dms_id"),
        (["record_id", "id", "customer_key"], "record_id", "customer_key"),
        (["id", "customer_id", "Customer Number"], "id", "Customer Number"),
        (["Customer Number"], None, "Customer Number"),
    ],
)
def test_id_rules(columns: list[str], record_id: str | None, customer_key: str | None) -> None:
    found = detect_mapping(columns)
    assert found.get("record_id") == record_id
    assert found.get("customer_key") == customer_key


def test_full_name_only_without_first_or_last() -> None:
    assert detect_mapping(["Customer Name", "Phone"])["full_name"] == "Customer Name"
    assert "full_name" not in detect_mapping(["Name", "First Name"])
    assert "full_name" not in detect_mapping(["Full Name", "Surname"])


def test_street_number_joins_address_line1() -> None:
    found = detect_mapping(["rec_id", "street_number", "address_1", "address_2"])
    assert found["address_line1"] == ["street_number", "address_1"]
    assert found["address_line2"] == "address_2"


def test_febrl_header_is_detected_like_its_mapping_file() -> None:
    febrl = json.loads((febrl_root() / "mapping.json").read_text())
    header = (febrl_root() / "dataset3.csv").read_text().splitlines()[0]
    found = detect_mapping([c.strip() for c in header.split(",")])
    assert found == febrl["columns"]


def test_full_name_column_is_split_with_normalized_parts(tmp_path: Path) -> None:
    export = read(tmp_path, 'id,Customer Name\n1,"SMITH, JOHN A JR"\n2,Dr. Mary Ann Lee\n3,\n')
    records = export.records
    assert records["first_name"].tolist() == ["john", "mary", np.nan]
    assert records["middle_name"].tolist() == ["a", "ann", np.nan]
    assert records["last_name"].tolist() == ["smith jr", "lee", np.nan]
    assert records["full_name"].tolist() == ["SMITH, JOHN A JR", "Dr. Mary Ann Lee", np.nan]
    assert export.mapping.full_name == "Customer Name"


# --------------------------------------------------------------------------------------
# Mapping files
# --------------------------------------------------------------------------------------


def test_mapping_file_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "Name,Phone,Other Phone,code\nAnn,111,222,A1\n")
    mapping_file = tmp_path / "m.json"
    mapping_file.write_text(json.dumps({
        "version": 1,
        "columns": {"record_id": "code", "first_name": "Name", "phone_1": "Other Phone"},
        "extra": {"home": ["Phone", "Other Phone"]},
    }))  # fmt: skip
    export = read_export(path, mapping_file)
    row = export.records.iloc[0]
    assert (row["record_id"], row["first_name"], row["phone_1"], row["home"]) == (
        "A1",
        "Ann",
        "222",
        "111 222",
    )
    assert pd.isna(row["phone_2"]) and pd.isna(row["last_name"])  # no detection mixed in
    assert export.unmapped_columns == []
    assert load_mapping(mapping_file) == export.mapping


def test_mapping_dict_and_flat_dict(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c,d\n1,x,5,6\n")
    flat = read_export(path, {"record_id": "a", "last_name": "b", "phone_3": "c", "full_name": "b"})
    assert flat.mapping.extra == {"phone_3": "c"}
    assert flat.records.iloc[0]["phone_3"] == "5"
    assert flat.unmapped_columns == ["d"]
    # full_name fills only the name parts the mapping leaves out.
    assert flat.records.iloc[0][["first_name", "last_name", "full_name"]].tolist() == [
        np.nan,
        "x",
        "x",
    ]
    # A mapping saved as a file reads back the same, and a Mapping object works as is.
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(flat.mapping.to_dict()))
    assert load_mapping(saved) == flat.mapping
    again = read_export(path, flat.mapping)
    pd.testing.assert_frame_equal(again.records, flat.records)
    # The detected mapping round-trips too.
    detected = read_export(write(tmp_path, "id,Phone,Cell,Mobile,Name\n1,1,2,3,Ann Lee\n"))
    assert (
        Mapping.from_dict(detect_mapping(["id", "Phone", "Cell", "Mobile", "Name"]))
        == detected.mapping
    )
    assert detected.records.iloc[0][["phone_3", "first_name", "last_name"]].tolist() == [
        "3",
        "ann",
        "lee",
    ]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"record_id": "a", "firstname": "b"},
            r"unknown canonical column\(s\) \['firstname'\].*first_name",
        ),
        ({"columns": {"record_id": "a", "zip": "b"}}, r"\['zip'\]"),
        ({"record_id": "a", "last_name": "Surname"}, r"\['Surname'\] not found.*\['a', 'b'\]"),
        ({"columns": {"record_id": "a"}, "extra": {"x": ["b", "nope"]}}, r"\['nope'\] not found"),
        ({"version": 2, "columns": {}}, "unsupported version 2"),
        ({"columns": {"record_id": 5}}, "must map to a source column"),
        ({"columns": {}, "extra": {"city": "a"}}, "canonical, reserved or empty"),
        ({"columns": {}, "colums": {}}, "unknown keys"),
    ],
)
def test_mapping_errors_name_the_problem(tmp_path: Path, mapping: dict, message: str) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(MappingError, match=message):
        read_export(path, mapping)


def test_mapping_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MappingError, match="bad.json"):
        load_mapping(bad)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"version": 1, "columns": {"zipcode": "zip"}}))
    with pytest.raises(MappingError, match=r"unknown.json.*\['zipcode'\]"):
        load_mapping(unknown)


def test_missing_source_error_names_the_export(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(MappingError, match=re.escape(str(path))):
        read_export(path, {"record_id": "id"})


# --------------------------------------------------------------------------------------
# Encodings, delimiters, line endings
# --------------------------------------------------------------------------------------

ROWS = "id,first_name,last_name\r\n1,José,Müller\r\n2,Zoë,Ñúñez\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ROWS.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + ROWS.encode("utf-8"), "utf-8-sig"),
        (ROWS.encode("cp1252"), "cp1252"),
        (ROWS.encode("latin-1"), "cp1252"),  # Latin-1 letters are the same bytes in cp1252
        (ROWS.encode("utf-16"), "utf-16"),
    ],
)
def test_encodings_are_detected(tmp_path: Path, data: bytes, encoding: str) -> None:
    export = read(tmp_path, data)
    assert export.encoding == encoding
    assert export.records["first_name"].tolist() == ["José", "Zoë"]
    assert export.records["last_name"].tolist() == ["Müller", "Ñúñez"]
    assert list(export.records.columns[:3]) == ["record_id", "customer_key", "first_name"]
    assert export.records["record_id"].tolist() == ["1", "2"]  # no BOM left in the header


def test_cp1252_only_characters(tmp_path: Path) -> None:
    export = read(tmp_path, "id,company\n1,Smith’s “Autos” – €5\n".encode("cp1252"))
    assert export.encoding == "cp1252"
    assert export.records["company"].iloc[0] == "Smith’s “Autos” – €5"


def test_explicit_encoding_wins(tmp_path: Path) -> None:
    data = "id,first_name\n1,Ã©\n".encode()  # valid UTF-8, but say it is latin-1
    export = read(tmp_path, data, encoding="latin-1")
    assert export.encoding == "iso8859-1"
    assert export.records["first_name"].iloc[0] == "Ã\x83Â©"


def test_latin1_explicit_matches_cp1252_letters(tmp_path: Path) -> None:
    export = read(tmp_path, ROWS.encode("latin-1"), encoding="latin-1")
    assert export.records["last_name"].tolist() == ["Müller", "Ñúñez"]


def test_utf8_file_with_one_broken_row(tmp_path: Path) -> None:
    data = "id,first_name\n1,José\n2,Renée\n".encode() + b"3,Jos\xe9\n4,Zo\xc3\xab\n"
    export = read(tmp_path, data)
    assert export.encoding == "utf-8"
    assert export.records["first_name"].tolist() == ["José", "Renée", "Zoë"]
    reject = export.rejects.iloc[0]
    assert (reject["line"], reject["record_id"]) == (4, "3")
    assert "not valid in utf-8" in reject["reason"]
    assert reject["raw"] == "3,Jos\\xe9"


def test_bytes_undefined_in_cp1252_are_rejected(tmp_path: Path) -> None:
    export = read(tmp_path, b"id,first_name\n1,Jos\xe9\n2,\x81x\n")
    assert export.encoding == "cp1252"
    assert export.records["first_name"].tolist() == ["José"]
    assert export.rejects[["line", "record_id"]].values.tolist() == [[3, "2"]]
    assert export.rejects["raw"].iloc[0] == "2,\\x81x"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_detection(tmp_path: Path, delimiter: str) -> None:
    # Values contain the other delimiters; the header decides.
    rows = [["id", "first name", "company"], ["1", "Ann", "A, B; C | D"], ["2", "Bo", "x\ty"]]
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\n").writerows(rows)
    export = read(tmp_path, text.getvalue())
    assert export.delimiter == delimiter
    assert export.records["company"].tolist() == ["A, B; C | D", "x\ty"]


def test_delimiter_counting_ignores_quoted_names(tmp_path: Path) -> None:
    export = read(tmp_path, 'id;"Notes, misc";"Tags, other"\n1;a, b;c, d\n')
    assert export.delimiter == ";"
    assert export.unmapped_columns == ["Notes, misc", "Tags, other"]


def test_explicit_delimiter(tmp_path: Path) -> None:
    export = read(tmp_path, "id\n1;2\n", delimiter=";")
    assert export.rejects["reason"].tolist() == ["wrong number of fields: 2, header has 1"]


def test_quoted_newlines_and_mixed_line_endings_keep_physical_lines(tmp_path: Path) -> None:
    data = (
        "id,address,city\r\n"  # 1
        '1,"12 Main St\r\nApt 4",Boston\n'  # 2-3
        "2,x,y\r"  # 4 (a lone CR ends a line too)
        '3,"a\nb\nc",d\r\n'  # 5-7
        "4,too,many,fields\n"  # 8
        '5,"one\r\ntwo","three\nfour"'  # 9-11, no final newline
    )
    export = read(tmp_path, data)
    assert export.records.index.tolist() == [2, 4, 5, 9]
    assert export.records["address_line1"].tolist() == [
        "12 Main St\r\nApt 4",
        "x",
        "a\nb\nc",
        "one\r\ntwo",
    ]
    assert export.records["city"].iloc[3] == "three\nfour"
    assert export.rejects["line"].tolist() == [8]
    check_accounting(export)


def test_leading_blank_lines_before_header(tmp_path: Path) -> None:
    export = read(tmp_path, "\n  \nid,first\n1,a\n")
    assert export.records.index.tolist() == [4]
    assert export.blank_lines == 2


# --------------------------------------------------------------------------------------
# Bad rows
# --------------------------------------------------------------------------------------


def test_bad_rows_go_to_rejects_with_line_and_reason(tmp_path: Path) -> None:
    long_value = "x" * 800
    data = f"id,first,last\n1,a,b\n2,c\n3,d,e,f\n4,g,h\n5,{long_value},i,j\n"
    export = read(tmp_path, data)
    assert export.records["record_id"].tolist() == ["1", "4"]
    rejects = export.rejects
    assert rejects["line"].tolist() == [3, 4, 6]
    assert rejects["record_id"].tolist() == ["2", "3", "5"]
    assert rejects["reason"].tolist() == [
        "wrong number of fields: 2, header has 3",
        "wrong number of fields: 4, header has 3",
        "wrong number of fields: 4, header has 3",
    ]
    assert rejects["raw"].tolist()[:2] == ["2,c", "3,d,e,f"]
    assert len(rejects["raw"].iloc[2]) == 500
    assert export.summary() == "read 5 rows: 2 records, 3 rejects"
    check_accounting(export)


def test_trailing_delimiters_are_not_extra_fields(tmp_path: Path) -> None:
    every_row = read(tmp_path, "id,first,last\n1,a,b,\n2,c,d,\n3,e,f\n4,g,h,i\n5,j,k,,\n")
    assert every_row.records["record_id"].tolist() == ["1", "2", "3", "5"]
    assert every_row.rejects["line"].tolist() == [5]
    header_too = read(tmp_path, "id,first,last,\n1,a,b,\n2,c,d\n")
    assert header_too.records["record_id"].tolist() == ["1"]
    assert header_too.rejects["reason"].tolist() == ["wrong number of fields: 3, header has 4"]


def test_space_before_opening_quote_is_read(tmp_path: Path) -> None:
    export = read(tmp_path, 'id, company, city\n1, "Smith, Jones & Co", Austin\n')
    assert export.records["company"].tolist() == ["Smith, Jones & Co"]


def test_unbalanced_quote_does_not_swallow_the_file(tmp_path: Path) -> None:
    # The quote on line 3 never closes: it must not eat lines 4-6.
    export = read(tmp_path, 'id,first,last\n1,a,b\n2,c,"d\n3,e,f\n4,g,h\n5,i,j\n')
    assert export.records["record_id"].tolist() == ["1", "3", "4", "5"]
    reject = export.rejects.iloc[0]
    assert (reject["line"], reject["record_id"], reject["raw"]) == (3, "2", '2,c,"d')
    assert reject["reason"].startswith("unbalanced quote")
    # The same in the middle of a file: the quote closes much later, with the wrong fields.
    export = read(tmp_path, 'id,first,last\n1,"a,b\n2,c,d\n3,e,"f\n4,g,h\n')
    assert export.records["record_id"].tolist() == ["2", "3", "4"]
    assert export.rejects["line"].tolist() == [2]
    check_accounting(export)


def test_unbalanced_quote_longer_than_a_parser_block(tmp_path: Path) -> None:
    body = "".join(f"{i},n{i},m{i}\n" for i in range(3, 400_000))  # > 4 MB
    export = read(tmp_path, 'id,first,last\n1,a,b\n2,c,"d\n' + body)
    assert len(export.records) == 1 + 400_000 - 3
    assert export.rejects["line"].tolist() == [3]


def test_clean_multiline_row_with_wrong_fields_is_one_reject(tmp_path: Path) -> None:
    export = read(tmp_path, 'id,address\n1,"12 Main\nApt 4",extra\n2,x\n')
    assert export.records["record_id"].tolist() == ["2"]
    assert export.rejects[["line", "reason", "raw"]].values.tolist() == [
        [2, "wrong number of fields: 3, header has 2", '1,"12 Main\nApt 4",extra']
    ]


def test_nul_bytes_are_rejected(tmp_path: Path) -> None:
    export = read(tmp_path, b"id,first\n1,a\x00b\n2,ok\n")
    assert export.records["record_id"].tolist() == ["2"]
    assert export.rejects["reason"].tolist() == ["NUL byte in field 'first'"]
    assert export.rejects["raw"].tolist() == ["1,a\\x00b"]


def test_blank_rows_are_counted_not_rejected(tmp_path: Path) -> None:
    export = read(tmp_path, "id,first,last\n1,a,b\n\n,,\n   \n , ,\n,,,,\n2,c,d\n")
    assert export.records.index.tolist() == [2, 8]
    assert len(export.rejects) == 0
    assert export.blank_lines == 5
    assert export.summary() == "read 2 rows: 2 records, 0 rejects (5 blank lines skipped)"


def test_empty_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no header row"):
        read(tmp_path, "\n\n")


def test_header_only(tmp_path: Path) -> None:
    export = read(tmp_path, "id,first\n")
    assert len(export.records) == 0 and export.source_rows == 0
    assert list(export.records.columns) == list(CANONICAL_COLUMNS)


def test_duplicate_header_names_are_kept_apart(tmp_path: Path) -> None:
    export = read(tmp_path, "id,Phone,Phone,,Notes\n1,111,222,x,y\n")
    assert export.records[["phone_1", "phone_2"]].iloc[0].tolist() == ["111", "222"]
    assert export.unmapped_columns == ["column_4", "Notes"]


# --------------------------------------------------------------------------------------
# Record ids
# --------------------------------------------------------------------------------------


def test_duplicate_and_empty_ids(tmp_path: Path) -> None:
    export = read(tmp_path, "id,first\nA,1\nB,2\nA,3\n ,4\nA,5\nB,6\n")
    assert export.records["record_id"].tolist() == ["A", "B"]
    assert export.records["first_name"].tolist() == ["1", "2"]
    assert export.rejects["line"].tolist() == [4, 5, 6, 7]
    assert export.rejects["record_id"].fillna("-").tolist() == ["A", "-", "A", "B"]
    assert export.rejects["reason"].tolist() == [
        "duplicate record_id A (first seen on line 2)",
        "empty record_id (column 'id')",
        "duplicate record_id A (first seen on line 2)",
        "duplicate record_id B (first seen on line 3)",
    ]


def test_generated_ids_and_id_column(tmp_path: Path) -> None:
    path = write(tmp_path, "first,last,Account\nAnn,Lee,7\n\nBo,Ng,8\n")
    generated = read_export(path)
    assert generated.records["record_id"].tolist() == ["L2", "L4"]
    chosen = read_export(path, id_column="Account")
    assert chosen.records["record_id"].tolist() == ["7", "8"]
    assert chosen.records["customer_key"].tolist() == ["7", "8"]  # still its detected role
    with pytest.raises(MappingError, match=r"\['Acct'\] not found"):
        read_export(path, id_column="Acct")


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


def test_values_are_text_as_written(tmp_path: Path) -> None:
    export = read(
        tmp_path,
        "id,zip,phone,email,city,created\n"
        "007,02134,3105550100,  NA ,N/A,2020-01-02\n"
        "008,00501,+13105550100,null,\t,0\n",
    )
    records = export.records
    assert records["record_id"].tolist() == ["007", "008"]
    assert records["postal_code"].tolist() == ["02134", "00501"]
    assert records["phone_1"].tolist() == ["3105550100", "+13105550100"]
    assert records["email_1"].tolist() == ["NA", "null"]
    assert records["city"].tolist() == ["N/A", np.nan]
    assert records["created_at"].tolist() == ["2020-01-02", "0"]
    assert all(pd.api.types.is_string_dtype(records[c]) for c in records.columns)


def test_dataframe_input(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "Customer ID": [1, 2, 3, 2],
            "First Name": [" Ann ", "", None, "Dup"],
            "Phone": [3105550100.0, np.nan, 3105550101.0, 1.0],
            "Zip": ["02134", "90210", "00501", "x"],
            "Created": pd.to_datetime(["2020-01-02 03:04:05", None, "2021-05-06 00:00:00", None]),
        }
    )
    export = read_export(df)
    records = export.records
    assert records.index.tolist() == [0, 1, 2]  # row positions
    assert records["record_id"].tolist() == ["1", "2", "3"]
    assert records["first_name"].tolist() == ["Ann", np.nan, np.nan]
    assert records["phone_1"].tolist() == ["3105550100", np.nan, "3105550101"]
    assert records["postal_code"].tolist() == ["02134", "90210", "00501"]
    assert records["created_at"].tolist() == ["2020-01-02 03:04:05", np.nan, "2021-05-06 00:00:00"]
    assert export.rejects[["line", "record_id"]].values.tolist() == [[3, "2"]]
    assert export.encoding is None
    # Parquet: the same, read from a file.
    path = tmp_path / "export.parquet"
    df.to_parquet(path)
    from_parquet = read_export(path)
    pd.testing.assert_frame_equal(from_parquet.records, records)
    pd.testing.assert_frame_equal(from_parquet.rejects, export.rejects)


@pytest.mark.parametrize(
    "dtype",
    [object, pd.StringDtype("python"), pd.StringDtype("pyarrow"),
     # "str" is pandas 3's default text dtype; in pandas 2 it is numpy text (None -> "None").
     pytest.param("str", marks=pytest.mark.skipif(int(pd.__version__.split(".")[0]) < 3, reason="pandas 2: numpy str")),
     pd.ArrowDtype(pa.string()), pd.ArrowDtype(pa.large_string())],
)
def test_dataframe_text_columns_read_alike_whatever_their_dtype(dtype: Any) -> None:
    # Arrow-backed text is cleaned as it is (no round trip through Python strings): the
    # records, rejects and their raw text must be those of an object column.
    cells = {
        "id": ["b", "a", " c ", "d", "", "a", "e"],
        "first": [" Ann ", "", None, "Bo\x00b", "x", "dup", "\u00a0Eve\u3000"],
        "last": ["Lee", "  ", "Kim", "Ng", "y", "z", None],
    }
    reference = read_export(pd.DataFrame(cells, dtype=object))
    export = read_export(pd.DataFrame({k: pd.array(v, dtype=dtype) for k, v in cells.items()}))
    pd.testing.assert_frame_equal(export.records, reference.records)
    pd.testing.assert_frame_equal(export.rejects, reference.rejects)
    assert export.records["first_name"].tolist() == ["Ann", np.nan, np.nan, "Eve"]
    assert export.rejects["reason"].str.split(" ").str[0].tolist() == ["NUL", "empty", "duplicate"]


def test_sorted_and_unsorted_ids_find_the_same_duplicates() -> None:
    ids = [f"R{i:03d}" for i in range(50)]
    for order in (ids, ids[::-1], ids[:25] + ids[24:]):
        export = read_export(pd.DataFrame({"id": order}))
        dup = len(order) - len(set(order))
        assert len(export.rejects) == dup and len(export.records) == len(set(order))


def test_rejects_path_is_written_safely(tmp_path: Path) -> None:
    target = tmp_path / "rejects.csv"
    export = read(tmp_path, "id,first\n=cmd|' /C calc'!A0,a,b\n", rejects_path=target)
    assert export.rejects["record_id"].tolist() == ["=cmd|' /C calc'!A0"]
    written = pd.read_csv(target, dtype=str, encoding="utf-8-sig")
    assert written["line"].tolist() == ["2"]
    assert written["record_id"].tolist() == ["'=cmd|' /C calc'!A0"]
    assert written["raw"].tolist() == ["'=cmd|' /C calc'!A0,a,b"]


# --------------------------------------------------------------------------------------
# write_csv_safe
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1 (310) 555-0100", "'+1 (310) 555-0100"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("-", "'-"),
        ("+13105550100", "+13105550100"),  # E.164: a number to a spreadsheet, not a formula
        ("-5", "-5"),
        ("3.25", "3.25"),
        ("-0.5", "-0.5"),
        ("John = Smith", "John = Smith"),
        ("a@b.com", "a@b.com"),
        ("O'Brien", "O'Brien"),
    ],
)
def test_write_csv_safe_escapes_formulas(tmp_path: Path, value: str, written: str) -> None:
    path = tmp_path / "out.csv"
    write_csv_safe(pd.DataFrame({"value": [value], "n": [-5]}), path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert back["value"].tolist() == [written]
    assert back["n"].tolist() == ["-5"]


def test_write_csv_safe_escapes_header_and_keeps_missing(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_csv_safe(pd.DataFrame({"=x": ["a", None, "b\rc"]}, index=[5, 9, 1]), path)
    assert path.read_bytes().decode("utf-8-sig") == '\'=x\r\na\r\n""\r\n"b\rc"\r\n'


def test_write_rejects_round_trip(tmp_path: Path) -> None:
    export = read(tmp_path, "id,first\n1,a,b\n")
    path = tmp_path / "r.csv"
    write_rejects(export.rejects, path)
    back = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    assert list(back.columns) == ["line", "record_id", "reason", "raw"]
    assert back.iloc[0].tolist() == ["2", "1", "wrong number of fields: 3, header has 2", "1,a,b"]


# --------------------------------------------------------------------------------------
# Shipped datasets and fixtures
# --------------------------------------------------------------------------------------


def test_reads_the_shipped_sample() -> None:
    path = REPO / "datasets" / "sample" / "customers.csv"
    export = read_export(path)
    expected = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert export.encoding == "utf-8" and export.delimiter == ","
    assert len(export.rejects) == 0 and export.unmapped_columns == []
    assert export.mapping.columns == {c: c for c in CANONICAL_COLUMNS}
    assert len(export.records) == len(expected) == export.source_rows
    for column in CANONICAL_COLUMNS:
        want = expected[column].str.strip().replace("", np.nan)
        assert export.records[column].tolist() == want.tolist(), column
    assert export.records.index[0] == 2


def test_reads_febrl_dataset3_through_its_mapping_file() -> None:
    export = read_export(febrl_root() / "dataset3.csv", febrl_root() / "mapping.json")
    febrl = load_febrl("febrl3").records
    assert len(export.records) == len(febrl) == 5000 and len(export.rejects) == 0
    records = export.records.reset_index(drop=True)
    assert records["record_id"].tolist() == febrl["rec_id"].tolist()
    street = febrl["street_number"].fillna("") + " " + febrl["address_1"].fillna("")
    street = street.str.strip().replace("", np.nan)
    assert records["address_line1"].tolist() == street.tolist()
    assert records["postal_code"].tolist() == febrl["postcode"].tolist()  # "0800" stays
    assert records["soc_sec_id"].tolist() == febrl["soc_sec_id"].tolist()
    assert list(records.columns[-2:]) == ["date_of_birth", "soc_sec_id"]
    assert records["phone_1"].isna().all()


def test_reads_a_dms_style_cp1252_export() -> None:
    export = read_export(FIXTURES / "dms_export_cp1252.csv")
    assert (export.encoding, export.delimiter) == ("cp1252", ";")
    assert export.summary() == "read 6 rows: 4 records, 2 rejects (1 blank lines skipped)"
    records = export.records
    assert records.index.tolist() == [2, 3, 7, 9]
    assert records["record_id"].tolist() == ["1001", "1002", "1004", "1005"]
    assert records["customer_key"].tolist() == ["D-77", "D-78", "D-81", "D-82"]
    assert records["last_name"].tolist() == ["Peña", "Müller", "Smith", "Nuñez"]
    assert records.loc[2, ["phone_1", "phone_2"]].tolist() == ["(310) 555-0100", "+13105550101"]
    assert records.loc[3, "phone_3"] == "3105550199"
    assert records.loc[3, "address_line1"] == "5 Elm; Rear"
    assert records.loc[7, "address_line1"] == "9 Pine\r\nBuilding B"
    assert records.loc[7, "phone_1"] == "null"
    assert records["postal_code"].tolist()[:2] == ["02134", "02118"]
    assert export.rejects["line"].tolist() == [5, 6]
    assert export.unmapped_columns == ["Salesperson"]


# --------------------------------------------------------------------------------------
# Properties: no row is lost
# --------------------------------------------------------------------------------------

FIELD_CHARS = st.sampled_from(list("ab Zé,;|\t\"\n\r'-=") + ["\u00a0", "日", "\u2028"])


@st.composite
def messy_exports(draw):
    """A CSV written by csv.writer with bad rows, blank lines and mixed line endings
    spliced in, and what reading it must give back."""
    width = draw(st.integers(1, 5))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = [f"c{i}" for i in range(width)]
    chunks: list[str] = []
    expected_records: list[tuple[int, list[str]]] = []
    expected_rejects: list[int] = []
    line = 1

    def emit(fields: list[str]) -> None:
        nonlocal line
        out = io.StringIO()
        # With "\r\n" Python 3.11's writer quotes every field holding a CR or LF; then
        # the row end is swapped for a random one.
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
        row = out.getvalue()[:-2] + draw(st.sampled_from(["\n", "\r\n", "\r"]))
        chunks.append(row)
        line += len(re.findall(r"\r\n|\r|\n", row))

    emit(header)
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["good", "good", "good", "many", "few", "blank"]))
        values = [f"r{i}"] + [draw(st.text(FIELD_CHARS, max_size=8)) for _ in range(width - 1)]
        if kind == "good":
            expected_records.append((line, values))
            emit(values)
        elif kind == "many":
            expected_rejects.append(line)
            emit(values + ["X"])
        elif kind == "few" and width > 1:
            expected_rejects.append(line)
            emit(values[: draw(st.integers(1, width - 1))])
        elif kind == "blank":
            blank = draw(st.sampled_from(["\n", "\r\n", "  \n", delimiter * (width - 1) + "\n"]))
            if blank.startswith("\n") and chunks[-1].endswith("\r"):
                blank = "\r\n"  # a lone CR then LF would be one CRLF line end
            chunks.append(blank)
            line += 1
    return "".join(chunks), delimiter, width, expected_records, expected_rejects


def clean(value: str) -> str | float:
    return value.strip() or np.nan


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=messy_exports(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_property_every_row_is_a_record_or_a_reject(tmp_path: Path, case, encoding: str) -> None:
    text, delimiter, width, expected_records, expected_rejects = case
    if encoding == "cp1252":  # keep to characters cp1252 has

        def to_cp1252(value: str) -> str:
            return value.replace("日", "€").replace("\u2028", "…")

        text = to_cp1252(text)
        expected_records = [
            (line, [to_cp1252(v) for v in values]) for line, values in expected_records
        ]
    data = text.encode(encoding)
    mapping = {"columns": {"record_id": "c0"}, "extra": {f"x{i}": f"c{i}" for i in range(1, width)}}
    # cp1252 text can be valid UTF-8 by chance ("é" + two NBSP is one CJK letter), so
    # name it here; detection has its own tests.
    export = read(
        tmp_path,
        data,
        mapping,
        encoding="cp1252" if encoding == "cp1252" else None,
        delimiter=delimiter if width == 1 else None,
    )
    check_accounting(export)
    assert export.source_rows == len(expected_records) + len(expected_rejects)
    assert export.records.index.tolist() == [line for line, _ in expected_records]
    assert export.rejects["line"].tolist() == expected_rejects
    for (_, values), (_, row) in zip(expected_records, export.records.iterrows(), strict=True):
        got = [row["record_id"]] + [row[f"x{i}"] for i in range(1, width)]
        assert all(
            (pd.isna(g) and pd.isna(w)) or g == w
            for g, w in zip(got, map(clean, values), strict=True)
        ), (got, values)


MESSY_BYTES = st.lists(
    st.sampled_from(
        [
            b"a",
            b"1",
            b",",
            b'"',
            b"\n",
            b"\r",
            b"\r\n",
            b" ",
            b";",
            b"\xc3\xa9",
            b"\xe9",
            b"\x00",
            b"\x81",
        ]
    ),
    max_size=120,
).map(b"".join)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=MESSY_BYTES)
def test_property_arbitrary_bytes_never_lose_a_row(tmp_path: Path, body: bytes) -> None:
    data = b"id,a,b\n" + body
    export = read(tmp_path, data)
    check_accounting(export)
    lines = re.split(rb"\r\n|\r|\n", data)
    starts = sorted([*export.records.index, *export.rejects["line"]])
    # Rows start on non-blank physical lines after the header.
    assert all(2 <= s <= len(lines) and lines[s - 1].strip() for s in starts)
    assert export.blank_lines <= len(lines) - 1 - len(starts)
