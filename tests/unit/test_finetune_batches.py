"""Fine-tune batching: every example once per epoch, similar lengths together, labels kept in place."""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest
import transformers

from pytest_modelperf.models.fine_tune_record import FineTuneRecipe
from pytest_modelperf.models.offline_tokenizers import bert_uncased_tokenizer_dir
from pytest_modelperf.quality.finetune import _batches, _epoch_batches

_LENGTH_DRAW = random.Random(7)
LENGTHS = [_LENGTH_DRAW.randint(20, 128) for _ in range(1000)]


def recipe(**changes: Any) -> FineTuneRecipe:
    return FineTuneRecipe(**{"base": "bert-tiny", "dataset": "facts-qa", "batch_size": 16, **changes})


@pytest.mark.parametrize("grouped", [True, False])
def test_an_epoch_holds_every_example_once_in_full_batches_but_the_last(grouped: bool) -> None:
    batches = _epoch_batches(LENGTHS, recipe(group_by_length=grouped), random.Random(0))

    assert sorted(i for batch in batches for i in batch) == list(range(len(LENGTHS)))
    assert sorted(len(batch) for batch in batches)[1:] == [16] * (len(batches) - 1)


def test_grouping_by_length_cuts_the_padding_and_keeps_the_order_random() -> None:
    def padding(batches: list[list[int]]) -> int:
        return sum(max(LENGTHS[i] for i in batch) * len(batch) - sum(LENGTHS[i] for i in batch) for batch in batches)

    grouped = _epoch_batches(LENGTHS, recipe(), random.Random(0))
    plain = _epoch_batches(LENGTHS, recipe(group_by_length=False), random.Random(0))

    assert padding(grouped) < padding(plain) / 5
    longest = [max(LENGTHS[i] for i in batch) for batch in grouped]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True), "batches come in a shuffled order"
    assert statistics.pstdev(longest) > 20, "long and short batches are mixed through the epoch"


def test_epochs_are_reshuffled_and_the_seed_repeats_them() -> None:
    rng = random.Random(3)
    first, second = _epoch_batches(LENGTHS, recipe(), rng), _epoch_batches(LENGTHS, recipe(), rng)

    assert first != second
    assert _epoch_batches(LENGTHS, recipe(), random.Random(3)) == first


def test_batches_pad_on_the_right_so_answer_positions_still_point_at_the_answer() -> None:
    left = transformers.AutoTokenizer.from_pretrained(bert_uncased_tokenizer_dir(), local_files_only=True, padding_side="left")
    short, long = left("Who?", "Ada wrote it."), left("Who wrote the long note?", "Many say that Ada wrote it on Monday.")
    features: dict[str, list[Any]] = {key: [short[key], long[key]] for key in short}
    answer = [
        short["input_ids"].index(left.convert_tokens_to_ids("ada")),
        long["input_ids"].index(left.convert_tokens_to_ids("ada")),
    ]
    features["start_positions"] = answer
    features["end_positions"] = answer

    batch = next(_batches(features, recipe(batch_size=2), 1, left))

    assert batch["input_ids"].shape == (2, len(long["input_ids"]))
    for row in range(2):
        assert left.convert_ids_to_tokens(int(batch["input_ids"][row, int(batch["start_positions"][row])])) == "ada"
    assert batch["attention_mask"][:, 0].tolist() == [1, 1], "no padding at the front"


def test_an_empty_training_split_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'facts-qa' training split gave no examples"):
        next(_batches({"input_ids": [], "attention_mask": []}, recipe(), 1, None))


def test_a_fine_tune_cached_beside_a_moved_base_is_reused_and_one_from_other_weights_is_not(
    tiny_checkpoint: Any, tmp_path: Any
) -> None:
    import shutil

    import torch

    from pytest_modelperf.quality.finetune import fine_tune

    tiny = FineTuneRecipe(base="tiny", dataset="topics", epochs=1, batch_size=8, max_length=32, limit=16)
    first = fine_tune(tiny, str(tiny_checkpoint), tmp_path / "tuned", task="sequence-classification")
    moved = shutil.copytree(tiny_checkpoint, tmp_path / "elsewhere" / "tiny")
    again = fine_tune(tiny, str(moved), tmp_path / "tuned", task="sequence-classification")

    assert first.built and not again.built and again.stats == first.stats

    model = transformers.AutoModelForSequenceClassification.from_pretrained(moved)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    model.save_pretrained(moved)
    assert fine_tune(tiny, str(moved), tmp_path / "tuned", task="sequence-classification").built


@pytest.mark.parametrize("change", ["torch version", "device"])
def test_a_fine_tune_cached_under_another_torch_or_device_is_made_again(
    tiny_checkpoint: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A torch upgrade, or a checkpoint fine-tuned on a GPU and read on a CPU, must not re-read
    the old fine-tune's time and memory as this setup's."""
    import json

    import torch

    from pytest_modelperf.models.fine_tune_record import FINETUNE_MARKER
    from pytest_modelperf.quality import finetune
    from pytest_modelperf.quality.finetune import fine_tune

    tiny = FineTuneRecipe(base="tiny", dataset="topics", epochs=1, batch_size=8, max_length=32, limit=16)
    destination = tmp_path / "tuned"
    with monkeypatch.context() as then:
        if change == "torch version":
            then.setattr(torch, "__version__", "2.0.0")
        else:  # made on a GPU (this machine has none: the device kind is what the record keeps)
            then.setattr(finetune, "device_kind", lambda device: "cuda")
        assert fine_tune(tiny, str(tiny_checkpoint), destination, task="sequence-classification").built
    again = fine_tune(tiny, str(tiny_checkpoint), destination, task="sequence-classification")
    assert again.built
    record = json.loads((destination / FINETUNE_MARKER).read_text())
    assert record["torch"] == torch.__version__ and record["device"] == "cpu"
    assert not fine_tune(tiny, str(tiny_checkpoint), destination, task="sequence-classification").built
