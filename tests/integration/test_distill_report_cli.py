"""``modelperf distill-report`` end to end on the registry's BERT-tiny topic classifier in every
role: the table it prints, the files it writes, and the arguments it refuses before any work.

No timing is judged: the plumbing is, and figures that follow from identical models are exact.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main
from pytest_modelperf.render.distillation import CSV_COLUMNS


def test_the_table_the_gain_and_the_three_files(
    topic_classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(topic_classifier)
    output = tmp_path / "report"
    arguments = ["distill-report", "--teacher", model, "--student", model, "--distilled", model]
    code = main([*arguments, "--rounds", "2", "--limit", "60", "--threads", "1", "--output", str(output)])
    out = capsys.readouterr().out
    assert code == 0
    assert "| role | model | size (MB) | parameters | latency mean (ms) |" in out
    # The same answers on the same 60 examples: no gain, and no sampling error either.
    assert "+0.00 points, paired standard error 0.00 over 60 examples; lower 99% bound +0.00 points" in out
    rows = list(csv.DictReader((output / "distillation.csv").open()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["role"] for row in rows] == ["teacher", "student", "distilled"]
    assert {row["accuracy_kept"] for row in rows} == {"1.0"}
    assert {row["parameters"] for row in rows} == {"4386436"}
    assert (output / "distillation.png").read_bytes().startswith(b"\x89PNG")
    assert (output / "distillation.md").read_text().startswith("### ")

    # An earlier report is kept unless --force, and refused before anything is loaded.
    assert main([*arguments, "--output", str(output)]) == 2
    assert "already holds a distillation report" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--distilled", "/no/such/folder"], "--distilled: '/no/such/folder' is not a directory holding a saved model"),
        (["--confidence", "1.5"], "--confidence: must be within (0.5, 1), got 1.5"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    topic_classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: list[str], message: str
) -> None:
    model = str(topic_classifier)
    arguments = {"--teacher": model, "--student": model, "--distilled": model, "--output": str(tmp_path / "out")}
    arguments.update(dict(zip(change[::2], change[1::2], strict=True)))
    assert main(["distill-report", *(part for pair in arguments.items() for part in pair)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
