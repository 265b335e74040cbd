"""Quality metrics as ``evaluate`` modules that run locally.

``evaluate.load("accuracy")`` fetches the metric's code from the Hugging Face hub at run time,
which an offline CI runner cannot do. The modules below are ``evaluate.Metric`` subclasses
with the same names, inputs and results as the hub's ``accuracy``, ``precision``, ``recall``,
``f1``, ``roc_auc`` and ``squad`` (scikit-learn and the SQuAD v1.1 script do the arithmetic),
so they are used through evaluate's own interface: ``compute``, ``add_batch``, features.

``perplexity`` and ``pseudo_perplexity`` score texts (``predictions``) under a causal or a
masked language model (``model``: a loaded model, a torch module with ``tokenizer``, or, as
the hub's ``perplexity`` takes it, a checkpoint as ``model_id``); see :mod:`.lm_likelihood`.
Unlike the hub's ``perplexity``, whose headline is the mean of per-sentence perplexities, their
headline is the corpus's token-weighted one, ``exp(total NLL / total tokens)``; the
per-sentence perplexities, NLL sums and token counts come with it.

:func:`load_metric` returns the local module by default and the hub's with ``online=True``
(``--modelperf-online``); any other name goes to ``evaluate.load``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..core.extras import require
from ..models.loading import LoadedModel, load_model, resolve_device
from .lm_likelihood import SentenceLikelihoods, causal_lm_nlls, masked_lm_nlls
from .squad import exact_match, token_f1

# Importing this module needs the quality extra: one line naming it beats evaluate's traceback.
require("datasets", "quality", "the quality metrics")
require("evaluate", "quality", "the quality metrics")

import datasets  # noqa: E402
import evaluate  # noqa: E402

_CITATION = "scikit-learn: Machine Learning in Python, Pedregosa et al., JMLR 12, 2011."
_LABELS = {"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}


def _info(
    description: str,
    features: dict[str, Any],
    citation: str = _CITATION,
    inputs: str = "predictions and references, one per example",
) -> evaluate.MetricInfo:
    return evaluate.MetricInfo(
        description=description,
        citation=citation,
        inputs_description=inputs,
        features=datasets.Features(features),
    )


class Accuracy(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return _info("Proportion of correct predictions.", _LABELS)

    def _compute(self, predictions: Any, references: Any, normalize: bool = True, sample_weight: Any = None) -> dict[str, float]:
        score = _sklearn_metrics().accuracy_score(references, predictions, normalize=normalize, sample_weight=sample_weight)
        return {"accuracy": float(score)}


class _PositiveRate(evaluate.Metric):
    """Precision or recall per scikit-learn, with its ``zero_division`` (as the hub's modules)."""

    _description = ""

    def _info(self) -> evaluate.MetricInfo:
        return _info(self._description, _LABELS)

    def _compute(
        self,
        predictions: Any,
        references: Any,
        labels: Any = None,
        pos_label: int = 1,
        average: str = "binary",
        sample_weight: Any = None,
        zero_division: Any = "warn",
    ) -> dict[str, Any]:
        score = getattr(_sklearn_metrics(), f"{self.name}_score")(
            references,
            predictions,
            labels=labels,
            pos_label=pos_label,
            average=average,
            sample_weight=sample_weight,
            zero_division=zero_division,
        )
        return {self.name: _scalar_or_array(score)}


class Precision(_PositiveRate):
    _description = "Precision: true positives over predicted positives."


class Recall(_PositiveRate):
    _description = "Recall: true positives over actual positives."


class F1(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return _info("F1: the harmonic mean of precision and recall.", _LABELS)

    def _compute(
        self,
        predictions: Any,
        references: Any,
        labels: Any = None,
        pos_label: int = 1,
        average: str = "binary",
        sample_weight: Any = None,
    ) -> dict[str, Any]:
        score = _sklearn_metrics().f1_score(
            references, predictions, labels=labels, pos_label=pos_label, average=average, sample_weight=sample_weight
        )
        return {"f1": _scalar_or_array(score)}


class RocAuc(evaluate.Metric):
    """Binary (one score per example) or, with config ``multiclass``, one-vs-rest over class scores."""

    def _info(self) -> evaluate.MetricInfo:
        scores = datasets.Sequence(datasets.Value("float")) if self.config_name == "multiclass" else datasets.Value("float")
        return _info("Area under the ROC curve.", {"prediction_scores": scores, "references": datasets.Value("int32")})

    def _compute(
        self,
        references: Any,
        prediction_scores: Any,
        average: str = "macro",
        sample_weight: Any = None,
        max_fpr: float | None = None,
        multi_class: str = "raise",
        labels: Any = None,
    ) -> dict[str, float]:
        score = _sklearn_metrics().roc_auc_score(
            references,
            prediction_scores,
            average=average,
            sample_weight=sample_weight,
            max_fpr=max_fpr,
            multi_class=multi_class,
            labels=labels,
        )
        return {"roc_auc": float(score)}


class Squad(evaluate.Metric):
    """SQuAD v1.1 exact match and F1 (0-100), taking the best over each question's answers."""

    def _info(self) -> evaluate.MetricInfo:
        return _info(
            "SQuAD v1.1: exact match and token F1 of predicted answer spans.",
            {
                "predictions": {"id": datasets.Value("string"), "prediction_text": datasets.Value("string")},
                "references": {
                    "id": datasets.Value("string"),
                    "answers": datasets.Sequence({"text": datasets.Value("string"), "answer_start": datasets.Value("int32")}),
                },
            },
            citation="SQuAD: 100,000+ Questions for Machine Comprehension of Text, Rajpurkar et al., EMNLP 2016.",
        )

    def _compute(self, predictions: Any, references: Any) -> dict[str, float]:
        answers = {reference["id"]: reference["answers"]["text"] for reference in references}
        scored = [
            (exact_match(p["prediction_text"], answers[p["id"]]), token_f1(p["prediction_text"], answers[p["id"]]))
            for p in predictions
        ]
        count = len(scored) or 1
        return {
            "exact_match": 100.0 * sum(em for em, _ in scored) / count,
            "f1": 100.0 * sum(f1 for _, f1 in scored) / count,
        }


class _LanguageModelScore(evaluate.Metric):
    """A (pseudo-)perplexity of texts under a language model of ``_task``."""

    _task = ""
    _scorer: Callable[..., SentenceLikelihoods]
    _per_sentence = ""  # the key of the per-sentence values
    _description = ""
    _citation = ""

    def _info(self) -> evaluate.MetricInfo:
        return _info(
            self._description,
            {"predictions": datasets.Value("string")},
            citation=self._citation,
            inputs=(
                "predictions: the texts to score; model: a loaded model, a torch module (with tokenizer) or a "
                "checkpoint (a hub id or a local folder; model_id as the hub's perplexity takes it)"
            ),
        )

    def _compute(
        self,
        predictions: Any,
        model: Any = None,
        tokenizer: Any = None,
        model_id: str | None = None,
        batch_size: int = 64,
        max_length: int = 128,
        device: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        network, tokens = _language_model(self.name, self._task, model if model is not None else model_id, tokenizer, device)
        scored = self._scorer(network, tokens, list(predictions), batch_size=batch_size, max_length=max_length, **options)
        return {
            self.name: scored.perplexity,
            self._per_sentence: scored.per_sentence(),
            "negative_log_likelihoods": list(scored.nlls),
            "token_counts": list(scored.tokens),
        }


class PseudoPerplexity(_LanguageModelScore):
    """A masked language model's pseudo-perplexity: each real token masked in turn."""

    _task = "masked-lm"
    _scorer = staticmethod(masked_lm_nlls)
    _per_sentence = "pseudo_perplexities"
    _description = (
        "Pseudo-perplexity of a masked language model: exp of the mean negative log-probability of each real "
        "token with that token masked, over every token of the texts."
    )
    _citation = "Masked Language Model Scoring, Salazar, Liang, Nguyen and Kirchhoff, ACL 2020."


class Perplexity(_LanguageModelScore):
    """A causal language model's perplexity: each token predicted from the ones before it, after
    the tokenizer's start token unless ``add_start_token=False`` (as the hub's module takes it)."""

    _task = "causal-lm"
    _scorer = staticmethod(causal_lm_nlls)
    _per_sentence = "perplexities"
    _description = (
        "Perplexity of a causal language model: exp of the mean negative log-probability of each token given the "
        "tokens before it, over every token of the texts."
    )
    _citation = "Perplexity: a measure of the difficulty of speech recognition tasks, Jelinek et al., JASA 62, 1977."


def _language_model(metric: str, task: str, model: Any, tokenizer: Any, device: str | None) -> tuple[Any, Any]:
    """The torch module and tokenizer to score with: a loaded model's, a module's with the given
    tokenizer, or a checkpoint's (a hub id or a local folder), loaded as ``task`` on ``device``
    (auto by default). A model given as an object is scored where it is."""
    if model is None:
        raise ValueError(f"{metric}: no model; pass model= (a loaded model, a torch module or a checkpoint) or model_id=")
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model, task=task, device=resolve_device(device or "auto"))
    if isinstance(model, LoadedModel):
        tokenizer = tokenizer if tokenizer is not None else model.tokenizer
        model = model.model
    if tokenizer is None:
        raise ValueError(f"{metric}: the model comes without a tokenizer; pass tokenizer=")
    return model, tokenizer


def _sklearn_metrics() -> Any:
    """scikit-learn's metrics, which do the arithmetic of every metric here but SQuAD's."""
    return require("sklearn.metrics", "quality", "the quality metrics")


def _scalar_or_array(score: Any) -> Any:
    """A float for an averaged score, the per-label array for ``average=None`` (as the hub's modules)."""
    import numpy as np

    return float(score) if np.ndim(score) == 0 else score


LOCAL_METRICS: dict[str, type[evaluate.Metric]] = {
    "accuracy": Accuracy,
    "precision": Precision,
    "recall": Recall,
    "f1": F1,
    "roc_auc": RocAuc,
    "squad": Squad,
    "perplexity": Perplexity,
    "pseudo_perplexity": PseudoPerplexity,
}


def load_metric(name: str, *, config_name: str | None = None, online: bool = False) -> evaluate.EvaluationModule:
    """The evaluate module for ``name``: the local one unless ``online`` (or not built in)."""
    if not online and name in LOCAL_METRICS:
        return LOCAL_METRICS[name](config_name=config_name, keep_in_memory=True)
    try:
        return evaluate.load(name, config_name)
    except Exception as error:  # evaluate raises bare connection and file errors
        local = f"; built in offline: {', '.join(LOCAL_METRICS)}" if name not in LOCAL_METRICS else ""
        raise RuntimeError(
            f"metric {name!r} could not be loaded with evaluate.load ({type(error).__name__}: {error}){local}"
        ) from error
