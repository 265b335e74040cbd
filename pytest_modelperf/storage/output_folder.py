"""The folder a command writes its result files into: checked before any measuring, so that a
result is never measured only to be refused, and an earlier result is overwritten only with
``--force``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class OutputFolderError(ValueError):
    """The output folder cannot take the files; the message names the argument and the folder."""


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    what: str  # a few words for the command's report


def check_output_folder(directory: Path, names: Iterable[str], *, force: bool, holds: str, argument: str = "--output") -> None:
    """``directory`` is a folder or can become one, and holds none of ``names`` unless ``force``.

    ``holds`` says what those files are in the error (``a sweep's files``)."""
    if directory.exists() and not directory.is_dir():
        raise OutputFolderError(f"{argument}: {directory} exists and is not a folder")
    existing = [name for name in names if (directory / name).exists()]
    if existing and not force:
        raise OutputFolderError(
            f"{argument}: {directory} already holds {holds} ({', '.join(existing)}); "
            "pass --force to overwrite them, or choose another folder"
        )
