"""Atomic writes: the whole new file or the old one, with the permissions an ordinary write gives."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_modelperf.storage.atomic_files import (
    FileWriteError,
    atomic_write_bytes,
    atomic_write_files,
    atomic_write_text,
    termination_deferred,
)


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    original = os.umask(0o022)
    os.umask(original)
    yield os.umask
    os.umask(original)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_follows_the_umask_like_an_ordinary_write(
    tmp_path: Path, umask: Callable[[int], int], mask: int, mode: int
) -> None:
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


def test_the_folder_is_synced_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.json"
    atomic_write_bytes(path, b"old")
    real_fsync = os.fsync
    synced: list[tuple[bool, bytes]] = []

    def fsync(fd: int) -> None:
        synced.append((stat.S_ISDIR(os.fstat(fd).st_mode), path.read_bytes()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write_bytes(path, b"new")
    monkeypatch.undo()

    # the new file's data first, then its folder, once the rename has happened
    assert synced == [(False, b"old"), (True, b"new")]


def test_several_files_are_written_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a" / "first.json", tmp_path / "b" / "second.json"
    atomic_write_files({first: b"old 1", second: b"old 2"})
    real_fsync = os.fsync
    calls: list[int] = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(FileWriteError) as raised:
        atomic_write_files({first: b"new 1", second: b"new 2"})
    monkeypatch.undo()

    assert str(raised.value) == f"{second}: cannot be written: No space left on device"
    assert raised.value.errno == errno.ENOSPC
    assert (first.read_bytes(), second.read_bytes()) == (b"old 1", b"old 2")
    assert [p.name for p in first.parent.iterdir()] == ["first.json"]
    assert [p.name for p in second.parent.iterdir()] == ["second.json"]


TERMINATED = """
import os, signal, sys
from pathlib import Path
from pytest_modelperf.storage.atomic_files import atomic_write_bytes

real_fsync = os.fsync
def fsync_then_terminate(fd):
    real_fsync(fd)
    os.fsync = real_fsync
    os.kill(os.getpid(), signal.SIGTERM)
os.fsync = fsync_then_terminate
atomic_write_bytes(Path(sys.argv[1]), b"new")
print("the process outlived its SIGTERM")
"""


def test_sigterm_during_a_write_lets_it_finish_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    atomic_write_bytes(path, b"old")
    done = subprocess.run([sys.executable, "-c", TERMINATED, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGTERM, done.stdout + done.stderr
    assert done.stdout == ""
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_sigterm_keeps_its_own_handler_after_the_write(tmp_path: Path) -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with termination_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            assert received == []  # held while the block runs
        assert received == [signal.SIGTERM]  # then given to the handler that was there before
    finally:
        signal.signal(signal.SIGTERM, previous)


STALLED = """
import os, sys, time
from pathlib import Path
from pytest_modelperf.storage.atomic_files import atomic_write_bytes

def stall(fd):
    Path(sys.argv[2]).touch()
    time.sleep(600)
os.fsync = stall
atomic_write_bytes(Path(sys.argv[1]), b"never")
"""


def test_a_temporary_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path: Path) -> None:
    path, ready = tmp_path / "out" / "run.json", tmp_path / "ready"
    atomic_write_bytes(path, b"old")
    writer = subprocess.Popen([sys.executable, "-c", STALLED, str(path), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert writer.poll() is None and time.monotonic() < deadline, "the writer never got to its temporary"
            time.sleep(0.01)
    finally:
        writer.kill()  # SIGKILL: nothing in the writer can clean up
        writer.wait()
    left = sorted(p.name for p in path.parent.iterdir())
    assert len(left) == 2 and left[0].startswith(".run.json.") and left[0].endswith(".modelperf.tmp"), left

    atomic_write_bytes(path, b"next")

    assert path.read_bytes() == b"next"
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]


def test_a_temporary_of_a_writer_still_running_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    running = tmp_path / f".run.json.{os.getppid()}.abc123.modelperf.tmp"
    running.write_bytes(b"half")
    unrelated = tmp_path / ".run.json.notes.txt"
    unrelated.write_bytes(b"mine")
    atomic_write_bytes(path, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run.json", running.name, unrelated.name])


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o755), (0o002, 0o775), (0o077, 0o700)])
def test_new_folders_follow_the_umask(tmp_path: Path, umask: Callable[[int], int], mask: int, mode: int) -> None:
    umask(mask)
    atomic_write_text(tmp_path / "outer" / "inner" / "run.csv", "x\n")
    assert stat.S_IMODE((tmp_path / "outer").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "outer" / "inner").stat().st_mode) == mode
