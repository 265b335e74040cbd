"""The error a registry file gets, for the registry tests: the message after the file's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelperf.models.registry import RegistryError, load_registry


def registry_error(path: Path) -> str:
    """What ``load_registry`` refuses ``path`` with, less the path it starts with (which it must)."""
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")
