"""Atomic writes: the whole new file or the old one, with the permissions an ordinary write gives."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_modelperf.atomic_files import atomic_write_bytes, atomic_write_text


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    original = os.umask(0o022)
    os.umask(original)
    yield os.umask
    os.umask(original)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_follows_the_umask_like_an_ordinary_write(tmp_path: Path, umask: Callable[[int], int], mask: int, mode: int) -> None:
    umask(mask)
    atomic_write_text(tmp_path / "report.html", "<p>ok</p>")
    with open(tmp_path / "ordinary.html", "w") as stream:
        stream.write("x")

    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "ordinary.html").stat().st_mode) == mode


def test_text_is_written_in_utf8_with_its_newlines_and_replaces_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "run.csv"
    atomic_write_text(path, "old\n")
    atomic_write_text(path, "model,é\r\nbert,1\n")

    assert path.read_bytes() == "model,é\r\nbert,1\n".encode()
    assert [p.name for p in path.parent.iterdir()] == ["run.csv"], "no temporary file is left behind"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plot.png"
    atomic_write_bytes(path, b"old")

    def failing_chmod(*args: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(os, "chmod", failing_chmod)
    with pytest.raises(OSError, match="read-only"):
        atomic_write_bytes(path, b"new")
    monkeypatch.undo()

    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]
