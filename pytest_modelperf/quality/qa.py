"""Extractive question answering over overflowing windows: training features and predicted answers.

A (question, context) pair longer than ``max_length`` tokens is split into windows. Every window
holds the whole question and a slice of the context; consecutive slices overlap by
``doc_stride`` tokens, so an answer cut by one window's edge lies whole inside the next one. The
fast tokenizer does the splitting (``return_overflowing_tokens``): ``overflow_to_sample_mapping``
says which example a window belongs to, ``sequence_ids`` tells question tokens (0) from context
tokens (1) and special or padding tokens (None), and the offset mapping gives each context token's
character span in the context string. Nothing here assumes where in a window the context starts,
so left padding and a classifier token at the end are handled alike.

Training features (:func:`training_features`) label each window with the token span of the first
answer, or point both ends at the classifier token when the answer is not wholly inside the window.

The span search (:func:`predict_answers`) is the one of transformers' ``run_qa.py``: in every
window take the ``n_best`` highest start logits and the ``n_best`` highest end logits, keep the
pairs that lie in the context, do not end before they start and are at most ``max_answer_length``
tokens long, and score each pair by start logit + end logit. An example's answer is the best pair
over all of its windows, cut from the context between the first token's start offset and the last
token's end offset; an example without any valid pair gets "".
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    import datasets
    from transformers import BatchEncoding

CONTEXT = 1  # the sequence id of the context in a (question, context) pair
_MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


@dataclass(frozen=True)
class QaSettings:
    max_length: int = 384
    doc_stride: int = 128
    max_answer_length: int = 30
    n_best: int = 20
    batch_size: int = 16


DEFAULT_QA_SETTINGS = QaSettings()


@dataclass(frozen=True)
class _Span:
    score: float
    start_char: int
    end_char: int


def training_features(
    tokenizer: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    answers: Sequence[Mapping[str, list]],
    settings: QaSettings,
) -> dict[str, list]:
    """Windows (unpadded) with the first answer's token span as start/end positions.

    ``answers`` are SQuAD-style: ``{"text": [...], "answer_start": [...]}`` per example. A window
    that does not hold the whole answer (or an example without answers) points both positions at
    the classifier token, index 0 for BERT-style tokenizers.
    """
    _require_fast(tokenizer)
    if not (len(questions) == len(contexts) == len(answers)):
        raise ValueError(f"questions, contexts and answers differ in length: {len(questions)}, {len(contexts)}, {len(answers)}")
    if not questions:
        return {"input_ids": [], "attention_mask": [], "start_positions": [], "end_positions": []}
    encoding = _windows(tokenizer, questions, contexts, settings, padding=False)
    starts: list[int] = []
    ends: list[int] = []
    for window, example in enumerate(encoding["overflow_to_sample_mapping"]):
        start, end = _answer_tokens(tokenizer, encoding, window, answers[example])
        starts.append(start)
        ends.append(end)
    features = {name: encoding[name] for name in _MODEL_INPUTS if name in encoding}
    features["start_positions"] = starts
    features["end_positions"] = ends
    return features


def predict_answers(
    model: Any,
    tokenizer: Any,
    examples: Sequence[Mapping[str, Any]] | datasets.Dataset,
    settings: QaSettings = DEFAULT_QA_SETTINGS,
    *,
    device: str = "cpu",
) -> dict[str, str]:
    """Example id -> predicted answer text, the best span over all of the example's windows.

    The model runs in eval mode (its training flag is restored afterwards) under
    ``torch.inference_mode()``, ``settings.batch_size`` windows at a time, each batch padded to
    its own longest window; it is given only the inputs its ``forward`` names.
    """
    _require_fast(tokenizer)
    ids, questions, contexts = _columns(examples)
    if not ids:
        return {}
    encoding = _windows(tokenizer, questions, contexts, settings, padding=False)
    accepted = inspect.signature(model.forward).parameters
    names = [name for name in _MODEL_INPUTS if name in encoding and name in accepted]
    sample = encoding["overflow_to_sample_mapping"]
    best: list[_Span | None] = [None] * len(ids)

    for window, start_logits, end_logits in _window_logits(model, tokenizer, encoding, names, settings, device):
        if not (np.isfinite(start_logits).all() and np.isfinite(end_logits).all()):
            continue  # NaN or inf (half precision overflowing, say): this window gives no answer
        span = _best_span(encoding, window, start_logits, end_logits, settings)
        example = sample[window]
        if span is not None and (best[example] is None or span.score > best[example].score):
            best[example] = span

    return {
        example_id: "" if span is None else contexts[example][span.start_char : span.end_char]
        for example, (example_id, span) in enumerate(zip(ids, best, strict=True))
    }


def _require_fast(tokenizer: Any) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"question answering needs a fast tokenizer (overflowing windows with offset mappings and "
            f"sequence ids), but {type(tokenizer).__name__} is not one (is_fast is False); use a tokenizer "
            f"backed by the tokenizers library, as AutoTokenizer loads from a tokenizer.json"
        )


def _windows(
    tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], settings: QaSettings, *, padding: bool | str
) -> BatchEncoding:
    # Some SQuAD questions start with spaces, which would only waste window room.
    stripped = [question.lstrip() for question in questions]
    _check_room(tokenizer, stripped, settings)
    return tokenizer(
        stripped,
        list(contexts),
        truncation="only_second",
        max_length=settings.max_length,
        stride=settings.doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=padding,
    )


def _check_room(tokenizer: Any, questions: Sequence[str], settings: QaSettings) -> None:
    """Refuse settings that leave a window no more context than the stride.

    The tokenizers library answers those with a bare ``Exception`` (a question longer than the
    window) or a Rust panic that ``except Exception`` cannot catch (a stride too long for the room).
    """
    lengths = [len(ids) for ids in tokenizer(list(questions), add_special_tokens=False)["input_ids"]]
    longest = max(range(len(lengths)), key=lengths.__getitem__)
    room = settings.max_length - lengths[longest] - tokenizer.num_special_tokens_to_add(pair=True)
    if room <= settings.doc_stride:
        raise ValueError(
            f"a window of max_length={settings.max_length} tokens leaves {room} tokens of context beside the "
            f"question {questions[longest]!r} ({lengths[longest]} tokens), but doc_stride={settings.doc_stride} "
            f"needs more than that: raise max_length or lower doc_stride"
        )


def _columns(examples: Sequence[Mapping[str, Any]] | datasets.Dataset) -> tuple[list, list[str], list[str]]:
    if hasattr(examples, "column_names"):  # a datasets.Dataset: whole columns, not one dict per row
        return list(examples["id"]), list(examples["question"]), list(examples["context"])
    rows = list(examples)
    return [row["id"] for row in rows], [row["question"] for row in rows], [row["context"] for row in rows]


def _context_tokens(encoding: BatchEncoding, window: int) -> np.ndarray:
    """Whether each token of the window is a context token."""
    return np.array([sequence == CONTEXT for sequence in encoding.sequence_ids(window)], dtype=bool)


def _answer_tokens(tokenizer: Any, encoding: BatchEncoding, window: int, answer: Mapping[str, list]) -> tuple[int, int]:
    input_ids = encoding["input_ids"][window]
    cls_id = tokenizer.cls_token_id
    no_answer = input_ids.index(cls_id) if cls_id is not None and cls_id in input_ids else 0
    if not answer["text"]:
        return no_answer, no_answer
    start_char = answer["answer_start"][0]
    end_char = start_char + len(answer["text"][0])

    context = np.flatnonzero(_context_tokens(encoding, window))
    if context.size == 0:
        return no_answer, no_answer
    offsets = np.asarray(encoding["offset_mapping"][window])[context]
    if offsets[0, 0] > start_char or offsets[-1, 1] < end_char:
        return no_answer, no_answer
    # The last token starting at or before the answer, the first ending at or after it.
    start = context[np.flatnonzero(offsets[:, 0] <= start_char)[-1]]
    end = context[np.flatnonzero(offsets[:, 1] >= end_char)[0]]
    return int(start), int(end)


def _window_logits(
    model: Any, tokenizer: Any, encoding: BatchEncoding, names: list[str], settings: QaSettings, device: str
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(window, start logits, end logits) for every window, the logits cut to the window's own tokens."""
    lengths = [len(input_ids) for input_ids in encoding["input_ids"]]
    # Batching windows of similar length wastes less of the forward pass on padding.
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    left_padded = tokenizer.padding_side == "left"
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        for first in range(0, len(order), settings.batch_size):
            batch = order[first : first + settings.batch_size]
            padded = tokenizer.pad(
                {name: [encoding[name][window] for window in batch] for name in names},
                padding="longest",
                padding_side=tokenizer.padding_side,
                return_tensors="pt",
            )
            inputs = {name: padded[name].to(device) for name in names}
            with torch.inference_mode():
                outputs = model(**inputs)
            start_logits, end_logits = (_as_numpy(logits) for logits in _start_end(outputs))
            width = start_logits.shape[1]
            for row, window in enumerate(batch):
                shift = width - lengths[window] if left_padded else 0
                tokens = slice(shift, shift + lengths[window])
                yield window, start_logits[row, tokens], end_logits[row, tokens]
    finally:
        if was_training:
            model.train()


def _start_end(outputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if hasattr(outputs, "start_logits"):
        return outputs.start_logits, outputs.end_logits
    return outputs[0], outputs[1]  # a model called with return_dict=False


def _as_numpy(logits: torch.Tensor) -> np.ndarray:
    # numpy has no bfloat16, and float16 sums lose the ranking of close spans.
    return logits.detach().to(dtype=torch.float32, device="cpu").numpy()


def _best_span(
    encoding: BatchEncoding, window: int, start_logits: np.ndarray, end_logits: np.ndarray, settings: QaSettings
) -> _Span | None:
    """The best valid (start, end) pair among the window's top n_best starts and ends."""
    starts = np.argsort(start_logits)[::-1][: settings.n_best]
    ends = np.argsort(end_logits)[::-1][: settings.n_best]
    in_context = _context_tokens(encoding, window)
    start, end = starts[:, None], ends[None, :]
    valid = in_context[start] & in_context[end] & (end >= start) & (end - start + 1 <= settings.max_answer_length)
    if not valid.any():
        return None
    scores = np.where(valid, start_logits[start] + end_logits[end], -np.inf)
    row, column = np.unravel_index(np.argmax(scores), scores.shape)
    offsets = encoding["offset_mapping"][window]
    return _Span(
        score=float(scores[row, column]),
        start_char=offsets[starts[row]][0],
        end_char=offsets[ends[column]][1],
    )
