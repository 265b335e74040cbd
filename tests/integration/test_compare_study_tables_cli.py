"""``modelperf compare A B`` on study tables: small tables written here, and the study's own P100
and K80 tables; exit codes 0, 1 and 2, the table, the Markdown, and inputs that cannot be compared."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_modelperf.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
# The study's published tables, where this checkout has them (a shared/ beside or inside it).
STUDY = next(
    (
        folder
        for folder in (
            ROOT / "shared" / "reference" / "seed-benchmark-results",
            ROOT.parent / "shared" / "reference" / "seed-benchmark-results",
        )
        if folder.is_dir()
    ),
    None,
)
HEADER = "model,batch_size,sequence_length,result"
DISTILBERT = "SupriyaArun/distilbert-base-uncased-finetuned-squad"
BERT = "SupriyaArun/bert-base-uncased-finetuned-squad"
SQUEEZEBERT = "SupriyaArun/squeezebert-uncased-finetuned-squad"


def write_table(folder: Path, name: str, rows: Sequence[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")
    (folder / "env.csv").write_text("use_gpu,True\nfp16,False\n", encoding="utf-8")
    return folder / name


def compare(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, list[str], str]:
    code = main(["compare", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def section(lines: list[str], heading: str) -> list[str]:
    """The lines of the measure whose heading starts with ``heading``, up to the blank line after its table."""
    start = next(index for index, line in enumerate(lines) if line.startswith(heading))
    return lines[start : lines.index("", start)]


def row(lines: list[str], *cells: object) -> list[str]:
    """The row of the cell whose first columns are ``cells``, split on whitespace."""
    wanted = [str(cell) for cell in cells]
    [found] = [line.split() for line in lines if line.split()[: len(wanted)] == wanted]
    return found


@pytest.fixture
def sweeps(tmp_path: Path) -> tuple[Path, Path]:
    """Two sweeps' folders: B slower at one cell, out of memory at another, and with a cell A lacks."""
    a, b = tmp_path / "a", tmp_path / "b"
    write_table(a, "time.csv", ["bert,8,128,0.0400", "bert,8,512,0.2000", "bert,8,1024,0.5000"])
    write_table(a, "required_memory.csv", ["bert,8,128,500", "bert,8,512,900", "bert,8,1024,N/A"])
    write_table(b, "time.csv", ["bert,8,128,0.0420", "bert,8,512,0.2600", "bert,8,1024,N/A", "bert,16,128,0.0800"])
    write_table(b, "required_memory.csv", ["bert,8,128,450", "bert,8,512,900", "bert,8,1024,N/A"])
    write_table(b, "throughput.csv", ["bert,8,128,190.5"])
    return a, b


def test_two_sweep_folders_are_compared_cell_by_cell(
    sweeps: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = sweeps
    markdown = tmp_path / "compare.md"
    code, lines, err = compare(capsys, a, b, "--markdown", markdown)

    assert code == 1, err
    assert lines[0] == f"A: {a} (required_memory.csv, time.csv)"
    assert lines[1] == f"B: {b} (required_memory.csv, throughput.csv, time.csv)"
    assert "no noise band" in lines[2]
    time = section(lines, "inference time (s), lower is better (A: time.csv; B: time.csv)")
    assert row(time, "bert", 8, 128) == ["bert", "8", "128", "0.04", "0.042", "1.050", "pass"]  # 0.042 / 0.04
    assert row(time, "bert", 8, 512) == ["bert", "8", "512", "0.2", "0.26", "1.300", "REGRESSION"]  # 0.26 / 0.2
    assert row(time, "bert", 8, 1024) == ["bert", "8", "1024", "0.5", "N/A", "-", "REGRESSION", "(N/A", "in", "B)"]
    assert row(time, "bert", 16, 128) == ["bert", "16", "128", "-", "0.08", "-", "only", "in", "B"]
    memory = lines.index("GPU memory, NVML device (MiB), lower is better (A: required_memory.csv; B: required_memory.csv)")
    assert lines[memory + 3].split() == ["bert", "8", "128", "500", "450", "0.900", "pass"]  # 10% better: not beyond 10%
    assert lines[memory + 5].split() == ["bert", "8", "1024", "N/A", "N/A", "-", "N/A", "in", "both"]
    assert lines[-1] == (
        "modelperf compare: FAILED (2 regressions); 5 cells judged in 2 measures: 2 regressions, 0 improvements, "
        "3 passed; 1 N/A in both, 0 only in A, 1 only in B; tables only in B: throughput.csv"
    )
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("### modelperf compare: FAILED (2 regressions)\n")
    assert "| bert | 8 | 512 | 0.2 | 0.26 | 1.300 | **REGRESSION** |" in text
    assert "| bert | 16 | 128 | - | 0.08 | - | only in B |" in text

    code, lines, _ = compare(capsys, a, b, "--threshold", "50%", "--markdown", markdown)  # Markdown written over, as ever
    assert code == 1, "a cell that went N/A is a regression whatever the threshold"
    assert row(section(lines, "inference time"), "bert", 8, 512)[-1] == "pass"
    assert markdown.read_text(encoding="utf-8").startswith("### modelperf compare: FAILED (1 regression)\n")


def test_one_table_against_another_exits_0_without_a_regression_and_fail_on_chooses(
    sweeps: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = sweeps
    code, lines, err = compare(capsys, a / "required_memory.csv", b / "required_memory.csv")
    assert code == 0, err
    assert lines[0] == f"A: {a / 'required_memory.csv'}"
    assert lines[-1].startswith("modelperf compare: no regressions; 2 cells judged in 1 measure")

    code, lines, _ = compare(capsys, b / "required_memory.csv", a / "required_memory.csv", "--fail-on", "improvement")
    assert code == 0 and lines[-1].startswith("modelperf compare: no improvements;")  # 450 -> 500 is 11% worse
    code, lines, _ = compare(
        capsys, a / "required_memory.csv", b / "required_memory.csv", "--threshold", "5%", "--fail-on", "any"
    )
    assert code == 1 and lines[-1].startswith("modelperf compare: FAILED (1 improvement);")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("a", "export.json"), "{a} is a study table or a folder of them and export.json is not: a study table is compared"),
        (("export.json", "a/time.csv"), "a/time.csv is a study table or a folder of them and export.json is not"),
        (("a",), "study tables are compared two at a time: pass A B (each a study table or a folder of them), got {a}"),
        (("a", "b", "--baselines", "baselines"), "--baselines applies to exports and run ids, not to study tables"),
        (("a", "b", "--threshold", "2ms"), "--threshold 2ms: study tables are compared with a relative threshold"),
        (("a/time.csv", "b/required_memory.csv"), "a/time.csv and b/required_memory.csv share no measure"),
        (("a", "b", "--rename", "bert"), "--rename: expected FROM=TO"),
        (("export.json", "--rename", "a=b"), "--rename applies to study tables, not to exports or run ids"),
    ],
)
def test_inputs_that_cannot_be_compared_exit_2_with_one_line_saying_why(
    sweeps: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: tuple[str, ...],
    message: str,
) -> None:
    a, _ = sweeps
    monkeypatch.chdir(a.parent)
    Path("export.json").write_text("{}", encoding="utf-8")
    code, lines, err = compare(capsys, *arguments)
    assert code == 2 and lines == []
    assert err.count("\n") == 1
    assert err.startswith(f"modelperf compare: error: {message.format(a='a')}")


def test_a_bad_cell_exits_2_naming_the_file_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_table(tmp_path / "a", "time.csv", ["bert,8,128,0.04"])
    bad = write_table(tmp_path / "b", "time.csv", ["bert,8,128,0.04", "bert,eight,512,0.2"])
    code, _, err = compare(capsys, good, bad)
    assert code == 2
    assert err == f"modelperf compare: error: {bad}: line 3, column batch_size: expected a positive whole number, got 'eight'\n"


@pytest.mark.skipif(STUDY is None, reason="the study's seed-benchmark-results are not beside this checkout")
def test_the_studys_p100_against_its_k80(capsys: pytest.CaptureFixture[str]) -> None:
    assert STUDY is not None
    code, lines, err = compare(capsys, STUDY / "p100", STUDY / "k80")

    assert code == 1, err  # the K80 is about four times slower
    time = section(lines, "inference time (s), lower is better (A: time.csv; B: time.csv)")
    memory = section(
        lines,
        "GPU memory, NVML device (MiB), lower is better "
        "(A: required_memory.csv, required_memory_2.csv; B: required_memory.csv, required_memory_2.csv)",
    )
    # time.csv: 0.0577 / 0.0145 = 3.979, 13.4257 / 3.1927 = 4.205
    assert row(time, DISTILBERT, 256, 8)[3:] == ["0.0145", "0.0577", "3.979", "REGRESSION"]
    assert row(time, BERT, 256, 512)[3:] == ["3.1927", "13.4257", "4.205", "REGRESSION"]
    # required_memory.csv: 879 / 1401 = 0.627; required_memory_2.csv: 9717 / 10237 = 0.949, within 10%
    assert row(memory, SQUEEZEBERT, 32, 32)[3:] == ["1401", "879", "0.627", "improvement"]
    assert row(memory, DISTILBERT, 256, 512)[3:] == ["10237", "9717", "0.949", "pass"]
    not_available = [line.split()[:3] for line in lines if line.endswith("N/A in both")]
    assert not_available == [  # sequence 1024 too long for the models, batch 512 out of memory, on both GPUs
        [model, size, sequence]
        for model in (DISTILBERT, BERT, SQUEEZEBERT)
        for size, sequence in (("32", "1024"), ("512", "512"))
    ]
    assert lines[-1] == (
        "modelperf compare: FAILED (12 regressions); 30 cells judged in 2 measures: 12 regressions, 12 improvements, "
        "6 passed; 6 N/A in both, 0 only in A, 0 only in B"
    )
