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
    "demo": ("demo", "normalize and validate the bundled sample, print what was found"),
    "normalize": ("normalize", "normalize a customer CSV export (names, phones, emails, VINs, addresses)"),
    "validate": ("validate", "validate myKaarma customer request JSON files against the documented rules"),
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
    # First pass: find the subcommand, then let its module declare its arguments.
    known, _ = parser.parse_known_args(argv)
    if known.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"matching.commands.{known._module}")
    sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    module.configure(sub_action.choices[known.command])
    args = parser.parse_args(argv)
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
