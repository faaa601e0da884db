"""``matching search``: the myKaarma customer search (``/customer/list``) on a store.

    matching search STORE.db TERM --department D [--fields f1,f2] [--operator AND|OR]
                    [--max-results N] [--preference customer|vehicle]

Prints ``{"errors", "warnings", "matchingCount", "matchingCustomers"}`` as JSON. Fields:
fname, lname, company, customerKey, communications.commValue, vehicles.vin (all of
them, any one matching, when --fields is not given). See CustomerStore.search.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from matching.store import CustomerStore


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("store", metavar="STORE.db", help="store file (see `matching store load`)")
    parser.add_argument("term", metavar="TERM", help="search term (several words: any may match)")
    parser.add_argument("--department", required=True, help="department (departmentUUID) to search")
    parser.add_argument(
        "--fields", help="comma-separated fields to search (default: all, any matching)"
    )
    parser.add_argument(
        "--operator", default="AND", help="AND (every listed field) or OR (any); default AND"
    )
    parser.add_argument("--max-results", default="100", help="1..100 (others: 100, warning 10002)")
    parser.add_argument(
        "--preference", default="customer", help="customer or vehicle: which matches rank first"
    )


def run(args: argparse.Namespace) -> int:
    """Search and print the response; 0 on success, 1 on a bad input."""
    try:
        if not Path(args.store).exists():
            raise ValueError(f"{args.store}: no such store file")
        with CustomerStore(args.store) as store:
            response = store.search(
                args.term,
                department=args.department,
                fields=args.fields,
                operator=args.operator,
                max_results=args.max_results,
                preference=args.preference,
            )
    except (OSError, ValueError) as exc:
        print(f"matching search: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0
