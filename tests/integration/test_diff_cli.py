"""``modelperf diff`` on baseline files in a git repository of its own: the revision compared with,
added, removed and changed entries, what is not a change, and the errors."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main
from pytest_modelperf.core.baseline_entry import BaselineEntry, EntryKey
from pytest_modelperf.core.example_outcomes import ExampleOutcomes
from pytest_modelperf.core.measurement import Direction, Measurement
from pytest_modelperf.storage.baseline_store import JsonBaselineStore

HW = "amd-epyc-2c-float32"
MODULE = "perf_tests/test_models.py"
ENVIRONMENT = {"python": "3.11.7", "torch": "2.3.0", "commit": ""}
PATH = f"baselines/{HW}/perf_tests/test_models.json"


def key(test: str, measurement: str) -> EntryKey:
    return EntryKey(HW, MODULE, test, measurement)


def latency(median: float, runs: int = 1) -> BaselineEntry:
    entry = None
    for _ in range(runs):
        measurement = Measurement.from_samples("latency", [median] * 5, unit="ms", direction=Direction.LOWER_IS_BETTER)
        entry = BaselineEntry.from_measurement(measurement, environment="env", recorded="2026-01-02", previous=entry)
    assert entry is not None
    return entry


def accuracy(predictions: list[int]) -> BaselineEntry:
    outcomes = ExampleOutcomes(
        metric="accuracy",
        ids=tuple(f"ex-{i}" for i in range(len(predictions))),
        predictions=tuple(map(float, predictions)),
        references=(0.0,) * len(predictions),
    )
    measurement = Measurement.exact("accuracy", outcomes.value(), unit="points")
    measurement = replace(measurement, direction=Direction.HIGHER_IS_BETTER, examples=outcomes)
    return BaselineEntry.from_measurement(measurement, environment="env", recorded="2026-01-02")


def parameters(count: int) -> BaselineEntry:
    return BaselineEntry.from_measurement(
        Measurement.exact("parameters", count, unit="count"), environment="env", recorded="2026-01-02"
    )


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty git repository as the current folder, with no user or system configuration."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    for name, value in {
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Reviewer",
        "GIT_AUTHOR_EMAIL": "reviewer@example.com",
        "GIT_COMMITTER_NAME": "Reviewer",
        "GIT_COMMITTER_EMAIL": "reviewer@example.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)

    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True).stdout.strip()

    git("init", "--quiet", "--initial-branch=main")
    return git


def record(updates: dict[EntryKey, BaselineEntry], removals: tuple[EntryKey, ...] = (), environment: dict | None = None) -> None:
    JsonBaselineStore(Path("baselines")).apply(updates, removals, {"env": environment or ENVIRONMENT})


def commit(git, message: str = "baselines") -> None:
    git("add", "--all")
    git("commit", "--quiet", "-m", message)


def diff(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["diff", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(out: str) -> list[list[str]]:
    return [
        line.strip("|").split(" | ") for line in out.splitlines() if line.startswith("| test_") or line.startswith("| test |")
    ]


def test_changed_added_and_removed_entries_in_a_table_per_file(repository, capsys: pytest.CaptureFixture[str]) -> None:
    record({key("test_a", "latency"): latency(10.0, runs=3), key("test_b", "accuracy"): accuracy([0, 0, 1, 1])})
    record({key("test_c", "parameters"): parameters(1000)})
    commit(repository)
    record(
        {
            key("test_a", "latency"): latency(12.5),
            key("test_b", "accuracy"): accuracy([0, 0, 0, 1]),
            key("test_d", "parameters"): parameters(7),
        },
        (key("test_c", "parameters"),),
    )

    code, out, err = diff(capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "### modelperf diff: 4 baseline entries (2 changed, 1 added, 1 removed) in 1 file"
    assert lines[2].startswith("Baselines at `") and lines[2].endswith(
        "` (HEAD; no upstream branch: tried upstream/main, origin/main, origin/HEAD) → the working tree."
    )
    assert lines[4] == f"#### `{PATH}`"
    assert [row[:6] for row in rows(out)] == [
        [" test", "metric", "old", "new", "change", "relative"],
        [" test_a", "latency (median)", "10 ms", "12.5 ms", "+2.5 ms", "+25.0%"],
        [" test_b", "accuracy", "50 points", "75 points", "+25 points", "-"],
        [" test_c", "parameters", "1,000", "-", "removed", ""],
        [" test_d", "parameters", "-", "7", "added", ""],
    ]
    also = {row[0].strip(): row[6].strip() for row in rows(out)[1:]}
    assert also["test_a"] == "recorded runs 3 → 1"
    assert also["test_b"] == "prediction changed on 1 of 4 examples (ex-2)"


def test_a_re_recording_that_changes_only_dates_commits_or_the_layout_is_no_change(
    repository, capsys: pytest.CaptureFixture[str]
) -> None:
    record({key("test_a", "latency"): latency(10.0)})
    path = Path(PATH)
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2) + "\n")  # the older, indented layout
    commit(repository)
    record(
        {key("test_a", "latency"): replace(latency(10.0), recorded="2026-02-03")}, environment={**ENVIRONMENT, "commit": "abc"}
    )

    code, out, _ = diff(capsys)
    assert code == 0
    assert out.splitlines()[0] == "### modelperf diff: no baseline entry changed"
    assert out.splitlines()[-2:] == ["", f"- `{PATH}`"]
    assert "Rewritten with every entry as it was (layout, environment records, dates or commits only):" in out


def test_a_new_environment_is_named_beside_the_change(repository, capsys: pytest.CaptureFixture[str]) -> None:
    record({key("test_a", "latency"): latency(10.0)})
    commit(repository)
    JsonBaselineStore(Path("baselines")).apply(
        {key("test_a", "latency"): replace(latency(11.0), environment="env2")}, [], {"env2": {**ENVIRONMENT, "torch": "2.4.0"}}
    )
    _, out, _ = diff(capsys)
    assert rows(out)[1][6].strip() == "torch 2.3.0 → 2.4.0"


def test_the_default_base_is_the_merge_base_with_the_upstream_main_branch(
    repository, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    record({key("test_a", "latency"): latency(10.0)})
    commit(repository)
    base = repository("rev-parse", "HEAD")
    repository("update-ref", "refs/remotes/origin/main", base)
    repository("checkout", "--quiet", "-b", "feature")
    record({key("test_a", "latency"): latency(20.0)})
    commit(repository, "a slower model")
    record({key("test_a", "latency"): latency(30.0)})  # and not committed yet

    _, out, _ = diff(capsys)
    assert f"Baselines at `{base[:7]}` (the merge base of HEAD with origin/main) → the working tree." in out
    assert rows(out)[1][2:4] == ["10 ms", "30 ms"]

    _, out, _ = diff(capsys, "HEAD")
    assert "(`HEAD`) → the working tree." in out
    assert rows(out)[1][2:4] == ["20 ms", "30 ms"]

    repository("update-ref", "refs/remotes/origin/release", repository("rev-parse", "HEAD"))
    monkeypatch.setenv("GITHUB_BASE_REF", "release")  # a GitHub pull request into "release"
    _, out, _ = diff(capsys)
    assert "(the merge base of HEAD with origin/release)" in out
    assert rows(out)[1][2:4] == ["20 ms", "30 ms"]


def test_markdown_goes_to_a_file_when_asked(repository, capsys: pytest.CaptureFixture[str]) -> None:
    record({key("test_a", "latency"): latency(10.0)})
    commit(repository)
    record({key("test_a", "latency"): latency(20.0)})
    code, out, _ = diff(capsys, "--markdown", "summary.md")
    assert code == 0
    assert out == "modelperf diff: 1 baseline entry (1 changed) in 1 file; wrote summary.md\n"
    assert Path("summary.md").read_text().startswith("### modelperf diff: 1 baseline entry (1 changed) in 1 file\n")


def test_markdown_replaces_a_file_already_there_as_its_help_says(repository, capsys: pytest.CaptureFixture[str]) -> None:
    record({key("test_a", "latency"): latency(10.0)})
    commit(repository)
    Path("summary.md").write_text("an earlier summary\n")
    code, out, _ = diff(capsys, "--markdown", "summary.md")
    assert code == 0 and out.endswith("; wrote summary.md\n")
    assert Path("summary.md").read_text().startswith("### modelperf diff: no baseline entry changed\n")
    assert "an earlier summary" not in Path("summary.md").read_text()
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert "--markdown PATH write the Markdown to PATH instead of printing it, replacing a file already there" in usage
    assert "append what it prints instead: modelperf diff >> FILE" in usage


def test_an_unknown_revision_is_named(repository, capsys: pytest.CaptureFixture[str]) -> None:
    record({key("test_a", "latency"): latency(10.0)})
    commit(repository)
    code, out, err = diff(capsys, "no-such-branch")
    assert code == 2 and out == ""
    assert err.startswith("modelperf diff: error: unknown revision 'no-such-branch': git cannot resolve it to a commit in ")


def test_outside_a_git_repository_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    code, _, err = diff(capsys)
    assert code == 2
    assert err.startswith(
        f"modelperf diff: error: {tmp_path} is not inside a git repository (git rev-parse: fatal: not a git repository"
    )


def test_a_repository_without_a_commit_asks_for_a_revision(repository, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = diff(capsys)
    assert code == 2
    assert "has no commit yet; give a revision to compare with" in err


def test_a_broken_file_at_the_revision_is_named_with_the_revision(repository, capsys: pytest.CaptureFixture[str]) -> None:
    Path(PATH).parent.mkdir(parents=True)
    Path(PATH).write_text("{ not json")
    commit(repository)
    record({key("test_a", "latency"): latency(10.0)})
    code, _, err = diff(capsys)
    short = repository("rev-parse", "--short", "HEAD")
    assert code == 2
    assert err.startswith(f"modelperf diff: error: baseline file {short}:{PATH}: not valid JSON (line 1, column 3")
