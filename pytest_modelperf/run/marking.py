"""The collected tests as the modelperf switches see them: those that use the ``modelperf``
fixture get the ``modelperf`` mark (so that ``-m modelperf`` selects them), and
``--modelperf-skip`` / ``--modelperf-only`` skip them or every other test.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from ..markers import NAME
from ..options import BY_NAME, Settings

FIXTURE = "modelperf"
MARKER_DESCRIPTION = "added to every test that uses the modelperf fixture, so that -m modelperf selects them"


def uses_fixture(item: pytest.Item) -> bool:
    """Whether the test requests the fixture, itself or through another fixture."""
    return FIXTURE in getattr(item, "fixturenames", ())


def mark_and_skip(items: Iterable[pytest.Item], settings: Settings) -> None:
    """Mark each test that uses the fixture, and skip what ``--modelperf-skip`` or ``--modelperf-only`` leaves out.

    A test that has a ``modelperf`` mark already (on itself, its class or its module) keeps it as
    it is: a bare mark on the test would hide the arguments of the class's or module's mark.
    """
    skip_ours = pytest.mark.skip(reason=f"uses the modelperf fixture ({BY_NAME['skip'].flag})")
    skip_others = pytest.mark.skip(reason=f"does not use the modelperf fixture ({BY_NAME['only'].flag})")
    for item in items:
        ours = uses_fixture(item)
        if ours and item.get_closest_marker(NAME) is None:
            item.add_marker(NAME)
        if ours and settings.skip:
            item.add_marker(skip_ours)
        elif not ours and settings.only:
            item.add_marker(skip_others)
