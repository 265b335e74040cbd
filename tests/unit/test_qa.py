"""Question answering over overflowing windows: training labels, the span search, real tiny models."""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
import transformers

from pytest_modelperf.models.offline_tokenizers import bert_uncased_tokenizer_dir
from pytest_modelperf.quality import qa
from pytest_modelperf.quality.qa import QaSettings, predict_answers, training_features

SMALL = QaSettings(max_length=64, doc_stride=16, max_answer_length=30, n_best=20, batch_size=4)
BACKGROUND = -100.0
FILLER = "The river runs past the old mill and the farmers sell grain at the market. "

# The oracle rewards every answer in every window: no answer may appear in another example.
EXAMPLES = [
    {
        "id": "second-window",
        "question": "  Where did the astronomer watch the comet from?",  # leading spaces, as some SQuAD questions
        "context": FILLER * 4 + "The astronomer watched the comet from Lisbon harbour. " + FILLER * 2,
        "answer": "Lisbon harbour",
    },
    {
        "id": "third-window",
        "question": "What did the glacier hide?",
        "context": FILLER * 7 + "The glacier hid a violet telescope for years. " + FILLER,
        "answer": "violet telescope",
    },
    {
        "id": "one-window",
        "question": "Who sells bread?",
        "context": "In Oslo the bakers sell bread.",
        "answer": "bakers",
    },
]


@pytest.fixture(scope="module")
def tok() -> Any:
    return transformers.AutoTokenizer.from_pretrained(bert_uncased_tokenizer_dir(), local_files_only=True)


@pytest.fixture(scope="module")
def left_tok() -> Any:
    return transformers.AutoTokenizer.from_pretrained(bert_uncased_tokenizer_dir(), local_files_only=True, padding_side="left")


@pytest.fixture(params=["right", "left"])
def any_tok(request: pytest.FixtureRequest, tok: Any, left_tok: Any) -> Any:
    return tok if request.param == "right" else left_tok


def squad_answer(context: str, text: str) -> dict[str, list]:
    return {"text": [text], "answer_start": [context.index(text)]}


def encode(tok: Any, questions: Sequence[str], contexts: Sequence[str], settings: QaSettings, padding: Any) -> Any:
    """The windows as qa.py makes them, with the offsets and sample mapping the features leave out."""
    return tok(
        [question.lstrip() for question in questions],
        list(contexts),
        truncation="only_second",
        max_length=settings.max_length,
        stride=settings.doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=padding,
    )


def context_span(encoding: Any, window: int) -> tuple[int, int]:
    """The characters of the context that a window covers."""
    tokens = [i for i, sequence in enumerate(encoding.sequence_ids(window)) if sequence == 1]
    offsets = encoding["offset_mapping"][window]
    return offsets[tokens[0]][0], offsets[tokens[-1]][1]


def token_ids(tok: Any, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def occurrences(row: list[int], pattern: list[int]) -> list[int]:
    return [i for i in range(len(row) - len(pattern) + 1) if row[i : i + len(pattern)] == pattern]


# ---------------------------------------------------------------------------------------------
# training_features


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_training_features_label_the_answer_tokens_in_every_window_that_holds_it(
    tok: Any, left_tok: Any, padding_side: str
) -> None:
    tokenizer = tok if padding_side == "right" else left_tok
    questions = [example["question"] for example in EXAMPLES]
    contexts = [example["context"] for example in EXAMPLES]
    answers = [squad_answer(example["context"], example["answer"]) for example in EXAMPLES]

    features = training_features(tokenizer, questions, contexts, answers, SMALL)
    encoding = encode(tokenizer, questions, contexts, SMALL, padding=False)

    assert set(features) == {"input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions"}
    assert features["input_ids"] == encoding["input_ids"]
    widths = [len(ids) for ids in features["input_ids"]]
    assert max(widths) == SMALL.max_length and min(widths) < SMALL.max_length, "windows are left unpadded"
    windows = encoding["overflow_to_sample_mapping"]
    assert windows.count(0) > 1 and windows.count(1) > 2 and windows.count(2) == 1

    labelled = set()
    for window, example in enumerate(windows):
        start, end = features["start_positions"][window], features["end_positions"][window]
        answer_start = answers[example]["answer_start"][0]
        answer_end = answer_start + len(answers[example]["text"][0])
        first, last = context_span(encoding, window)
        if first <= answer_start and answer_end <= last:
            offsets = encoding["offset_mapping"][window]
            assert contexts[example][offsets[start][0] : offsets[end][1]] == EXAMPLES[example]["answer"]
            assert encoding.sequence_ids(window)[start] == encoding.sequence_ids(window)[end] == 1
            labelled.add(example)
        else:
            assert features["input_ids"][window][0] == tokenizer.cls_token_id
            assert (start, end) == (0, 0)
    assert labelled == {0, 1, 2}, "every example has a window that holds its answer"


def test_training_features_point_unanswerable_examples_at_the_classifier_token(tok: Any) -> None:
    context = FILLER * 5
    features = training_features(tok, ["Is there an answer?"], [context], [{"text": [], "answer_start": []}], SMALL)
    assert len(features["input_ids"]) > 1
    assert set(features["start_positions"]) == set(features["end_positions"]) == {0}


def test_training_features_use_the_first_of_several_answers(tok: Any) -> None:
    context = "The farmers of Oslo sell grain in Oslo."
    answers = [{"text": ["Oslo", "Oslo"], "answer_start": [context.rindex("Oslo"), context.index("Oslo")]}]
    features = training_features(tok, ["Where?"], [context], answers, SMALL)
    encoding = encode(tok, ["Where?"], [context], SMALL, padding="max_length")
    start = features["start_positions"][0]
    assert encoding["offset_mapping"][0][start][0] == context.rindex("Oslo")


# ---------------------------------------------------------------------------------------------
# predict_answers with oracle models


class Oracle(torch.nn.Module):
    """Start logit ``score`` on the first token of each occurrence of a start pattern, end logit on
    the last token of each occurrence of an end pattern; a strongly negative logit everywhere else,
    as a trained model gives, so that a rewarded start paired with any other end scores badly."""

    def __init__(self, rewards: Sequence[tuple[list[int], list[int], float]]) -> None:
        super().__init__()
        self.rewards = rewards
        self.calls: list[tuple[tuple[int, ...], tuple[str, ...]]] = []

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> Any:
        self.calls.append((tuple(input_ids.shape), ("token_type_ids",) if token_type_ids is not None else ()))
        start_logits = torch.full(input_ids.shape, BACKGROUND)
        end_logits = torch.full(input_ids.shape, BACKGROUND)
        for row, ids in enumerate(input_ids.tolist()):
            for start_pattern, end_pattern, score in self.rewards:
                for i in occurrences(ids, start_pattern):
                    start_logits[row, i] = max(float(start_logits[row, i]), score)
                for i in occurrences(ids, end_pattern):
                    j = i + len(end_pattern) - 1
                    end_logits[row, j] = max(float(end_logits[row, j]), score)
        return types.SimpleNamespace(start_logits=start_logits, end_logits=end_logits)


class OracleWithoutTokenTypes(Oracle):
    """A DistilBERT-shaped forward: passing token_type_ids would be a TypeError."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:  # type: ignore[override]
        return super().forward(input_ids, attention_mask)


def answer_oracle(tok: Any, examples: Sequence[dict[str, str]], score: float = 10.0, cls: type[Oracle] = Oracle) -> Oracle:
    return cls([(token_ids(tok, e["answer"]), token_ids(tok, e["answer"]), score) for e in examples])


def test_the_oracle_answers_are_found_in_later_windows(any_tok: Any) -> None:
    encoding = encode(any_tok, [e["question"] for e in EXAMPLES], [e["context"] for e in EXAMPLES], SMALL, padding=False)
    windows = encoding["overflow_to_sample_mapping"]
    for example, first_holder in ((0, 1), (1, 2)):
        ids = token_ids(any_tok, EXAMPLES[example]["answer"])
        own = [encoding["input_ids"][w] for w, owner in enumerate(windows) if owner == example]
        holders = [i for i, window_ids in enumerate(own) if occurrences(window_ids, ids)]
        assert holders and holders[0] == first_holder, f"{EXAMPLES[example]['id']}: the answer is first in window {holders}"

    model = answer_oracle(any_tok, EXAMPLES)
    settings = dataclasses.replace(SMALL, batch_size=2)
    predictions = predict_answers(model, any_tok, EXAMPLES, settings)

    assert predictions == {e["id"]: e["answer"] for e in EXAMPLES}
    assert len(model.calls) == math.ceil(len(windows) / settings.batch_size)
    widths = [shape[1] for shape, _ in model.calls]
    assert all(shape[0] <= settings.batch_size for shape, _ in model.calls)
    assert max(widths) == SMALL.max_length and min(widths) < SMALL.max_length, "each batch is padded to its own longest window"


def test_a_dataset_gives_the_same_answers_as_a_list(tok: Any) -> None:
    import datasets

    dataset = datasets.Dataset.from_list(EXAMPLES)
    assert predict_answers(answer_oracle(tok, EXAMPLES), tok, dataset, SMALL) == {e["id"]: e["answer"] for e in EXAMPLES}


def test_only_the_inputs_that_forward_accepts_are_passed(tok: Any) -> None:
    with_types = answer_oracle(tok, EXAMPLES)
    without_types = answer_oracle(tok, EXAMPLES, cls=OracleWithoutTokenTypes)
    expected = {e["id"]: e["answer"] for e in EXAMPLES}
    assert predict_answers(with_types, tok, EXAMPLES, SMALL) == expected
    assert predict_answers(without_types, tok, EXAMPLES, SMALL) == expected
    assert all(names == ("token_type_ids",) for _, names in with_types.calls)
    assert all(names == () for _, names in without_types.calls)


def test_a_span_in_the_question_is_never_the_answer(any_tok: Any) -> None:
    example = {
        "id": "q",
        "question": "Did the astronomer watch the comet from Oslo?",
        "context": FILLER * 3 + "The astronomer watched the comet from Lisbon. " + FILLER,
        "answer": "Lisbon",
    }
    oslo = token_ids(any_tok, "Oslo")
    model = Oracle([(oslo, oslo, 50.0), (token_ids(any_tok, "Lisbon"), token_ids(any_tok, "Lisbon"), 10.0)])
    assert predict_answers(model, any_tok, [example], SMALL) == {"q": "Lisbon"}
    # With only the top start and end per window, the question's span is all there is: no answer.
    assert predict_answers(model, any_tok, [example], QaSettings(max_length=64, doc_stride=16, n_best=1)) == {"q": ""}


def test_spans_longer_than_max_answer_length_or_reversed_are_never_the_answer(any_tok: Any) -> None:
    context = "The comet passed Lisbon. " + FILLER + "A violet light lit the glacier. " + FILLER
    example = {"id": "long", "question": "What did the comet pass?", "context": context}
    violet, glacier, lisbon = (token_ids(any_tok, word) for word in ("violet", "glacier", "Lisbon"))
    answer = (lisbon, lisbon, 10.0)
    long_span = Oracle([(violet, glacier, 50.0), answer])
    reversed_span = Oracle([(glacier, violet, 50.0), answer])
    # "violet light lit the glacier" is 5 tokens; Lisbon to violet is about 20.
    short = QaSettings(max_length=64, doc_stride=16, max_answer_length=4)
    roomy = QaSettings(max_length=64, doc_stride=16, max_answer_length=30)

    assert predict_answers(long_span, any_tok, [example], roomy) == {"long": "violet light lit the glacier"}
    assert predict_answers(long_span, any_tok, [example], short) == {"long": "Lisbon"}
    assert predict_answers(reversed_span, any_tok, [example], short) == {"long": "Lisbon"}


def test_no_examples_give_no_answers(tok: Any) -> None:
    assert predict_answers(answer_oracle(tok, EXAMPLES), tok, [], SMALL) == {}


def test_a_slow_tokenizer_is_refused_by_name() -> None:
    class SlowTokenizer:
        is_fast = False

    with pytest.raises(ValueError, match=r"fast tokenizer.*SlowTokenizer"):
        predict_answers(Oracle([]), SlowTokenizer(), EXAMPLES, SMALL)
    with pytest.raises(ValueError, match="SlowTokenizer"):
        training_features(SlowTokenizer(), ["q"], ["c"], [{"text": [], "answer_start": []}], SMALL)


# ---------------------------------------------------------------------------------------------
# real tiny models


def assert_answers_come_from_the_contexts(predictions: dict[str, str]) -> None:
    contexts = {e["id"]: e["context"] for e in EXAMPLES}
    assert set(predictions) == set(contexts)
    for example_id, text in predictions.items():
        assert isinstance(text, str) and text in contexts[example_id]


def tiny_bert(tok: Any) -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=tok.vocab_size,
    )
    return transformers.BertForQuestionAnswering(config)


def test_a_tiny_bert_answers_every_example_from_its_context(tok: Any) -> None:
    model = tiny_bert(tok)
    assert model.training
    first = predict_answers(model, tok, EXAMPLES, SMALL)
    assert_answers_come_from_the_contexts(first)
    assert model.training, "the model's mode is restored"
    assert predict_answers(model, tok, EXAMPLES, SMALL) == first, "no dropout: predictions run in eval mode"


class BFloat16Oracle(Oracle):
    """The oracle's logits in bfloat16, as a bfloat16 model gives them."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> Any:
        outputs = super().forward(input_ids, attention_mask, token_type_ids)
        return types.SimpleNamespace(
            start_logits=outputs.start_logits.to(torch.bfloat16), end_logits=outputs.end_logits.to(torch.bfloat16)
        )


def test_a_bfloat16_model_is_scored_in_float32(tok: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy has no bfloat16: the span search gets float32 logits. Scored in float16 instead, logits
    beyond its range (65,504), which bfloat16 holds, would overflow and the answers would be lost."""
    seen: list[np.dtype] = []
    search = qa._best_span

    def spy(encoding: Any, window: int, start_logits: np.ndarray, end_logits: np.ndarray, settings: QaSettings) -> Any:
        seen.extend((start_logits.dtype, end_logits.dtype))
        return search(encoding, window, start_logits, end_logits, settings)

    monkeypatch.setattr(qa, "_best_span", spy)
    model = tiny_bert(tok).eval().to(torch.bfloat16)
    assert_answers_come_from_the_contexts(predict_answers(model, tok, EXAMPLES, SMALL))
    assert seen and set(seen) == {np.dtype(np.float32)}, f"the span search got {sorted(set(map(str, seen)))}"

    oracle = answer_oracle(tok, EXAMPLES, score=1e5, cls=BFloat16Oracle)
    assert predict_answers(oracle, tok, EXAMPLES, SMALL) == {e["id"]: e["answer"] for e in EXAMPLES}


def test_a_tiny_distilbert_without_token_type_ids_answers_from_its_context(tok: Any) -> None:
    torch.manual_seed(0)
    config = transformers.DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64, vocab_size=tok.vocab_size)
    model = transformers.DistilBertForQuestionAnswering(config).eval()
    assert_answers_come_from_the_contexts(predict_answers(model, tok, EXAMPLES, SMALL))


@pytest.mark.parametrize("question_words, doc_stride", [(80, 16), (40, 30)])
def test_a_window_without_room_beyond_the_stride_is_refused(tok: Any, question_words: int, doc_stride: int) -> None:
    # Unchecked, tokenizers raises a bare Exception for the first and a Rust panic for the second.
    settings = QaSettings(max_length=64, doc_stride=doc_stride)
    example = {"id": "x", "question": "word " * question_words, "context": FILLER * 4}
    with pytest.raises(ValueError, match=r"leaves .* tokens of context"):
        predict_answers(Oracle([]), tok, [example], settings)
    with pytest.raises(ValueError, match="raise max_length or lower doc_stride"):
        training_features(tok, [example["question"]], [example["context"]], [{"text": [], "answer_start": []}], settings)
