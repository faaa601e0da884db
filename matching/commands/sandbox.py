"""``matching sandbox``: serve a local stand-in of the myKaarma Customer API over a store.

    matching sandbox --port P --store STORE.db --user U --password W [--host 127.0.0.1]
                     [--fault-rate 0.1] [--fault-429-rate R] [--retry-after S]
                     [--slow-ms MS] [--drop-after-write-rate R] [--seed S]

Serves ``http://HOST:P/customer/v2`` (see :mod:`matching.sandbox`) until Ctrl-C. The
password may also come from the environment variable ``MYKAARMA_PASSWORD`` (so it does
not show in the process list).
"""

from __future__ import annotations

import argparse
import os
import sys

from matching.sandbox import FaultConfig, Sandbox


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate in 0..1")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port); default 8080")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind; default 127.0.0.1 (local only)")
    parser.add_argument("--store", required=True, metavar="STORE.db", help="store file (created if missing)")
    parser.add_argument("--user", required=True, help="Basic auth user the sandbox accepts")
    parser.add_argument(
        "--password", default=os.environ.get("MYKAARMA_PASSWORD"),
        help="Basic auth password (default: $MYKAARMA_PASSWORD)",
    )
    parser.add_argument("--fault-rate", type=_rate, default=0.0, help="share of requests answered 500")
    parser.add_argument("--fault-429-rate", type=_rate, default=0.0, help="share of requests answered 429")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds of a 429; default 1")
    parser.add_argument("--slow-ms", type=float, default=0.0, help="delay every answer by this many ms")
    parser.add_argument(
        "--drop-after-write-rate", type=_rate, default=0.0,
        help="share of writes applied and then left unanswered (connection closed)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault generator")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 1 on a bad argument."""
    if not args.password:
        print("matching sandbox: error: --password (or MYKAARMA_PASSWORD) is required", file=sys.stderr)
        return 1
    faults = FaultConfig(
        error_rate=args.fault_rate,
        rate_429=args.fault_429_rate,
        retry_after=args.retry_after,
        slow_ms=args.slow_ms,
        drop_after_write_rate=args.drop_after_write_rate,
        seed=args.seed,
    )
    try:
        sandbox = Sandbox(args.store, args.user, args.password, port=args.port, faults=faults, host=args.host)
    except (OSError, ValueError) as exc:
        print(f"matching sandbox: error: {exc}", file=sys.stderr)
        return 1
    print(f"serving {sandbox.base_url} (store {args.store}); Ctrl-C to stop", flush=True)
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.close()
        print(f"stopped: {sandbox.stats}", flush=True)
    return 0
