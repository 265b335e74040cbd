"""How a quality score's name shows its data: readable, the split only where it chooses the data."""

from __future__ import annotations

import datasets
import pytest

from pytest_modelperf.quality.data import dataset_label

ROWS = [{"id": "a", "text": "one", "label": 0}, {"id": "b", "text": "two", "label": 1}]


def test_a_file_is_named_once_by_its_file_name(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "validation.csv").write_text("id,text,label\na,one,0\n")
    assert dataset_label(data / "validation.csv", "validation") == "validation.csv"
    assert dataset_label(str(data / "validation.csv"), "validation") == "validation.csv"
    monkeypatch.chdir(tmp_path)
    assert dataset_label("data/validation.csv", "validation") == "validation.csv"
    assert dataset_label("./data/reviews.jsonl", "test") == "reviews.jsonl"


def test_the_name_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the file is not here: the same name as where it is
    assert dataset_label("data/validation.csv", "validation") == "validation.csv"


def test_a_saved_folder_names_its_split_only_when_it_holds_several(tmp_path):
    several = tmp_path / "reviews"
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(several))
    one = tmp_path / "held-out"
    datasets.Dataset.from_list(ROWS).save_to_disk(str(one))
    assert dataset_label(several, "validation") == "reviews/validation"
    assert dataset_label(one, "validation") == "held-out"


@pytest.mark.parametrize(
    ("source", "split", "label"),
    [
        ("topics", "validation", "topics/validation"),  # built-in sets keep their names: baselines are keyed by them
        ("facts-qa", "validation", "facts-qa/validation"),
        ("glue", "validation", "glue/validation"),  # hub ids keep theirs
        ("nyu-mll/glue", "test", "nyu-mll/glue/test"),
    ],
)
def test_built_in_sets_and_hub_ids_keep_their_names(source, split, label):
    assert dataset_label(source, split) == label
