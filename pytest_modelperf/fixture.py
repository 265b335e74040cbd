"""The ``modelperf`` fixture: load checkpoints, measure them, check against baselines."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, overload

import pytest

from .core.check_targets import measurements_to_check
from .core.measurement import Direction, Measurement, ratio_of
from .core.quality_gain import quality_gain
from .core.stats import SUMMARY_STATISTICS, is_known_statistic
from .core.thresholds import check_of
from .core.timing import TimingOptions
from .core.units import dimension
from .core.verdict import Check, Verdict
from .markers import MarkerOptions
from .measure.calibration import time_with_reference, with_reference
from .measure.catalogue import LATENCY, SENTENCE_LATENCY
from .measure.cell import MEASURE_GROUPS, Cell, CellMeasurements, GpuMemory, measure_cell, measure_gpu_memory
from .measure.latency import latency_from_seconds
from .measure.memory import host_memory_increases, host_memory_measurement
from .measure.model_facts import ModelFacts, model_facts
from .measure.side_by_side import side_by_side_latencies
from .measure.throughput import Throughput, throughput_from_seconds
from .measure.workloads import SAMPLE_SENTENCES, Workload, forward, synthetic_inputs, text_runner, workload_context
from .models.loading import DeviceUnavailable, LoadedModel, model_notes, normalise_dtype, resolve_device
from .quality.accuracy import measure_accuracy
from .quality.finetune_facts import FineTuneFacts, fine_tune_facts
from .quality.perplexity import measure_perplexity
from .run.attempt import MEASUREMENT_NAMES, VERDICTS, begin_attempt
from .run.live_verdicts import announce
from .run.session import ModelPerfSession
from .run.smoke import MEMORY_ROUNDS, SCALING_SMOKE_STEPS, SMOKE_TIMING, TRAINING_WARMUP_STEPS, unjudged_verdict
from .run.tables import table_of
from .sweep.models import LOCAL, REGISTERED, model_kind
from .training.data import dataset_batches, device_batches, given_batches
from .training.distill_step import distill_recipe, distilling_loss
from .training.measurement import DEFAULT_WARMUP_STEPS, Training, TrainingPlan, measure_training
from .training.scaling import DEFAULT_NPROC, DEFAULT_STEPS, ScalingResult, measure_scaling
from .training.step import (
    OptimizerFactory,
    StepSettings,
    TrainingStep,
    adamw,
    autocast_dtype,
    synthetic_batch,
    training_copy,
)

if TYPE_CHECKING:
    from .quality.evaluation import Quality


class ModelPerf:
    """What a test gets from the ``modelperf`` fixture: load checkpoints, measure them, check the measurements.

    Every ``check`` of a test runs; the test fails once at its end, listing each failing check
    with its baseline, current value, change and threshold. A sampled measurement whose failure
    does not reproduce on a re-run of the test (``--modelperf-confirm``) does not fail it.

    Attributes:
        device: the device this test measures on (the marker's, else ``--modelperf-device``).
        dtype: the dtype models load in (the marker's, else ``--modelperf-dtype``).
        timing: the warm-up and round bounds every timing of this test uses (the marker's, else
            the run's ``--modelperf-*-rounds``/``-time`` options).
    """

    def __init__(self, session: ModelPerfSession, item: pytest.Item, options: MarkerOptions) -> None:
        self._session = session
        self._item = item
        self._options = options
        self._smoke = session.settings.disable  # --modelperf-disable: measure once, judge nothing
        timing = options.timing(session.settings.timing)  # the marker's timing is validated either way
        self.timing: TimingOptions = SMOKE_TIMING if self._smoke else timing
        begin_attempt(item)

    # -- loading -------------------------------------------------------------------------

    @property
    def device(self) -> str:
        """The device this test measures on (marker, then --modelperf-device); skips if absent."""
        return self._resolve_device(None)

    @property
    def dtype(self) -> str:
        """The dtype models load in (marker, then --modelperf-dtype): float32, float16 or bfloat16."""
        return normalise_dtype(self._options.dtype or self._session.settings.dtype)

    def _resolve_device(self, requested: str | None) -> str:
        try:
            return resolve_device(requested or self._options.device or self._session.settings.device)
        except DeviceUnavailable as error:
            pytest.skip(str(error))

    def load(
        self, checkpoint: str | os.PathLike[str], *, task: str = "auto", device: str | None = None, dtype: str | None = None
    ) -> LoadedModel:
        """A model and its tokenizer, loaded once per session for each (checkpoint, task, device, dtype).

        Args:
            checkpoint: a local ``save_pretrained`` folder (never touches the network) or a hub id
                (with ``HF_HUB_OFFLINE=1`` it must already be in the hub cache).
            task: ``auto`` (from the config's architectures; feature extraction when they name no
                head) or a task such as ``sequence-classification`` or ``question-answering``; an
                unknown one is an error that lists them.
            device: ``cpu``, ``cuda`` or ``cuda:N``; default: the test's. A CUDA device on a
                machine without one skips the test.
            dtype: ``float32``, ``float16`` or ``bfloat16``; default: the test's.

        The tokenizer is the one saved in the folder (``tokenizer.save_pretrained(folder)``), or
        None for a folder saved without one: timings then build token ids from the config, while
        ``measure_text_latency`` and ``measure_accuracy`` need a tokenizer.
        ``pytest_modelperf.models.offline_tokenizers.offline_tokenizer`` gives BERT's uncased
        WordPiece tokenizer without a hub, to save beside such weights.
        """
        return self._session.models.get(checkpoint, task=task, device=self._resolve_device(device), dtype=dtype or self.dtype)

    def load_registered(self, name: str, *, device: str | None = None, dtype: str | None = None) -> LoadedModel:
        """A model of the registry by name: its offline checkpoint (prepared if needed), or with
        --modelperf-online its real hub checkpoint; loaded with the registry's task."""
        try:  # a fine-tuned model is fine-tuned on the session's device, which may not be here
            checkpoint, task = self._session.registered_checkpoint(name)
        except DeviceUnavailable as error:
            pytest.skip(str(error))
        # Named as the registry names it: a packaged checkpoint's folder may be called "model".
        return replace(self.load(checkpoint, task=task, device=device, dtype=dtype), registry_name=name)

    # -- measuring -----------------------------------------------------------------------

    def measure_latency(
        self,
        model: LoadedModel,
        *,
        batch_size: int = 1,
        sequence_length: int = 128,
        statistic: str = "median",
        name: str | None = None,
        benchmark: Any = None,
    ) -> Measurement:
        """Per-round latency (ms) of one forward pass over a batch_size x sequence_length batch.

        Args:
            model: what ``load`` or ``load_registered`` gave.
            batch_size: rows of the synthetic batch.
            sequence_length: tokens per row, ``[CLS] ... [SEP]`` included.
            statistic: the statistic a check compares by default: ``median``, ``mean``, ``min``,
                ``max``, ``std``, ``iqr`` or ``pNN``; every statistic is kept either way.
            name: the measurement's name; default ``latency[<batch>x<sequence>]``.
            benchmark: pytest-benchmark's ``benchmark`` fixture, to put the samples in its table.
        """
        workload = Workload(batch_size, sequence_length)
        seconds, reference = self._time_forward(model, workload)
        latency = _latency(
            name or LATENCY.named(workload.label),
            seconds,
            statistic,
            context=workload_context(model, workload),
            notes=model_notes(model),
        )
        measurement = with_reference(latency, reference)
        if benchmark is not None:
            from .run.benchmark_bridge import report_to_benchmark

            report_to_benchmark(benchmark, seconds, {"modelperf_metric": measurement.name, **measurement.context})
        return measurement

    def measure_latency_side_by_side(
        self, models: Sequence[LoadedModel], *, batch_size: int = 1, sequence_length: int = 128, statistic: str = "median"
    ) -> list[Measurement]:
        """Latency (ms) of several models timed in alternating rounds, for ratios that a noisy
        machine cannot skew: drift during the run falls on every model alike."""
        return side_by_side_latencies(models, Workload(batch_size, sequence_length), self.timing, statistic=_statistic(statistic))

    def ratio(
        self,
        numerator: Measurement,
        denominator: Measurement,
        *,
        name: str,
        direction: Direction | str = Direction.HIGHER_IS_BETTER,
    ) -> Measurement:
        """``numerator / denominator`` in unit ``x``; per round when both were timed side by side.

        ``modelperf.check(modelperf.ratio(bert, distilbert, name="speed-up"), limit="1.5x")``
        asserts DistilBERT at least 1.5x faster than BERT and compares the ratio with its baseline.
        """
        return ratio_of(numerator, denominator, name=name, direction=Direction(direction))

    def quality_gain(self, better: Measurement, worse: Measurement, *, name: str | None = None) -> Measurement:
        """How much ``better`` scores above ``worse`` on the same examples, in points, as the lower
        bound of its paired confidence interval at --modelperf-confidence.

        ``modelperf.check(modelperf.quality_gain(distilled["accuracy"], plain["accuracy"]), limit="0 points")``
        asserts the distilled model more accurate than sampling the examples could explain.
        """
        return quality_gain(better, worse, name=name, confidence=self._session.settings.noise.confidence)

    def measure_text_latency(
        self, model: LoadedModel, texts: Sequence[str] = SAMPLE_SENTENCES, *, name: str = SENTENCE_LATENCY.name
    ) -> Measurement:
        """Time (ms) to tokenize and run one sentence, one after another: a round runs every
        text in turn, unpadded, and its sample is the round's time per sentence."""
        if not texts:
            raise ValueError("measure_text_latency needs at least one text")
        if model.tokenizer is None:
            raise ValueError(f"{model.name} has no tokenizer; text latency needs one")
        seconds, reference = self._time(text_runner(model, texts), model.device)
        measurement = _latency(
            name,
            [s / len(texts) for s in seconds],
            "median",
            context={"device": model.device, "dtype": model.dtype, "model": model.name, "task": model.task, "texts": len(texts)},
            notes=model_notes(model),
        )
        return with_reference(measurement, reference)

    def measure_throughput(self, model: LoadedModel, *, batch_size: int = 32, sequence_length: int = 128) -> Throughput:
        """Samples/s and tokens/s per round, for a batch_size x sequence_length batch."""
        workload = Workload(batch_size, sequence_length)
        seconds, reference = self._time_forward(model, workload)
        result = throughput_from_seconds(seconds, workload, context=workload_context(model, workload), notes=model_notes(model))
        return Throughput(
            with_reference(result.samples_per_second, reference), with_reference(result.tokens_per_second, reference)
        )

    def measure_callable(
        self, work: Callable[[], Any], *, name: str, device: str = "cpu", statistic: str = "median"
    ) -> Measurement:
        """Latency (ms) of any callable; on a CUDA device it is timed with CUDA events."""
        seconds, reference = self._time(work, device)
        return with_reference(_latency(name, seconds, statistic, context={"device": device, "dtype": self.dtype}), reference)

    def measure_host_memory(
        self, model: LoadedModel, *, batch_size: int = 1, sequence_length: int = 128, rounds: int = 5
    ) -> Measurement:
        """Peak resident memory (MB) a forward pass adds on the host; one sample per round."""
        workload = Workload(batch_size, sequence_length)
        inputs = synthetic_inputs(model, workload)
        results = host_memory_increases(partial(forward, model, inputs), MEMORY_ROUNDS if self._smoke else rounds)
        context = workload_context(model, workload)
        return host_memory_measurement(results, workload.label, context=context, notes=model_notes(model))

    def measure_gpu_memory(self, model: LoadedModel, *, batch_size: int = 1, sequence_length: int = 128) -> GpuMemory:
        """Allocator peaks and NVML readings (MB) for one forward pass; skips off CUDA.

        A cell that runs out of device memory is recorded as N/A ("out of memory"), like the
        original study's tables; the memory is released and the session goes on.
        """
        if not model.device.startswith("cuda"):
            pytest.skip(f"GPU memory needs a CUDA device; {model.name} is on {model.device}")
        return measure_gpu_memory(model, Workload(batch_size, sequence_length))

    def measure_cell(self, cell: Cell, *, measures: Sequence[str] = MEASURE_GROUPS, memory_rounds: int = 5) -> CellMeasurements:
        """One cell of a sweep (``sweep_cells``), measured as ``modelperf sweep`` measures it.

        Returns the cell's ``latency`` (ms), ``throughput`` (samples/s), ``host_memory`` and, on
        CUDA, ``gpu_memory_allocated``/``_reserved``/``_nvml`` (MB), named like the other
        measurements (``latency[8x128]``); ``.measurements`` lists them for ``check``. A cell the
        model cannot run (a sequence longer than its position embeddings) skips the test; a
        cell that runs out of memory gives N/A measurements.
        """
        kind = model_kind(cell.model)
        if kind == REGISTERED:
            model = self.load_registered(cell.model)
        else:
            model = self.load(os.path.expanduser(cell.model) if kind == LOCAL else cell.model)
        result = measure_cell(
            model,
            cell,
            groups=measures,
            timing=self.timing,
            calibrate=self._calibrate,
            memory_rounds=MEMORY_ROUNDS if self._smoke else memory_rounds,
        )
        if result.status.startswith("skipped"):
            pytest.skip(f"{cell.id}: {result.status}")
        return result

    def measure_accuracy(
        self,
        model: LoadedModel,
        dataset: Any = None,
        *,
        split: str = "validation",
        metrics: Sequence[str] | None = None,
        limit: int | None = None,
        max_length: int | None = None,
        doc_stride: int = 128,
        text_column: str = "text",
        text_pair_column: str | None = None,
        label_column: str = "label",
        batch_size: int = 32,
    ) -> Quality:
        """Quality scores (points, 0-100) of a classifier or extractive-QA model on a dataset.

        ``dataset`` is a built-in name (``topics``, ``facts-qa``; the default follows the
        model's task), a csv/json/jsonl/parquet file or ``save_to_disk`` folder, a hub id, or a
        ``datasets.Dataset``. Classification gives accuracy, f1, precision, recall and roc_auc
        (macro over classes, binary for two); question answering gives SQuAD's exact_match and
        f1 over overflowing windows of ``max_length`` tokens with ``doc_stride`` overlap. Each
        score keeps its per-example outcomes, so its comparison knows its sampling noise.
        """
        return measure_accuracy(
            model,
            dataset,
            split=split,
            metrics=metrics,
            limit=limit,
            max_length=max_length,
            doc_stride=doc_stride,
            text_column=text_column,
            text_pair_column=text_pair_column,
            label_column=label_column,
            batch_size=batch_size,
            online=self._session.settings.online,
        )

    def measure_perplexity(
        self,
        model: LoadedModel,
        texts: Any = None,
        *,
        limit: int | None = None,
        max_length: int = 128,
        batch_size: int = 64,
    ) -> Quality:
        """The pseudo-perplexity of a masked language model, or the perplexity of a causal one.

        ``texts`` is a list of strings, a built-in name, a data file, a hub id or a
        ``datasets.Dataset`` with a ``text`` column (the built-in ``topics`` validation
        sentences by default; the first ``limit`` of them). A plain number, lower is better;
        each sentence's negative log-likelihood and token count are kept, so its comparison
        knows its sampling noise. ``batch_size`` counts masked copies for a masked model.
        """
        return measure_perplexity(model, texts, limit=limit, max_length=max_length, batch_size=batch_size)

    def measure_training(
        self,
        model: LoadedModel,
        *,
        batch_size: int = 8,
        sequence_length: int = 128,
        steps: int | None = None,
        warmup_steps: int = DEFAULT_WARMUP_STEPS,
        gradient_accumulation: int = 1,
        dtype: str | None = None,
        dataset: Any = None,
        split: str = "train",
        text_column: str = "text",
        text_pair_column: str | None = None,
        label_column: str = "label",
        optimizer: OptimizerFactory | None = None,
        max_grad_norm: float | None = None,
        memory_rounds: int = 3,
        teacher: LoadedModel | None = None,
        temperature: float = 2.0,
        alpha: float = 0.5,
    ) -> Training:
        """One training step (forward with the task's loss, backward, optimizer step) measured now.

        Gives the step's latency (ms per optimizer step), samples/s and tokens/s per step, the
        host memory peak a step from a fresh optimizer adds, and on CUDA the allocator's peaks
        and NVML's reading of it (``modelperf.check(training)`` checks each). ``warmup_steps``
        run untimed; ``steps`` timed steps follow (default: the timing options' rounds and time
        limit). A step is ``gradient_accumulation`` micro-batches of ``batch_size`` x
        ``sequence_length``. ``dtype`` ``"bf16"`` or ``"fp16"`` runs the forward under autocast
        (fp16 with a gradient scaler), as mixed-precision training does. Batches are synthetic
        with labels for the task, or a classification ``dataset`` (as ``measure_accuracy`` takes
        one) tokenized to that shape, or a list of batches of tensors. ``optimizer`` makes the
        optimizer from the parameters (default AdamW, lr 5e-5, weight decay 0.01). A copy of the
        model is trained: the loaded model keeps its weights. A step that runs out of memory
        gives N/A measurements.

        With a ``teacher`` (a loaded model of the same task, classes and vocabulary) the step
        distils: the teacher's forward pass without gradients, then ``alpha`` times the student's
        own loss plus ``1 - alpha`` times ``temperature**2`` KL from the teacher's softened
        outputs, as a distilling fine-tune trains; its measurements are labelled
        ``8x128, distilled from <teacher>``.
        """
        settings = StepSettings(
            Workload(batch_size, sequence_length),
            gradient_accumulation=gradient_accumulation,
            autocast=autocast_dtype(dtype),
            max_grad_norm=max_grad_norm,
            teacher=None if teacher is None else teacher.name,
        )
        loss = None if teacher is None else distilling_loss(model, teacher, distill_recipe(teacher.name, temperature, alpha))
        plan = TrainingPlan(
            self.timing,
            steps=None if self._smoke else steps,  # None: the timing's rounds, one in a smoke run
            warmup_steps=TRAINING_WARMUP_STEPS if self._smoke else warmup_steps,
            memory_rounds=MEMORY_ROUNDS if self._smoke else memory_rounds,
            calibrate=self._calibrate,
        )
        if dataset is None:
            batches = [synthetic_batch(model, settings.workload, seed=seed) for seed in range(gradient_accumulation)]
        elif given_batches(dataset):
            batches = device_batches(model, dataset)
        else:
            batches = dataset_batches(
                model,
                dataset,
                settings.workload,
                split=split,
                text_column=text_column,
                text_pair_column=text_pair_column,
                label_column=label_column,
            )
        step = TrainingStep(
            training_copy(model),
            batches,
            settings,
            device=model.device,
            optimizer=optimizer or adamw,
            loss=loss,
            resident=() if teacher is None else (teacher.model,),
        )
        try:
            return measure_training(model, step, plan)
        finally:
            step.release()

    def measure_scaling(
        self,
        model: LoadedModel,
        *,
        nproc: Sequence[int] = DEFAULT_NPROC,
        batch_size: int = 8,
        sequence_length: int = 128,
        steps: int = DEFAULT_STEPS,
        warmup_steps: int = DEFAULT_WARMUP_STEPS,
        gradient_accumulation: int = 1,
        delay_sync: bool = False,
        compare_delay_sync: bool = False,
        threads: int | None = None,
    ) -> ScalingResult:
        """Data-parallel training of ``model``'s checkpoint on torchrun at each count of ``nproc``
        workers (gloo on the CPU, NCCL on CUDA): samples/s, and speed-up and efficiency over the
        smallest count, as measurements (``result.speedup_at(2)``; ``modelperf.check(result)``
        checks each). Each worker trains its own ``batch_size`` x ``sequence_length`` batch; with
        ``gradient_accumulation``, ``delay_sync`` all-reduces once per step (``no_sync``) and
        ``compare_delay_sync`` measures both side by side. ``threads`` per worker on the CPU
        defaults to the usable cores shared by the largest count. More workers than GPUs skips.
        """
        device = "cuda" if model.device.startswith("cuda") else "cpu"
        try:
            return measure_scaling(
                model.checkpoint,
                model.task,
                nproc=nproc,
                batch_size=batch_size,
                sequence_length=sequence_length,
                steps=SCALING_SMOKE_STEPS if self._smoke else steps,
                warmup_steps=TRAINING_WARMUP_STEPS if self._smoke else warmup_steps,
                gradient_accumulation=gradient_accumulation,
                delay_sync=delay_sync,
                compare_delay_sync=compare_delay_sync,
                device=device,
                threads=threads,
                name=model.name,
            )
        except DeviceUnavailable as error:
            pytest.skip(str(error))

    def fine_tune_facts(self, model: LoadedModel) -> FineTuneFacts:
        """How the checkpoint's fine-tune went when it was made here: time, samples/s, peak memory.

        Skips for a checkpoint that was not fine-tuned by ``modelperf prepare``.
        """
        facts = fine_tune_facts(model, calibrate=self._calibrate)
        if facts is None:
            pytest.skip(f"{model.name} was not fine-tuned here; fine-tune facts come from modelperf prepare")
        return facts

    def model_facts(self, model: LoadedModel) -> ModelFacts:
        """Parameter count and artefact size (exact) and load time of a loaded checkpoint."""
        return model_facts(model)

    def show_table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, notes: Sequence[str] = ()) -> None:
        """Show a table in the run's terminal summary under ``title``, with ``notes`` beneath it
        (the teacher / student / distilled-student comparison, say). Cells print as text."""
        self._item.user_properties.append(table_of(title, headers, rows, notes).to_property())

    def record(
        self,
        name: str,
        value: float | Sequence[float],
        *,
        unit: str,
        direction: Direction | str = Direction.LOWER_IS_BETTER,
        deterministic: bool = False,
        statistic: str = "median",
    ) -> Measurement:
        """A measurement of the test's own making: one value, or per-round samples.

        Args:
            name: unique within the test; the baseline entry's key.
            value: one value, or one sample per round (then ``statistic`` summarises them).
            unit: a unit modelperf knows (``ms``, ``s``, ``MB``, ``samples/s``, ``points``, ``x``,
                ``count``, ...); an unknown one is an error.
            direction: ``lower_is_better`` or ``higher_is_better``.
            deterministic: compared exactly (no noise band) by default, like a parameter count.
            statistic: how samples are summarised.
        """
        dimension(unit)  # rejects unknown units early
        direction = Direction(direction)
        device = self._session.settings.device
        context = {"device": device if device != "auto" else "cpu", "dtype": self.dtype}
        if isinstance(value, (int, float)):
            if deterministic:
                return Measurement.exact(name, value, unit=unit, direction=direction, context=context)
            return Measurement(name, unit, direction, float(value), context=context)
        return Measurement.from_samples(
            name, list(value), unit=unit, direction=direction, statistic=_statistic(statistic), context=context
        )

    def _time_forward(self, model: LoadedModel, workload: Workload) -> tuple[list[float], list[float]]:
        inputs = synthetic_inputs(model, workload)
        return self._time(lambda: forward(model, inputs), model.device)

    def _time(self, work: Callable[[], Any], device: str) -> tuple[list[float], list[float]]:
        """Per-round seconds of ``work`` and, on the CPU, of the reference workload timed between them."""
        return time_with_reference(work, device, self.timing, calibrate=self._calibrate)

    @property
    def _calibrate(self) -> bool:
        """Whether to time the speed reference: only a judged time is judged at the machine's speed."""
        return self._session.settings.calibrate and not self._smoke

    # -- checking ------------------------------------------------------------------------

    @overload
    def check(
        self, measurement: Measurement, *, threshold: str | None = None, limit: str | None = None, statistic: str | None = None
    ) -> Verdict: ...

    @overload
    def check(
        self,
        measurement: Throughput | Quality | CellMeasurements,
        *,
        threshold: str | None = None,
        limit: str | None = None,
        statistic: str | None = None,
    ) -> list[Verdict]: ...

    def check(
        self,
        measurement: Measurement | Throughput | Quality | CellMeasurements,
        *,
        threshold: str | None = None,
        limit: str | None = None,
        statistic: str | None = None,
    ) -> Verdict | list[Verdict]:
        """Compare with the stored baseline and/or an absolute limit; a failure fails this test.

        ``threshold`` is the allowed change towards worse: relative ("10%") or absolute
        ("5ms", "64MB"); a number without a unit is an error. It defaults to the marker's or
        --modelperf-threshold for sampled metrics and to exact equality for deterministic ones.
        ``limit`` is an absolute bound ("50ms"); given alone, it checks the limit without a
        baseline. ``statistic`` judges another statistic of a sampled measurement ("p99").

        A throughput, a quality evaluation, a sweep cell, a training or scaling result, or a list
        of measurements (side by side) is checked measurement by measurement, and gives a list of
        verdicts. For ``model_facts``, ``measure_gpu_memory`` and ``fine_tune_facts``, check the
        field you mean (``facts.parameter_count``). A failing verdict fails the test at its end,
        after every other check of the test has run.
        """
        __tracebackhide__ = True
        parts = measurements_to_check(measurement)
        checks = [  # every argument error before any verdict counts
            check_of(
                part,
                threshold=threshold,
                limit=limit,
                statistic=statistic,
                marker_threshold=self._options.threshold,
                run_threshold=self._session.settings.threshold,
            )
            for part in parts
        ]
        verdicts = [self._judge(part, check) for part, check in zip(parts, checks, strict=True)]
        return verdicts[0] if isinstance(measurement, Measurement) else verdicts

    def _judge(self, measurement: Measurement, check: Check) -> Verdict:
        if measurement.samples and check.statistic not in (measurement.statistic, *SUMMARY_STATISTICS):
            # A statistic no summary keeps (p75): judged as the measurement's own, so its baseline holds it.
            measurement = replace(measurement, statistic=check.statistic, value=measurement.value_of(check.statistic))
        self._claim_name(measurement)
        if self._smoke:
            self._session.smoke_checks.append(self._item.nodeid)
            return unjudged_verdict(measurement, check)
        record = self._session.judge(self._item.nodeid, measurement, check)
        self._item.stash[VERDICTS].append(record.verdict)
        announce(self._item.config, record.verdict)
        return record.verdict

    def _claim_name(self, measurement: Measurement) -> None:
        earlier = self._item.stash[MEASUREMENT_NAMES].setdefault(measurement.name, measurement)
        if earlier is not measurement:
            raise ValueError(
                f"two different measurements are named {measurement.name!r} in this test; "
                "give one another name with measurement.renamed('...')"
            )


def _latency(
    name: str, seconds: Sequence[float], statistic: str, *, context: dict[str, Any], notes: tuple[str, ...] = ()
) -> Measurement:
    """Per-round seconds as a latency measurement in milliseconds."""
    return latency_from_seconds(name, seconds, statistic=_statistic(statistic), context=context, notes=notes)


def _statistic(name: str) -> str:
    if not is_known_statistic(name):
        raise ValueError(f"unknown statistic {name!r}; use mean, median, min, max, std, iqr or pNN")
    return name
