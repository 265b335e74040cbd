"""Which evaluation scores a model: a classifier's metrics or extractive QA's, on its task's data.

A sequence classifier is scored on ``topics`` unless told otherwise (accuracy, f1, precision,
recall, roc_auc); a question-answering model on ``facts-qa`` (SQuAD's exact_match and f1 over
overflowing windows). Any other task is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models.loading import LoadedModel, model_notes

if TYPE_CHECKING:
    from .evaluation import Quality

DEFAULT_DATASETS = {"sequence-classification": "topics", "question-answering": "facts-qa"}
DEFAULT_MAX_LENGTHS = {"sequence-classification": 128, "question-answering": 384}


def measure_accuracy(
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
    online: bool = False,
) -> Quality:
    """The quality scores (points, 0-100) of ``model`` on ``dataset`` (its task's built-in set
    when None), by the evaluation of its task; ``online`` lets a hub dataset be fetched."""
    from .data import load_eval_dataset
    from .evaluation import CLASSIFICATION_METRICS, QA_METRICS, evaluate_classification, evaluate_question_answering
    from .qa import QaSettings

    if model.task not in DEFAULT_DATASETS:
        raise ValueError(
            f"measure_accuracy: {model.name} is a {model.task} model; it scores sequence-classification and question-answering"
        )
    source = dataset or DEFAULT_DATASETS[model.task]
    length = max_length or DEFAULT_MAX_LENGTHS[model.task]
    notes = model_notes(model)
    data = load_eval_dataset(source, split=split, limit=limit)
    if model.task == "sequence-classification":
        return evaluate_classification(
            model,
            data,
            source=source,
            split=split,
            metrics=metrics or CLASSIFICATION_METRICS,
            text_column=text_column,
            text_pair_column=text_pair_column,
            label_column=label_column,
            max_length=length,
            batch_size=batch_size,
            online=online,
            notes=notes,
        )
    settings = QaSettings(max_length=length, doc_stride=doc_stride, batch_size=batch_size)
    return evaluate_question_answering(
        model,
        data,
        source=source,
        split=split,
        metrics=metrics or QA_METRICS,
        settings=settings,
        online=online,
        notes=notes,
    )
