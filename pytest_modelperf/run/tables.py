"""Tables a test shows in the run's summary (``modelperf.show_table``), such as the teacher /
student / distilled-student comparison.

A table travels as a user property of the test's report (``TABLE_PROPERTY``), so that under
pytest-xdist it reaches the controller with the report and is printed there, once, in the order
the tests finished.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..render.markdown import markdown_table

TABLE_PROPERTY = "modelperf_table"


@dataclass(frozen=True)
class ShownTable:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()

    def to_property(self) -> tuple[str, dict[str, Any]]:
        return TABLE_PROPERTY, {
            "title": self.title,
            "headers": list(self.headers),
            "rows": [list(row) for row in self.rows],
            "notes": list(self.notes),
        }

    def markdown(self) -> list[str]:
        lines = [f"{self.title}", "", *markdown_table(self.headers, self.rows)]
        return lines + (["", *self.notes] if self.notes else [])


def table_of(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], notes: Sequence[str] = ()) -> ShownTable:
    """A table to show, every cell as text; a row of another width than the headers is an error."""
    if not title:
        raise ValueError("show_table: the title is empty")
    texts = tuple(tuple("" if cell is None else str(cell) for cell in row) for row in rows)
    for number, row in enumerate(texts, start=1):
        if len(row) != len(headers):
            raise ValueError(f"show_table {title!r}: row {number} has {len(row)} cells for {len(headers)} headers")
    return ShownTable(title, tuple(map(str, headers)), texts, tuple(map(str, notes)))


def shown_tables(reports: Iterable[Any]) -> list[ShownTable]:
    """The tables of the call phases of ``reports`` (pytest's TestReports), in order."""
    tables = []
    for report in reports:
        if getattr(report, "when", None) != "call":
            continue
        for key, value in getattr(report, "user_properties", ()):
            if key == TABLE_PROPERTY and isinstance(value, Mapping):
                tables.append(
                    ShownTable(
                        str(value.get("title", "")),
                        tuple(value.get("headers", ())),
                        tuple(tuple(row) for row in value.get("rows", ())),
                        tuple(value.get("notes", ())),
                    )
                )
    return tables
