"""The model registry a ``modelperf`` command works on: ``--registry``, else the one ./pyproject.toml names."""

from __future__ import annotations

from pathlib import Path

from ..models.registry import Registry, RegistryError, load_registry, registry_from_pyproject


def command_registry(given: Path | None) -> Registry:
    """The registry at ``given`` (the ``--registry`` option), else the file that
    ``[tool.modelperf] registry`` names in the current directory's ``pyproject.toml``."""
    return load_registry(given if given is not None else _configured(Path.cwd()))


def _configured(directory: Path) -> Path:
    found = registry_from_pyproject(directory)
    if found is None:
        raise RegistryError(
            f"no model registry: pass --registry PATH or set [tool.modelperf] registry in {directory / 'pyproject.toml'}"
        )
    return found
