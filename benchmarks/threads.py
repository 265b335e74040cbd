"""torch's intra-op thread count side by side: one small BERT's forward timed at each count.

    python benchmarks/threads.py                      # quiet machine
    python benchmarks/threads.py --busy 1             # with one other process spinning a core
    python benchmarks/threads.py --threads 1 2 --rounds 300 --batch-size 1 --sequence-length 128

The counts take turns in blocks of 10 rounds, so that a slow spell of the machine falls on all
of them alike. Prints, per count, the median, p99 and maximum forward time and the median's
ratio to the first count's. ``--busy N`` starts N processes that spin (what a loaded CI runner
has beside the suite) and stops them at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

import torch
from transformers import BertConfig, BertForSequenceClassification

from pytest_modelperf.core.stats import percentile

BLOCK = 10


def _spin() -> None:
    while True:
        pass


def small_bert() -> torch.nn.Module:
    """BERT-mini's shape (4 layers, hidden 256, 4 heads), random weights: the time is the shape's."""
    config = BertConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)
    return BertForSequenceClassification(config).eval()


def measure(counts: list[int], rounds: int, batch_size: int, sequence_length: int) -> dict[int, list[float]]:
    model = small_bert()
    inputs = {"input_ids": torch.randint(1000, 2000, (batch_size, sequence_length))}
    times: dict[int, list[float]] = {count: [] for count in counts}
    with torch.inference_mode():
        for count in counts:  # warm-up at each count
            torch.set_num_threads(count)
            for _ in range(5):
                model(**inputs)
        while min(len(samples) for samples in times.values()) < rounds:
            for count in counts:
                torch.set_num_threads(count)
                for _ in range(BLOCK):
                    start = time.perf_counter()
                    model(**inputs)
                    times[count].append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], metavar="N")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--busy", type=int, default=0, metavar="N", help="processes spinning beside the measurement")
    arguments = parser.parse_args()
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(arguments.busy)]
    for spinner in spinners:
        spinner.start()
    try:
        times = measure(arguments.threads, arguments.rounds, arguments.batch_size, arguments.sequence_length)
    finally:
        for spinner in spinners:
            spinner.terminate()
    shape = f"{arguments.batch_size}x{arguments.sequence_length}"
    print(f"small BERT (4 layers, hidden 256) forward at {shape}, {arguments.rounds} rounds per count, {arguments.busy} busy")
    print(f"{'threads':>7} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'median vs first':>16}")
    first = percentile(times[arguments.threads[0]], 50)
    for count in arguments.threads:
        samples = times[count]
        median = percentile(samples, 50)
        print(f"{count:>7} {median:>10.1f} {percentile(samples, 99):>8.1f} {max(samples):>8.1f} {median / first:>15.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
