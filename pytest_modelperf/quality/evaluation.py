"""Run a model over evaluation data and score it with ``evaluate`` modules, as measurements.

Each score is a measurement in points (0-100, higher is better) that carries its per-example
outcomes, so that the comparison with a baseline knows the score's sampling noise (see
:mod:`.outcomes`). Scores are computed by the ``evaluate`` modules; the per-example outcomes
are what those modules saw.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.counts import counted
from ..core.example_outcomes import ExampleOutcomes
from ..core.measurement import Measurement
from ..measure.catalogue import measure_named
from ..models.loading import LoadedModel
from .data import dataset_label, describe_source, example_ids, require_columns
from .metrics import load_metric
from .qa import DEFAULT_QA_SETTINGS, QaSettings, predict_answers

CLASSIFICATION_METRICS: tuple[str, ...] = ("accuracy", "f1", "precision", "recall", "roc_auc")
QA_METRICS: tuple[str, ...] = ("exact_match", "f1")
SHOWN_LABELS = 5  # the bad labels an error names


@dataclass(frozen=True)
class Quality(Mapping[str, Measurement]):
    """The scores of one evaluation, by metric name: ``quality["f1"]``."""

    scores: Mapping[str, Measurement]
    seconds: float
    examples: int
    context: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> Measurement:
        try:
            return self.scores[metric]
        except KeyError:
            raise KeyError(f"no score {metric!r}; this evaluation has {', '.join(self.scores)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.scores)

    def __len__(self) -> int:
        return len(self.scores)


def evaluate_classification(
    loaded: LoadedModel,
    dataset: Any,
    *,
    source: Any,
    split: str,
    metrics: Sequence[str] = CLASSIFICATION_METRICS,
    text_column: str = "text",
    text_pair_column: str | None = None,
    label_column: str = "label",
    max_length: int = 128,
    batch_size: int = 32,
    online: bool = False,
    notes: Sequence[str] = (),
) -> Quality:
    _known(metrics, CLASSIFICATION_METRICS, "sequence classification")
    columns = [text_column, label_column] + ([text_pair_column] if text_pair_column else [])
    require_columns(dataset, columns, source)
    if loaded.tokenizer is None:
        raise ValueError(f"{loaded.name} has no tokenizer; evaluating it on text needs one")
    references = _label_ids(loaded, dataset, label_column, source)
    started = time.perf_counter()
    predictions, probabilities = classify(
        loaded,
        list(dataset[text_column]),
        list(dataset[text_pair_column]) if text_pair_column else None,
        max_length=max_length,
        batch_size=batch_size,
    )
    seconds = time.perf_counter() - started
    ids = tuple(example_ids(dataset))
    labels = loaded.config.num_labels
    broken = [i for i, prediction in enumerate(predictions) if prediction is None]
    if broken:
        # No answer is a wrong answer: the next class stands in for it (any wrong class would
        # do for accuracy), and uniform scores carry no information into ROC AUC.
        for i in broken:
            predictions[i] = (references[i] + 1) % labels
            probabilities[i] = [1.0 / labels] * labels
        notes = (*notes, _non_finite_note(len(broken), len(predictions)))
    average = "binary" if labels == 2 else "macro"
    context = _context(loaded, source, split, len(ids), max_length=max_length)
    scores: dict[str, Measurement] = {}
    for metric in metrics:
        if metric == "roc_auc":
            if labels == 2:  # the hub module's binary form: one score per example, the positive class's
                module, scores_in, options = load_metric(metric, online=online), [row[1] for row in probabilities], {}
                rows = tuple((score,) for score in scores_in)
            else:
                module, scores_in, options = (
                    load_metric(metric, config_name="multiclass", online=online),
                    probabilities,
                    {"multi_class": "ovr"},
                )
                rows = tuple(tuple(row) for row in probabilities)
            value = module.compute(references=references, prediction_scores=scores_in, **options)[metric]
            outcomes = ExampleOutcomes(metric, ids, tuple(map(float, predictions)), tuple(map(float, references)), rows, options)
        else:
            arguments = {} if metric == "accuracy" else {"average": average}
            if metric in ("precision", "recall"):
                arguments["zero_division"] = 0
            value = load_metric(metric, online=online).compute(predictions=predictions, references=references, **arguments)[
                metric
            ]
            options = {"average": average} if metric != "accuracy" else {}
            outcomes = ExampleOutcomes(
                metric, ids, tuple(map(float, predictions)), tuple(map(float, references)), options=options
            )
        scores[metric] = _score(metric, source, split, 100.0 * float(value), outcomes, context, notes)
    return Quality(scores, seconds, len(ids), context)


def evaluate_question_answering(
    loaded: LoadedModel,
    dataset: Any,
    *,
    source: Any,
    split: str,
    metrics: Sequence[str] = QA_METRICS,
    settings: QaSettings = DEFAULT_QA_SETTINGS,
    online: bool = False,
    notes: Sequence[str] = (),
) -> Quality:
    from .squad import exact_match, token_f1

    _known(metrics, QA_METRICS, "question answering")
    require_columns(dataset, ["question", "context", "answers"], source)
    if loaded.tokenizer is None:
        raise ValueError(f"{loaded.name} has no tokenizer; evaluating it on text needs one")
    ids = tuple(example_ids(dataset))
    rows = [
        {"id": example_id, "question": question, "context": context}
        for example_id, question, context in zip(ids, dataset["question"], dataset["context"], strict=True)
    ]
    started = time.perf_counter()
    predicted = predict_answers(loaded.model, loaded.tokenizer, rows, settings, device=loaded.device)
    seconds = time.perf_counter() - started
    answers = [answer["text"] for answer in dataset["answers"]]
    computed = load_metric("squad", online=online).compute(
        predictions=[{"id": i, "prediction_text": predicted[i]} for i in ids],
        references=[{"id": i, "answers": a} for i, a in zip(ids, dataset["answers"], strict=True)],
    )
    per_example = {
        "exact_match": tuple(exact_match(predicted[i], texts) for i, texts in zip(ids, answers, strict=True)),
        "f1": tuple(token_f1(predicted[i], texts) for i, texts in zip(ids, answers, strict=True)),
    }
    context = _context(loaded, source, split, len(ids), max_length=settings.max_length, doc_stride=settings.doc_stride)
    scores = {
        metric: _score(
            metric, source, split, float(computed[metric]), ExampleOutcomes("mean", ids, per_example[metric]), context, notes
        )
        for metric in metrics
    }
    return Quality(scores, seconds, len(ids), context)


def classify(
    loaded: LoadedModel, texts: Sequence[str], pairs: Sequence[str] | None, *, max_length: int, batch_size: int
) -> tuple[list[int | None], list[list[float]]]:
    """Predicted label ids and class probabilities, in batches padded to their longest text.

    An example whose logits are not all finite (NaN or inf: half precision overflowing, say)
    has no prediction: None.
    """
    import torch

    accepted = set(inspect.signature(loaded.model.forward).parameters)
    predictions: list[int | None] = []
    probabilities: list[list[float]] = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            pair_chunk = list(pairs[start : start + batch_size]) if pairs is not None else None
            encoded = loaded.tokenizer(
                chunk, pair_chunk, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            inputs = {key: value.to(loaded.device) for key, value in encoded.items() if key in accepted}
            logits = loaded.model(**inputs).logits.float()
            finite = torch.isfinite(logits).all(dim=-1).cpu().tolist()
            probabilities.extend(torch.softmax(logits, dim=-1).cpu().tolist())
            labels = logits.argmax(dim=-1).cpu().tolist()
            predictions.extend(label if ok else None for label, ok in zip(labels, finite, strict=True))
    return predictions, probabilities


def _non_finite_note(broken: int, total: int) -> str:
    return (
        f"{broken} of {total} examples gave non-finite logits (NaN or inf, e.g. an overflow in half precision) and count as wrong"
    )


def _label_ids(loaded: LoadedModel, dataset: Any, label_column: str, source: Any) -> list[int]:
    values = list(dataset[label_column])
    labels = loaded.config.num_labels
    if all(isinstance(v, str) for v in values):
        mapping = {name.lower(): int(index) for name, index in (loaded.config.label2id or {}).items()}
        unknown = sorted({v for v in values if v.lower() not in mapping})
        if unknown:
            raise ValueError(
                f"dataset {describe_source(source)}: {counted(len(unknown), 'label')} not among the model's labels "
                f"({', '.join(mapping)}): {_first(map(repr, unknown))}"
            )
        return [mapping[v.lower()] for v in values]
    out_of_range = sorted({v for v in values if not isinstance(v, int) or not 0 <= v < labels})
    if out_of_range:
        raise ValueError(
            f"dataset {describe_source(source)}: column {label_column!r} has {counted(len(out_of_range), 'label')} outside "
            f"the model's {counted(labels, 'class', 'classes')} (0..{labels - 1}): {_first(map(repr, out_of_range))}"
        )
    return values


def _first(values: Iterable[str]) -> str:
    """The first ``SHOWN_LABELS`` values, and "..." when there are more."""
    shown = list(values)
    return ", ".join(shown[:SHOWN_LABELS]) + (", ..." if len(shown) > SHOWN_LABELS else "")


def _score(
    metric: str,
    source: Any,
    split: str,
    value: float,
    outcomes: ExampleOutcomes,
    context: Mapping[str, Any],
    notes: Sequence[str],
) -> Measurement:
    measure = measure_named(metric)
    if measure is None:
        raise ValueError(f"{metric!r} is no quality measure of the catalogue (measure/catalogue.py)")
    return Measurement(
        name=measure.named(dataset_label(source, split)),
        unit=measure.unit,
        direction=measure.direction,
        value=value,
        context=dict(context),
        notes=tuple(notes),
        examples=outcomes,
    )


def _context(loaded: LoadedModel, source: Any, split: str, count: int, **settings: Any) -> dict[str, Any]:
    return {
        "device": loaded.device,
        "dtype": loaded.dtype,
        "model": loaded.name,
        "task": loaded.task,
        "dataset": describe_source(source),
        "split": split,
        "examples": count,
        **settings,
    }


def _known(metrics: Sequence[str], known: Sequence[str], task: str) -> None:
    unknown = [metric for metric in metrics if metric not in known]
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise ValueError(f"{counted(len(unknown), 'unknown metric')} for {task}: {names}; use {', '.join(known)}")
    if not metrics:
        raise ValueError(f"no metric asked for; use some of {', '.join(known)}")
