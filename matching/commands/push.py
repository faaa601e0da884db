"""``matching push``: push a dedupe run's golden records to myKaarma (dry run by default).

    matching push RUN_DIR --department D [--apply] [--base-url URL]

Writes ``RUN_DIR/push_plan.jsonl`` (each golden record -> create-or-update with
``searchForDuplicate: true``) and prints a summary. With ``--apply`` it sends the plan,
journaled in ``RUN_DIR/push_journal.db``: run it again after a failure or a kill and it
finishes the job without creating any customer twice. Credentials come from the
environment variables ``MYKAARMA_USERNAME`` and ``MYKAARMA_PASSWORD``.
"""

from __future__ import annotations

import argparse
import sys

from matching.client import DEFAULT_BASE_URL, MyKaarmaClient, MyKaarmaError
from matching.push import push


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a `matching dedupe` output directory")
    parser.add_argument("--department", required=True, help="department (departmentUUID) to push to")
    parser.add_argument("--apply", action="store_true", help="send the plan (default: dry run)")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help=f"API base URL; default {DEFAULT_BASE_URL}")
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second at most; default 10")


def run(args: argparse.Namespace) -> int:
    """Plan or push; 0 when every step is done, 1 on failed steps or a bad input."""
    try:
        if args.apply:
            with MyKaarmaClient(args.base_url, rate_limit_per_second=args.rate) as client:
                summary = push(args.run_dir, args.department, client, apply=True)
        else:
            summary = push(args.run_dir, args.department, apply=False)
    except (OSError, ValueError, MyKaarmaError) as exc:
        print(f"matching push: error: {exc}", file=sys.stderr)
        return 1
    print(f"plan: {summary.plan_path}")
    for line in summary.lines():
        print(line)
    return 1 if summary.failed else 0
