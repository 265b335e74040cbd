"""Masked-language-model training: the corpus's windows, BERT's masking, and the masked tokens' logits.

Masking follows BERT's pre-training (Devlin et al., 2019): in each sequence 15% of the real
tokens (rounded, at least one) are chosen at random to be predicted; of those, 80% are replaced
by the tokenizer's mask token, 10% by a random token of the vocabulary and 10% are kept as they
are. Special tokens ([CLS], [SEP], [UNK], ...) and padding are never chosen, and random
replacements are never special tokens. The draw is seeded by the fine-tune's seed and the step,
so a fine-tune masks the same tokens every time it runs, and each step masks others.

The vocabulary-sized output layer is the costliest part of a small masked language model; where
the model's head can be applied on its own (BERT's ``cls``, RoBERTa's ``lm_head``, ALBERT's
``predictions``) it is run on the masked positions only, which gives the same logits there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MASKED_SHARE = 0.15  # of a sequence's real tokens, predicted
MASK_TOKEN_SHARE = 0.8  # of the predicted tokens, shown as the mask token
RANDOM_TOKEN_SHARE = 0.1  # shown as a random token; the rest are shown as they are
# Part of a masked-lm fine-tune's cache identity: change it whenever the masking changes.
MASKING = "bert-15-80-10-10/v1"
IGNORED = -100  # the label of a position that is not predicted, as transformers' losses expect
_HEADS = ("cls", "lm_head", "predictions")
_STEP_SEEDS = 1_000_003  # seeds of different fine-tune seeds never meet within this many steps


class TokenMasker:
    """Masks batches of input ids as BERT's pre-training did, seeded per step."""

    def __init__(self, tokenizer: Any, vocab_size: int, seed: int) -> None:
        import torch

        if tokenizer.mask_token_id is None:
            raise ValueError(f"{type(tokenizer).__name__} has no mask token: a masked language model cannot be trained with it")
        self.mask_token_id = int(tokenizer.mask_token_id)
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
        ordinary = torch.ones(min(vocab_size, len(tokenizer)), dtype=torch.bool)
        ordinary[self.special_ids[self.special_ids < len(ordinary)]] = False
        self.replacements = ordinary.nonzero().squeeze(1)
        self.seed = seed

    def __call__(self, input_ids: Any, attention_mask: Any, step: int) -> tuple[Any, Any]:
        """``(masked input ids, labels)`` for a batch on the CPU: the labels hold the original id at
        each predicted position and ``IGNORED`` elsewhere."""
        import torch

        generator = torch.Generator().manual_seed(self.seed * _STEP_SEEDS + step)
        candidates = attention_mask.bool() & ~torch.isin(input_ids, self.special_ids)
        counts = (candidates.sum(dim=1) * MASKED_SHARE).round().clamp(min=1)
        # A random rank for each candidate, non-candidates last: the lowest ranks are predicted.
        keys = torch.rand(input_ids.shape, generator=generator).masked_fill(~candidates, 2.0)
        ranks = keys.argsort(dim=1).argsort(dim=1)
        predicted = candidates & (ranks < counts.unsqueeze(1))
        labels = input_ids.masked_fill(~predicted, IGNORED)
        action = torch.rand(input_ids.shape, generator=generator)
        shown_masked = predicted & (action < MASK_TOKEN_SHARE)
        shown_random = predicted & (action >= MASK_TOKEN_SHARE) & (action < MASK_TOKEN_SHARE + RANDOM_TOKEN_SHARE)
        random_ids = self.replacements[torch.randint(len(self.replacements), input_ids.shape, generator=generator)]
        masked = input_ids.masked_fill(shown_masked, self.mask_token_id)
        masked = torch.where(shown_random, random_ids, masked)
        return masked, labels


def masked_lm_features(tokenizer: Any, texts: Sequence[str], max_length: int) -> dict[str, list[Any]]:
    """The texts' tokens in windows of at most ``max_length`` (a longer text continues in the next
    window), each with the tokenizer's special tokens."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, return_overflowing_tokens=True)
    return {key: list(value) for key, value in encoded.items() if key != "overflow_to_sample_mapping"}


@dataclass(frozen=True)
class MaskedLmOutput:
    logits: Any  # (masked positions, vocabulary): the logits of the predicted positions, in order
    hidden: Any  # (batch, length, hidden): the last hidden states
    loss: Any | None  # the mean cross-entropy of the predicted tokens, when labels are given


def masked_lm_outputs(model: Any, inputs: Mapping[str, Any], predicted: Any, labels: Any | None = None) -> MaskedLmOutput:
    """``model``'s logits at the positions where ``predicted`` is true, its last hidden states, and
    with ``labels`` its loss there."""
    import torch

    head = next((getattr(model, name) for name in _HEADS if isinstance(getattr(model, name, None), torch.nn.Module)), None)
    if head is not None:
        hidden = model.base_model(**inputs).last_hidden_state
        logits = head(hidden[predicted])
    else:
        outputs = model(**inputs, output_hidden_states=True)
        hidden, logits = outputs.hidden_states[-1], outputs.logits[predicted]
    loss = torch.nn.functional.cross_entropy(logits.float(), labels[predicted]) if labels is not None else None
    return MaskedLmOutput(logits=logits, hidden=hidden, loss=loss)
