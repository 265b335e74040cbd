"""Evaluation data from built-in sets, local files and the hub, with errors that name the problem."""

from __future__ import annotations

import json
import sys

import datasets
import pytest

from pytest_modelperf.core.extras import MissingExtra
from pytest_modelperf.quality.data import DataError, example_ids, load_eval_dataset, require_columns

ROWS = [{"id": f"r{i}", "text": f"sentence number {i}", "label": i % 2} for i in range(6)]


@pytest.fixture
def files(tmp_path):
    csv = tmp_path / "eval.csv"
    csv.write_text("id,text,label\n" + "".join(f"{r['id']},{r['text']},{r['label']}\n" for r in ROWS))
    jsonl = tmp_path / "eval.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    parquet = tmp_path / "eval.parquet"
    datasets.Dataset.from_list(ROWS).to_parquet(str(parquet))
    saved = tmp_path / "saved"
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(saved))
    return {"csv": csv, "jsonl": jsonl, "parquet": parquet, "saved": saved}


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet", "saved"])
def test_local_files_load_offline(files, kind):
    dataset = load_eval_dataset(files[kind])
    assert dataset["text"] == [r["text"] for r in ROWS]
    assert example_ids(dataset) == [r["id"] for r in ROWS]


def test_a_builtin_dataset_loads_by_name_and_limit_takes_the_first_examples():
    full = load_eval_dataset("topics")
    first = load_eval_dataset("topics", limit=10)
    assert len(first) == 10 and first["id"] == full["id"][:10]


def test_a_dataset_object_is_taken_as_it_is():
    dataset = datasets.Dataset.from_list(ROWS)
    assert load_eval_dataset(dataset) is dataset


def test_rows_without_an_id_are_numbered():
    assert example_ids(datasets.Dataset.from_list([{"text": "a"}, {"text": "b"}])) == ["0", "1"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("./missing.csv", "dataset file .*missing.csv does not exist"),
        ("./eval.xlsx", "does not exist"),
    ],
)
def test_bad_files_are_named(source, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=message):
        load_eval_dataset(source)


def test_an_unsupported_file_type_is_named(tmp_path):
    sheet = tmp_path / "eval.xlsx"
    sheet.write_text("not a sheet")
    with pytest.raises(DataError, match=r"eval.xlsx: unsupported type '.xlsx'; use .csv, .json, .jsonl, .parquet"):
        load_eval_dataset(sheet)


def test_a_missing_split_of_a_saved_dataset_is_named(files):
    with pytest.raises(DataError, match=r"no split 'test'; it has validation"):
        load_eval_dataset(files["saved"], split="test")


def test_an_unreachable_hub_dataset_says_what_works_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        DataError, match=r"dataset 'nobody/no-such-set' \(validation\) could not be loaded.*built-in dataset or a local file"
    ):
        load_eval_dataset("nobody/no-such-set")


def test_a_missing_column_is_named(files):
    dataset = load_eval_dataset(files["csv"])
    with pytest.raises(DataError, match=r"no column 'question'; it has id, text, label"):
        require_columns(dataset, ["text", "question"], files["csv"])


def test_an_empty_limit_is_rejected():
    with pytest.raises(DataError, match="limit must be at least 1"):
        load_eval_dataset("topics", limit=0)


def test_without_datasets_the_quality_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets now raises ImportError
    with pytest.raises(
        MissingExtra,
        match=r"evaluation data needs datasets, which is not installed: "
        r"pip install 'pytest-modelperf\[quality\]'",
    ):
        load_eval_dataset("topics")
