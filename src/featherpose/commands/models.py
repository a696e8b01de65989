"""``featherpose models``: the registered models with measured and published cost."""

from __future__ import annotations

import argparse
import json

from featherpose.report import format_markdown, format_table, model_rows


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the models: parameters and MACs, measured vs paper")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    fmt.add_argument("--markdown", action="store_true", help="print the table in Markdown (as in README)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = model_rows()
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
    elif args.markdown:
        print(format_markdown(rows))
    else:
        print(format_table(rows))
    return 0
