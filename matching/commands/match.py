"""``matching match``: run the Customer Matching Logic for one request against a store.

    matching match STORE.db request.json --department D [--name-match fuzzy] [--policy P.json]

Prints the :class:`~matching.logic.Decision` as JSON: the matched ``customerUuid`` (null
for no match), the deciding step, the reason and the trace of every step.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from matching.logic import MatchPolicy
from matching.store import CustomerStore


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("store", metavar="STORE.db", help="store file (see `matching store load`)")
    parser.add_argument(
        "request", metavar="REQUEST.json", help="one myKaarma customer request (JSON object)"
    )
    parser.add_argument(
        "--department", required=True, help="department (departmentUUID) to match in"
    )
    parser.add_argument("--policy", metavar="P.json", help="MatchPolicy fields as a JSON object")
    parser.add_argument(
        "--name-match", choices=("exact", "fuzzy"), help="overrides the policy's name_match"
    )


def run(args: argparse.Namespace) -> int:
    """Match and print the decision; 0 on success, 1 on a bad input."""
    try:
        if not Path(args.store).exists():
            raise ValueError(f"{args.store}: no such store file")
        request = json.loads(Path(args.request).read_text(encoding="utf-8-sig"))
        if not isinstance(request, dict):
            raise ValueError(f"{args.request}: expected a JSON object (a customer request)")
        policy = MatchPolicy()
        if getattr(args, "policy", None):
            policy = MatchPolicy.from_json(
                json.loads(Path(args.policy).read_text(encoding="utf-8"))
            )
        if getattr(args, "name_match", None):
            policy = replace(policy, name_match=args.name_match)
        with CustomerStore(args.store, policy=policy) as store:
            decision = store.match(request, department=args.department)
    except json.JSONDecodeError as exc:
        print(f"matching match: error: not JSON: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError) as exc:
        print(f"matching match: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(decision.to_json(), indent=2))
    return 0
