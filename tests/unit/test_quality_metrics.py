"""The local evaluate modules, their per-example recomputation, and the SQuAD answer comparison."""

from __future__ import annotations

import importlib
import random
import sys

import evaluate
import pytest

from pytest_modelperf.core.example_outcomes import ExampleOutcomes, OutcomesError
from pytest_modelperf.core.extras import MissingExtra
from pytest_modelperf.quality.metrics import LOCAL_METRICS, load_metric
from pytest_modelperf.quality.squad import exact_match, normalize_answer, token_f1


def classified(
    n: int = 300, labels: int = 4, accuracy: float = 0.7, seed: int = 1
) -> tuple[list[int], list[int], list[list[float]]]:
    rng = random.Random(seed)
    references = [rng.randrange(labels) for _ in range(n)]
    predictions = [r if rng.random() < accuracy else rng.randrange(labels) for r in references]
    scores = []
    for prediction in predictions:
        raw = [rng.random() + (2.0 if k == prediction else 0.0) for k in range(labels)]
        total = sum(raw)
        scores.append([v / total for v in raw])
    return references, predictions, scores


def outcomes(metric: str, references, predictions, scores=(), **options) -> ExampleOutcomes:
    ids = tuple(f"e{i}" for i in range(len(references)))
    return ExampleOutcomes(
        metric, ids, tuple(map(float, predictions)), tuple(map(float, references)), tuple(tuple(row) for row in scores), options
    )


def test_local_metrics_are_evaluate_modules():
    for name in LOCAL_METRICS:
        module = load_metric(name)
        assert isinstance(module, evaluate.EvaluationModule)
        assert module.name == name


def test_batches_added_one_by_one_give_the_same_result():
    references, predictions, _ = classified()
    module = load_metric("accuracy")
    for start in range(0, len(references), 64):
        module.add_batch(predictions=predictions[start : start + 64], references=references[start : start + 64])
    assert (
        module.compute()["accuracy"]
        == load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"]
    )


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
@pytest.mark.parametrize("metric", ["f1", "precision", "recall"])
def test_recomputation_agrees_with_the_module(metric, average):
    references, predictions, _ = classified()
    arguments = {"zero_division": 0} if metric != "f1" else {}
    expected = load_metric(metric).compute(predictions=predictions, references=references, average=average, **arguments)[metric]
    assert outcomes(metric, references, predictions, average=average).value() == pytest.approx(100 * expected)


@pytest.mark.parametrize("metric", ["f1", "precision", "recall"])
def test_binary_recomputation_agrees_with_the_module(metric):
    references, predictions, _ = classified(labels=2)
    expected = load_metric(metric).compute(predictions=predictions, references=references)[metric]
    assert outcomes(metric, references, predictions, average="binary").value() == pytest.approx(100 * expected)


def test_accuracy_recomputation_agrees_with_the_module():
    references, predictions, _ = classified()
    expected = load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"]
    assert outcomes("accuracy", references, predictions).value() == pytest.approx(100 * expected)


def test_multiclass_roc_auc_recomputation_agrees_with_the_module():
    references, predictions, scores = classified()
    module = load_metric("roc_auc", config_name="multiclass")
    expected = module.compute(references=references, prediction_scores=scores, multi_class="ovr")["roc_auc"]
    assert outcomes("roc_auc", references, predictions, scores, multi_class="ovr").value() == pytest.approx(100 * expected)


def test_binary_roc_auc_recomputation_agrees_with_the_module():
    references, predictions, scores = classified(labels=2)
    positive = [[row[1]] for row in scores]
    expected = load_metric("roc_auc").compute(references=references, prediction_scores=[row[0] for row in positive])["roc_auc"]
    assert outcomes("roc_auc", references, predictions, positive).value() == pytest.approx(100 * expected)


def test_squad_module_and_per_example_scores():
    predictions = [{"id": "a", "prediction_text": "The Eiffel tower"}, {"id": "b", "prediction_text": "in 1889 ,"}]
    references = [
        {"id": "a", "answers": {"text": ["Eiffel Tower"], "answer_start": [0]}},
        {"id": "b", "answers": {"text": ["1889", "the year 1889"], "answer_start": [0, 0]}},
    ]
    result = load_metric("squad").compute(predictions=predictions, references=references)
    assert result["exact_match"] == pytest.approx(50.0)
    assert result["f1"] == pytest.approx(100 * (1.0 + 2 * 0.5 * 1.0 / 1.5) / 2)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [("The  Eiffel-Tower!", "eiffeltower"), ("an apple, a pear", "apple pear"), ("Théâtre", "théâtre")],
)
def test_answers_are_normalised_as_squad_does(text, normalised):
    assert normalize_answer(text) == normalised


def test_exact_match_and_f1_take_the_best_answer():
    assert exact_match("copper mines", ["its copper mines", "copper mines"]) == 1.0
    assert token_f1("copper", ["its copper mines"]) == pytest.approx(0.5)  # precision 1, recall 1/3
    assert token_f1("", ["x"]) == 0.0


def test_an_unknown_metric_offline_names_the_built_in_ones(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match=r"metric 'bleurt_xl' could not be loaded.*built in offline: accuracy, precision"):
        load_metric("bleurt_xl")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"metric": "auc"}, "unknown metric 'auc'"),
        ({"ids": ("a", "a")}, "not unique"),
        ({"predictions": (1.0,)}, "1 predictions for 2 examples"),
        ({"references": ()}, "0 references for 2 examples"),
        ({"ids": (), "predictions": ()}, "no examples"),
    ],
)
def test_malformed_outcomes_are_rejected(arguments, message):
    fields = {"metric": "accuracy", "ids": ("a", "b"), "predictions": (1.0, 0.0), "references": (1.0, 1.0), **arguments}
    with pytest.raises(OutcomesError, match=message):
        ExampleOutcomes(**fields)


def test_outcomes_survive_their_dictionary_form():
    references, predictions, scores = classified(n=20)
    original = outcomes("roc_auc", references, predictions, scores, multi_class="ovr")
    restored = ExampleOutcomes.from_dict(original.to_dict(), "x")
    assert restored.ids == original.ids and restored.predictions == original.predictions
    assert restored.value() == pytest.approx(original.value(), abs=1e-3)
    with pytest.raises(OutcomesError, match=r"x.ids: missing"):
        ExampleOutcomes.from_dict({"metric": "accuracy", "predictions": []}, "x")


def test_a_binary_classifier_is_scored_in_the_binary_forms(tiny_checkpoint):
    import datasets

    from pytest_modelperf.models.loading import load_model
    from pytest_modelperf.quality.evaluation import evaluate_classification

    rows = [
        {"id": f"b{i}", "text": f"sample sentence number {i} about {'sport' if i % 2 else 'markets'}", "label": i % 2}
        for i in range(40)
    ]
    quality = evaluate_classification(
        load_model(tiny_checkpoint, task="sequence-classification"),
        datasets.Dataset.from_list(rows),
        source="rows",
        split="validation",
    )
    assert quality["f1"].examples.options == {"average": "binary"}
    roc_auc = quality["roc_auc"]
    assert all(len(row) == 1 for row in roc_auc.examples.scores)  # the positive class's probability
    assert roc_auc.examples.value() == pytest.approx(roc_auc.value, abs=1e-3)
    for metric in ("accuracy", "f1", "precision", "recall"):
        assert quality[metric].examples.value() == pytest.approx(quality[metric].value)


def test_without_evaluate_the_metrics_name_the_quality_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "evaluate", None)  # import evaluate now raises ImportError
    monkeypatch.delitem(sys.modules, "pytest_modelperf.quality.metrics")  # imported afresh, then restored
    with pytest.raises(
        MissingExtra,
        match=r"the quality metrics needs evaluate, which is not installed: "
        r"pip install 'pytest-modelperf\[quality\]'",
    ):
        importlib.import_module("pytest_modelperf.quality.metrics")


def test_without_scikit_learn_a_metric_names_the_quality_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)
    with pytest.raises(MissingExtra, match=r"pip install 'pytest-modelperf\[quality\]'"):
        load_metric("accuracy").compute(predictions=[0, 1], references=[0, 1])
