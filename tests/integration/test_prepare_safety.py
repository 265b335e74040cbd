"""What preparing a checkpoint may touch: only folders modelperf made, never anything else.

Each test prepares a tiny BERT (2 layers, hidden 32) into a temporary ``checkpoint_dir`` in
which something else already sits: a user's own folder, a link, a file, a staging folder
left by a killed prepare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_modelperf.models.checkpoints import PREPARED_MARKER, PrepareRefused, build_checkpoint
from pytest_modelperf.models.fine_tune_record import FINETUNE_MARKER
from pytest_modelperf.models.loading import STAND_IN_MARKER, CheckpointError, load_model


def tiny_config() -> Any:
    from transformers import BertConfig

    return BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=64
    )


def build(destination: Path, *, seed: int = 0) -> tuple[Path, bool]:
    return build_checkpoint(tiny_config(), destination, task="masked-lm", tokenizer="bert-base-uncased", seed=seed)


def user_folder(path: Path) -> Path:
    """A folder of the user's own: trained weights and notes, no modelperf marker."""
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"my trained weights")
    (path / "NOTES.md").write_text("three days of training\n")
    return path


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


# -- only a folder modelperf made is replaced ---------------------------------------------------


def test_a_folder_without_the_marker_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    mine = user_folder(tmp_path / "ckpts" / "tiny")
    before = contents(mine)
    with pytest.raises(PrepareRefused, match=rf"{mine}: it has no {PREPARED_MARKER}.*delete it by hand"):
        build(mine)
    assert contents(mine) == before


def test_a_folder_modelperf_made_is_replaced_when_its_recipe_changes(tmp_path: Path) -> None:
    destination, built = build(tmp_path / "tiny")
    assert built
    marker = json.loads((destination / PREPARED_MARKER).read_text())
    assert marker["made_by"] == "pytest-modelperf" and marker["kind"] == "stand-in" and marker["model"] == "tiny"
    assert set(marker["files"]) == {path.name for path in destination.iterdir()} - {PREPARED_MARKER}
    first = (destination / "model.safetensors").read_bytes()
    assert build(destination, seed=1)[1]
    assert (destination / "model.safetensors").read_bytes() != first


def test_a_prepared_folder_the_user_added_files_to_is_refused(tmp_path: Path) -> None:
    destination, _ = build(tmp_path / "tiny")
    (destination / "NOTES.md").write_text("mine\n")
    with pytest.raises(PrepareRefused, match=r"holds files modelperf did not write or that changed since \(NOTES.md\)"):
        build(destination, seed=1)
    assert (destination / "NOTES.md").read_text() == "mine\n"


def test_a_prepared_folder_whose_weights_were_overwritten_is_refused(tmp_path: Path) -> None:
    destination, _ = build(tmp_path / "tiny")
    (destination / "model.safetensors").write_bytes(b"weights the user saved over it")
    with pytest.raises(PrepareRefused, match=r"changed since \(model.safetensors\)"):
        build(destination, seed=1)
    assert (destination / "model.safetensors").read_bytes() == b"weights the user saved over it"


def test_a_marker_that_is_a_folder_is_not_modelperfs(tmp_path: Path) -> None:
    mine = user_folder(tmp_path / "tiny")
    (mine / PREPARED_MARKER).mkdir()
    with pytest.raises(PrepareRefused, match=f"its {PREPARED_MARKER} is not one modelperf wrote"):
        build(mine)
    assert (mine / "NOTES.md").exists()


def test_a_marker_someone_else_wrote_is_not_modelperfs(tmp_path: Path) -> None:
    mine = user_folder(tmp_path / "tiny")
    (mine / PREPARED_MARKER).write_text('{"made_by": "someone", "files": {}}')
    with pytest.raises(PrepareRefused, match=f"its {PREPARED_MARKER} is not one modelperf wrote"):
        build(mine)
    assert (mine / "NOTES.md").exists()


def test_a_marker_that_is_a_link_to_a_real_one_is_not_trusted(tmp_path: Path) -> None:
    prepared, _ = build(tmp_path / "prepared")
    mine = user_folder(tmp_path / "tiny")
    (mine / PREPARED_MARKER).symlink_to(prepared / PREPARED_MARKER)
    with pytest.raises(PrepareRefused, match=f"its {PREPARED_MARKER} is not one modelperf wrote"):
        build(mine)
    assert (mine / "NOTES.md").exists()


def test_an_empty_folder_is_prepared_into(tmp_path: Path) -> None:
    (tmp_path / "tiny").mkdir()
    assert build(tmp_path / "tiny")[1]


def test_a_link_in_place_of_the_folder_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    target, _ = build(tmp_path / "elsewhere" / "tiny")
    link = tmp_path / "ckpts" / "tiny"
    link.parent.mkdir()
    link.symlink_to(target, target_is_directory=True)
    with pytest.raises(PrepareRefused, match=f"{link}: is a symbolic link"):
        build(link, seed=1)
    assert link.is_symlink() and (target / "model.safetensors").is_file()


def test_a_file_in_place_of_the_folder_is_refused_and_kept(tmp_path: Path) -> None:
    file = tmp_path / "tiny"
    file.write_text("not a folder")
    with pytest.raises(PrepareRefused, match=f"{file}: is a file, not a folder modelperf made"):
        build(file)
    assert file.read_text() == "not a folder"


# -- folders prepared before the marker existed ----------------------------------------------


def strip_marker(folder: Path) -> Path:
    (folder / PREPARED_MARKER).unlink()
    return folder


def test_a_stand_in_from_an_older_version_is_adopted_and_rebuilt(tmp_path: Path) -> None:
    destination = strip_marker(build(tmp_path / "tiny")[0])
    assert build(destination, seed=1)[1]
    assert json.loads((destination / PREPARED_MARKER).read_text())["made_by"] == "pytest-modelperf"


def test_an_up_to_date_folder_from_an_older_version_gets_the_marker_and_the_umask(tmp_path: Path, umask: None) -> None:
    os.umask(0o022)
    destination = strip_marker(build(tmp_path / "tiny")[0])
    destination.chmod(0o700)  # as tempfile.mkdtemp and safetensors made them
    (destination / "model.safetensors").chmod(0o600)
    assert not build(destination)[1]
    marker = json.loads((destination / PREPARED_MARKER).read_text())
    assert marker["made_by"] == "pytest-modelperf" and "model.safetensors" in marker["files"]
    assert destination.stat().st_mode & 0o777 == 0o755
    assert (destination / "model.safetensors").stat().st_mode & 0o777 == 0o644


def test_an_older_stand_in_holding_something_else_is_refused(tmp_path: Path) -> None:
    destination = strip_marker(build(tmp_path / "tiny")[0])
    (destination / "training_args.bin").write_bytes(b"the user's")
    with pytest.raises(PrepareRefused, match=f"it has no {PREPARED_MARKER}"):
        build(destination, seed=1)
    assert (destination / "training_args.bin").exists()


def test_an_older_stand_in_record_that_is_not_modelperfs_is_refused(tmp_path: Path) -> None:
    destination = strip_marker(build(tmp_path / "tiny")[0])
    (destination / STAND_IN_MARKER).write_text('{"note": "hand-made"}')
    with pytest.raises(PrepareRefused, match=f"it has no {PREPARED_MARKER}"):
        build(destination, seed=1)


def test_a_fine_tune_from_an_older_version_is_adopted(tmp_path: Path) -> None:
    from pytest_modelperf.models.checkpoints import check_replaceable

    folder = tmp_path / "tuned"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    record = {
        "recipe": {"base": "bert-tiny", "dataset": "topics"},
        "base_checkpoint": "sha256:00",
        "task": "sequence-classification",
        "dataset_version": 1,
        "transformers": "5.0.0",
        "stats": {
            "seconds": 1.0,
            "samples_per_second": 2.0,
            "examples": 2,
            "steps": 1,
            "final_loss": 0.5,
            "peak_host_memory_mb": 1.0,
            "peak_gpu_memory_mb": None,
            "device": "cpu",
        },
    }
    (folder / FINETUNE_MARKER).write_text(json.dumps(record))
    check_replaceable(folder)
    del record["stats"]["final_loss"]
    (folder / FINETUNE_MARKER).write_text(json.dumps(record))
    with pytest.raises(PrepareRefused, match=f"it has no {PREPARED_MARKER}"):
        check_replaceable(folder)


# -- checkpoint_dir --------------------------------------------------------------------------


def test_a_checkpoint_dir_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "ckpts").write_text("a file")
    with pytest.raises(PrepareRefused) as refused:
        build(tmp_path / "ckpts" / "tiny")
    assert str(refused.value) == f"checkpoint_dir {tmp_path / 'ckpts'}: is a file, not a folder; point checkpoint_dir at a folder"


def test_a_checkpoint_dir_that_cannot_be_created_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(PrepareRefused, match=r"checkpoint_dir .*a-file/ckpts: cannot be created: Not a directory"):
        build(tmp_path / "a-file" / "ckpts" / "tiny")


def test_a_checkpoint_dir_that_links_elsewhere_is_filled_there(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "ckpts").symlink_to(tmp_path / "cache", target_is_directory=True)
    build(tmp_path / "ckpts" / "tiny")
    assert (tmp_path / "cache" / "tiny" / "model.safetensors").is_file()
    assert (tmp_path / "ckpts").is_symlink()


# -- what killed prepares leave behind -------------------------------------------------------


@pytest.fixture
def gone_pid() -> int:
    """The id of a process that has ended."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(finished.stdout)


@pytest.fixture
def running_pid() -> Iterator[int]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def staging_folder(parent: Path, name: str, pid: int, *, marked: bool = True, suffix: str = ".modelperf-staging") -> Path:
    """What a prepare killed half way leaves: a partly written folder under a staging name."""
    import socket

    folder = parent / f".{name}.{pid}.0badc0de{suffix}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"half")
    if marked:
        marker = {
            "made_by": "pytest-modelperf",
            "model": name,
            "kind": "stand-in",
            "host": socket.gethostname(),
            "pid": pid,
            "files": {},
        }
        (folder / PREPARED_MARKER).write_text(json.dumps(marker))
    return folder


def test_the_next_prepare_removes_a_killed_prepares_staging_folder(tmp_path: Path, gone_pid: int) -> None:
    left = staging_folder(tmp_path, "tiny", gone_pid)
    build(tmp_path / "tiny")
    assert not left.exists()


def test_the_next_prepare_removes_a_replaced_folder_a_killed_prepare_had_not_yet_deleted(tmp_path: Path, gone_pid: int) -> None:
    left = staging_folder(tmp_path, "tiny", gone_pid, suffix=".modelperf-retired")
    build(tmp_path / "tiny")
    assert not left.exists()


def test_an_up_to_date_checkpoint_in_a_folder_that_cannot_be_locked_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import filelock

    destination, _ = build(tmp_path / "tiny")

    def read_only(self: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".tiny.modelperf-lock"))

    monkeypatch.setattr(filelock.FileLock, "acquire", read_only)
    assert build(destination) == (destination, False)


def test_a_staging_folder_of_a_prepare_still_running_is_kept(tmp_path: Path, running_pid: int) -> None:
    running = staging_folder(tmp_path, "tiny", running_pid)
    build(tmp_path / "tiny")
    assert (running / "model.safetensors").read_bytes() == b"half"


def test_folders_that_only_look_like_staging_are_kept(tmp_path: Path, gone_pid: int) -> None:
    unmarked = staging_folder(tmp_path, "tiny", gone_pid, marked=False)
    other_model = staging_folder(tmp_path / "x", "other", gone_pid)
    other_model = other_model.rename(tmp_path / f".tiny.{gone_pid}.1badc0de.modelperf-staging")
    older_version = tmp_path / ".tiny.k2j3h4g5"  # tempfile.mkdtemp's name, from before staging folders were marked
    older_version.mkdir()
    build(tmp_path / "tiny")
    assert unmarked.exists() and other_model.exists() and older_version.exists()
    assert not [
        path for path in tmp_path.iterdir() if path.name.endswith(".modelperf-staging") and path not in (unmarked, other_model)
    ]


def test_another_models_staging_folder_is_kept_even_when_its_name_extends_this_ones(
    tmp_path: Path, gone_pid: int, running_pid: int
) -> None:
    # Model "tiny.<n>" stages into ".tiny.<n>.<pid>.<random>.modelperf-staging": empty just after it is made.
    other = tmp_path / f".tiny.{gone_pid}.{running_pid}.0badc0de.modelperf-staging"
    other.mkdir()
    build(tmp_path / "tiny")
    assert other.is_dir()


def test_two_prepares_of_one_model_at_once_both_succeed(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from transformers import BertConfig;"
        "from pytest_modelperf.models.checkpoints import build_checkpoint;"
        "config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=64);"
        "print(build_checkpoint(config, Path(sys.argv[1]), task='masked-lm', tokenizer='bert-base-uncased')[1])"
    )
    destination = tmp_path / "tiny"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(destination)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err[-2000:] for _, err in outcomes]
    assert sorted(out.strip() for out, _ in outcomes) == ["False", "True"], "the second waits, then finds it up to date"
    assert load_model(destination).stand_in
    assert not [path for path in tmp_path.iterdir() if path.is_dir() and path != destination]


# -- permissions and loading -----------------------------------------------------------------


@pytest.mark.parametrize(("mask", "folder_mode", "file_mode"), [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)])
def test_prepared_folders_follow_the_umask(tmp_path: Path, umask: None, mask: int, folder_mode: int, file_mode: int) -> None:
    os.umask(mask)
    destination, _ = build(tmp_path / "tiny")
    assert destination.stat().st_mode & 0o777 == folder_mode
    assert {path.name: path.stat().st_mode & 0o777 for path in destination.iterdir()} == dict.fromkeys(
        [path.name for path in destination.iterdir()], file_mode
    )


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_weights_are_a_load_error_naming_the_folder_and_the_file(tmp_path: Path, damage: str) -> None:
    destination, _ = build(tmp_path / "tiny")
    weights = destination / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2] if damage == "truncated" else b"\0" * 64)
    with pytest.raises(CheckpointError, match=rf"checkpoint '{destination}': model.safetensors is truncated or corrupt"):
        load_model(destination)


def test_a_registry_built_in_code_cannot_prepare_outside_its_checkpoint_dir(tmp_path: Path) -> None:
    from pytest_modelperf.models.prepare import offline_checkpoint
    from pytest_modelperf.models.registry import ModelSpec, OfflineRecipe, RegistryError

    (tmp_path / "keep.txt").write_text("the folder above checkpoint_dir\n")
    recipe = OfflineRecipe(
        architecture="bert",
        tokenizer="bert-base-uncased",
        config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
    )
    spec = ModelSpec(name="..", checkpoint="x", task="masked-lm", offline=recipe)
    with pytest.raises(RegistryError, match=r"model '\.\.': not a plain folder name"):
        offline_checkpoint(spec, tmp_path / "ckpts")
    assert (tmp_path / "keep.txt").exists()


# -- fine-tuned models -----------------------------------------------------------------------


def tiny_fine_tune(base: Path, destination: Path) -> Any:
    from pytest_modelperf.models.fine_tune_record import FineTuneRecipe
    from pytest_modelperf.quality.finetune import fine_tune

    recipe = FineTuneRecipe(base="tiny", dataset="topics", epochs=1, batch_size=8, max_length=32, limit=16)
    return fine_tune(recipe, str(base), destination, task="sequence-classification")


def test_a_fine_tune_into_a_folder_it_did_not_make_is_refused_before_training(
    tmp_path: Path, tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_modelperf.quality import finetune

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained before checking where the result goes")

    monkeypatch.setattr(finetune, "_train", no_training)
    mine = user_folder(tmp_path / "tuned")
    with pytest.raises(PrepareRefused, match=f"{mine}: it has no {PREPARED_MARKER}"):
        tiny_fine_tune(tiny_checkpoint, mine)
    assert (mine / "NOTES.md").exists()


def test_a_fine_tuned_folder_carries_the_marker_and_is_reused_while_its_recipe_holds(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    tuned = tiny_fine_tune(tiny_checkpoint, tmp_path / "tuned")
    marker = json.loads((tuned.path / PREPARED_MARKER).read_text())
    assert tuned.built and marker["kind"] == "fine-tune" and FINETUNE_MARKER in marker["files"]
    assert not tiny_fine_tune(tiny_checkpoint, tmp_path / "tuned").built


def test_a_prepared_folder_missing_its_weights_is_rebuilt_not_called_up_to_date(tmp_path: Path) -> None:
    destination, _ = build(tmp_path / "tiny")
    (destination / "model.safetensors").unlink()
    assert build(destination)[1]
    assert load_model(destination).stand_in


def test_a_corrupt_fine_tune_base_is_an_error_naming_it(tmp_path: Path) -> None:
    base, _ = build_checkpoint(tiny_config(), tmp_path / "base", task="sequence-classification", tokenizer="bert-base-uncased")
    (base / "model.safetensors").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match=rf"fine-tune base '{base}': model.safetensors is truncated or corrupt"):
        tiny_fine_tune(base, tmp_path / "tuned")
    assert not (tmp_path / "tuned").exists()


def test_a_corrupt_tokenizer_is_a_load_error_naming_it_not_a_silent_fallback(tmp_path: Path) -> None:
    destination, _ = build(tmp_path / "tiny")
    (destination / "tokenizer.json").write_text("{not json")
    with pytest.raises(
        CheckpointError,
        match=rf"checkpoint '{destination}': its tokenizer \(tokenizer.json, tokenizer_config.json\) cannot be read",
    ):
        load_model(destination)


def test_a_checkpoint_saved_without_a_tokenizer_still_loads(tmp_path: Path) -> None:
    destination, _ = build_checkpoint(tiny_config(), tmp_path / "bare", task="masked-lm")
    assert load_model(destination).tokenizer is None


KILLED_HALF_WAY = """
import os, signal, sys
from pathlib import Path
import transformers
from transformers import BertConfig
from pytest_modelperf.models.checkpoints import build_checkpoint

def killed_while_saving(self, folder, **kwargs):
    (Path(folder) / "model.safetensors").write_bytes(b"half of the weights")
    os.kill(os.getpid(), signal.SIGKILL)

transformers.PreTrainedModel.save_pretrained = killed_while_saving
config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
build_checkpoint(config, Path(sys.argv[1]), task="masked-lm", tokenizer="bert-base-uncased", seed=int(sys.argv[2]))
"""


def test_a_prepare_killed_half_way_keeps_the_old_checkpoint_and_the_next_one_cleans_up(tmp_path: Path) -> None:
    destination, _ = build(tmp_path / "tiny")
    first = (destination / "model.safetensors").read_bytes()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_HALF_WAY, str(destination), "1"], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (destination / "model.safetensors").read_bytes() == first
    assert [path.name.endswith(".modelperf-staging") for path in tmp_path.iterdir() if path.is_dir() and path != destination] == [
        True
    ]
    assert build(destination, seed=1)[1]
    assert not [path for path in tmp_path.iterdir() if path.is_dir() and path != destination]


def test_the_artefact_size_counts_the_weights_that_load_not_a_trainers_other_files(tmp_path: Path) -> None:
    destination, _ = build_checkpoint(tiny_config(), tmp_path / "trained", task="masked-lm", tokenizer="bert-base-uncased")
    weights = (destination / "model.safetensors").stat().st_size
    (destination / "training_args.bin").write_bytes(b"\0" * 5_000)
    (destination / "checkpoint-500").mkdir()
    (destination / "checkpoint-500" / "optimizer.pt").write_bytes(b"\0" * (2 * weights))
    (destination / "checkpoint-500" / "model.safetensors").write_bytes((destination / "model.safetensors").read_bytes())
    assert load_model(destination).artefact_bytes == weights


def test_the_artefact_size_of_a_sharded_checkpoint_is_the_sum_of_its_shards(tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_config(tiny_config())
    model.save_pretrained(tmp_path / "sharded", max_shard_size="1MB")
    shards = sorted((tmp_path / "sharded").glob("model-*.safetensors"))
    assert len(shards) > 1
    assert load_model(tmp_path / "sharded").artefact_bytes == sum(shard.stat().st_size for shard in shards)
