"""BERT's masking for masked-language-model fine-tunes: what is chosen, what it is shown as, and its seeding."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
import transformers

from pytest_modelperf.models.offline_tokenizers import bert_uncased_tokenizer_dir
from pytest_modelperf.quality.builtin_datasets import builtin_dataset
from pytest_modelperf.quality.masked_lm import IGNORED, TokenMasker, masked_lm_features

VOCABULARY = 30522


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return transformers.AutoTokenizer.from_pretrained(bert_uncased_tokenizer_dir(), local_files_only=True)


@pytest.fixture(scope="module")
def batch(tokenizer: Any) -> dict[str, torch.Tensor]:
    """Sentences of the corpus, padded: [CLS] and [SEP] around each, [PAD] after the short ones,
    and an [UNK] in one."""
    texts = [*builtin_dataset("topics-text", "train")["text"][:63], "the striker ☃ scored twice"]
    return dict(tokenizer(texts, padding=True, return_tensors="pt"))


def masked(tokenizer: Any, batch: dict[str, torch.Tensor], step: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return TokenMasker(tokenizer, VOCABULARY, seed)(batch["input_ids"], batch["attention_mask"], step)


def test_fifteen_percent_of_each_sequences_real_tokens_are_predicted(tokenizer: Any, batch: dict[str, torch.Tensor]) -> None:
    _, labels = masked(tokenizer, batch, step=1)

    special = torch.isin(batch["input_ids"], torch.tensor(tokenizer.all_special_ids))
    ordinary = (batch["attention_mask"].bool() & ~special).sum(dim=1)
    predicted = (labels != IGNORED).sum(dim=1)
    assert predicted.tolist() == [max(1, round(0.15 * count)) for count in ordinary.tolist()]
    chosen = labels != IGNORED
    assert torch.equal(labels[chosen], batch["input_ids"][chosen]), "a label is the token it replaces"


def test_special_tokens_and_padding_are_never_masked(tokenizer: Any, batch: dict[str, torch.Tensor]) -> None:
    special = torch.isin(batch["input_ids"], torch.tensor(tokenizer.all_special_ids))
    assert (batch["input_ids"] == tokenizer.unk_token_id).any() and (batch["attention_mask"] == 0).any()

    for step in range(1, 30):
        input_ids, labels = masked(tokenizer, batch, step)
        assert (labels[special] == IGNORED).all()
        assert torch.equal(input_ids[special], batch["input_ids"][special])
        assert torch.equal(input_ids[labels == IGNORED], batch["input_ids"][labels == IGNORED]), "only predicted tokens change"


def test_predicted_tokens_are_shown_as_mask_random_or_themselves_eighty_ten_ten(
    tokenizer: Any, batch: dict[str, torch.Tensor]
) -> None:
    shown = {"mask": 0, "random": 0, "kept": 0}
    for step in range(1, 101):
        input_ids, labels = masked(tokenizer, batch, step)
        chosen = labels != IGNORED
        is_mask = input_ids[chosen] == tokenizer.mask_token_id
        is_kept = input_ids[chosen] == labels[chosen]
        shown["mask"] += int(is_mask.sum())
        shown["kept"] += int(is_kept.sum())
        shown["random"] += int((~is_mask & ~is_kept).sum())
        assert not torch.isin(
            input_ids[chosen & (input_ids != tokenizer.mask_token_id)], torch.tensor(tokenizer.all_special_ids)
        ).any()
    total = sum(shown.values())
    # 23,600 predicted tokens: a share's standard error is at most 0.3 points; a random
    # token that happens to be the original one counts as kept (1 in 30,000).
    assert total > 20_000
    assert shown["mask"] / total == pytest.approx(0.8, abs=0.01)
    assert shown["random"] / total == pytest.approx(0.1, abs=0.01)
    assert shown["kept"] / total == pytest.approx(0.1, abs=0.01)


def test_masking_is_seeded_by_the_fine_tunes_seed_and_the_step(tokenizer: Any, batch: dict[str, torch.Tensor]) -> None:
    first = masked(tokenizer, batch, step=3)
    again = masked(tokenizer, batch, step=3)
    next_step = masked(tokenizer, batch, step=4)
    other_seed = masked(tokenizer, batch, step=3, seed=1)

    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[1], next_step[1])
    assert not torch.equal(first[1], other_seed[1])


def test_a_single_real_token_is_always_predicted(tokenizer: Any) -> None:
    batch = dict(tokenizer(["rain"], return_tensors="pt"))  # [CLS] rain [SEP]

    _, labels = masked(tokenizer, batch, step=1)

    assert labels.tolist() == [[IGNORED, tokenizer.convert_tokens_to_ids("rain"), IGNORED]]


def test_the_corpus_is_cut_into_windows_that_keep_every_token(tokenizer: Any) -> None:
    texts = ["a short one", " ".join(["word"] * 32)]

    features = masked_lm_features(tokenizer, texts, max_length=12)

    assert set(features) == {"input_ids", "token_type_ids", "attention_mask"}
    assert [len(ids) for ids in features["input_ids"]] == [5, 12, 12, 12, 4]  # 32 words: 10 + 10 + 10 + 2
    assert all(ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id for ids in features["input_ids"])


def test_a_tokenizer_without_a_mask_token_is_refused() -> None:
    gpt_like = SimpleNamespace(mask_token_id=None, all_special_ids=[0])

    with pytest.raises(
        ValueError, match=r"^SimpleNamespace has no mask token: a masked language model cannot be trained with it$"
    ):
        TokenMasker(gpt_like, VOCABULARY, 0)
