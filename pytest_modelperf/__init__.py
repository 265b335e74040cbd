"""pytest-modelperf: model latency, throughput, memory and accuracy as pytest assertions.

This module must stay importable without torch: pytest loads it at start-up.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .core.baseline_entry import BaselineEntry
from .core.measurement import Direction, Measurement
from .core.verdict import Outcome, Verdict
from .render.csv_table import results_frame

__all__ = ["BaselineEntry", "Direction", "Measurement", "Outcome", "Verdict", "__version__", "results_frame"]
