"""Inputs for a workload: a batch of ``batch_size`` sequences of ``sequence_length`` tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .loading import LoadedModel


@dataclass(frozen=True)
class Workload:
    batch_size: int
    sequence_length: int

    def __post_init__(self) -> None:
        for name in ("batch_size", "sequence_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @property
    def label(self) -> str:
        return f"{self.batch_size}x{self.sequence_length}"

    @property
    def tokens(self) -> int:
        return self.batch_size * self.sequence_length


def synthetic_inputs(loaded: LoadedModel, workload: Workload, *, seed: int = 0) -> dict[str, Any]:
    """Deterministic token ids of the workload's shape, framed as ``[CLS] ... [SEP]``, no padding.

    Weights and token identities do not change the arithmetic of a dense encoder, so random
    ordinary tokens measure latency and memory exactly as real text of the same length.
    """
    import torch

    config = loaded.config
    limit = getattr(config, "max_position_embeddings", None)
    if limit is not None and workload.sequence_length > limit:
        raise ValueError(
            f"sequence_length {workload.sequence_length} exceeds {loaded.name}'s max_position_embeddings ({limit})"
        )
    vocab_size = int(config.vocab_size)
    generator = torch.Generator().manual_seed(seed)
    low = _first_ordinary_id(loaded.tokenizer, vocab_size)
    input_ids = torch.randint(low, vocab_size, (workload.batch_size, workload.sequence_length), generator=generator)
    cls_id, sep_id = _frame_ids(loaded.tokenizer)
    if cls_id is not None and workload.sequence_length >= 2:
        input_ids[:, 0] = cls_id
    if sep_id is not None and workload.sequence_length >= 2:
        input_ids[:, -1] = sep_id
    inputs: dict[str, Any] = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
    }
    if getattr(config, "type_vocab_size", 0) and config.model_type not in ("distilbert",):
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    return {name: tensor.to(loaded.device) for name, tensor in inputs.items()}


def _first_ordinary_id(tokenizer: Any | None, vocab_size: int) -> int:
    """Ordinary tokens follow the block of special tokens at the start of a vocabulary.

    Special tokens appended at the end of a vocabulary (added tokens) do not move the start.
    """
    ids = getattr(tokenizer, "all_special_ids", None) or []
    leading = [i for i in ids if isinstance(i, int) and i < vocab_size // 2]
    return max(leading, default=-1) + 1


def _frame_ids(tokenizer: Any | None) -> tuple[int | None, int | None]:
    if tokenizer is None:
        return None, None
    return getattr(tokenizer, "cls_token_id", None), getattr(tokenizer, "sep_token_id", None)


def forward(loaded: LoadedModel, inputs: dict[str, Any]) -> Any:
    """One inference forward pass without autograd bookkeeping."""
    import torch

    with torch.inference_mode():
        return loaded.model(**inputs)
