"""Tiny language models for the perplexity tests, built offline in seconds.

The tokenizers are word-level over the built-in ``topics`` training text (about 840 words,
lower-cased, BERT's punctuation splitting), so that a 2-layer BERT with hidden size 64 learns
the text in a few hundred steps on one core; a shuffled copy of the same vocabulary is a
tokenizer that a model trained on the first one cannot read.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = range(len(SPECIALS))


def topic_texts(split: str = "train") -> list[str]:
    from pytest_modelperf.quality.builtin_datasets import builtin_dataset

    return list(builtin_dataset("topics", split)["text"])


def topic_words() -> list[str]:
    """Every word of the topics training text, lower-cased, in sorted order."""
    from tokenizers import pre_tokenizers

    split = pre_tokenizers.BertPreTokenizer()
    return sorted({word for text in topic_texts() for word, _ in split.pre_tokenize_str(text.lower())})


def word_tokenizer(words: Sequence[str]) -> Any:
    """A word-level tokenizer: the specials, then ``words`` in the order given; [CLS] text [SEP].

    [CLS] stands for the start of a text and [SEP] for its end, so the same tokenizer serves a
    causal model (``bos_token``) and a masked one."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocabulary = {token: index for index, token in enumerate([*SPECIALS, *words])}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        bos_token="[CLS]",
        eos_token="[SEP]",
    )


def shuffled_word_tokenizer(seed: int = 0) -> Any:
    """The topics word tokenizer with its words' ids shuffled: the specials keep theirs."""
    words = topic_words()
    random.Random(seed).shuffle(words)
    return word_tokenizer(words)


def bert_config(vocab_size: int, *, layers: int = 2) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


def random_masked_lm(vocab_size: int, *, seed: int = 0) -> Any:
    import torch
    from transformers import BertForMaskedLM

    torch.manual_seed(seed)
    return BertForMaskedLM(bert_config(vocab_size)).eval()


def random_causal_lm(vocab_size: int, *, seed: int = 0) -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=vocab_size, n_positions=64, n_embd=32, n_layer=2, n_head=2, bos_token_id=CLS, eos_token_id=SEP)
    return GPT2LMHeadModel(config).eval()


def trained_masked_lm(tokenizer: Any, *, steps: int = 400, seed: int = 0) -> Any:
    """A 2-layer BERT (hidden 64) trained as a masked LM on the topics training text, on one
    thread: 30% of each sentence's words masked per step (more signal per step than BERT's
    15%, which on this text needs about twice the steps), AdamW at 4e-3 after a short warm-up,
    the output bias starting at the words' log frequencies. Its pseudo-perplexity on the
    validation text falls from the vocabulary's size to about 50."""
    import torch
    from transformers import BertForMaskedLM

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = BertForMaskedLM(bert_config(len(tokenizer)))
        encoded = tokenizer(topic_texts(), padding=True, return_tensors="pt", return_special_tokens_mask=True)
        ids, attention = encoded["input_ids"], encoded["attention_mask"]
        real = attention.bool() & ~encoded["special_tokens_mask"].bool()
        counts = torch.bincount(ids[real], minlength=len(tokenizer)).double() + 0.5
        with torch.no_grad():
            model.cls.predictions.bias.copy_((counts / counts.sum()).log().float())
        optimizer = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.0)
        warm_up = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 20))
        generator = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(steps):
            rows = torch.randint(0, len(ids), (32,), generator=generator)
            inputs, mask, candidates = ids[rows].clone(), attention[rows], real[rows]
            width = int(mask.sum(dim=1).max())
            chosen = (torch.rand(inputs.shape, generator=generator) < 0.3) & candidates
            labels = torch.where(chosen, inputs, torch.full_like(inputs, -100))
            inputs[chosen] = MASK
            loss = model(input_ids=inputs[:, :width], attention_mask=mask[:, :width], labels=labels[:, :width].contiguous()).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            warm_up.step()
        return model.eval()
    finally:
        torch.set_num_threads(threads)
