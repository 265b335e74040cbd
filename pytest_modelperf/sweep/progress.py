"""A sweep's progress as it runs: a bar on a terminal, one plain line per cell elsewhere.

On a terminal (stderr a TTY) tqdm draws one bar for the whole sweep. In a CI log, where a bar
would only show at the end, each cell gets one line as it finishes, with its model, batch size
and sequence length, its headline figures (or N/A and why) and the seconds it took; each model
gets a line when it loads and one when its cells are done:

    modelperf sweep: bert-tiny: loading
    modelperf sweep: [1/4] bert-tiny b8 s128: 12.345 ms, 648.1 samples/s, 412.0 MB (3.2s)
    modelperf sweep: [2/4] bert-tiny b64 s512: N/A (out of memory) (0.8s)
    modelperf sweep: bert-tiny: 2 steps in 4.0s

(a step is a cell, or the largest-batch search of a sequence length with ``--largest-batch``).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from tqdm import tqdm

from ..core.counts import counted
from ..measure.cell import OK, CellMeasurements
from ..measure.memory import OUT_OF_MEMORY
from ..measure.tidy import tidy_rows
from .largest_batch import LargestBatch
from .modes import SweepMode

PREFIX = "modelperf sweep"


class SweepProgress(Protocol):
    """What the sweep tells of its progress; ``seconds`` is how long the step took."""

    def model_loading(self, label: str) -> None: ...

    def model_done(self, label: str, steps: int, seconds: float, problem: str | None = None) -> None: ...

    def cell_started(self, description: str) -> None: ...

    def cell_done(self, result: CellMeasurements, seconds: float) -> None: ...

    def cells_skipped(self, count: int) -> None: ...

    def search_done(self, found: LargestBatch, seconds: float) -> None: ...

    def close(self) -> None: ...


def sweep_progress(total: int, mode: SweepMode, *, enabled: bool = True, stream: TextIO | None = None) -> SweepProgress:
    """Progress for a sweep of ``total`` steps (cells and largest-batch searches): a bar when
    ``stream`` (stderr) is a terminal, plain lines otherwise, nothing when not ``enabled``."""
    stream = sys.stderr if stream is None else stream
    if not enabled:
        return QuietProgress()
    if stream.isatty():
        return BarProgress(total, stream)
    return LineProgress(total, mode, stream)


class QuietProgress:
    """Nothing: ``--no-progress``."""

    def model_loading(self, label: str) -> None:
        pass

    def model_done(self, label: str, steps: int, seconds: float, problem: str | None = None) -> None:
        pass

    def cell_started(self, description: str) -> None:
        pass

    def cell_done(self, result: CellMeasurements, seconds: float) -> None:
        pass

    def cells_skipped(self, count: int) -> None:
        pass

    def search_done(self, found: LargestBatch, seconds: float) -> None:
        pass

    def close(self) -> None:
        pass


class BarProgress(QuietProgress):
    """One tqdm bar over the sweep's steps, naming the step under way."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self._bar = tqdm(total=total, unit="cell", file=stream, dynamic_ncols=True)

    def model_loading(self, label: str) -> None:
        self._bar.set_postfix_str(f"loading {label}")

    def cell_started(self, description: str) -> None:
        self._bar.set_postfix_str(description)

    def cell_done(self, result: CellMeasurements, seconds: float) -> None:
        self._bar.update(1)

    def cells_skipped(self, count: int) -> None:
        self._bar.update(count)

    def search_done(self, found: LargestBatch, seconds: float) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class LineProgress(QuietProgress):
    """One plain line per finished step and per model, flushed at once: a CI log shows each as it happens."""

    def __init__(self, total: int, mode: SweepMode, stream: TextIO) -> None:
        self._total, self._mode, self._stream = total, mode, stream
        self._done = 0
        self._width = len(str(total))

    def model_loading(self, label: str) -> None:
        self._line(f"{label}: loading")

    def model_done(self, label: str, steps: int, seconds: float, problem: str | None = None) -> None:
        if problem is not None:
            self._line(f"{label}: {problem}; its {counted(steps, 'step')} are recorded as such")
        else:
            self._line(f"{label}: {counted(steps, 'step')} in {seconds:.1f}s")

    def cell_done(self, result: CellMeasurements, seconds: float) -> None:
        cell = result.cell
        self._step(f"{cell.label} b{cell.batch_size} s{cell.sequence_length}: {self._result(result)} ({seconds:.1f}s)")

    def cells_skipped(self, count: int) -> None:
        self._done += count

    def search_done(self, found: LargestBatch, seconds: float) -> None:
        largest = "none fits" if found.largest_batch is None else str(found.largest_batch)
        self._step(f"{found.label} s{found.sequence_length}: largest batch {largest} ({found.reason}) ({seconds:.1f}s)")

    def _result(self, result: CellMeasurements) -> str:
        if result.status == OUT_OF_MEMORY:
            return f"N/A ({OUT_OF_MEMORY})"
        if result.status != OK:
            return result.status
        figures = headline_figures(result, self._mode)
        return ", ".join(figures) if figures else OK

    def _step(self, text: str) -> None:
        self._done += 1
        self._line(f"[{self._done:>{self._width}}/{self._total}] {text}")

    def _line(self, text: str) -> None:
        print(f"{PREFIX}: {text}", file=self._stream, flush=True)


def headline_figures(result: CellMeasurements, mode: SweepMode) -> list[str]:
    """``12.345 ms``, ``648.1 samples/s``, ``412.0 MB``: what a cell measured of its time,
    throughput and memory (N/A where a measure has no value)."""
    values: dict[str, Any] = {row["measure"]: row["value"] for row in tidy_rows(result)}
    memory = mode.gpu_nvml if result.device.startswith("cuda") else mode.host_memory
    shown = [(mode.time, 1e3, ".3f", "ms"), (mode.throughput, 1.0, ".1f", "samples/s"), (memory, 1.0, ".1f", "MB")]
    figures = []
    for measure, scale, spec, unit in shown:
        if measure in result.measures:
            value = values.get(measure)
            figures.append("N/A" if value is None else f"{format(value * scale, spec)} {unit}")
    return figures


def elapsed_since(started: float) -> float:
    """Seconds since ``started`` (a ``time.perf_counter()`` reading)."""
    return time.perf_counter() - started
