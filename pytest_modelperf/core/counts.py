"""Counts in words for reports and progress lines: "1 check", "2 checks", "1 entry", "3 entries"."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun that agrees with it; ``plural`` defaults to ``singular`` + "s"."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
