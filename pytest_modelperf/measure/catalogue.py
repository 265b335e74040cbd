"""The catalogue of every measure the project produces: its stored name, unit, direction and kind.

Each measure is declared once here, and everything that names, tabulates or draws one reads it:

- ``name``: the stem stored in baselines; a measurement's full name adds its workload or data
  in brackets (``latency[8x128]``, ``accuracy[topics/validation]``), see ``Measure.named``;
- ``unit`` and ``direction``: as measured and judged;
- ``deterministic``: the value is exact (a parameter count, the allocator's peak), so it is
  compared without a noise band;
- ``rerunnable``: running the test again measures it afresh, so a failure can be confirmed by
  a re-run (timings and memory peaks can; a recorded fine-tune, a cached load or an evaluation
  on fixed data cannot). Kept apart from ``deterministic``: an accuracy is neither;
- ``portable``: no machine changes the value (a parameter count, an artefact's size, a quality
  score on fixed data), so its baseline is kept per device kind and dtype, not per CPU or GPU
  model, and checked on every runner from the first run (see ``measure.baseline_keys``);
- ``device_independent``: a portable value that neither the device nor the dtype changes (a
  parameter count, the size of the weight files on disk), kept once for every device: a GPU
  runner checks it against what a CPU runner recorded;
- ``sweep_id``: its value in a tidy table's ``measure`` column (``modelperf sweep``'s
  ``sweep.csv`` and the HTML report's plots), None for a measure no table holds; ``sweep_unit``
  is the unit of that table's figures and ``headline`` how its ``value`` sums up the rounds;
- ``title``: how plots and tables title it.

``measure_named`` finds the measure of a measurement's name (by stem, or by sweep id for a
value recorded under one); ``SWEEP_MEASURES`` lists the tabulated ones by sweep id. This
module imports neither torch nor anything heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..core.measurement import Direction

# How a table's ``value`` column sums up a measure's rounds: the median round, the rate of the
# median round time (batch size / median seconds), or the highest round (a memory peak).
Headline = Literal["median", "rate of median time", "max"]

LOWER = Direction.LOWER_IS_BETTER
HIGHER = Direction.HIGHER_IS_BETTER


@dataclass(frozen=True)
class Measure:
    """One measure the project produces; see the module's docstring for each field."""

    name: str
    unit: str
    direction: Direction
    deterministic: bool
    rerunnable: bool
    title: str
    sweep_id: str | None = None
    sweep_unit: str | None = None  # defaults to ``unit``
    headline: Headline = "median"
    portable: bool = False
    device_independent: bool = False

    def __post_init__(self) -> None:
        if self.device_independent and not self.portable:
            raise ValueError(f"measure {self.name!r}: a device-independent measure must also be portable")

    def named(self, detail: str | None = None) -> str:
        """The measurement's full name: ``latency[8x128]`` for detail ``8x128``; the stem without one."""
        return self.name if detail is None else f"{self.name}[{detail}]"

    @property
    def table_unit(self) -> str:
        """The unit of the measure's figures in a tidy table (``s`` for a latency measured in ms)."""
        return self.sweep_unit or self.unit


# -- timings -----------------------------------------------------------------------------
LATENCY = Measure("latency", "ms", LOWER, False, True, "inference time", "time", sweep_unit="s")
THROUGHPUT = Measure("throughput", "samples/s", HIGHER, False, True, "throughput", "throughput", headline="rate of median time")
TOKEN_THROUGHPUT = Measure("token_throughput", "tokens/s", HIGHER, False, True, "token throughput")
SENTENCE_LATENCY = Measure("sentence_latency", "ms", LOWER, False, True, "time per sentence")
LOAD_TIME = Measure("load_time", "s", LOWER, False, False, "load time")  # a model is loaded once per session

# -- memory --------------------------------------------------------------------------------
HOST_MEMORY = Measure("host_memory", "MB", LOWER, False, True, "host memory peak", "host_memory_peak", headline="max")
GPU_PEAK_ALLOCATED = Measure(
    "gpu_memory.peak_allocated", "MB", LOWER, True, True, "GPU memory, allocator peak", "gpu_memory_allocated", headline="max"
)
GPU_PEAK_RESERVED = Measure(
    "gpu_memory.peak_reserved", "MB", LOWER, False, True, "GPU memory, reserved peak", "gpu_memory_reserved", headline="max"
)
GPU_NVML_DEVICE = Measure(  # what nvidia-smi shows, as the study measured it
    "gpu_memory.nvml_device", "MB", LOWER, False, True, "GPU memory, NVML device", "gpu_memory_nvml", headline="max"
)
GPU_NVML_PROCESS = Measure(
    "gpu_memory.nvml_process", "MB", LOWER, False, True, "GPU memory, NVML process", "gpu_memory_nvml_process", headline="max"
)

# -- training: one optimizer step (forward with its loss, backward, optimizer), measured now ---
TRAIN_STEP_LATENCY = Measure("train_step_latency", "ms", LOWER, False, True, "training step time", "train_time", sweep_unit="s")
TRAIN_THROUGHPUT = Measure(
    "train_throughput",
    "samples/s",
    HIGHER,
    False,
    True,
    "training throughput",
    "train_throughput",
    headline="rate of median time",
)
TRAIN_TOKEN_THROUGHPUT = Measure("train_token_throughput", "tokens/s", HIGHER, False, True, "training token throughput")
TRAIN_HOST_MEMORY = Measure(
    "train_host_memory", "MB", LOWER, False, True, "training host memory peak", "train_host_memory_peak", headline="max"
)
TRAIN_GPU_PEAK_ALLOCATED = Measure(
    "train_gpu_memory.peak_allocated",
    "MB",
    LOWER,
    True,
    True,
    "training GPU memory, allocator peak",
    "train_gpu_memory_allocated",
    headline="max",
)
TRAIN_GPU_PEAK_RESERVED = Measure(
    "train_gpu_memory.peak_reserved",
    "MB",
    LOWER,
    False,
    True,
    "training GPU memory, reserved peak",
    "train_gpu_memory_reserved",
    headline="max",
)
TRAIN_GPU_NVML_DEVICE = Measure(
    "train_gpu_memory.nvml_device",
    "MB",
    LOWER,
    False,
    True,
    "training GPU memory, NVML device",
    "train_gpu_memory_nvml",
    headline="max",
)
TRAIN_GPU_NVML_PROCESS = Measure(
    "train_gpu_memory.nvml_process",
    "MB",
    LOWER,
    False,
    True,
    "training GPU memory, NVML process",
    "train_gpu_memory_nvml_process",
    headline="max",
)

# -- distributed training on torchrun: N workers against one ------------------------------------
SCALING_THROUGHPUT = Measure("scaling_throughput", "samples/s", HIGHER, False, True, "distributed training throughput")
SCALING_SPEEDUP = Measure("scaling_speedup", "x", HIGHER, False, True, "speed-up over the fewest workers")
SCALING_EFFICIENCY = Measure("scaling_efficiency", "x", HIGHER, False, True, "scaling efficiency (speed-up / workers)")

# -- the model's own facts -----------------------------------------------------------------
PARAMETERS = Measure("parameters", "count", LOWER, True, False, "parameters", portable=True, device_independent=True)
ARTEFACT_SIZE = Measure("artefact_size", "MB", LOWER, True, False, "artefact size", portable=True, device_independent=True)

# -- a fine-tune made by modelperf prepare, as recorded then -----------------------------------
FINE_TUNE_TIME = Measure("fine_tune.time", "s", LOWER, False, False, "fine-tune time")
FINE_TUNE_THROUGHPUT = Measure("fine_tune.throughput", "samples/s", HIGHER, False, False, "fine-tune throughput")
FINE_TUNE_PEAK_HOST_MEMORY = Measure("fine_tune.peak_host_memory", "MB", LOWER, False, False, "fine-tune host memory peak")
FINE_TUNE_PEAK_GPU_MEMORY = Measure("fine_tune.peak_gpu_memory", "MB", LOWER, False, False, "fine-tune GPU memory peak")

# -- quality scores (points, 0-100) of an evaluation on fixed data -----------------------------
ACCURACY = Measure("accuracy", "points", HIGHER, False, False, "accuracy", portable=True)
F1 = Measure("f1", "points", HIGHER, False, False, "F1", portable=True)
PRECISION = Measure("precision", "points", HIGHER, False, False, "precision", portable=True)
RECALL = Measure("recall", "points", HIGHER, False, False, "recall", portable=True)
ROC_AUC = Measure("roc_auc", "points", HIGHER, False, False, "ROC AUC", portable=True)
EXACT_MATCH = Measure("exact_match", "points", HIGHER, False, False, "exact match", portable=True)

# -- language-model quality on fixed text: perplexities, plain numbers (unit "") ----------------
PSEUDO_PERPLEXITY = Measure("pseudo_perplexity", "", LOWER, False, False, "pseudo-perplexity", portable=True)
PERPLEXITY = Measure("perplexity", "", LOWER, False, False, "perplexity", portable=True)

MEASURES: tuple[Measure, ...] = (
    LATENCY,
    THROUGHPUT,
    TOKEN_THROUGHPUT,
    SENTENCE_LATENCY,
    LOAD_TIME,
    HOST_MEMORY,
    GPU_PEAK_ALLOCATED,
    GPU_PEAK_RESERVED,
    GPU_NVML_DEVICE,
    GPU_NVML_PROCESS,
    TRAIN_STEP_LATENCY,
    TRAIN_THROUGHPUT,
    TRAIN_TOKEN_THROUGHPUT,
    TRAIN_HOST_MEMORY,
    TRAIN_GPU_PEAK_ALLOCATED,
    TRAIN_GPU_PEAK_RESERVED,
    TRAIN_GPU_NVML_DEVICE,
    TRAIN_GPU_NVML_PROCESS,
    SCALING_THROUGHPUT,
    SCALING_SPEEDUP,
    SCALING_EFFICIENCY,
    PARAMETERS,
    ARTEFACT_SIZE,
    FINE_TUNE_TIME,
    FINE_TUNE_THROUGHPUT,
    FINE_TUNE_PEAK_HOST_MEMORY,
    FINE_TUNE_PEAK_GPU_MEMORY,
    ACCURACY,
    F1,
    PRECISION,
    RECALL,
    ROC_AUC,
    EXACT_MATCH,
    PSEUDO_PERPLEXITY,
    PERPLEXITY,
)

BY_NAME: Mapping[str, Measure] = {measure.name: measure for measure in MEASURES}
# The measures a tidy table holds, by sweep id, in the order a sweep makes them.
SWEEP_MEASURES: Mapping[str, Measure] = {measure.sweep_id: measure for measure in MEASURES if measure.sweep_id is not None}


def stem(measurement_name: str) -> str:
    """A measurement's name without its bracketed detail: ``latency`` of ``latency[8x128]``."""
    return measurement_name.split("[", 1)[0].strip()


def measure_named(measurement_name: str) -> Measure | None:
    """The measure behind a measurement's name (``latency[8x128]``, or a sweep id such as
    ``time[8x128]``); None for a name of the test's own making."""
    key = stem(measurement_name)
    return BY_NAME.get(key) or SWEEP_MEASURES.get(key)


def sweep_measure(sweep_id: str) -> Measure:
    """The measure of a tidy table's ``measure`` value (``time``, ``host_memory_peak``...)."""
    try:
        return SWEEP_MEASURES[sweep_id]
    except KeyError:
        raise ValueError(f"unknown sweep measure {sweep_id!r}; known: {', '.join(SWEEP_MEASURES)}") from None


def sweep_id_of(measure: Measure) -> str:
    """The measure's sweep id; an error for a measure no tidy table holds."""
    if measure.sweep_id is None:
        raise ValueError(f"{measure.name} has no sweep id: no tidy table holds it")
    return measure.sweep_id
