"""Per-sentence negative log-likelihoods of text under a masked or a causal language model.

A masked language model is scored by its pseudo-log-likelihood (Salazar et al., 2020, "Masked
Language Model Scoring"): each real token of a sentence (not ``[CLS]``, ``[SEP]`` or another
special token) is replaced by the mask token in a copy of the sentence of its own, and the
model's log-probability of the true token at that position is summed over the copies. The
copies of many sentences go through the model together, ``batch_size`` copies per forward
pass, padded to the longest of them; the output projection (the vocabulary-sized matrix) is
applied at the masked position alone, not at every position of every copy.

A causal language model is scored by the log-probability of each token given the ones before
it, from the logits one position earlier; the tokenizer's start token is put in front so that
the first token is scored too (as the hub's ``perplexity`` module does), when it has one.

Both give, per sentence, the summed negative log-likelihood in nats and the number of tokens
scored; a corpus's (pseudo-)perplexity is ``exp(sum of NLLs / sum of tokens)``. Everything
runs under ``torch.no_grad()`` with the model in eval mode (its mode is restored afterwards).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SentenceLikelihoods:
    """Per sentence: the summed negative log-likelihood (nats) and the tokens it sums over."""

    nlls: tuple[float, ...]
    tokens: tuple[int, ...]

    @property
    def perplexity(self) -> float:
        """exp(total NLL / total tokens): the token-weighted perplexity of the whole corpus; NaN without a token."""
        total = sum(self.tokens)
        return math.exp(math.fsum(self.nlls) / total) if total else math.nan

    def per_sentence(self) -> list[float]:
        """Each sentence's own perplexity; NaN for a sentence with no token scored."""
        return [math.exp(nll / tokens) if tokens else math.nan for nll, tokens in zip(self.nlls, self.tokens, strict=True)]


def masked_lm_nlls(
    model: Any, tokenizer: Any, texts: Sequence[str], *, batch_size: int = 64, max_length: int = 128
) -> SentenceLikelihoods:
    """The pseudo-log-likelihood of each text, negated, with the number of tokens masked in turn."""
    import numpy as np
    import torch

    _check_sizes(batch_size, max_length)
    mask_id = tokenizer.mask_token_id
    if mask_id is None:
        raise ValueError(f"tokenizer {type(tokenizer).__name__} has no mask token; a masked language model needs one")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, return_special_tokens_mask=True)
    sentences: list[list[int]] = encoded["input_ids"]
    token_types: list[list[int]] | None = encoded.get("token_type_ids")
    copies = [
        (index, position)
        for index, special in enumerate(encoded["special_tokens_mask"])
        for position, flag in enumerate(special)
        if not flag
    ]
    accepted = set(inspect.signature(model.forward).parameters)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = _device_of(model)
    nlls = np.zeros(len(sentences), dtype=np.float64)
    with _evaluating(model), _output_at(model) as head:
        for start in range(0, len(copies), batch_size):
            chunk = copies[start : start + batch_size]
            width = max(len(sentences[index]) for index, _ in chunk)
            input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            types = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, (index, _) in enumerate(chunk):
                ids = sentences[index]
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attention[row, : len(ids)] = 1
                if token_types is not None:
                    types[row, : len(ids)] = torch.tensor(token_types[index])
            rows = torch.arange(len(chunk))
            positions = torch.tensor([position for _, position in chunk])
            targets = input_ids[rows, positions].clone()
            input_ids[rows, positions] = mask_id
            inputs = {"input_ids": input_ids, "attention_mask": attention}
            if token_types is not None and "token_type_ids" in accepted:
                inputs["token_type_ids"] = types
            head.positions = positions.to(device)
            logits = model(**{key: value.to(device) for key, value in inputs.items()}).logits
            # One position per copy when the output projection was applied at the mask alone.
            picked = logits[:, 0] if logits.shape[1] == 1 else logits[rows.to(device), positions.to(device)]
            log_probabilities = torch.log_softmax(picked.float(), dim=-1)
            token_nlls = -log_probabilities[rows.to(device), targets.to(device)]
            np.add.at(nlls, [index for index, _ in chunk], token_nlls.double().cpu().numpy())
    tokens = np.bincount([index for index, _ in copies], minlength=len(sentences))
    return SentenceLikelihoods(tuple(float(nll) for nll in nlls), tuple(int(count) for count in tokens))


def causal_lm_nlls(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = 128,
    add_start_token: bool = True,
) -> SentenceLikelihoods:
    """The negative log-likelihood of each text token by token, with the number of tokens scored.

    ``max_length`` counts the start token; without a start token (none asked for, or the
    tokenizer has none) a text's first token has nothing to be predicted from and is not scored."""
    import torch

    _check_sizes(batch_size, max_length)
    start_id = tokenizer.bos_token_id if add_start_token else None
    room = max_length - (1 if start_id is not None else 0)
    if room < 1:
        raise ValueError(f"max_length must leave room for a token after the start token, got {max_length}")
    encoded = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=room)
    sentences = [([start_id] if start_id is not None else []) + list(ids) for ids in encoded["input_ids"]]
    pad = next((token for token in (tokenizer.pad_token_id, tokenizer.eos_token_id) if token is not None), 0)
    device = _device_of(model)
    nlls: list[float] = []
    tokens: list[int] = []
    with _evaluating(model):
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            width = max(len(ids) for ids in chunk)
            if width < 2:  # nothing to predict in any of them
                nlls.extend(0.0 for _ in chunk)
                tokens.extend(0 for _ in chunk)
                continue
            input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, ids in enumerate(chunk):
                input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                attention[row, : len(ids)] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits
            log_probabilities = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            targets = input_ids[:, 1:].to(device)
            scored = attention[:, 1:].to(device).bool()
            token_nlls = -log_probabilities.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            sums = torch.where(scored, token_nlls.double(), torch.zeros((), dtype=torch.float64, device=device)).sum(dim=1)
            nlls.extend(float(total) for total in sums.cpu())
            tokens.extend(int(count) for count in scored.sum(dim=1).cpu())
    return SentenceLikelihoods(tuple(nlls), tuple(tokens))


def _check_sizes(batch_size: int, max_length: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")


def _device_of(model: Any) -> Any:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else "cpu"


@contextmanager
def _evaluating(model: Any) -> Iterator[None]:
    """Eval mode and no gradients inside; the model's own mode again after."""
    import torch

    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(training)


class _OutputAtMask:
    """A forward pre-hook on the output projection that keeps, of each row's hidden states, the
    one at that row's masked position: the logits then have one position per row."""

    def __init__(self) -> None:
        self.positions: Any = None

    def __call__(self, module: Any, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        import torch

        hidden = args[0] if args else None
        positions = self.positions
        if positions is None or not isinstance(hidden, torch.Tensor) or hidden.dim() != 3 or not hidden.is_floating_point():
            return None  # called otherwise than as the last step of the head: leave it alone
        if hidden.shape[0] != len(positions):
            return None
        rows = torch.arange(len(positions), device=hidden.device)
        return (hidden[rows, positions.to(hidden.device)].unsqueeze(1), *args[1:])


@contextmanager
def _output_at(model: Any) -> Iterator[_OutputAtMask]:
    """The hook on the model's output embeddings while inside, when it has them as a module;
    without them the logits of every position come back, and the caller picks the masked ones."""
    import torch

    hook = _OutputAtMask()
    getter = getattr(model, "get_output_embeddings", None)
    head = getter() if callable(getter) else None
    handle = head.register_forward_pre_hook(hook) if isinstance(head, torch.nn.Module) else None
    try:
        yield hook
    finally:
        if handle is not None:
            handle.remove()
