"""Which baseline a check is judged against: one rule for the plugin and ``modelperf compare``.

The plugin (``session.check``) and the command (``compare_runs``) both ask this module, so a
check gets the same verdict whichever path judges it:

- a check with only a limit is held to its limit and compared with no baseline;
- otherwise the entry stored under the check's own key applies;
- a quality score (a measurement with per-example outcomes) in a lower precision that has no
  entry of its own is judged against the full-precision one, with a note saying so: switching
  a model to float16 must not start it from a fresh baseline, and so lose its accuracy gate.

Hardware keys end in ``-<dtype>`` (``environment.Hardware.key``), which is how the
full-precision key of a check is found without knowing the machine it ran on.

No pytest and no torch here: ``modelperf compare`` runs without either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .baseline_entry import BaselineEntry, EntryKey
from .measurement import Measurement
from .verdict import Check

QUALITY_REFERENCE_DTYPE = "float32"
DEFAULT_BASELINE_DIR = "baselines"  # the plugin's modelperf_baseline_dir when none is configured
DEFAULT_THRESHOLD = "10%"  # the plugin's modelperf_threshold: a sampled check's allowed change towards worse

Lookup = Callable[[EntryKey], BaselineEntry | None]


@dataclass(frozen=True)
class Resolution:
    """The baseline entry a check is judged against, where it was found, and why, if not obvious."""

    entry: BaselineEntry | None
    key: EntryKey | None  # the key the entry is stored under; None without an entry
    note: str = ""

    def annotate(self, measurement: Measurement) -> Measurement:
        """The measurement with this resolution's note among its notes, once: a measurement read
        back from an export already carries the note the plugin gave it."""
        if not self.note or self.note in measurement.notes:
            return measurement
        return replace(measurement, notes=(*measurement.notes, self.note))


NO_BASELINE = Resolution(None, None)


def is_compared(check: Check) -> bool:
    """Whether a check is compared with a baseline (and so records one): not when it has only a limit."""
    return check.threshold is not None


def resolve_baseline(key: EntryKey, measurement: Measurement, check: Check, lookup: Lookup) -> Resolution:
    """The baseline entry that applies to ``measurement`` checked by ``check`` under ``key``.

    ``lookup`` reads one entry (the baseline store's, or a base run's); its errors propagate.
    """
    if not is_compared(check):
        return NO_BASELINE
    entry = lookup(key)
    if entry is not None:
        return Resolution(entry, key)
    reference = quality_reference_key(key, measurement)
    if reference is None:
        return NO_BASELINE
    entry = lookup(reference)
    if entry is None:
        return NO_BASELINE
    note = f"judged against the {QUALITY_REFERENCE_DTYPE} baseline: there is no {dtype_of(key.hardware_key)} one"
    return Resolution(entry, reference, note)


def quality_reference_key(key: EntryKey, measurement: Measurement) -> EntryKey | None:
    """The full-precision key a lower-precision quality score falls back to; None for anything else."""
    if measurement.examples is None or "-" not in key.hardware_key:
        return None
    dtype = dtype_of(key.hardware_key)
    if dtype == QUALITY_REFERENCE_DTYPE:
        return None
    hardware = key.hardware_key[: -len(dtype)] + QUALITY_REFERENCE_DTYPE
    return replace(key, hardware_key=hardware)


def dtype_of(hardware_key: str) -> str:
    """The dtype a hardware key was made for: its last dash-separated part."""
    return hardware_key.rpartition("-")[2]


def entry_as_stored(measurement: Measurement, *, environment: str, recorded: str) -> BaselineEntry:
    """The entry an update records from ``measurement``, as the baseline file gives it back
    (values rounded as the file keeps them): a run judged against another run's measurement
    then gets the verdict it would get against the baseline recorded from that run.

    Raises ``FormatError`` when the baseline file could not give the entry back."""
    entry = BaselineEntry.from_measurement(measurement, environment=environment, recorded=recorded)
    return BaselineEntry.from_dict(entry.to_dict(), measurement.name)
