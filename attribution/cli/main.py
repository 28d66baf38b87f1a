"""The ``attribution`` parser and :func:`main`, the command line's entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from attribution.cli import forecast, report, run

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of ``attribution``: subcommands ``run``, ``report``, ``forecast``."""
    p = argparse.ArgumentParser(
        prog="attribution",
        description="Multi-touch attribution over event logs.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    run.add_parser(sub)
    report.add_parser(sub)
    forecast.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 on success, 2 on bad input (the message on stderr, nothing written), 130 after SIGINT,
    143 after SIGTERM, 1 on an unexpected failure (see :mod:`attribution.cli`).
    """
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
