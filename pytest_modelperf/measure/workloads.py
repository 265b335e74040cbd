"""Inputs for a workload: a batch of ``batch_size`` x ``sequence_length`` tokens, or real sentences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..models.loading import LoadedModel


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


def workload_context(loaded: LoadedModel, workload: Workload) -> dict[str, Any]:
    """What a measurement of this model on this workload was made on: its context."""
    return {
        "device": loaded.device,
        "dtype": loaded.dtype,
        "model": loaded.name,
        "task": loaded.task,
        "batch_size": workload.batch_size,
        "sequence_length": workload.sequence_length,
    }


def synthetic_inputs(loaded: LoadedModel, workload: Workload, *, seed: int = 0) -> dict[str, Any]:
    """Deterministic token ids of the workload's shape, framed as ``[CLS] ... [SEP]``, no padding.

    Weights and token identities do not change the arithmetic of a dense encoder, so random
    ordinary tokens measure latency and memory exactly as real text of the same length.
    """
    import torch

    config = loaded.config
    limit = getattr(config, "max_position_embeddings", None)
    if limit is not None and workload.sequence_length > limit:
        raise ValueError(f"sequence_length {workload.sequence_length} exceeds {loaded.name}'s max_position_embeddings ({limit})")
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
    if getattr(config, "type_vocab_size", 0):
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    accepted = accepted_inputs(loaded)
    return {name: tensor.to(loaded.device) for name, tensor in inputs.items() if name in accepted}


def accepted_inputs(loaded: LoadedModel) -> frozenset[str]:
    """The keyword inputs the model's forward takes (DistilBERT, for one, takes no token_type_ids)."""
    import inspect

    return frozenset(inspect.signature(loaded.model.forward).parameters)


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


# Sentences for the "one sentence at a time" measurement: ordinary English of varied length
# (from a few to about fifty tokens), as a user query or a support ticket would be.
SAMPLE_SENTENCES: tuple[str, ...] = (
    "Where is the nearest train station?",
    "The committee approved the budget after a long debate about school funding.",
    "My order arrived two weeks late and the box was damaged, so I would like a refund or a replacement.",
    "Researchers found that smaller distilled language models keep most of the accuracy of their teachers.",
    "Reset your password.",
    "Heavy rain is expected across the northern region tonight, with flooding possible near rivers and low roads, "
    "so drivers should avoid unnecessary travel until the warning is lifted tomorrow morning.",
    "Which team won the championship in the year the new stadium opened?",
    "The battery lasts all day, but the screen is hard to read in bright sunlight.",
)


def text_runner(loaded: LoadedModel, texts: Sequence[str]) -> Callable[[], None]:
    """A round that tokenizes and runs each text on its own, in order, as a service answering one
    request at a time; what does not change between rounds is worked out once, outside them."""
    import torch

    accepted = accepted_inputs(loaded)
    limit = getattr(loaded.config, "max_position_embeddings", None)

    def run() -> None:
        with torch.inference_mode():
            for text in texts:
                encoded = loaded.tokenizer(text, return_tensors="pt", truncation=limit is not None, max_length=limit)
                loaded.model(**{key: tensor.to(loaded.device) for key, tensor in encoded.items() if key in accepted})

    return run
