"""Reviewing a baseline update in a pull request: a model grown from 2 to 4 layers and re-recorded
with --modelperf-update changes a few lines of its baseline file, and ``modelperf diff`` shows the
changed values as a table."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pytest_modelperf.core.units import format_value
from pytest_modelperf.measure import environment

# A latency, an exact parameter count and an accuracy with its per-example outcomes.
TESTS = """
def test_model(modelperf):
    model = modelperf.load(r"{checkpoint}")
    modelperf.check(modelperf.measure_latency(model, batch_size=1, sequence_length=16), threshold="1000%")
    modelperf.check(modelperf.model_facts(model).parameter_count)
    quality = modelperf.measure_accuracy(model, "topics", limit=64, metrics=["accuracy"])
    modelperf.check(quality["accuracy"], threshold="100points")
"""


def tiny_topic_classifier(folder: Path, layers: int) -> Path:
    """A freshly initialised BERT of ``layers`` layers (hidden 32) with the topics set's 4 classes."""
    from transformers import BertConfig

    from pytest_modelperf.models.checkpoints import build_checkpoint

    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=4,
    )
    directory, _ = build_checkpoint(config, folder / "tiny-bert", task="sequence-classification", tokenizer="bert-base-uncased")
    return directory


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return {layers: tiny_topic_classifier(tmp_path_factory.mktemp(f"layers{layers}"), layers) for layers in (2, 4)}


@pytest.fixture
def git(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """git in the pytester folder, a repository of its own, with no user or system configuration."""
    empty = pytester.path.parent / "gitconfig"
    empty.write_text("")
    for name, value in {
        "GIT_CONFIG_GLOBAL": str(empty),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Reviewer",
        "GIT_AUTHOR_EMAIL": "reviewer@example.com",
        "GIT_COMMITTER_NAME": "Reviewer",
        "GIT_COMMITTER_EMAIL": "reviewer@example.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)

    def run_git(*arguments: str) -> str:
        result = subprocess.run(["git", *arguments], cwd=pytester.path, capture_output=True, text=True, check=True)
        return result.stdout

    run_git("init", "--quiet", "--initial-branch=main")
    return run_git


def commit_all(git, message: str) -> None:
    git("add", "--all")
    git("commit", "--quiet", "-m", message)
    environment._git_commit.cache_clear()  # pytester runs in this process: let the next run see the new commit


def stored(pytester: pytest.Pytester) -> dict[str, dict]:
    """The baseline files of test_model.py (one per hardware key: timings on this machine's, scores
    on any CPU's, the parameter count on any device's), parsed, by path relative to the pytester
    folder."""
    files = sorted((pytester.path / "baselines").rglob("test_model.json"))
    return {path.relative_to(pytester.path).as_posix(): json.loads(path.read_text(encoding="utf-8")) for path in files}


def entries(files: dict[str, dict]) -> dict[str, dict]:
    return {name: entry for data in files.values() for tests in data["tests"].values() for name, entry in tests.items()}


def test_a_two_to_four_layer_update_is_a_short_diff_and_a_table(
    pytester: pytest.Pytester, run, git, checkpoints: dict[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_modelperf.cli.main import main

    pytester.makepyfile(test_model=TESTS.format(checkpoint=checkpoints[2]))
    commit_all(git, "a test of a 2-layer model")
    run("--modelperf-update").assert_outcomes(passed=1)
    commit_all(git, "its baselines")
    before = stored(pytester)
    assert len(before) == 3

    pytester.makepyfile(test_model=TESTS.format(checkpoint=checkpoints[4]))
    run("--modelperf-update").assert_outcomes(passed=1)
    after = stored(pytester)

    for path in before:
        diff = git("diff", "--", path)
        assert 0 < len(diff.splitlines()) < 60, diff
    changed = [line for line in git("diff", "--unified=0", "--", "baselines").splitlines() if line.startswith(("+ ", "- "))]
    assert len(changed) <= 24, changed  # per entry: the commit, the values, the run; the predictions
    for path in before:  # same software, another commit: the same environment id
        assert after[path]["environments"] == before[path]["environments"]
    assert {entry["commit"] for entry in entries(after).values()} == {git("rev-parse", "HEAD").strip()}
    assert len(entries(after)["accuracy[topics/validation]"]["examples"]["predictions"]) == 64

    capsys.readouterr()
    assert main(["diff"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("### modelperf diff: 3 baseline entries (3 changed) in 3 files\n"), table
    assert "(HEAD; no upstream branch: tried upstream/main, origin/main, origin/HEAD) → the working tree." in table
    assert "| test | metric | old | new | change | relative | also changed |" in table
    old, new = (entries(files)["parameters"]["summary"]["value"] for files in (before, after))
    assert new > old
    change = f"+{(new - old) / old * 100:.1f}%"
    parameters = f"| test_model | parameters | {format_value(old, 'count')} | {format_value(new, 'count')} | +{format_value(new - old, 'count')} | {change} |"
    assert parameters in table
    rows = [line for line in table.splitlines() if line.startswith("| test_model |")]
    assert sorted(row.split(" | ")[1] for row in rows) == ["accuracy[topics/validation]", "latency[1x16] (median)", "parameters"]
    (accuracy,) = [row.split(" | ") for row in rows if "accuracy" in row]
    assert accuracy[2].endswith(" points") and accuracy[3].endswith(" points") and accuracy[5] == "-"
    assert accuracy[4].endswith(" points") or accuracy[4] == "±0 points"

    # the same against a named revision, into a file (as for $GITHUB_STEP_SUMMARY)
    assert main(["diff", "HEAD", "--markdown", "summary.md"]) == 0
    assert Path("summary.md").read_text(encoding="utf-8") == table.replace(
        "(HEAD; no upstream branch: tried upstream/main, origin/main, origin/HEAD)", "(`HEAD`)"
    )
