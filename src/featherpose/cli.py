"""The ``featherpose`` command line. Each sub-command lives in ``featherpose.commands.<name>``
and provides ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Sub-command modules, in the order ``featherpose --help`` lists them.
COMMANDS = [
    "models",
    "demo",
    "train",
    "eval",
    "codec-check",
    "infer",
    "label",
    "export",
    "bench",
]


class CLIError(Exception):
    """An expected failure (bad input, missing file): printed as one line, exit code 2.

    ``ValueError`` and ``OSError`` are reported the same way; set ``FEATHERPOSE_DEBUG=1`` to see
    the traceback instead."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="featherpose", description="Lightweight 2D human pose estimation.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"featherpose.commands.{name.replace('-', '_')}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``featherpose`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, OSError) as exc:  # expected failures: one line, no traceback
        if os.environ.get("FEATHERPOSE_DEBUG"):
            raise
        print(f"featherpose {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # `python -m featherpose.cli`: use the package's module, not a __main__ copy
    from featherpose.cli import main as _main

    sys.exit(_main())
