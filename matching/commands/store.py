"""``matching store``: load customers into a store file, read one back, count them.

    matching store load STORE.db customers.jsonl --department D
    matching store load STORE.db customers.csv --department D
    matching store read STORE.db CUSTOMER_UUID --department D
    matching store count STORE.db [--department D]

JSONL: one myKaarma create request per line (``{"customer": {...}, "vehicles": [...]}``).
CSV: one customer per row; headers (any case) ``customerKey``, ``firstName``,
``middleName``, ``lastName``, ``company``, ``isBusiness`` (true/1/yes), ``preferredCommunication``,
``preferredLocale``, address columns ``line1``, ``line2``, ``city``, ``state``, ``zip``,
``country``, ``type``, ``addressType``, and any number of columns whose name starts with
``phone``, ``email`` or ``vin`` (``phone1``, ``phone_home``, ``email``, ``vin2``...).
Other columns are ignored. Requests are stored as given (no validation, no dedupe).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matching.store import CustomerNotFound, CustomerStore

BATCH = 50_000

_CUSTOMER_COLUMNS = {
    k.lower(): k
    for k in ("customerKey", "firstName", "middleName", "lastName", "company",
              "preferredCommunication", "preferredLocale")
}  # fmt: skip
_ADDRESS_COLUMNS = {
    k.lower(): k
    for k in ("line1", "line2", "city", "state", "zip", "country", "type", "addressType")
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    sub = parser.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    load = sub.add_parser("load", help="load customers from JSONL or CSV into a store file")
    load.add_argument("store", metavar="STORE.db", help="store file (created if missing)")
    load.add_argument("customers", metavar="FILE", help="customers.jsonl or customers.csv")
    load.add_argument(
        "--department", required=True, help="department (departmentUUID) to load into"
    )
    read = sub.add_parser("read", help="print one customer as the read response JSON")
    read.add_argument("store", metavar="STORE.db")
    read.add_argument("customer_uuid", metavar="CUSTOMER_UUID")
    read.add_argument("--department", required=True)
    read.add_argument("--exclude-vehicles", action="store_true")
    count = sub.add_parser("count", help="print the number of customers")
    count.add_argument("store", metavar="STORE.db")
    count.add_argument("--department")


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})"
                ) from None
            if not isinstance(obj, dict) or not isinstance(obj.get("customer"), dict):
                raise ValueError(
                    f'{path}:{number}: expected a request object with a "customer" object'
                )
            yield obj


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "y", "t")


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise ValueError(f"{path}: empty file, expected a header row")
        for row in reader:
            customer: dict[str, Any] = {}
            address: dict[str, Any] = {}
            phones, emails, vins = [], [], []
            for column, value in row.items():
                if column is None or value is None or not value.strip():
                    continue
                key = column.strip().lower()
                if key in _CUSTOMER_COLUMNS:
                    customer[_CUSTOMER_COLUMNS[key]] = value.strip()
                elif key == "isbusiness":
                    customer["isBusiness"] = _truthy(value)
                elif key in _ADDRESS_COLUMNS:
                    address[_ADDRESS_COLUMNS[key]] = value.strip()
                elif key.startswith("phone"):
                    phones.append({"phoneNumber": value.strip()})
                elif key.startswith("email"):
                    emails.append({"emailAddress": value.strip()})
                elif key.startswith("vin"):
                    vins.append({"vin": value.strip()})
            if phones:
                customer["phoneNumbers"] = phones
            if emails:
                customer["emails"] = emails
            if address:
                address.setdefault("type", "PRIMARY")
                customer["addresses"] = [address]
            yield {"customer": customer, "vehicles": vins}


def _load(args: argparse.Namespace) -> int:
    source = Path(args.customers)
    if source.suffix.lower() not in (".jsonl", ".csv"):
        raise ValueError(f"{source}: expected a .jsonl or .csv file")
    rows = _jsonl(source) if source.suffix.lower() == ".jsonl" else _csv(source)
    started = time.perf_counter()
    total = 0
    with CustomerStore(args.store) as store:
        batch: list[dict[str, Any]] = []
        for request in rows:
            batch.append(request)
            if len(batch) == BATCH:
                total += len(store.create_many(batch, department=args.department))
                batch = []
        total += len(store.create_many(batch, department=args.department))
        live = store.count(args.department)
    seconds = time.perf_counter() - started
    print(f"loaded {total} customers into {args.store} (department {args.department}, "
          f"{live} customers now) in {seconds:.2f} s")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the store action; 0 on success, 1 on a bad input or an unknown customer."""
    try:
        if args.store_command == "load":
            return _load(args)
        if not Path(args.store).exists():
            raise ValueError(f"{args.store}: no such store file")
        with CustomerStore(args.store) as store:
            if args.store_command == "read":
                response = store.read(
                    args.customer_uuid,
                    department=args.department,
                    exclude_vehicles=args.exclude_vehicles,
                )
                print(json.dumps(response, indent=2, ensure_ascii=False))
            else:
                print(store.count(args.department))
        return 0
    except (OSError, ValueError, CustomerNotFound) as exc:
        print(f"matching store: error: {exc}", file=sys.stderr)
        return 1
