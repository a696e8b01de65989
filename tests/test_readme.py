"""The README and docs/models.md carry the generated models table; they must not drift from the code."""

import importlib.util
import re
from pathlib import Path

from featherpose.models import get_spec, list_models
from featherpose.report import format_markdown, model_rows

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("update_tables", REPO / "scripts" / "update_tables.py")
update_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(update_tables)


def test_models_tables_are_current():
    library = [n for n in list_models() if get_spec(n).family != "test"]  # engine tests register a tiny net
    table = format_markdown(model_rows(library))
    for path in update_tables.FILES:
        text = path.read_text()
        assert update_tables.replace_table(text, table) == text, (
            f"{path.name}: models table is stale; run `.venv/bin/python scripts/update_tables.py`"
        )


def test_readme_commands_exist():
    """Every `featherpose <command>` the README mentions is a real sub-command."""
    from featherpose.cli import COMMANDS

    text = (REPO / "README.md").read_text()
    used = set(re.findall(r"(?<!from )featherpose ([a-z][a-z-]+)", text))
    assert used, "README mentions no featherpose commands"
    assert used <= set(COMMANDS), f"README mentions unknown commands: {sorted(used - set(COMMANDS))}"


def test_readme_shows_the_two_commands():
    text = (REPO / "README.md").read_text()
    assert "make demo" in text and "make test" in text
