"""A language model's (pseudo-)perplexity on text, as a measurement that knows its sampling noise.

A masked language model (task ``masked-lm``, transformers' ``fill-mask``) gets its
pseudo-perplexity, a causal one (``causal-lm``, ``text-generation``) its perplexity: one
plain number (unit ``""``), lower is better, computed by the local ``evaluate`` modules of
:mod:`.metrics`. The measurement keeps each sentence's summed negative log-likelihood and
token count (``ExampleOutcomes`` of metric ``perplexity``), so that the comparison with a
baseline resamples sentences and pairs them by id, as it does a classifier's examples.

The texts are the built-in ``topics`` set's validation sentences unless given: a list of
strings, a built-in name, a data file, a hub id or a ``datasets.Dataset`` with a text column.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.example_outcomes import ExampleOutcomes
from ..core.measurement import Measurement
from ..measure.catalogue import PERPLEXITY, PSEUDO_PERPLEXITY, Measure
from ..models.loading import LoadedModel, model_notes

if TYPE_CHECKING:
    from .evaluation import Quality

MEASURES: dict[str, Measure] = {"masked-lm": PSEUDO_PERPLEXITY, "causal-lm": PERPLEXITY}
DEFAULT_TEXTS = "topics"
TEXTS_LABEL = "texts"  # the name's detail for texts given as a list: perplexity[texts]


def measure_perplexity(
    model: LoadedModel,
    texts_or_dataset: Any = None,
    *,
    limit: int | None = None,
    max_length: int = 128,
    batch_size: int = 64,
    split: str = "validation",
    text_column: str = "text",
) -> Quality:
    """The pseudo-perplexity of a masked language model, or the perplexity of a causal one, on
    the texts (the first ``limit`` of them), each cut to ``max_length`` tokens; ``batch_size``
    counts masked copies for a masked model, sentences for a causal one."""
    from .evaluation import Quality
    from .metrics import load_metric

    measure = MEASURES.get(model.task)
    if measure is None:
        raise ValueError(
            f"measure_perplexity: {model.name} is a {model.task} model; it scores masked-lm (fill-mask) and causal-lm "
            f"(text-generation) models: load it with task='masked-lm' or task='causal-lm'"
        )
    if model.tokenizer is None:
        raise ValueError(f"measure_perplexity: {model.name} has no tokenizer; scoring text needs one")
    texts, ids, label, context = _texts(texts_or_dataset, split=split, limit=limit, text_column=text_column)
    started = time.perf_counter()
    result = load_metric(measure.name).compute(predictions=texts, model=model, batch_size=batch_size, max_length=max_length)
    seconds = time.perf_counter() - started
    tokens = tuple(int(count) for count in result["token_counts"])
    if sum(tokens) == 0:
        raise ValueError(
            f"measure_perplexity: no token of the {len(texts)} texts is left to score at max_length={max_length}; "
            "give longer texts or a larger max_length"
        )
    outcomes = ExampleOutcomes("perplexity", ids, tuple(float(nll) for nll in result["negative_log_likelihoods"]), tokens)
    context = {
        "device": model.device,
        "dtype": model.dtype,
        "model": model.name,
        "task": model.task,
        **context,
        "examples": len(ids),
        "tokens": sum(tokens),
        "max_length": max_length,
    }
    measurement = Measurement(
        name=measure.named(label),
        unit=measure.unit,
        direction=measure.direction,
        value=float(result[measure.name]),
        context=dict(context),
        notes=model_notes(model),
        examples=outcomes,
    )
    return Quality({measure.name: measurement}, seconds, len(ids), context)


def _texts(
    source: Any, *, split: str, limit: int | None, text_column: str
) -> tuple[list[str], tuple[str, ...], str, dict[str, Any]]:
    """(the texts, their ids, the measurement name's detail, what the context says of them)."""
    from .data import dataset_label, describe_source, example_ids, load_eval_dataset, require_columns

    if isinstance(source, Sequence) and not isinstance(source, str):
        return _given_texts(source, limit)
    source = DEFAULT_TEXTS if source is None else source
    dataset = load_eval_dataset(source, split=split, limit=limit)
    require_columns(dataset, [text_column], source)
    texts = list(dataset[text_column])
    unreadable = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if unreadable:
        raise ValueError(f"measure_perplexity: column {text_column!r} holds a non-text value in row {unreadable[0]}")
    context = {"dataset": describe_source(source), "split": split}
    return texts, tuple(example_ids(dataset)), dataset_label(source, split), context


def _given_texts(texts: Sequence[Any], limit: int | None) -> tuple[list[str], tuple[str, ...], str, dict[str, Any]]:
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    chosen = list(texts[:limit] if limit is not None else texts)
    if not chosen:
        raise ValueError("measure_perplexity: no texts given")
    wrong = next((i for i, text in enumerate(chosen) if not isinstance(text, str)), None)
    if wrong is not None:
        raise ValueError(f"measure_perplexity: texts[{wrong}] is a {type(chosen[wrong]).__name__}, not a string")
    return chosen, tuple(str(i) for i in range(len(chosen))), TEXTS_LABEL, {"dataset": TEXTS_LABEL}
