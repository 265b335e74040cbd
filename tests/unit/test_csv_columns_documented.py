"""docs/reports.md lists the columns of ``--modelperf-csv`` as the CSV writes them, in order."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_modelperf.render.csv_table import COLUMNS

REPORTS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def documented_columns() -> list[str]:
    """The column names the page's "Columns, in this order" sentence gives, before the context's."""
    text = REPORTS_PAGE.read_text(encoding="utf-8")
    listed = text[text.index("Columns, in this order:") :].split("; then the rest")[0]
    names = re.findall(r"`([a-z_]+)`", listed)
    return list(dict.fromkeys(names))  # a name repeated in a column's explanation counts once


def test_the_reports_page_lists_every_csv_column_in_order() -> None:
    assert documented_columns() == list(COLUMNS)
