"""``featherpose models``: the registered models with measured and published cost, and which of them
ship trained weights (:mod:`featherpose.pretrained`)."""

from __future__ import annotations

import argparse
import json

from featherpose import pretrained
from featherpose.models import list_models
from featherpose.report import format_markdown, format_table, model_rows


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the models: parameters and MACs, measured vs paper; shipped weights")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    fmt.add_argument("--markdown", action="store_true", help="print the table in Markdown (as in README)")
    p.add_argument("--shipped", action="store_true", help="only the models that ship trained weights")
    p.set_defaults(func=run)


def shipped_tags(name: str) -> str:
    """The tags of ``name``'s shipped weights present here (``"lspet"``), or ``"-"``."""
    return ", ".join(pretrained.available(name)) or "-"


def run(args: argparse.Namespace) -> int:
    names = None
    if args.shipped:
        names = [n for n in list_models() if pretrained.has_weights(n)]
        if not names:
            print(f"no shipped weights in this installation ({pretrained.WEIGHTS_DIR})")
            return 0
    rows = model_rows(names)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
    elif args.markdown:
        print(format_markdown(rows))
    else:
        print(format_table(rows, {"shipped weights": [shipped_tags(r.name) for r in rows]}))
    return 0
