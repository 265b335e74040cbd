"""Writing files atomically: readers see the old file or the new one, never half of one.

A write goes in two steps. Every new file is first written to a temporary file beside its
target and flushed to disk (``stage``); only when all of them exist are they renamed over
their targets, and the folders synced so that the renames survive a power cut
(``commit_all``). A failure while staging removes every temporary and leaves every target as
it was. A SIGTERM that arrives meanwhile is held until the write is finished, then takes the
process down as it would have (``termination_deferred``). A writer killed outright
(SIGKILL, power cut) leaves its temporary behind; its name carries the writer's process id,
and the next write of the same file removes it once that process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Temporaries are named ".<target name>.<writer's pid>.<random>.modelperf.tmp".
TEMPORARY_SUFFIX = ".modelperf.tmp"


class FileWriteError(OSError):
    """Writing ``target`` failed; the message is one line naming the file and the cause."""

    def __init__(self, target: Path, cause: OSError, replaced: Sequence[Path] = ()) -> None:
        message = f"{target}: cannot be written: {describe_os_error(cause, target)}"
        if replaced:
            message += f" (already replaced: {', '.join(str(path) for path in replaced)})"
        super().__init__(message)
        self.errno = cause.errno
        self.target = target
        self.cause = cause
        self.replaced = tuple(replaced)


@dataclass(frozen=True)
class StagedFile:
    """A complete new file, flushed to disk under a temporary name beside its target."""

    target: Path
    temporary: Path

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The file gets the permissions an ordinary ``open`` would give it (0666 less the umask):
    ``mkstemp`` creates its files 0600, which would hide baselines and reports from the group
    and other users (a CI cache, a shared results folder). Raises ``FileWriteError``.
    """
    atomic_write_files({path: data})


def atomic_write_text(path: Path, text: str) -> None:
    """``atomic_write_bytes`` of ``text`` in UTF-8, newlines written as given."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_files(contents: Mapping[Path, bytes]) -> None:
    """Write several files all or nothing: every temporary first, then every rename.

    Raises ``FileWriteError`` naming the file that failed; a failure before the renames (a
    full disk, a read-only folder) leaves every target as it was.
    """
    with termination_deferred():
        commit_all(stage_all(contents))


def stage_all(contents: Mapping[Path, bytes]) -> list[StagedFile]:
    """Stage every file; on a failure remove what was staged (and the folders made for it)."""
    staged: list[StagedFile] = []
    made_folders: list[Path] = []
    try:
        for path, data in contents.items():
            made_folders += make_folders(path.parent, target=path)
            staged.append(stage(path, data))
    except BaseException:
        for item in staged:
            item.discard()
        for folder in reversed(made_folders):
            _remove_if_empty(folder)
        raise
    return staged


def stage(path: Path, data: bytes) -> StagedFile:
    """Write ``data`` to a new temporary file beside ``path``, flushed to disk, with the
    permissions an ordinary write gives (0666 less the umask). Raises ``FileWriteError``."""
    if path.is_dir():
        raise FileWriteError(path, IsADirectoryError(errno.EISDIR, "it is a folder", str(path)))
    remove_stale_temporaries(path)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    except OSError as error:
        raise FileWriteError(path, error) from error
    staged = StagedFile(path, Path(name))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(staged.temporary, 0o666 & ~current_umask())
    except BaseException as error:
        staged.discard()
        if isinstance(error, OSError) and not isinstance(error, FileWriteError):
            raise FileWriteError(path, error) from error
        raise
    return staged


def commit_all(staged: Sequence[StagedFile]) -> None:
    """Rename every staged file over its target, then sync the folders that changed."""
    done = 0
    try:
        for item in staged:
            os.replace(item.temporary, item.target)
            done += 1
    except BaseException as error:
        for item in staged[done:]:
            item.discard()
        if isinstance(error, OSError):
            raise FileWriteError(staged[done].target, error, [item.target for item in staged[:done]]) from error
        raise
    for folder in dict.fromkeys(item.target.parent for item in staged):
        sync_folder(folder)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk; a no-op where folders cannot be synced."""
    try:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows cannot open a folder; its renames are durable on their own
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems refuse to sync a folder; the rename itself has happened
    finally:
        os.close(handle)


def make_folders(folder: Path, *, target: Path) -> list[Path]:
    """Create ``folder`` and its missing parents (as ``mkdir`` would, following the umask);
    the folders made, outermost first. Raises ``FileWriteError`` naming ``target``."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    if current.exists() and not current.is_dir():
        raise FileWriteError(target, NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder", str(current)))
    made: list[Path] = []
    try:
        for path in reversed(missing):
            path.mkdir(exist_ok=True)
            made.append(path)
    except OSError as error:
        for path in reversed(made):
            _remove_if_empty(path)
        raise FileWriteError(target, error) from error
    return made


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries of ``path`` left by writers that no longer run; those removed."""
    pattern = f".{glob.escape(path.name)}.*{TEMPORARY_SUFFIX}"
    removed: list[Path] = []
    for temporary in path.parent.glob(pattern):
        writer = _writer_pid(temporary, path)
        if writer is not None and writer != os.getpid() and not process_runs(writer):
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                continue  # tidying up is best effort; it must not stop the write
            removed.append(temporary)
    return removed


@contextmanager
def termination_deferred() -> Iterator[None]:
    """Hold SIGTERM until the block ends, then let it act as it would have.

    CI runners stop jobs with SIGTERM; by default it ends the process at once, leaving a
    multi-file update half done and a temporary file behind. Blocks may nest. Signal
    handlers can only be set from the main thread; elsewhere the block runs unprotected.
    """
    if not hasattr(signal, "SIGTERM") or threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        if received:
            signal.raise_signal(signal.SIGTERM)


def describe_os_error(error: OSError, target: Path | None = None) -> str:
    """The cause in words, with the path it concerns where that is not ``target`` itself."""
    cause = error.strerror or str(error) or type(error).__name__
    if error.filename and (target is None or Path(error.filename) != target):
        return f"{cause}: {error.filename}"
    return cause


def _writer_pid(temporary: Path, target: Path) -> int | None:
    rest = temporary.name[len(target.name) + 2 :]
    pid = rest.split(".", 1)[0]
    return int(pid) if pid.isdigit() else None


def process_runs(pid: int) -> bool:
    """Whether process ``pid`` may still run here (where that cannot be told: yes), so that what it
    is writing is left alone."""
    if os.name == "nt":
        return True  # os.kill would end the process there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty, or gone already
        folder.rmdir()


def current_umask() -> int:
    current = os.umask(0o022)  # reading the umask means setting it; it is restored at once
    os.umask(current)
    return current
