"""What measuring a training step costs, and whether its samples/s are a plain loop's.

    python benchmarks/training_harness.py                   # BERT-tiny's shape, 8x128, 1 thread
    python benchmarks/training_harness.py --pairs 10 --steps 20 --batch-size 8 --sequence-length 128

Two figures, each measured side by side in one process on two copies of one model (same
weights, same batch, each with its own AdamW):

1. **Harness cost.** A hand-written step (``model(**batch).loss.backward(); optimizer.step();
   optimizer.zero_grad(set_to_none=True)``) and modelperf's ``TrainingStep`` called through the
   latency tracker, in alternating rounds (A B, B A, ...). The cost is the ratio of the medians
   minus one. Target: at most 2%.
2. **Samples/s agreement.** ``measure_training`` (warm-up, timed steps, the full path of
   ``modelperf.measure_training``) against a plain loop that times ``--steps`` hand-written steps
   in one ``perf_counter`` span after the same warm-up; the two alternate ``--pairs`` times and
   the median of each is compared. Target: within 5%.

torch runs on one intra-op thread (``--threads``), as the plugin pins it on a 2-core runner.
BERT-tiny's shape (2 layers, hidden 128, 2 heads; its 30,522-token embedding dominates the
optimizer's work) is built from its config with random weights: the step's time is the shape's.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Any

import torch
from transformers import BertConfig

from pytest_modelperf.core.counts import counted
from pytest_modelperf.core.timing import TimingOptions
from pytest_modelperf.measure.latency import LatencyTracker
from pytest_modelperf.measure.workloads import Workload
from pytest_modelperf.models.loading import LoadedModel
from pytest_modelperf.training.measurement import TrainingPlan, measure_training
from pytest_modelperf.training.step import StepSettings, TrainingStep, synthetic_batch, training_copy

BERT_TINY = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512, num_labels=4)


def bert_tiny() -> LoadedModel:
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**BERT_TINY)).eval()
    parameters = sum(parameter.numel() for parameter in model.parameters())
    return LoadedModel(
        model, None, "bert-tiny (random weights)", "sequence-classification", "cpu", "float32", 0.0, parameters, None, True
    )


class HandWritten:
    """The step as one would write it by hand: forward with labels, backward, AdamW, zero."""

    def __init__(self, model: Any, batch: dict[str, Any]) -> None:
        self.model = model
        self.batch = batch
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)

    def __call__(self) -> None:
        loss = self.model(**self.batch).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def harness_cost(loaded: LoadedModel, batch: dict[str, Any], settings: StepSettings, rounds: int) -> tuple[float, float]:
    """Median ms of a hand-written step and of TrainingStep inside the latency tracker."""
    hand = HandWritten(training_copy(loaded), batch)
    ours = TrainingStep(training_copy(loaded), [batch], settings, device="cpu")
    tracker = LatencyTracker("cpu")
    hand_ms: list[float] = []
    for _ in range(3):  # warm-up: AdamW's state, first-call allocations
        hand()
        ours()
    for index in range(rounds):
        order = ("hand", "ours") if index % 2 == 0 else ("ours", "hand")
        for which in order:
            if which == "hand":
                started = time.perf_counter()
                hand()
                hand_ms.append((time.perf_counter() - started) * 1e3)
            else:
                with tracker:
                    ours()
    ours_ms = [seconds * 1e3 for seconds in tracker.seconds()]
    return statistics.median(hand_ms), statistics.median(ours_ms)


def plain_loop_rate(loaded: LoadedModel, batch: dict[str, Any], steps: int, warmup: int) -> float:
    hand = HandWritten(training_copy(loaded), batch)
    for _ in range(warmup):
        hand()
    started = time.perf_counter()
    for _ in range(steps):
        hand()
    return steps * batch["input_ids"].shape[0] / (time.perf_counter() - started)


def modelperf_rate(loaded: LoadedModel, batch: dict[str, Any], settings: StepSettings, steps: int, warmup: int) -> float:
    step = TrainingStep(training_copy(loaded), [batch], settings, device="cpu")
    plan = TrainingPlan(TimingOptions(), steps=steps, warmup_steps=warmup, measure_memory=False)
    result = measure_training(loaded, step, plan)
    assert result.samples_per_second is not None
    # The rate of the median step, as the plugin reports and judges it.
    return result.samples_per_second.value


def settings_line(workload: str, threads: int, torch_version: str) -> str:
    """What the figures below were measured on: ``BERT-tiny shape, 8x128, 1 thread, torch 2.5.1``."""
    return f"BERT-tiny shape, {workload}, {counted(threads, 'thread')}, torch {torch_version}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=200, help="alternating rounds for the harness cost (default 200)")
    parser.add_argument("--pairs", type=int, default=7, help="alternations of the samples/s comparison (default 7)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per samples/s run (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)

    loaded = bert_tiny()
    settings = StepSettings(Workload(arguments.batch_size, arguments.sequence_length))
    batch = synthetic_batch(loaded, settings.workload)
    print(settings_line(settings.workload.label, arguments.threads, torch.__version__))

    hand_ms, ours_ms = harness_cost(loaded, batch, settings, arguments.rounds)
    cost = ours_ms / hand_ms - 1
    print(
        f"harness cost: hand-written step {hand_ms:.2f} ms, TrainingStep in the tracker {ours_ms:.2f} ms "
        f"(medians of {arguments.rounds})"
    )
    print(f"  cost {cost * 100:+.2f}% (target at most 2%: {'met' if cost <= 0.02 else 'NOT met'})")

    plain: list[float] = []
    ours: list[float] = []
    for index in range(arguments.pairs):
        runs = (plain_loop_rate, modelperf_rate) if index % 2 == 0 else (modelperf_rate, plain_loop_rate)
        for run in runs:
            if run is plain_loop_rate:
                plain.append(plain_loop_rate(loaded, copy.copy(batch), arguments.steps, arguments.warmup))
            else:
                ours.append(modelperf_rate(loaded, batch, settings, arguments.steps, arguments.warmup))
    plain_rate, our_rate = statistics.median(plain), statistics.median(ours)
    gap = our_rate / plain_rate - 1
    print(
        f"samples/s: plain loop {plain_rate:.2f}, measure_training {our_rate:.2f} "
        f"(medians of {arguments.pairs} runs of {arguments.steps} steps)"
    )
    print(f"  difference {gap * 100:+.2f}% (target within 5%: {'met' if abs(gap) <= 0.05 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
