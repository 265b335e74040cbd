"""The checks of a test's current attempt: its verdicts and the measurement names it used.

Kept in the item's stash; started afresh on the test's first run and on each confirming re-run.
"""

from __future__ import annotations

import pytest

from ..core.measurement import Measurement
from ..core.verdict import Verdict

VERDICTS = pytest.StashKey[list[Verdict]]()
MEASUREMENT_NAMES = pytest.StashKey[dict[str, Measurement]]()


def begin_attempt(item: pytest.Item) -> None:
    """Start a test's checks afresh: on its first run, and on each confirming re-run."""
    item.stash[VERDICTS] = []
    item.stash[MEASUREMENT_NAMES] = {}


def attempt_verdicts(item: pytest.Item) -> list[Verdict]:
    """The verdicts of the test's current attempt; none when it made no check."""
    return item.stash.get(VERDICTS, [])
