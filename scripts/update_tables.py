"""Rewrite the generated models table in README.md and docs/models.md (between the markers)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from featherpose.report import format_markdown, model_rows

ROOT = Path(__file__).resolve().parents[1]
FILES = (ROOT / "README.md", ROOT / "docs" / "models.md")
START, END = "<!-- models-table:start -->", "<!-- models-table:end -->"


def replace_table(text: str, table: str) -> str:
    """``text`` with the block between the markers replaced by ``table``."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers {START} ... {END} not found")
    return pattern.sub(lambda _: f"{START}\n{table}\n{END}", text)


def main() -> int:
    table = format_markdown(model_rows())
    for path in FILES:
        path.write_text(replace_table(path.read_text(), table))
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
