"""Local checkpoints built offline from an architecture config and a real tokenizer, and the
folders modelperf prepares under ``checkpoint_dir``.

The weights are freshly initialised (seeded, so the files are reproducible) and flagged as a
stand-in by a marker file that the loader reads: their latency and memory are those of the
architecture, their accuracy is meaningless. A checkpoint is rebuilt only when missing or
when its recipe (config, task, tokenizer, seed) changed.

Every folder modelperf prepares carries ``.modelperf-prepared.json``: who made it, and the
files it wrote. modelperf replaces a folder only when that marker says it made it and the
folder holds nothing else; anything else there (a user's own weights, a link, a file) is
refused, never deleted. A folder is written under a staging name beside its destination and
swapped in whole; a staging folder left by a prepare that was killed is removed by the next
prepare of the same model, once the process that made it is gone.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.version import installed_version
from ..storage.atomic_files import atomic_write_text, current_umask, process_runs, sync_folder
from .fine_tune_record import FINETUNE_MARKER, recorded_fine_tune
from .loading import STAND_IN_MARKER, TASKS
from .offline_tokenizers import offline_tokenizer, tokenizer_recipe

PREPARED_MARKER = ".modelperf-prepared.json"
MADE_BY = "pytest-modelperf"
# Beside a destination "<name>": ".<name>.<pid>.<random>.modelperf-staging" while it is written,
# ".<name>.<pid>.<random>.modelperf-retired" for the folder it replaces, until that is deleted.
STAGING_SUFFIX = ".modelperf-staging"
RETIRED_SUFFIX = ".modelperf-retired"
LOCK_SUFFIX = ".modelperf-lock"

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MAX_NAME_LENGTH = 100
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
# What save_pretrained (model and tokenizer) writes: a folder of older modelperf versions is
# adopted only when it holds nothing else.
_SAVED_FILE = re.compile(
    r".+\.(json|safetensors)|vocab\.txt|merges\.txt|spiece\.model|tokenizer\.model|sentencepiece\.bpe\.model"
)


class PrepareRefused(RuntimeError):
    """modelperf will not write where it was asked to; the message names the place and says
    what to do."""


def folder_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a folder of its own under ``checkpoint_dir``; None when it can."""
    if not name:
        return "it is empty"
    if name in (".", ".."):
        return f"{name!r} names an existing folder, not a new one"
    if "/" in name or "\\" in name:
        return "it holds a path separator"
    if name.startswith("."):
        return "it starts with '.' (modelperf's own staging folders do)"
    if not _PLAIN_NAME.fullmatch(name):
        return "use only letters, digits, '.', '_' and '-', starting with a letter or digit"
    if name.endswith("."):
        return "it ends with '.', which Windows drops"
    if len(name) > _MAX_NAME_LENGTH:
        return f"it is longer than {_MAX_NAME_LENGTH} characters"
    if name.split(".", 1)[0].lower() in _WINDOWS_DEVICES:
        return "it is a reserved device name on Windows"
    return None


def build_checkpoint(
    config: Any, destination: Path, *, task: str, tokenizer: str | Path | None = None, seed: int = 0
) -> tuple[Path, bool]:
    """Save a seeded, freshly initialised model of ``config`` and a tokenizer to ``destination``.

    ``tokenizer`` names an offline tokenizer (see :mod:`.offline_tokenizers`) or is a
    directory holding one. Returns the directory and whether it was (re)built just now.
    Raises ``PrepareRefused`` when ``destination`` is something modelperf did not make.
    """
    import torch
    import transformers

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    recipe = {
        "config": config.to_diff_dict(),
        "task": task,
        "tokenizer": _tokenizer_recipe(tokenizer),
        "seed": seed,
        "transformers": transformers.__version__,
    }
    with preparing(destination):
        if _recorded_recipe(destination) == json.loads(json.dumps(recipe)) and intact(destination):
            adopt_older(destination, kind="stand-in")
            return destination, False

        def write(staging: Path) -> None:
            torch.manual_seed(seed)
            model = getattr(transformers, TASKS[task]).from_config(copy.deepcopy(config))  # saving edits the config
            model.save_pretrained(staging)
            if tokenizer is not None:
                _tokenizer(tokenizer).save_pretrained(staging)
            (staging / STAND_IN_MARKER).write_text(json.dumps(recipe, indent=2, sort_keys=True) + "\n")

        write_through_staging(destination, write, kind="stand-in")
    return destination, True


def _recorded_recipe(destination: Path) -> Any:
    try:
        return json.loads((destination / STAND_IN_MARKER).read_text())
    except (OSError, ValueError):
        return None  # missing or unreadable: an unknown recipe, so rebuild


@contextmanager
def preparing(destination: Path) -> Iterator[None]:
    """Hold ``destination`` for one prepare: its ``checkpoint_dir`` exists, no other process
    prepares the same folder meanwhile (pytest-xdist workers loading one model), and what
    earlier prepares of it left behind when they were killed is gone."""
    from filelock import FileLock

    ensure_checkpoint_dir(destination.parent)
    lock = FileLock(str(destination.parent / f".{destination.name}{LOCK_SUFFIX}"))
    try:
        lock.acquire()
    except OSError:
        # A read-only checkpoint_dir (a restored CI cache): nothing can be written there, so
        # there is nothing to serialise, and an up-to-date checkpoint must still load.
        yield
        return
    try:
        remove_stale_staging(destination)
        yield
    finally:
        lock.release()


def ensure_checkpoint_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents) unless it exists; ``PrepareRefused`` in one line
    when it is a file or cannot be created."""
    if directory.exists() and not directory.is_dir():
        raise PrepareRefused(f"checkpoint_dir {directory}: is a file, not a folder; point checkpoint_dir at a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        cause = error.strerror or str(error)
        where = f" ({error.filename})" if error.filename and Path(error.filename) != directory else ""
        raise PrepareRefused(f"checkpoint_dir {directory}: cannot be created: {cause}{where}") from None


def check_replaceable(destination: Path) -> None:
    """Raise ``PrepareRefused`` unless ``destination`` is absent or a folder modelperf made
    that holds nothing else."""
    if not os.path.lexists(destination):
        return
    if destination.is_symlink():
        raise PrepareRefused(
            f"{destination}: is a symbolic link; modelperf replaces only folders it made. "
            f"Remove the link, or point checkpoint_dir at another folder"
        )
    if not destination.is_dir():
        raise PrepareRefused(
            f"{destination}: is a file, not a folder modelperf made; move it away or point checkpoint_dir at another folder"
        )
    problem = _not_ours(destination)
    if problem is not None:
        raise PrepareRefused(
            f"{destination}: {problem}; modelperf will not replace it. If it holds nothing you need, "
            f"delete it by hand and prepare again; otherwise point checkpoint_dir at another folder"
        )


def _not_ours(folder: Path) -> str | None:
    """Why ``folder`` may hold something modelperf did not make; None when it is all modelperf's."""
    marker = folder / PREPARED_MARKER
    if os.path.lexists(marker):
        recorded = _marker_files(marker)
        if recorded is None:
            return f"its {PREPARED_MARKER} is not one modelperf wrote"
        changed = [name for name, size in _folder_files(folder).items() if recorded.get(name) != size]
        if changed:
            return f"it holds files modelperf did not write or that changed since ({', '.join(sorted(changed)[:5])})"
        return None
    if not any(folder.iterdir()) or _made_by_an_older_version(folder):
        return None  # an empty folder holds nothing to lose
    return f"it has no {PREPARED_MARKER}, so modelperf did not make it (or an older version did)"


def intact(folder: Path) -> bool:
    """Whether every file modelperf's marker records is still in ``folder``, at its recorded size.

    A folder whose weights were deleted is rebuilt rather than called up to date. One from an
    older version, without the marker, cannot tell and counts as intact."""
    marker = folder / PREPARED_MARKER
    if not os.path.lexists(marker):
        return True
    recorded = _marker_files(marker)
    if recorded is None:
        return False
    present = _folder_files(folder)
    return all(present.get(name) == size for name, size in recorded.items())


def _marker_files(marker: Path) -> dict[str, int | None] | None:
    """The files a modelperf marker records (name -> size); None unless it is a marker modelperf wrote."""
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        payload = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("made_by") != MADE_BY or not isinstance(payload.get("files"), dict):
        return None
    return payload["files"]


def _folder_files(folder: Path) -> dict[str, int | None]:
    """Every entry of ``folder`` but the marker: name -> size, None for a link or a subfolder."""
    entries: dict[str, int | None] = {}
    for entry in os.scandir(folder):
        if entry.name != PREPARED_MARKER:
            entries[entry.name] = entry.stat(follow_symlinks=False).st_size if entry.is_file(follow_symlinks=False) else None
    return entries


def _made_by_an_older_version(folder: Path) -> bool:
    """A folder from before the marker is adopted when it holds one of modelperf's own records
    (the stand-in recipe or the fine-tune record, complete) and only what save_pretrained writes."""
    entries = _folder_files(folder)
    if any(size is None or not _SAVED_FILE.fullmatch(name) for name, size in entries.items()):
        return False
    if STAND_IN_MARKER in entries:
        recipe = _recorded_recipe(folder)
        return (
            isinstance(recipe, dict)
            and set(recipe) == {"config", "task", "tokenizer", "seed", "transformers"}
            and recipe["task"] in TASKS
        )
    if FINETUNE_MARKER in entries:
        return recorded_fine_tune(folder)
    return False


def adopt_older(destination: Path, *, kind: str) -> None:
    """Give an up-to-date folder that an older version prepared (see ``_made_by_an_older_version``)
    the marker and the umask's permissions, so that it is handled like one prepared now. One
    that cannot be written (a read-only cache) is left as it is: it still loads."""
    if os.path.lexists(destination / PREPARED_MARKER) or destination.is_symlink() or not destination.is_dir():
        return
    if not _made_by_an_older_version(destination):
        return
    try:
        _follow_umask(destination)
        _write_marker(destination, destination.name, kind, files=_folder_files(destination))
    except OSError:
        pass


def write_through_staging(destination: Path, write: Callable[[Path], None], *, kind: str) -> None:
    """Fill a fresh folder beside ``destination`` with ``write``, then swap it in whole: a
    checkpoint is never half-written, and a failure leaves the previous one in place.

    The folder gets modelperf's marker, naming ``kind`` and the files written, and the
    permissions an ordinary ``mkdir`` and ``open`` would give (the umask's): ``save_pretrained``
    writes its weights 0600, which would hide them from a shared CI cache. Raises
    ``PrepareRefused`` when ``destination`` is something modelperf did not make.
    """
    check_replaceable(destination)
    staging = _new_folder(destination, STAGING_SUFFIX)
    try:
        _write_marker(staging, destination.name, kind, files=None)
        write(staging)
        _write_marker(staging, destination.name, kind, files=_folder_files(staging))
        _follow_umask(staging)
        _swap_in(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _new_folder(destination: Path, suffix: str) -> Path:
    """A new, empty folder beside ``destination`` whose name carries this process's id."""
    while True:
        folder = _name_beside(destination, suffix)
        try:
            folder.mkdir()  # not tempfile.mkdtemp: that makes it 0700 whatever the umask
            return folder
        except FileExistsError:
            continue


def _name_beside(destination: Path, suffix: str) -> Path:
    return destination.parent / f".{destination.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}"


def _write_marker(folder: Path, name: str, kind: str, *, files: dict[str, int | None] | None) -> None:
    payload = {
        "made_by": MADE_BY,
        "version": _modelperf_version(),
        "model": name,
        "kind": kind,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": files if files is not None else {},
    }
    atomic_write_text(folder / PREPARED_MARKER, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _modelperf_version() -> str:
    """The installed pytest-modelperf's version, which the marker records for whoever reads it."""
    return installed_version() or "unknown"  # "unknown": run from a source tree never installed


def _swap_in(staging: Path, destination: Path) -> None:
    """Move ``staging`` to ``destination``; a folder already there is renamed aside first, and
    deleted only once the new one is in place."""
    retired: Path | None = None
    if os.path.lexists(destination):
        check_replaceable(destination)
        retired = _name_beside(destination, RETIRED_SUFFIX)
        os.rename(destination, retired)
    try:
        os.replace(staging, destination)
    except BaseException:
        if retired is not None:
            os.replace(retired, destination)
        raise
    sync_folder(destination.parent)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def remove_stale_staging(destination: Path) -> list[Path]:
    """Remove what killed prepares of ``destination`` left beside it: staging folders and
    replaced folders that carry modelperf's marker, made by a process of this machine that no
    longer runs. Anything else is left alone. Returns the folders removed."""
    removed: list[Path] = []
    for suffix in (STAGING_SUFFIX, RETIRED_SUFFIX):
        for folder in destination.parent.glob(f".{glob.escape(destination.name)}.*{suffix}"):
            if _left_by_a_gone_process(folder, destination.name, suffix):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def _left_by_a_gone_process(folder: Path, name: str, suffix: str) -> bool:
    if folder.is_symlink() or not folder.is_dir():
        return False
    # Exactly ".<name>.<pid>.<8 hex><suffix>": model "bert.7"'s ".bert.7.<pid>..." is not bert's.
    named = re.fullmatch(rf"\.{re.escape(name)}\.(\d+)\.[0-9a-f]{{8}}{re.escape(suffix)}", folder.name)
    if named is None:
        return False
    pid = int(named.group(1))
    if pid == os.getpid() or process_runs(pid):
        return False
    if not any(folder.iterdir()):
        return True  # killed between making it and marking it
    try:
        payload = json.loads((folder / PREPARED_MARKER).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(payload, dict) or payload.get("made_by") != MADE_BY or payload.get("model") != name:
        return False
    # A staging folder's marker names the machine of the process in its name; a replaced folder's
    # names the machine that prepared it long ago, and whoever renamed it meant to delete it.
    return suffix == RETIRED_SUFFIX or payload.get("host") == socket.gethostname()


def _follow_umask(folder: Path) -> None:
    """Give ``folder`` and what it holds the permissions ``mkdir`` and ``open`` give under the umask."""
    umask = current_umask()
    folder.chmod(0o777 & ~umask)
    for entry in folder.rglob("*"):
        if not entry.is_symlink():
            entry.chmod((0o777 if entry.is_dir() else 0o666) & ~umask)


def _tokenizer_recipe(tokenizer: str | Path | None) -> str | None:
    if tokenizer is None:
        return None
    return str(tokenizer) if isinstance(tokenizer, Path) else tokenizer_recipe(tokenizer)


def _tokenizer(tokenizer: str | Path) -> Any:
    if isinstance(tokenizer, Path):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    return offline_tokenizer(tokenizer)
