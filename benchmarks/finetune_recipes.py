"""Fine-tune recipes side by side: time and accuracy of a registry model's recipe against variants, over seeds.

    python benchmarks/finetune_recipes.py --model minilm-qa --seeds 0 1 2

For each seed, every variant is fine-tuned in turn (the registry's recipe first, then the
variants, so a slow spell of the machine falls on all of them) into a temporary folder and
evaluated on the built-in validation split with the suite's settings (QA: 128-token windows,
stride 32). The built-in variant ``every-layer`` trains every parameter with the config's own
dropout (the recipe without ``freeze`` and ``dropout``); ``--variant NAME=JSON`` adds others,
e.g. ``--variant 'lr1e-4={"learning_rate": 1e-4}'``.

Prints one row per fine-tune and, per variant, the median fine-tune time, its ratio to the
registry recipe's, and the range of its scores over the seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_modelperf.models.fine_tune_record import FineTuneRecipe  # noqa: E402
from pytest_modelperf.models.registry import load_registry  # noqa: E402
from pytest_modelperf.quality.finetune import fine_tune  # noqa: E402
from pytest_modelperf.quality.prepare import registry_checkpoint  # noqa: E402

BUILT_IN_VARIANTS: dict[str, dict[str, Any]] = {"every-layer": {"freeze": (), "dropout": None}}
QA_WINDOWS = {"max_length": 128, "doc_stride": 32}  # as perf_tests/test_accuracy.py evaluates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-qa", help="a fine-tuned model of the registry (default: minilm-qa)")
    parser.add_argument("--registry", type=Path, default=ROOT / "perf_tests" / "models.toml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="recipe changes to compare, as a JSON object of FineTuneRecipe fields",
    )
    parser.add_argument("--no-built-in-variants", action="store_true", help="compare only the --variant recipes")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    arguments = parser.parse_args()

    import transformers

    transformers.logging.disable_progress_bar()  # one line per fine-tune, not per weight file
    registry = load_registry(arguments.registry)
    spec = registry.model(arguments.model)
    if spec.finetune is None:
        parser.error(f"--model: {arguments.model!r} is not a fine-tuned model of {arguments.registry}")
    variants = {"registry": spec.finetune}
    changes = {} if arguments.no_built_in_variants else dict(BUILT_IN_VARIANTS)
    changes.update(_parse_variant(text, parser) for text in arguments.variant)
    for name, change in changes.items():
        try:
            variants[name] = dataclasses.replace(spec.finetune, **change)
        except TypeError as error:
            parser.error(f"--variant {name}: {error}")
    base = registry_checkpoint(registry, spec.finetune.base)

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="modelperf-recipes-") as scratch:
        for seed in arguments.seeds:
            for name, recipe in variants.items():
                row = _fine_tune_and_score(
                    name, dataclasses.replace(recipe, seed=seed), base, spec.task, Path(scratch) / f"{name}-{seed}"
                )
                rows.append(row)
                print(
                    f"{name:<14} seed {seed}: {row['seconds']:7.1f} s, {row['samples_per_second']:6.1f} samples/s, "
                    + ", ".join(f"{metric} {value:.1f}" for metric, value in row["scores"].items()),
                    flush=True,
                )
    _summary(rows)
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _parse_variant(text: str, parser: argparse.ArgumentParser) -> tuple[str, dict[str, Any]]:
    name, _, body = text.partition("=")
    try:
        change = json.loads(body)
    except json.JSONDecodeError as error:
        parser.error(f"--variant {text!r}: not NAME=JSON ({error})")
    if not name or not isinstance(change, dict):
        parser.error(f"--variant {text!r}: expected NAME={{...}}")
    if "freeze" in change:
        change["freeze"] = tuple(change["freeze"])
    return name, change


def _fine_tune_and_score(name: str, recipe: FineTuneRecipe, base: str, task: str, destination: Path) -> dict[str, Any]:
    from pytest_modelperf.models.loading import load_model
    from pytest_modelperf.quality.builtin_datasets import builtin_dataset
    from pytest_modelperf.quality.evaluation import evaluate_classification, evaluate_question_answering
    from pytest_modelperf.quality.qa import QaSettings

    stats = fine_tune(recipe, base, destination, task=task).stats
    loaded = load_model(destination, task=task)
    validation = builtin_dataset(recipe.dataset, "validation")
    if task == "question-answering":
        quality = evaluate_question_answering(
            loaded, validation, source=recipe.dataset, split="validation", settings=QaSettings(**QA_WINDOWS)
        )
    else:
        quality = evaluate_classification(
            loaded, validation, source=recipe.dataset, split="validation", max_length=recipe.max_length
        )
    return {
        "variant": name,
        "seed": recipe.seed,
        "seconds": stats.seconds,
        "samples_per_second": stats.samples_per_second,
        "final_loss": stats.final_loss,
        "scores": {metric: score.value for metric, score in quality.items()},
    }


def _summary(rows: list[dict[str, Any]]) -> None:
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    median_time = {name: statistics.median(row["seconds"] for row in rows if row["variant"] == name) for name in variants}
    print("\nvariant         median time  vs registry  scores over seeds (min-max)")
    for name in variants:
        mine = [row for row in rows if row["variant"] == name]
        ranges = ", ".join(
            f"{metric} {min(row['scores'][metric] for row in mine):.1f}-{max(row['scores'][metric] for row in mine):.1f}"
            for metric in mine[0]["scores"]
        )
        print(f"{name:<14} {median_time[name]:9.1f} s  {median_time[name] / median_time['registry']:10.2f}x  {ranges}")


if __name__ == "__main__":
    sys.exit(main())
