"""``matching generate``: write a synthetic dealer-customer export with ground truth
(``customers.csv``, ``truth.csv``, ``pairs_tags.csv``) for measuring matchers."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments: ``--records``, ``--seed``, ``--out``."""
    from matching.synth.generator import add_arguments

    add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Generate and write; 0 on success, 2 on a bad argument."""
    from matching.synth.generator import run_cli

    return run_cli(args)
