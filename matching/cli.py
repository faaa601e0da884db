"""The ``matching`` command line: a thin layer over the library.

Each subcommand lives in its own module under :mod:`matching.commands` and exposes
``configure(parser)`` (declare its arguments) and ``run(args) -> int`` (do the work by
calling the public library API). Modules are imported only when their command runs,
so ``matching --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# name -> (module under matching.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "run the main job on the bundled sample and print what was found"),
    "dedupe": ("dedupe", "deduplicate a customer export: clusters, scored pairs, golden records, report"),
    "explain": ("explain", "explain why two records of a dedupe run were (not) merged"),
    "generate": ("generate", "generate a synthetic dealer-customer export with ground truth"),
    "evaluate": ("evaluate", "score a clustering against ground truth (pairwise, B-cubed, false merges)"),
    "store": ("store", "load customers into a store file (JSONL/CSV), read one back, count them"),
    "match": ("match", "run the Customer Matching Logic for one request against a store"),
    "search": ("search", "search a store like myKaarma's customer list endpoint"),
    "sandbox": ("sandbox", "serve a local stand-in of the myKaarma Customer API over a store, with fault injection"),
    "push": ("push", "push a dedupe run's golden records to myKaarma (dry run unless --apply; resumable)"),
    "validate": ("validate", "validate myKaarma customer request JSON against the documented rules"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matching",
        description="Find and merge duplicate customer records (myKaarma Customer Matching Logic).",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # Arguments are declared by the command's module; import it only to declare them
        # when this subcommand is the one asked for (keeps --help and startup light).
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # The subcommand is the first word that is not an option (the only global option,
    # -v, takes no value). Its module declares its arguments before the real parse, so
    # that `matching COMMAND --help` lists them.
    command = next((a for a in argv if not a.startswith("-")), None)
    module = None
    if command in COMMANDS:
        module = importlib.import_module(f"matching.commands.{COMMANDS[command][0]}")
        sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        module.configure(sub_action.choices[command])
    args = parser.parse_args(argv)
    if module is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
