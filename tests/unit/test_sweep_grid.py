"""The sweep grid: cells and their ids, labels, validation, skipped cells, pytest parameters."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_modelperf.measure.cell import skip_reason
from pytest_modelperf.sweep import Cell, GridError, build_grid, sweep_cells
from pytest_modelperf.sweep.grid import model_labels
from pytest_modelperf.sweep.models import HUB, LOCAL, REGISTERED, UnknownModel, check_models, model_kind


def test_cells_go_model_by_model_with_sorted_unique_sizes() -> None:
    grid = build_grid(["bert-tiny", "org/bert-mini"], [32, 1, 8, 8], [128, 32])
    assert grid.batch_sizes == (1, 8, 32) and grid.sequence_lengths == (32, 128)
    ids = [cell.id for cell in grid.cells()]
    assert ids[:6] == [
        "bert-tiny-b1-s32",
        "bert-tiny-b1-s128",
        "bert-tiny-b8-s32",
        "bert-tiny-b8-s128",
        "bert-tiny-b32-s32",
        "bert-tiny-b32-s128",
    ]
    assert ids[6] == "bert-mini-b1-s32" and len(ids) == 12
    assert grid.cells()[6] == Cell("org/bert-mini", "bert-mini", 1, 32)


@pytest.mark.parametrize(
    ("model", "label"),
    [("bert-tiny", "bert-tiny"), ("./checkpoints/my-ckpt/", "my-ckpt"), ("/abs/path/ckpt", "ckpt"), ("org/hub-id", "hub-id")],
)
def test_a_label_is_the_registry_name_or_the_last_segment(model: str, label: str) -> None:
    assert model_labels([model]) == [label]


def test_labels_that_would_clash_take_more_segments() -> None:
    assert model_labels(["./v1/ckpt", "./v2/ckpt", "other"]) == ["v1/ckpt", "v2/ckpt", "other"]
    assert model_labels(["a/bert", "b/bert"]) == ["a/bert", "b/bert"]


@pytest.mark.parametrize(
    ("batch_sizes", "sequence_lengths", "message"),
    [
        ([0, 8], [128], "batch_sizes: sizes must be positive integers, got 0"),
        ([8], [-1], "sequence_lengths: sizes must be positive integers, got -1"),
        ([8], [12.5], "sequence_lengths: sizes must be positive integers, got 12.5"),
        ([True], [8], "batch_sizes: sizes must be positive integers, got True"),
        ([], [8], "batch_sizes: give at least one size"),
    ],
)
def test_bad_sizes_name_the_argument(batch_sizes: list, sequence_lengths: list, message: str) -> None:
    with pytest.raises(GridError, match=message):
        build_grid(["bert-tiny"], batch_sizes, sequence_lengths)


def test_bad_models_name_the_argument_the_command_gives() -> None:
    flags = {"models": "--models", "batch_sizes": "--batch-sizes", "sequence_lengths": "--sequence-lengths"}
    with pytest.raises(GridError, match="--models: name at least one model"):
        build_grid([], [1], [8], arguments=flags)
    with pytest.raises(GridError, match="--models: 'bert-tiny' listed more than once"):
        build_grid(["bert-tiny", "bert-tiny"], [1], [8], arguments=flags)
    with pytest.raises(GridError, match="--batch-sizes: sizes must be positive"):
        build_grid(["bert-tiny"], [0], [8], arguments=flags)


def test_a_sequence_longer_than_the_position_embeddings_is_skipped_not_run() -> None:
    config = SimpleNamespace(max_position_embeddings=128)
    assert skip_reason(Cell("bert-tiny", "bert-tiny", 8, 128), config) is None
    reason = skip_reason(Cell("bert-tiny", "bert-tiny", 8, 512), config)
    assert reason == "skipped: sequence length 512 exceeds bert-tiny's max_position_embeddings (128)"
    assert skip_reason(Cell("m", "m", 8, 4096), SimpleNamespace()) is None  # no limit known: run it


def test_sweep_cells_are_pytest_parameters_with_the_cell_ids() -> None:
    params = sweep_cells(models=["bert-tiny", "./ckpt"], batch_sizes=[8, 1], sequence_lengths=[128])
    assert [p.id for p in params] == ["bert-tiny-b1-s128", "bert-tiny-b8-s128", "ckpt-b1-s128", "ckpt-b8-s128"]
    assert params[1].values == (Cell("bert-tiny", "bert-tiny", 8, 128),)
    assert params[1].values[0].workload.label == "8x128"


def test_model_kinds(tmp_path) -> None:
    (tmp_path / "ckpt").mkdir()
    assert model_kind(str(tmp_path / "ckpt")) == LOCAL
    assert model_kind("./not-there") == LOCAL
    assert model_kind("org/name") == HUB
    assert model_kind("bert-tiny") == REGISTERED


def test_unknown_models_are_named_before_any_work(tmp_path) -> None:
    registry = SimpleNamespace(path=tmp_path / "models.toml", models={"bert-tiny": object(), "bert-mini": object()})
    check_models(["bert-tiny", "org/name"], registry)
    not_in_registry = r"--models: 'nope' is not a model of the registry .*models.toml \(it names bert-tiny, bert-mini\)"
    with pytest.raises(UnknownModel, match=not_in_registry):
        check_models(["bert-tiny", "nope"], registry, argument="--models")
    no_registry = "'bert-tiny' is not a local directory, and there is no model registry to look it up in"
    with pytest.raises(UnknownModel, match=no_registry):
        check_models(["bert-tiny"], None, registry_problem="no registry named")
    with pytest.raises(UnknownModel, match=r"'\./missing' is not a directory holding a saved model"):
        check_models(["./missing"], None)
