"""Baseline files as a git revision holds them and as the working tree holds them, read with the
``git`` command (``git show REV:path``), for ``modelperf diff``.

The default revision is what a pull request is reviewed against: the merge base of HEAD with
the branch it will be merged into (``origin/$GITHUB_BASE_REF`` in a GitHub pull request's job,
else ``upstream/main``, ``origin/main`` or the remote's default branch ``origin/HEAD``), or
HEAD itself when the repository has none of them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .baseline_store import BaselineFile, parse_baseline, read_baseline

BASE_BRANCHES = ("upstream/main", "origin/main", "origin/HEAD")


class RevisionError(Exception):
    """git cannot answer: no git, not a repository, an unknown revision; the message names it."""


@dataclass(frozen=True)
class Base:
    """The revision compared with, and how it was chosen, for the report's first lines."""

    commit: str
    short: str
    how: str  # "REV as given", "the merge base of HEAD with origin/main", ...


@dataclass(frozen=True)
class ChangedFile:
    """A baseline file that differs between the revision and the working tree (None: absent there)."""

    path: str  # relative to the repository's root, with "/" separators, as git names it
    old: BaselineFile | None
    new: BaselineFile | None


class Repository:
    """The git repository holding a folder; RevisionError when there is none (or no git)."""

    def __init__(self, folder: Path) -> None:
        try:
            top = _git(["rev-parse", "--show-toplevel"], folder)
        except RevisionError as error:
            raise RevisionError(f"{folder.resolve()} is not inside a git repository ({error})") from None
        self.root = Path(top.strip())

    def base(self, rev: str | None) -> Base:
        """The commit ``rev`` names, or without one the default base (see the module's docstring)."""
        if rev is not None:
            commit = self._commit(rev)
            if commit is None:
                raise RevisionError(f"unknown revision {rev!r}: git cannot resolve it to a commit in {self.root}")
            return Base(commit, self._short(commit), f"`{rev}`")
        head = self._commit("HEAD")
        if head is None:
            raise RevisionError(f"the repository {self.root} has no commit yet; give a revision to compare with")
        for branch in self._base_branches():
            commit = self._commit(branch)
            if commit is None:
                continue
            try:
                merge_base = self._run(["merge-base", "HEAD", commit]).strip()
            except RevisionError:
                continue  # unrelated histories: try the next one
            return Base(merge_base, self._short(merge_base), f"the merge base of HEAD with {branch}")
        tried = ", ".join(self._base_branches())
        return Base(head, self._short(head), f"HEAD; no upstream branch: tried {tried}")

    def changed_baselines(self, base: Base, folder: Path) -> list[ChangedFile]:
        """The ``.json`` files under ``folder`` whose text differs between ``base`` and the working
        tree (untracked ones included), parsed; BaselineError naming ``REV:path`` or the file for
        one that is broken."""
        relative = self._relative(folder)
        tracked_changes = self._names(["diff", "--name-only", "-z", "--no-renames", base.commit, "--", relative])
        untracked = self._names(["ls-files", "-z", "--others", "--exclude-standard", "--", relative])
        at_base = set(self._names(["ls-tree", "-r", "-z", "--name-only", base.commit, "--", relative]))
        changed: list[ChangedFile] = []
        for path in sorted({*tracked_changes, *untracked}):
            if not path.endswith(".json"):
                continue
            old = self._baseline_at(base, path) if path in at_base else None
            changed.append(ChangedFile(path, old, read_baseline(self.root / path)))
        return changed

    def _baseline_at(self, base: Base, path: str) -> BaselineFile:
        return parse_baseline(self._run(["show", f"{base.commit}:{path}"]), f"{base.short}:{path}")

    def _base_branches(self) -> list[str]:
        pull_request_base = os.environ.get("GITHUB_BASE_REF")
        return [*([f"origin/{pull_request_base}"] if pull_request_base else []), *BASE_BRANCHES]

    def _relative(self, folder: Path) -> str:
        resolved = folder.resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise RevisionError(f"the baseline folder {folder} is outside the git repository {self.root}")
        return resolved.relative_to(self.root.resolve()).as_posix() or "."

    def _commit(self, rev: str) -> str | None:
        try:
            return self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]).strip() or None
        except RevisionError:
            return None

    def _short(self, commit: str) -> str:
        return self._run(["rev-parse", "--short", commit]).strip()

    def _names(self, arguments: Sequence[str]) -> list[str]:
        return [name for name in self._run(arguments).split("\0") if name]

    def _run(self, arguments: Sequence[str]) -> str:
        return _git(arguments, self.root)


def _git(arguments: Sequence[str], cwd: Path) -> str:
    """git's output; RevisionError with its message when it fails or cannot be run."""
    if not cwd.is_dir():
        raise RevisionError(f"{cwd}: no such folder")
    try:
        result = subprocess.run(
            ["git", *arguments], cwd=cwd, capture_output=True, check=False, env={**os.environ, "GIT_PAGER": "cat", "LC_ALL": "C"}
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed (or not on PATH)") from None
    except OSError as error:
        raise RevisionError(f"git cannot be run in {cwd}: {error}") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RevisionError(f"git {arguments[0]}: {message[-1] if message else f'exit status {result.returncode}'}")
    return result.stdout.decode("utf-8")
