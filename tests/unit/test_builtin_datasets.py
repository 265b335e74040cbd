"""The built-in datasets: deterministic, well-formed, disjoint splits, and not trivially easy."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from transformers import AutoTokenizer

from pytest_modelperf.models.dataset_catalogue import BUILTIN_DATASETS, is_builtin
from pytest_modelperf.models.offline_tokenizers import bert_uncased_tokenizer_dir
from pytest_modelperf.quality.builtin_datasets import TOPIC_LABELS, builtin_dataset, generate_rows

SPLITS = [(name, split) for name, dataset in BUILTIN_DATASETS.items() for split in dataset.splits]

# sha256 of every split's rows per (dataset, version). When generation changes on purpose,
# bump the dataset's version (fine-tuned checkpoints are cached on it) and update this.
FINGERPRINTS = {
    ("topics", "2"): "10ed0fd1d110b5c0cec38e01d9f7f95d28b6432a145b2a7f02f2bcade9e56479",
    ("facts-qa", "2"): "294061f896715622f08e4b18e572254516be64f6157d32d7ac093ee92bbb8185",
    ("topics-text", "1"): "9f10ae66366bd060204a06a3c15fd805e65922e82d317e8d19ae35718024aab5",
}


# Splits added to a dataset at a version, pinned on their own: the rows fine-tunes train on, and
# so the version their cache is keyed on, stay as they were.
ADDED_SPLITS = {
    ("topics", "2", "test"): "222a9525a524500d8ef45b1222e910c61dca84178d432168c973800a7de4111a",
}


def fingerprint(name: str, splits: list[str] | None = None) -> str:
    version = BUILTIN_DATASETS[name].version
    if splits is None:
        splits = [split for split in BUILTIN_DATASETS[name].splits if (name, version, split) not in ADDED_SPLITS]
    rows = {split: generate_rows(name, split) for split in splits}
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_generation_is_deterministic(name: str, split: str) -> None:
    assert generate_rows(name, split) == generate_rows(name, split)


@pytest.mark.parametrize("name", list(BUILTIN_DATASETS))
def test_output_is_pinned_to_the_version(name: str) -> None:
    version = BUILTIN_DATASETS[name].version
    assert fingerprint(name) == FINGERPRINTS.get((name, version)), (
        f"{name} generation changed: bump BuiltinDataset.version and update FINGERPRINTS"
    )


@pytest.mark.parametrize(("name", "version", "split"), list(ADDED_SPLITS))
def test_an_added_split_is_pinned_on_its_own(name: str, version: str, split: str) -> None:
    assert BUILTIN_DATASETS[name].version == version
    assert fingerprint(name, [split]) == ADDED_SPLITS[(name, version, split)]


def test_the_topics_test_split_is_held_out_like_validation_and_apart_from_it() -> None:
    test, validation, train = (set(generate_rows("topics", split)["text"]) for split in ("test", "validation", "train"))
    assert len(test) == 2000 and not test & validation and not test & train


def test_registry() -> None:
    assert set(BUILTIN_DATASETS) == {"topics", "facts-qa", "topics-text"}
    assert BUILTIN_DATASETS["topics"].task == "sequence-classification"
    assert BUILTIN_DATASETS["facts-qa"].task == "question-answering"
    assert BUILTIN_DATASETS["topics-text"].task == "masked-lm"
    assert BUILTIN_DATASETS["topics"].splits == {"train": 2000, "validation": 500, "test": 2000}
    assert BUILTIN_DATASETS["facts-qa"].splits == {"train": 1500, "validation": 400}
    assert BUILTIN_DATASETS["topics-text"].splits == {"train": 3032, "validation": 780}
    assert all(dataset.name == name for name, dataset in BUILTIN_DATASETS.items())
    assert is_builtin("topics") and is_builtin("facts-qa")
    assert not is_builtin("squad") and not is_builtin("./topics.csv")


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_sizes_and_ids(name: str, split: str) -> None:
    dataset = builtin_dataset(name, split)
    assert len(dataset) == BUILTIN_DATASETS[name].splits[split]
    assert len(set(dataset["id"])) == len(dataset)
    assert builtin_dataset(name, split) is dataset, "not cached"


def test_topics_features() -> None:
    dataset = builtin_dataset("topics", "validation")
    assert dataset.column_names == ["id", "text", "label"]
    assert dataset.features["label"].names == list(TOPIC_LABELS)
    assert TOPIC_LABELS == ("world", "sports", "business", "science")
    lengths = [len(text.split()) for text in dataset["text"]]
    assert min(lengths) >= 15 and max(lengths) <= 35


def test_facts_qa_features_match_squad() -> None:
    dataset = builtin_dataset("facts-qa", "validation")
    assert dataset.column_names == ["id", "title", "context", "question", "answers"]
    first = dataset[0]["answers"]
    assert set(first) == {"text", "answer_start"}
    assert isinstance(first["text"][0], str) and isinstance(first["answer_start"][0], int)


@pytest.mark.parametrize("name", list(BUILTIN_DATASETS))
def test_ids_unique_across_splits(name: str) -> None:
    ids = [i for split in BUILTIN_DATASETS[name].splits for i in builtin_dataset(name, split)["id"]]
    assert len(ids) == len(set(ids))


def test_topics_splits_share_no_text() -> None:
    train = set(builtin_dataset("topics", "train")["text"])
    validation = builtin_dataset("topics", "validation")["text"]
    assert len(train) == 2000 and len(set(validation)) == 500
    assert not train.intersection(validation)


def test_the_text_corpus_is_the_topics_sentences_and_the_facts_qa_paragraphs_of_its_split() -> None:
    for split in ("train", "validation"):
        texts = builtin_dataset("topics-text", split)
        sentences = builtin_dataset("topics", split)["text"]
        paragraphs = [
            p for context in dict.fromkeys(builtin_dataset("facts-qa", split)["context"]) for p in context.split("\n\n")
        ]
        assert texts.column_names == ["id", "text"]
        assert texts["text"] == [*sentences, *paragraphs]
    train = set(builtin_dataset("topics-text", "train")["text"])
    assert not train.intersection(builtin_dataset("topics-text", "validation")["text"]), "validation is held out"


def test_facts_qa_splits_share_no_context() -> None:
    train = set(builtin_dataset("facts-qa", "train")["context"])
    assert not train.intersection(builtin_dataset("facts-qa", "validation")["context"])


@pytest.mark.parametrize("split", ["train", "validation"])
def test_topics_labels_are_balanced(split: str) -> None:
    dataset = builtin_dataset("topics", split)
    counts = Counter(dataset["label"])
    assert sorted(counts) == [0, 1, 2, 3]
    assert max(counts.values()) - min(counts.values()) <= 1
    prefix = Counter(dataset["label"][:50])  # a --limit takes a prefix; it stays balanced too
    assert max(prefix.values()) - min(prefix.values()) <= 1


@pytest.mark.parametrize("split", ["train", "validation"])
def test_facts_qa_answers_point_at_their_text(split: str) -> None:
    for row in builtin_dataset("facts-qa", split):
        answers = row["answers"]
        assert len(answers["text"]) == len(answers["answer_start"]) == 1
        for text, start in zip(answers["text"], answers["answer_start"], strict=True):
            assert row["context"][start : start + len(text)] == text, row
            assert 1 <= len(text.split()) <= 5, text


def test_facts_qa_contexts_shape() -> None:
    dataset = builtin_dataset("facts-qa", "train")
    contexts = set(dataset["context"])
    words = [len(context.split()) for context in contexts]
    assert min(words) >= 60 and max(words) <= 220
    assert all(2 <= context.count("\n\n") + 1 <= 4 for context in contexts)
    phrasings = Counter(question.split()[0] for question in dataset["question"])
    assert {"Who", "When", "Where", "What", "How", "In"} <= set(phrasings)


def test_facts_qa_has_long_examples() -> None:
    """Some (question, context) pairs need more than one 128-token window, some fit in one."""
    tokenizer = AutoTokenizer.from_pretrained(bert_uncased_tokenizer_dir(), local_files_only=True)
    dataset = builtin_dataset("facts-qa", "validation")
    encoded = tokenizer(list(dataset["question"]), list(dataset["context"]))
    long = sum(len(ids) > 128 for ids in encoded["input_ids"]) / len(dataset)
    assert 0.15 <= long <= 0.50, long


def test_topics_is_not_solved_by_word_counts() -> None:
    """A bag-of-words classifier beats chance by far but does not solve the task.

    Without the order of words it cannot tell the main clause from a distractor clause of
    another topic, words shared between topics ("record", "launch", "team") point both ways,
    and validation has subjects and verb phrases it never saw; it scores about 0.93. Every
    label is still recoverable from the text (there is no label noise): all-MiniLM-L6-v2
    fine-tuned for one epoch scores about 0.99. The bounds leave room for small generator
    changes but fail if the set becomes separable by keywords.
    """
    train = builtin_dataset("topics", "train")
    validation = builtin_dataset("topics", "validation")
    vectorizer = CountVectorizer()
    model = LogisticRegression(max_iter=2000)
    model.fit(vectorizer.fit_transform(train["text"]), train["label"])
    accuracy = model.score(vectorizer.transform(validation["text"]), validation["label"])
    assert 0.6 < accuracy < 0.97, accuracy


@pytest.mark.parametrize(
    ("name", "split", "message"),
    [
        ("agnews", "train", r"unknown built-in dataset name 'agnews'; known: topics, facts-qa, topics-text"),
        ("topics", "dev", r"built-in dataset 'topics' has no split 'dev'; known: train, validation, test"),
    ],
)
def test_unknown_name_or_split(name: str, split: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        builtin_dataset(name, split)
