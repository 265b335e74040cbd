"""How long a quality score's sampling band takes: 500 examples, 400 bootstrap resamples.

    python benchmarks/sampling_band.py

For each metric the band is computed paired (both runs scored the same examples, as a
re-evaluation on the same data is) and unpaired (different examples); the figure is the median
of 5 calls after one warm-up call. Labels and scores are drawn from a fixed seed, three classes,
with the current run agreeing with the baseline on 90% of the examples.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from pytest_modelperf.core.example_outcomes import ExampleOutcomes, difference_error

EXAMPLES = 500
CLASSES = 3


def outcomes(metric: str, seed: int, ids_from: int = 0) -> ExampleOutcomes:
    rng = random.Random(seed)
    truth = random.Random(0)  # one set of true labels for every run
    references = [float(truth.randrange(CLASSES)) for _ in range(EXAMPLES)]
    predictions = [label if rng.random() < 0.9 else float(rng.randrange(CLASSES)) for label in references]
    ids = tuple(f"example-{ids_from + index}" for index in range(EXAMPLES))
    if metric == "mean":
        return ExampleOutcomes("mean", ids, tuple(float(rng.random() < 0.8) for _ in range(EXAMPLES)))
    scores: tuple[tuple[float, ...], ...] = ()
    if metric == "roc_auc":
        rows = [[rng.random() + (2.0 if column == label else 0.0) for column in range(CLASSES)] for label in predictions]
        scores = tuple(tuple(value / sum(row) for value in row) for row in rows)
    options = {} if metric in ("accuracy", "roc_auc") else {"average": "macro"}
    return ExampleOutcomes(metric, ids, tuple(predictions), tuple(references), scores, options)


def median_seconds(call: Callable[[], object]) -> float:
    call()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    print(f"sampling band of a quality score: {EXAMPLES} examples, {CLASSES} classes, 400 resamples (median of 5 calls)")
    print(f"{'metric':<10} {'paired':>10} {'unpaired':>10}")
    for metric in ("mean", "accuracy", "f1", "roc_auc"):
        baseline, now = outcomes(metric, seed=1), outcomes(metric, seed=2)
        elsewhere = outcomes(metric, seed=2, ids_from=EXAMPLES)
        paired = median_seconds(lambda: difference_error(now, baseline))  # noqa: B023
        unpaired = median_seconds(lambda: difference_error(elsewhere, baseline))  # noqa: B023
        print(f"{metric:<10} {paired * 1000:>8.1f}ms {unpaired * 1000:>8.1f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
